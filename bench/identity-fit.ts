/**
 * Estimates the identity model's Fellegi-Sunter m and u (issue 27) from labelled pairs: every pair the
 * read API scores (two live profiles on a network both use) in the phenomena populations' TUNE seeds
 * only (bench/synthetic/phenomena.ts), labelled by who really caused their events. m is the share of
 * one person's pairs at a level, u the share of two people's. Prints them beside config/identity.json's,
 * so the shipped values can be checked against what the data says; the holdout seeds are never read
 * here. `npm run bench:identity-fit`.
 *
 * The research similarity is measured with the popularity the ingest counted (before any night) and
 * with the popularity one night learns; the two are pooled.
 */
import { loadIngestConfig } from '../lib/ingest/config';
import { Neighbourhood } from '../lib/identity/links';
import { researchCell, researchSimilarity } from '../lib/identity/probabilistic';
import { NO_WEIGHTS } from '../lib/identity/weights';
import { matchCardOf, type MatchCard } from '../lib/profile/profile';
import { nightlyWeights } from './synthetic/links';
import { generatePhenomenon, PHENOMENA, TUNE_SEEDS } from './synthetic/phenomena';
import { DEFAULT_POPULATION, generatePopulation, type PopulationOptions } from './synthetic/population';
import { ingestPopulation, truthOfProfiles } from './synthetic/quality';

/** bench/identity-quality.ts's populations of bench/synthetic/population.ts (a DIY retailer's catalog of thousands). */
const POPULATIONS: Array<[string, Partial<PopulationOptions>]> = [
  ['mixed', {}],
  ['households', { households: 100, days: 21, members: [2, 5], devices: [2, 4] }],
  ['shops', { stores: 3, shoppersPerStoreDay: 50 }],
];

/** The least u a research cell is given. */
const U_FLOOR = 0.0005;

interface Tally {
  same: number[];
  other: number[];
}
const tally = (n: number): Tally => ({ same: Array(n).fill(0), other: Array(n).fill(0) });

async function main(): Promise<void> {
  const config = loadIngestConfig('bench');
  const rules = config.rules.probabilistic;
  const levels = rules.research.levels;
  const research = tally(rules.research.m.length);
  const fields = { locale: tally(2), timezone: tally(2), sameKind: tally(2) };
  let pairs = 0;
  const scored: Array<{ raw: number; same: boolean }> = [];
  const { intercept, slope } = rules.calibration;
  const cases = [
    ...PHENOMENA.filter((p) => p !== 'pool').map((name) => ({ name, make: (seed: number) => generatePhenomenon(name, seed) })),
    ...POPULATIONS.map(([name, options]) => ({ name: `population:${name}`, make: (seed: number) => generatePopulation({ ...DEFAULT_POPULATION, ...options, seed }) })),
  ];
  for (const { name, make } of cases) {
    for (const seed of TUNE_SEEDS) {
      const population = make(seed);
      const stores = await ingestPopulation(population, config);
      const { majority } = truthOfProfiles(stores, population);
      const live = [...stores.profileItems.values()].filter((p) => p.mergedInto === undefined);
      const cards = new Map<string, MatchCard>(live.map((p) => [p.profileId, matchCardOf(p)]));
      for (const weights of [NO_WEIGHTS, nightlyWeights(stores)]) {
        const hood = new Neighbourhood(stores, config.rules, { weights });
        const scoring = await hood.scoringWeights();
        for (const card of cards.values()) {
          for (const c of await hood.candidatesOf(card)) {
            if (c.profileId > c.otherProfileId) continue;
            const other = cards.get(c.otherProfileId);
            if (other === undefined || (card.authenticated && other.authenticated)) continue;
            pairs += 1;
            const same = majority.get(c.profileId) !== undefined && majority.get(c.profileId) === majority.get(c.otherProfileId);
            const count = (t: Tally, k: number) => {
              const side = same ? t.same : t.other;
              side[k] = (side[k] ?? 0) + 1;
            };
            scored.push({ raw: (c.score - intercept) / slope, same });
            const s = researchSimilarity(card, other, rules, scoring);
            if (s !== undefined) count(research, researchCell(rules.research, s));
            const la = card.signals.locale?.v.toLowerCase();
            const lb = other.signals.locale?.v.toLowerCase();
            if (la !== undefined && lb !== undefined) count(fields.locale, la === lb ? 0 : 1);
            const ta = card.signals.timezone?.v;
            const tb = other.signals.timezone?.v;
            if (ta !== undefined && tb !== undefined) count(fields.timezone, ta === tb ? 0 : 1);
            const ka = card.devices === 1 ? card.signals.userAgent?.v : undefined;
            const kb = other.devices === 1 ? other.signals.userAgent?.v : undefined;
            if (ka !== undefined && kb !== undefined && ka !== 'other' && kb !== 'other') count(fields.sameKind, ka === kb ? 0 : 1);
          }
        }
      }
      console.log(`${name} seed ${seed}: ${live.length} profiles`);
    }
  }
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const share = (xs: number[], k: number) => (xs[k] as number) / Math.max(1, xs.reduce((s, x) => s + x, 0));
  const f = (x: number) => x.toFixed(3);
  console.log(`\n${pairs} scored pairs on the tune seeds (each weighed before any night and after one)`);
  console.log('research similarity (tf-idf cosine of view counts):');
  console.log('  level          same   other   m       u       log2(m/u)  configured m / u');
  for (let k = 0; k < research.same.length; k++) {
    const m = share(research.same, k);
    const u = share(research.other, k);
    const level = Math.floor(k / 2);
    const label = `${level < levels.length ? `>= ${levels[level]}` : `< ${levels[levels.length - 1]}`}${k % 2 === 0 ? ' rare' : ''}`;
    console.log(`  ${label.padEnd(12)} ${String(research.same[k]).padStart(6)} ${String(research.other[k]).padStart(7)}   ${f(m)}   ${f(u)}   ${(Math.log2(m / u)).toFixed(2).padStart(6)}     ${rules.research.m[k]} / ${rules.research.u[k]}`);
  }
  // What config/identity.json's research takes: m and u rounded, u never below U_FLOOR (a cell with no
  // stranger in these tune seeds is not proof that none ever falls there).
  const cells = research.same.map((_, k) => ({ m: share(research.same, k), u: Math.max(U_FLOOR, share(research.other, k)) }));
  const r3 = (x: number) => Number(x.toPrecision(2));
  console.log(`  as configured (u at least ${U_FLOOR}): "m": ${JSON.stringify(cells.map((c) => r3(c.m)))}, "u": ${JSON.stringify(cells.map((c) => r3(c.u)))}`);
  const platt = plattScaling(scored);
  console.log(`calibration (Platt scaling of the summed log2 odds): intercept ${platt.intercept.toFixed(2)} slope ${platt.slope.toFixed(3)} (configured ${intercept} / ${slope})`);
  for (const [name, t] of Object.entries(fields)) {
    const configured = rules.fields[name as keyof typeof rules.fields];
    console.log(`${name}: m ${f(share(t.same, 0))} u ${f(share(t.other, 0))} (configured m ${configured.m} u ${configured.u}; ${sum(t.same)} same-person pairs, ${sum(t.other)} others)`);
  }
}

/** The log2 odds `intercept + slope * raw` that fit the pairs best (maximum likelihood, Newton's method). */
function plattScaling(pairs: Array<{ raw: number; same: boolean }>): { intercept: number; slope: number } {
  let a = 0;
  let b = 1;
  for (let it = 0; it < 50; it++) {
    let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (const { raw, same } of pairs) {
      const p = 1 / (1 + 2 ** -(a + b * raw));
      const y = same ? 1 : 0;
      const w = p * (1 - p) * Math.LN2;
      ga += (y - p);
      gb += (y - p) * raw;
      haa += w;
      hab += w * raw;
      hbb += w * raw * raw;
    }
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a += da;
    b += db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { intercept: a, slope: b };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
