/**
 * Identity-resolution quality on the seeded synthetic population: prints pairwise precision and
 * recall of the resolved profiles and of the probable links. `npm run bench:identity`.
 */
import { loadIngestConfig } from '../lib/ingest/config';
import { DEFAULT_POPULATION, generatePopulation } from './synthetic/population';
import { measureQuality } from './synthetic/quality';

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
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
