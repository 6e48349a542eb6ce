/**
 * Identity-resolution quality on seeded synthetic populations with known truth: pairwise precision
 * and recall of the resolved profiles (deterministic), precision, recall and F0.5 of the probable
 * links and of the person clusters, then how stable the links are across batchings, arrival orders
 * and shards (Jaccard similarity of the link sets; the goal is 1.0). `npm run bench:identity`.
 *
 * Populations: `mixed` (households of 1-4 people with a phone and maybe a laptop and a tablet, shared
 * family tablets, bots, carrier NAT), `households` (2-5 people with 2-4 devices each, three weeks),
 * `shops` (mixed, and three shops' Wi-Fi with 50 shoppers a day, many of them looking at the
 * category's best-seller).
 */
import { loadIngestConfig } from '../lib/ingest/config';
import { DEFAULT_POPULATION, generatePopulation, type PopulationOptions } from './synthetic/population';
import { measureQuality } from './synthetic/quality';
import { jaccard, linkSet, type Delivery } from './synthetic/stability';

const POPULATIONS: Array<[string, Partial<PopulationOptions>]> = [
  ['mixed', {}],
  ['households', { households: 100, days: 21, members: [2, 5], devices: [2, 4] }],
  ['shops', { stores: 3, shoppersPerStoreDay: 50 }],
];

const f = (x: number) => x.toFixed(4);
const f05 = (p: number, r: number) => (p + r === 0 ? 0 : (1.25 * p * r) / (0.25 * p + r));

async function main(): Promise<void> {
  const config = loadIngestConfig('bench');
  for (const [name, options] of POPULATIONS) {
    for (const seed of [7, 11, 23]) {
      const population = generatePopulation({ ...DEFAULT_POPULATION, ...options, seed });
      const started = process.hrtime.bigint();
      const q = await measureQuality(population, config);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(
        `${name.padEnd(10)} seed ${String(seed).padStart(2)}: ${q.events} events, ${q.people} people -> ${q.profiles} profiles | deterministic precision ${f(q.precision)} recall ${f(q.recall)} F0.5 ${f(f05(q.precision, q.recall))} | ` +
          `${q.probableLinks} probable links: precision ${f(q.probablePrecision)} recall ${f(q.probableRecall)} F0.5 ${f(q.probableF05)} | ` +
          `clusters: precision ${f(q.clusterPrecision)} recall ${f(q.clusterRecall)} F0.5 ${f(q.clusterF05)} | ${ms.toFixed(0)} ms`,
      );
    }
  }
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
  for (const [name, options] of POPULATIONS) {
    for (const seed of [7, 11]) {
      const population = generatePopulation({ ...DEFAULT_POPULATION, ...options, seed, households: 60, sharedTabletShare: 0.2 });
      const sets = [];
      for (const d of deliveries) sets.push(await linkSet(population, config, d));
      const base = sets[0] as Set<string>;
      const figures = sets.slice(1).map((s, i) => `${describe(deliveries[i + 1] as Delivery)} ${jaccard(base, s).toFixed(3)}`);
      console.log(`stability, ${name}, seed ${seed} (60 households, a fifth sharing a tablet; ${base.size} links in time order, batches of 20): Jaccard against ${figures.join(', ')}`);
    }
  }
}

const describe = (d: Delivery): string =>
  `${d.interleave === 0 ? 'time order' : 'devices interleaved'}, batches of ${d.batch}${(d.shards ?? 1) > 1 ? ` on ${d.shards} shards` : ''}`;

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
