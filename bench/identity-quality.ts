/**
 * Identity-resolution quality on the seeded synthetic population: prints pairwise precision and
 * recall of the resolved profiles and of the probable links, then how stable the links are across
 * batchings and arrival orders (Jaccard similarity of the link sets; 1.0 is the goal).
 * `npm run bench:identity`.
 */
import { loadIngestConfig } from '../lib/ingest/config';
import { DEFAULT_POPULATION, generatePopulation } from './synthetic/population';
import { measureQuality } from './synthetic/quality';
import { jaccard, linkSet, type Delivery } from './synthetic/stability';

async function main(): Promise<void> {
  const config = loadIngestConfig('bench');
  for (const seed of [7, 11, 23]) {
    const population = generatePopulation({ ...DEFAULT_POPULATION, seed });
    const started = process.hrtime.bigint();
    const q = await measureQuality(population, config);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(
      `seed ${seed}: ${q.events} events, ${q.people} people -> ${q.profiles} profiles | deterministic precision ${q.precision.toFixed(4)} recall ${q.recall.toFixed(4)} | ` +
        `${q.probableLinks} probable links, precision ${q.probablePrecision.toFixed(4)}, recall with links ${q.recallWithProbable.toFixed(4)} | ${ms.toFixed(0)} ms`,
    );
  }
  // Stability on a smaller population (each delivery ingests it again).
  const deliveries: Delivery[] = [{ batch: 20, interleave: 0 }, { batch: 1, interleave: 0 }, { batch: 20, interleave: 1 }, { batch: 100, interleave: 2 }, { batch: 20, interleave: 0, shards: 2 }];
  for (const seed of [7, 11]) {
    const population = generatePopulation({ ...DEFAULT_POPULATION, seed, households: 80 });
    const sets = [];
    for (const d of deliveries) sets.push(await linkSet(population, config, d));
    const base = sets[0] as Set<string>;
    const figures = sets.slice(1).map((s, i) => `${describe(deliveries[i + 1] as Delivery)} ${jaccard(base, s).toFixed(3)}`);
    console.log(`stability, seed ${seed} (80 households, ${base.size} links in time order, batches of 20): Jaccard against ${figures.join(', ')}`);
  }
}

const describe = (d: Delivery): string => `${d.interleave === 0 ? 'time order' : 'devices interleaved'}, batches of ${d.batch}${(d.shards ?? 1) > 1 ? ` on ${d.shards} shards` : ''}`;

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
