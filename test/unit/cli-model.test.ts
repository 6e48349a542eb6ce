import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../lib/cli/moment';
import { createRandom } from '../../lib/learn/metrics';

const dir = mkdtempSync(join(tmpdir(), 'moment-model-'));

async function moment(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, { out: { write: (t: string) => (out += t) }, err: { write: () => undefined } });
  return { code, out };
}

/** 2,000 customers: visits drive buying (more so past 6 visits), income in thousands a little, shoe size not at all. */
function customersCsv(): string {
  const random = createRandom(17);
  const rows = ['visits,income,shoe,bought'];
  for (let i = 0; i < 2000; i++) {
    const visits = Math.floor(random() * 12);
    const income = 20 + Math.floor(random() * 80);
    const shoe = 36 + Math.floor(random() * 10);
    const p = visits > 6 ? 0.45 : 0.08 + 0.001 * (income - 20);
    rows.push(`${visits},${income},${shoe},${random() < p ? 1 : 0}`);
  }
  const path = join(dir, 'customers.csv');
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

const data = customersCsv();

interface Coefficient {
  column: string;
  weight: number;
  oddsRatio: number;
  standardized: number;
  oddsRatioPerSd: number;
}

describe('moment train shows the model it fitted', () => {
  it("gives a logistic regression's coefficients on each column's own scale, with odds ratios, the largest effect first", async () => {
    const scores = join(dir, 'scores.csv');
    const { code, out } = await moment('train', '--train', data, '--target', 'bought', '--model', 'logistic', '--test', data, '--scores', scores, '--json');
    expect(code).toBe(0);
    const fitted = (JSON.parse(out) as { fitted: { kind: string; intercept: number; coefficients: Coefficient[] } }).fitted;
    expect(fitted.kind).toBe('logistic');
    expect(fitted.coefficients.map((c) => c.column)[0]).toBe('visits');
    for (const c of fitted.coefficients) {
      expect(c.oddsRatio).toBeCloseTo(Math.exp(c.weight), 12);
      expect(c.oddsRatioPerSd).toBeCloseTo(Math.exp(c.standardized), 12);
    }
    // On the columns' own scale: the intercept and coefficients, applied by hand, give the scores.
    const byName = Object.fromEntries(fitted.coefficients.map((c) => [c.column, c.weight]));
    const rows = readFileSync(data, 'utf8').trim().split('\n').slice(1, 6).map((l) => l.split(',').map(Number));
    const written = readFileSync(scores, 'utf8').trim().split('\n').slice(1, 6).map(Number);
    rows.forEach(([visits, income, shoe], i) => {
      const z = fitted.intercept + (byName.visits ?? 0) * (visits as number) + (byName.income ?? 0) * (income as number) + (byName.shoe ?? 0) * (shoe as number);
      expect(1 / (1 + Math.exp(-z))).toBeCloseTo(written[i] as number, 10);
    });
    const readable = await moment('train', '--train', data, '--target', 'bought', '--model', 'logistic');
    expect(readable.out).toMatch(/Model \(fitted on every row\): logistic regression, intercept -?[\d.]+/);
    expect(readable.out).toMatch(/\n {2}visits +-?[\d.]+ +[\d.]+ +[\d.]+\n/);
  });

  it("gives a CHAID tree's segments: the conditions to each leaf, its size, buyer rate and lift, the highest lift first", async () => {
    const { code, out } = await moment('train', '--train', data, '--target', 'bought', '--model', 'tree', '--json');
    expect(code).toBe(0);
    const fitted = (JSON.parse(out) as { fitted: { kind: string; segments: Array<{ conditions: string[]; rows: number; positives: number; rate: number; lift: number }> } }).fitted;
    expect(fitted.kind).toBe('tree');
    expect(fitted.segments.reduce((s, g) => s + g.rows, 0)).toBe(2000);
    const top = fitted.segments[0] as (typeof fitted.segments)[number];
    // CHAID cuts at the distinct deciles, so near the true step at 6 visits.
    expect(top.conditions.join(' and ')).toMatch(/visits > [5-7]|[5-7] < visits/);
    expect(top.rate).toBeCloseTo(top.positives / top.rows, 12);
    expect(top.lift).toBeGreaterThan(1.5);
    for (let i = 1; i < fitted.segments.length; i++) expect((fitted.segments[i] as { lift: number }).lift).toBeLessThanOrEqual((fitted.segments[i - 1] as { lift: number }).lift);
    const readable = await moment('train', '--train', data, '--target', 'bought', '--model', 'tree');
    expect(readable.out).toMatch(/Model \(fitted on every row\): CHAID tree, \d+ segments, the highest lift first/);
  });
});
