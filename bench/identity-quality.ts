/**
 * Identity-resolution quality on seeded synthetic populations with known truth, measured on what the
 * API serves: pairwise precision and recall of the resolved profiles (deterministic), precision,
 * recall and F0.5 of the probable links (`GET /v1/profiles/{id}/links`) and of the person clusters
 * (`/cluster`), before any night (no identity weights) and after one (the product popularity the
 * nightly job learns); calibration tables (of the pairs stated at probability p, the share that are
 * one person, by decile of p); then how stable the links are across batchings, arrival orders and
 * shards (Jaccard similarity of the link sets; the goal is 1.0). `npm run bench:identity`.
 *
 * Populations: the phenomena of bench/synthetic/phenomena.ts (carrier pools, offices, households,
 * hobby communities, shops, and the acceptance test's pool), and bench/synthetic/population.ts's
 * `mixed` (households of 1-4 people with a phone and maybe a laptop and a tablet, shared family
 * tablets, bots, carrier NAT), `households` (2-5 people with 2-4 devices each, three weeks), `shops`
 * (mixed, and three shops' Wi-Fi with 50 shoppers a day, many of them looking at the category's
 * best-seller). Each on the tune seeds (the model may be fitted to them) and, labelled apart, the
 * holdout seeds (only measured).
 *
 * The goal (issue 27), per population and seed, holdout too: person-cluster precision >= 0.95 and
 * F0.5 >= 0.9, before any night and after one; stated probabilities within 0.05 of the observed
 * share per decile with 50 pairs or more.
 */
import { loadIngestConfig } from '../lib/ingest/config';
import { generatePhenomenon, HOLDOUT_SEEDS, PHENOMENA, TUNE_SEEDS } from './synthetic/phenomena';
import { DEFAULT_POPULATION, generatePopulation, type PopulationOptions, type TruthEvent } from './synthetic/population';
import { formatCalibration, measureQuality, pooled, type LinkQuality, type QualityReport } from './synthetic/quality';
import { jaccard, linkSet, type Delivery } from './synthetic/stability';

const POPULATIONS: Array<[string, Partial<PopulationOptions>]> = [
  ['mixed', {}],
  ['households', { households: 100, days: 21, members: [2, 5], devices: [2, 4] }],
  ['shops', { stores: 3, shoppersPerStoreDay: 50 }],
];

type SeedKind = 'tune' | 'holdout';
const SEEDS: Array<[SeedKind, number]> = [...TUNE_SEEDS.map((s): [SeedKind, number] => ['tune', s]), ...HOLDOUT_SEEDS.map((s): [SeedKind, number] => ['holdout', s])];
/**
 * The run is kept to about five minutes of CPU: the larger populations of population.ts (25,000-32,000
 * events each) are measured on the first tune and the first holdout seed only, and stability on
 * `mixed` and `pool` with the first tune seed. BENCH_IDENTITY_FULL=1 measures every population on
 * every seed and the stability of all three population.ts populations on both tune seeds.
 */
const FULL = process.env.BENCH_IDENTITY_FULL === '1';
const FEWER_SEEDS: Array<[SeedKind, number]> = [['tune', TUNE_SEEDS[0]], ['holdout', HOLDOUT_SEEDS[0]]];

const CASES: Array<{ name: string; make: (seed: number) => TruthEvent[]; seeds: Array<[SeedKind, number]> }> = [
  ...PHENOMENA.map((name) => ({ name, make: (seed: number) => generatePhenomenon(name, seed), seeds: SEEDS })),
  ...POPULATIONS.map(([name, options]) => ({
    name: `population:${name}`,
    make: (seed: number) => generatePopulation({ ...DEFAULT_POPULATION, ...options, seed }),
    seeds: FULL ? SEEDS : FEWER_SEEDS,
  })),
];

/** The acceptance goal on person clusters. */
const GOAL = { precision: 0.95, f05: 0.9 };

const f = (x: number) => x.toFixed(4);
const f05 = (p: number, r: number) => (p + r === 0 ? 0 : (1.25 * p * r) / (0.25 * p + r));
const meets = (q: LinkQuality) => q.clusterPrecision >= GOAL.precision && q.clusterF05 >= GOAL.f05;

async function main(): Promise<void> {
  const config = loadIngestConfig('bench');
  const began = Date.now();
  console.log(`identity quality, measured ${new Date().toISOString()}`);
  const results: Array<{ name: string; kind: SeedKind; seed: number; q: QualityReport }> = [];
  for (const { name, make, seeds } of CASES) {
    for (const [kind, seed] of seeds) {
      const population = make(seed);
      const started = process.hrtime.bigint();
      const q = await measureQuality(population, config, { weights: 'both' });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      results.push({ name, kind, seed, q });
      console.log(
        `${name.padEnd(22)} ${kind.padEnd(7)} seed ${String(seed).padStart(2)}: ${q.events} events, ${q.people} people -> ${q.profiles} profiles | deterministic precision ${f(q.precision)} recall ${f(q.recall)} F0.5 ${f(f05(q.precision, q.recall))} | ${ms.toFixed(0)} ms`,
      );
      for (const [label, l] of [['before any night', q.beforeNight], ['after one night ', q.afterNight]] as const) {
        if (l === undefined) continue;
        console.log(
          `    ${label}: ${String(l.probableLinks).padStart(5)} links P ${f(l.probablePrecision)} R ${f(l.probableRecall)} F0.5 ${f(l.probableF05)} | ` +
            `${String(l.clusterPairs).padStart(5)} cluster pairs P ${f(l.clusterPrecision)} R ${f(l.clusterRecall)} F0.5 ${f(l.clusterF05)}${meets(l) ? '' : '  (below goal)'}`,
        );
      }
    }
  }

  for (const kind of ['tune', 'holdout'] as const) {
    const of = results.filter((r) => r.kind === kind);
    for (const [label, night] of [['before any night', 'beforeNight'], ['after one night', 'afterNight']] as const) {
      const qs = of.map((r) => r.q[night]).filter((q): q is LinkQuality => q !== undefined);
      console.log('');
      for (const line of formatCalibration(pooled(qs.map((q) => q.candidateCalibration)), `calibration of scored pairs (every candidate pair once), ${kind} seeds pooled over all populations, ${label}:`)) console.log(line);
      for (const line of formatCalibration(pooled(qs.map((q) => q.memberCalibration)), `calibration of cluster members (each profile's members), ${kind} seeds pooled over all populations, ${label}:`)) console.log(line);
    }
  }

  // The summary: each population's worst seed of a kind.
  console.log('');
  console.log(`summary: person clusters, the worst seed of each kind (goal: precision >= ${GOAL.precision}, F0.5 >= ${GOAL.f05}, before any night and after one)`);
  console.log(`${'population'.padEnd(22)} | ${'seeds'.padEnd(13)} | before night P / F0.5 | after night P / F0.5 | goal`);
  const worst = (qs: Array<LinkQuality | undefined>) => {
    const xs = qs.filter((q): q is LinkQuality => q !== undefined);
    return { precision: Math.min(...xs.map((q) => q.clusterPrecision)), f05: Math.min(...xs.map((q) => q.clusterF05)) };
  };
  for (const { name } of CASES) {
    for (const kind of ['tune', 'holdout'] as const) {
      const of = results.filter((r) => r.name === name && r.kind === kind);
      const before = worst(of.map((r) => r.q.beforeNight));
      const after = worst(of.map((r) => r.q.afterNight));
      const ok = [before, after].every((x) => x.precision >= GOAL.precision && x.f05 >= GOAL.f05);
      const seeds = `${kind} ${of.map((r) => r.seed).join(',')}`;
      console.log(`${name.padEnd(22)} | ${seeds.padEnd(13)} | ${f(before.precision)} / ${f(before.f05)}      | ${f(after.precision)} / ${f(after.f05)}     | ${ok ? 'met' : 'not met'}`);
    }
  }
  const holdout = results.filter((r) => r.kind === 'holdout').flatMap((r) => [
    { at: `${r.name} seed ${r.seed} before any night`, q: r.q.beforeNight },
    { at: `${r.name} seed ${r.seed} after one night`, q: r.q.afterNight },
  ]).filter((x): x is { at: string; q: LinkQuality } => x.q !== undefined);
  const worstP = holdout.reduce((w, x) => (x.q.clusterPrecision < w.q.clusterPrecision ? x : w));
  const worstF = holdout.reduce((w, x) => (x.q.clusterF05 < w.q.clusterF05 ? x : w));
  console.log(`worst over holdout seeds: cluster precision ${f(worstP.q.clusterPrecision)} (${worstP.at}), cluster F0.5 ${f(worstF.q.clusterF05)} (${worstF.at})`);

  // Stability on smaller populations (each delivery ingests it again).
  const deliveries: Delivery[] = [
    { batch: 20, interleave: 0 },
    { batch: 1, interleave: 0 },
    { batch: 100, interleave: 0 },
    { batch: 20, interleave: 1 },
    { batch: 100, interleave: 2 },
    { batch: 20, interleave: 0, shards: 2 },
    { batch: 1, interleave: 3, shards: 3 },
  ];
  console.log('');
  const stabilitySeeds = FULL ? [...TUNE_SEEDS] : [TUNE_SEEDS[0]];
  const stable: Array<[string, (seed: number) => TruthEvent[]]> = [
    ...POPULATIONS.filter(([name]) => FULL || name === 'mixed').map(([name, options]): [string, (seed: number) => TruthEvent[]] => [
      `${name} (60 households, a fifth sharing a tablet)`,
      (seed) => generatePopulation({ ...DEFAULT_POPULATION, ...options, seed, households: 60, sharedTabletShare: 0.2 }),
    ]),
    ['pool (30 strangers on a carrier pool)', (seed) => generatePhenomenon('pool', seed)],
  ];
  for (const [name, make] of stable) {
    for (const seed of stabilitySeeds) {
      const population = make(seed);
      const sets = [];
      for (const d of deliveries) sets.push(await linkSet(population, config, d));
      const base = sets[0] as Set<string>;
      const figures = sets.slice(1).map((s, i) => `${describe(deliveries[i + 1] as Delivery)} ${jaccard(base, s).toFixed(3)}`);
      console.log(`stability, ${name}, seed ${seed} (${base.size} links in time order, batches of 20): Jaccard against ${figures.join(', ')}`);
    }
  }
  console.log(`done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

const describe = (d: Delivery): string =>
  `${d.interleave === 0 ? 'time order' : 'devices interleaved'}, batches of ${d.batch}${(d.shards ?? 1) > 1 ? ` on ${d.shards} shards` : ''}`;

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
