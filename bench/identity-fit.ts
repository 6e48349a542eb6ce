/**
 * Estimates the identity model's Fellegi-Sunter m and u (issue 27) from labelled pairs: every pair the
 * read API scores (two live profiles on a network both use) in the phenomena populations' TUNE seeds
 * only (bench/synthetic/phenomena.ts), labelled by who really caused their events. m is the share of
 * one person's pairs at a level, u the share of two people's. Prints them beside config/identity.json's,
 * so the shipped values can be checked against what the data says; the holdout seeds are never read
 * here. `npm run bench:identity-fit`.
 *
 * The research similarity is measured with the popularity the ingest counted (before any night) and
 * with the popularity one night learns; the two are pooled for m and u, and calibrated apart.
 */
import { loadIngestConfig } from '../lib/ingest/config';
import { Neighbourhood } from '../lib/identity/links';
import { otherInterests, otherInterestsCell, researchCell, researchSimilarity, type NetworkView } from '../lib/identity/likeness';
import { compareKinds, weighPair } from '../lib/identity/probabilistic';
import { NO_WEIGHTS } from '../lib/identity/weights';
import { matchCardOf, type MatchCard } from '../lib/profile/profile';
import { dataEnd, nightlyWeights } from './synthetic/links';
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
  const fields = { locale: tally(2), timezone: tally(2) };
  // Devices compared: a handheld of one kind on both sides, of one class (two phones of different kinds), or neither.
  const kinds = tally(3);
  const interests = tally(rules.fields.otherInterests.m.length);
  let pairs = 0;
  // Scored pairs, before any night and after one: each stage has its own calibration.
  const scored = { beforeNight: [] as Array<{ prior: number; evidence: number; same: boolean }>, night: [] as Array<{ prior: number; evidence: number; same: boolean }> };
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
        const hood = new Neighbourhood(stores, config.rules, { weights, at: dataEnd(stores) });
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
            const parts = weighPair(card, other, await hood.networksOf(card), rules, scoring);
            if (parts !== undefined) scored[weights === NO_WEIGHTS ? 'beforeNight' : 'night'].push({ prior: parts.prior, evidence: parts.evidence, same });
            const s = researchSimilarity(card, other, rules, scoring);
            if (s !== undefined) count(research, researchCell(rules.research, s));
            const la = card.signals.locale?.v.toLowerCase();
            const lb = other.signals.locale?.v.toLowerCase();
            if (la !== undefined && lb !== undefined) count(fields.locale, la === lb ? 0 : 1);
            const ta = card.signals.timezone?.v;
            const tb = other.signals.timezone?.v;
            if (ta !== undefined && tb !== undefined) count(fields.timezone, ta === tb ? 0 : 1);
            const o = otherInterests(card, other);
            if (o !== undefined) count(interests, otherInterestsCell(rules.fields.otherInterests.levels, o.cosine));
            const compared = compareKinds(card, other);
            if (compared !== undefined) count(kinds, compared.cell);
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
  for (const [stage, c] of [['after a night', rules.calibration], ['before any night', rules.calibration.beforeNight]] as const) {
    const platt = plattScaling(stage === 'after a night' ? scored.night : scored.beforeNight);
    console.log(`calibration ${stage} (Platt scaling, the prior apart): intercept ${platt.intercept.toFixed(2)} priorSlope ${platt.priorSlope.toFixed(2)} slope ${platt.slope.toFixed(2)} (configured ${c.intercept} / ${c.priorSlope} / ${c.slope})`);
  }
  for (const [k, name] of (['sameKind', 'sameClass'] as const).entries()) {
    const configured = rules.fields[name];
    console.log(`${name}: m ${f(share(kinds.same, k))} u ${f(share(kinds.other, k))} (configured m ${configured.m} u ${configured.u}; ${sum(kinds.same)} same-person pairs, ${sum(kinds.other)} others compared)`);
  }
  {
    const o = rules.fields.otherInterests;
    const cells = interests.same.map((_, k) => ({ m: Math.max(U_FLOOR, share(interests.same, k)), u: Math.max(U_FLOOR, share(interests.other, k)) }));
    console.log(`otherInterests (cosine of category counts beside the one most looked at; levels ${o.levels.join(', ')}; ${sum(interests.same)} same-person pairs, ${sum(interests.other)} others compared):`);
    console.log(`  m ${cells.map((c) => f(c.m)).join(' ')}  u ${cells.map((c) => f(c.u)).join(' ')}  log2(m/u) ${cells.map((c) => Math.log2(c.m / c.u).toFixed(2)).join(' ')}`);
    console.log(`  as configured (m and u at least ${U_FLOOR}): "m": ${JSON.stringify(cells.map((c) => r3(c.m)))}, "u": ${JSON.stringify(cells.map((c) => r3(c.u)))} (configured m ${JSON.stringify(o.m)} u ${JSON.stringify(o.u)})`);
  }
  for (const [name, t] of Object.entries(fields)) {
    const configured = rules.fields[name as keyof typeof rules.fields];
    console.log(`${name}: m ${f(share(t.same, 0))} u ${f(share(t.other, 0))} (configured m ${configured.m} u ${configured.u}; ${sum(t.same)} same-person pairs, ${sum(t.other)} others)`);
  }
}

/**
 * The log2 odds `intercept + priorSlope * prior + slope * evidence` that fit the labelled pairs best
 * (logistic regression by maximum likelihood, Newton's method on three parameters).
 */
function plattScaling(pairs: Array<{ prior: number; evidence: number; same: boolean }>): { intercept: number; priorSlope: number; slope: number } {
  let w = [0, 1, 1];
  for (let it = 0; it < 100; it++) {
    const g = [0, 0, 0];
    const h = [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ];
    for (const { prior, evidence, same } of pairs) {
      const x = [1, prior, evidence];
      const z = (w[0] as number) + (w[1] as number) * prior + (w[2] as number) * evidence;
      const p = 1 / (1 + 2 ** -z);
      const r = (same ? 1 : 0) - p;
      const v = p * (1 - p) * Math.LN2;
      for (let i = 0; i < 3; i++) {
        g[i] = (g[i] as number) + r * (x[i] as number);
        for (let j = 0; j < 3; j++) (h[i] as number[])[j] = ((h[i] as number[])[j] as number) + v * (x[i] as number) * (x[j] as number);
      }
    }
    const step = solve3(h, g);
    w = w.map((wi, i) => wi + (step[i] as number));
    if (step.reduce((s, d) => s + Math.abs(d), 0) < 1e-9) break;
  }
  return { intercept: w[0] as number, priorSlope: w[1] as number, slope: w[2] as number };
}

/** x with A x = b, for a 3x3 A (Cramer's rule). */
function solve3(a: number[][], b: number[]): number[] {
  const at = (i: number, j: number) => (a[i] as number[])[j] as number;
  const det = (m: (i: number, j: number) => number) =>
    m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1)) - m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0)) + m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0));
  const d = det(at);
  return [0, 1, 2].map((k) => det((i, j) => (j === k ? (b[i] as number) : at(i, j))) / d);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
