import { loadCatalog } from '../../lib/decision/catalog';
import { SageMakerScorer } from '../../lib/decision/scoring';
import type { DecisionFacts } from '../../lib/decision/decide';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

const catalog = loadCatalog();
const facts: DecisionFacts = { aggregates: {}, derived: {}, traits: {}, stage: 'exploring', batch: {}, segments: [] };
const offer = catalog.byId.get('garden-season')!;

/** A SageMaker runtime client double: what a slow, broken or healthy endpoint does. */
function client(behaviour: 'hang' | 'fail' | 'answer') {
  const seen = { aborted: false, calls: 0 };
  return {
    seen,
    send: (_command: unknown, options?: { abortSignal?: AbortSignal }) => {
      seen.calls += 1;
      if (behaviour === 'fail') return Promise.reject(Object.assign(new Error('model error'), { name: 'ModelError' }));
      if (behaviour === 'answer') {
        return Promise.resolve({ Body: new TextEncoder().encode(JSON.stringify({ scores: { 'garden-season': 0.8, 'survey-q4': 7 }, modelVersion: 'v12' })) });
      }
      // Hangs until the caller gives up.
      return new Promise((_resolve, reject) => {
        options?.abortSignal?.addEventListener('abort', () => {
          seen.aborted = true;
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        });
      });
    },
  };
}

describe('SageMaker scoring with fallback', () => {
  it('uses the endpoint\'s scores when it answers, ignoring out-of-range ones', async () => {
    const c = client('answer');
    const scores = await new SageMakerScorer(c as never, 'propensity-ep', 30).score(facts, catalog.offers);
    expect(scores.modelVersion).toBe('sagemaker:propensity-ep:v12');
    expect(scores.propensity?.(offer)).toBe(0.8);
    expect(scores.propensity?.(catalog.byId.get('survey-q4')!)).toBeUndefined();
  });

  it('gives up on a hanging endpoint when its budget runs out and falls back to in-process scores', async () => {
    const c = client('hang');
    const scores = await new SageMakerScorer(c as never, 'slow-ep', 25).score(facts, catalog.offers);
    expect(c.seen.aborted).toBe(true);
    expect(scores).toEqual({ modelVersion: 'in-process', fallback: 'model endpoint exceeded its 25 ms budget' });
  });

  it('falls back when the endpoint fails', async () => {
    const scores = await new SageMakerScorer(client('fail') as never, 'broken-ep', 30).score(facts, catalog.offers);
    expect(scores).toEqual({ modelVersion: 'in-process', fallback: 'model endpoint failed: ModelError' });
  });
});

describe('a decision with a hanging model endpoint', () => {
  it('still answers, ranked in-process, and says it fell back', async () => {
    const stores = new MemoryStores();
    await ingestBatch([toRecord(segmentEvent({ userId: 'u-hang', timestamp: '2026-12-01T10:00:00.000Z' }), new SequenceFactory().take())], stores, ingestConfig());
    const c = client('hang');
    const response = await answerDecision(parseDecisionRequest(JSON.stringify({ identity: { namespace: 'userId', value: 'u-hang' }, placement: 'home', context: { timestamp: '2026-12-01T12:00:00Z' } })), {
      stores,
      config: ingestConfig(),
      catalog,
      salt: 'test-salt',
      scorer: new SageMakerScorer(c as never, 'slow-ep', 20),
    });
    expect(c.seen.aborted).toBe(true);
    expect(response.offers.length).toBeGreaterThan(0);
    expect(response.modelVersion).toBe('rules-only (fallback: model endpoint exceeded its 20 ms budget)');
  });
});
