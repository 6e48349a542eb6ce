/**
 * Purchase histories for the customer-value models: the CDNOW sample (data/cdnow-sample.txt, see
 * data/README.md) as the BG/NBD paper reads it, and customers simulated from BG/NBD itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BgNbdParams } from '../../lib/learn/bgnbd';
import type { Purchase } from '../../lib/learn/clv';

const dayOf = (yyyymmdd: string): number => Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))) / 86_400_000;

/** The paper's calibration period ends on 1997-09-30 (39 weeks from 1997-01-01); its holdout is the next 39 weeks, to 1998-06-30. */
export const CDNOW = { calibrationEnd: dayOf('19970930'), holdoutEnd: dayOf('19980630') } as const;

/** Every CDNOW sample customer's purchases (day, dollars), by sample id; a line is one transaction, several on a day are several lines. */
export function loadCdnow(): Map<string, Purchase[]> {
  const text = readFileSync(join(__dirname, '../../data/cdnow-sample.txt'), 'utf8');
  const customers = new Map<string, Purchase[]>();
  for (const line of text.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    const [, id, date, , dollars] = fields as [string, string, string, string, string];
    const list = customers.get(id) ?? [];
    list.push({ day: dayOf(date), value: Number(dollars) });
    customers.set(id, list);
  }
  return customers;
}

/** A standard normal draw (Box-Muller). */
const normal = (random: () => number): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** A Gamma(shape, rate 1) draw (Marsaglia and Tsang 2000; a shape below 1 boosted by U^(1/shape)). */
export function gammaDraw(shape: number, random: () => number): number {
  if (shape < 1) return gammaDraw(shape + 1, random) * (1 - random()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(random);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = 1 - random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/**
 * Customers drawn from BG/NBD with known parameters, each observed for her own T (time units since
 * her first purchase) and for `holdout` more: λ ~ Gamma(r, α), p ~ Beta(a, b); purchases at Poisson
 * rate λ; after each repeat purchase she stops for good with chance p. Her purchase times since her
 * first, the first at 0.
 */
export function simulateBgNbd(params: BgNbdParams, Ts: readonly number[], holdout: number, random: () => number): Array<{ T: number; times: number[] }> {
  return Ts.map((T) => {
    const lambda = gammaDraw(params.r, random) / params.alpha;
    const ga = gammaDraw(params.a, random);
    const p = ga / (ga + gammaDraw(params.b, random));
    const times = [0];
    for (let t = 0; ; ) {
      t += -Math.log(1 - random()) / lambda;
      if (t > T + holdout) break;
      times.push(t);
      if (random() < p) break;
    }
    return { T, times };
  });
}
