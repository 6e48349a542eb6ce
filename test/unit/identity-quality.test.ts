import { loadIngestConfig } from '../../lib/ingest/config';
import { generatePopulation } from '../../bench/synthetic/population';
import { measureQuality } from '../../bench/synthetic/quality';

describe('identity resolution quality on a synthetic population with known truth', () => {
  it('keeps deterministic links precise (>= 0.99 pairwise) and probable links mostly right (F0.5 >= 0.9)', async () => {
    // Prepare: households sharing networks, shared family tablets, bots with junk ids, carrier NAT.
    const population = generatePopulation({ seed: 7, households: 150, days: 10 });
    // Act
    const q = await measureQuality(population, loadIngestConfig('test'));
    // Assess
    console.log(
      `identity quality: ${q.events} events, ${q.people} people, ${q.profiles} profiles; precision ${q.precision.toFixed(4)}, ` +
        `recall ${q.recall.toFixed(4)}; ${q.probableLinks} probable links, precision ${q.probablePrecision.toFixed(4)}, recall ${q.probableRecall.toFixed(4)}, F0.5 ${q.probableF05.toFixed(4)}, recall with links ${q.recallWithProbable.toFixed(4)}`,
    );
    expect(q.precision).toBeGreaterThanOrEqual(0.99);
    expect(q.probablePrecision).toBeGreaterThanOrEqual(0.9);
    expect(q.probableF05).toBeGreaterThanOrEqual(0.9);
    expect(q.recallWithProbable).toBeGreaterThan(q.recall);
  });

  it('is deterministic for a seed', () => {
    const a = generatePopulation({ seed: 3, households: 5, days: 2 });
    const b = generatePopulation({ seed: 3, households: 5, days: 2 });
    expect(a).toEqual(b);
  });
});
