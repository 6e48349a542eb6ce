import { loadCatalog } from '../../lib/decision/catalog';
import { SageMakerScorer } from '../../lib/decision/scoring';
import type { DecisionFacts } from '../../lib/decision/decide';
import { loadModel } from '../../lib/decision/model';
import { answerDecision, parseDecisionRequest, type DecisionDeps } from '../../lib/decision/service';
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

describe('the fallback chain of a decision: endpoint, in-process model, rules only', () => {
  let stores: MemoryStores;
  beforeAll(async () => {
    stores = new MemoryStores();
    await ingestBatch([toRecord(segmentEvent({ userId: 'u-hang', timestamp: '2026-12-01T10:00:00.000Z', context: { consent: { categoryPreferences: { Personalization: true } } } }), new SequenceFactory().take())], stores, ingestConfig());
  });
  const request = parseDecisionRequest(JSON.stringify({ identity: { namespace: 'userId', value: 'u-hang' }, placement: 'home', context: { timestamp: '2026-12-01T12:00:00Z' } }));
  const answer = (more: Partial<DecisionDeps>) => answerDecision(request, { stores, config: ingestConfig(), catalog, salt: 'test-salt', ...more });

  it('with a hanging endpoint, answers from the in-process model within the budget and says it fell back', async () => {
    const c = client('hang');
    const response = await answer({ model: loadModel(), scorer: new SageMakerScorer(c as never, 'slow-ep', 20) });
    expect(c.seen.aborted).toBe(true);
    expect(response.offers.length).toBeGreaterThan(0);
    expect(response.modelVersion).toBe('in-process:demo-1 (fallback: model endpoint exceeded its 20 ms budget)');
    expect(response.offers[0]?.score).toBeGreaterThan(0);
  });

  it('uses the in-process model for offers the endpoint gave no valid score', async () => {
    const model = loadModel();
    const scores = await new SageMakerScorer(client('answer') as never, 'ep', 30).score(facts, catalog.offers);
    const response = await answer({ model, scorer: { score: async () => scores } });
    expect(response.modelVersion).toBe('sagemaker:ep:v12');
    const score = (r: typeof response, id: string) => r.offers.find((o) => o.offerId === id)?.score;
    // garden-season: the endpoint's 0.8 x value 12; survey-q4 got 7 (out of range): the model's score.
    expect(score(response, 'garden-season')).toBeCloseTo(9.6, 4);
    const modelOnly = await answer({ model });
    expect(score(response, 'survey-q4')).toBeDefined();
    expect(score(response, 'survey-q4')).toBe(score(modelOnly, 'survey-q4'));
  });

  it('with a failing endpoint and no model, ranks by rules alone', async () => {
    const response = await answer({ scorer: new SageMakerScorer(client('fail') as never, 'broken-ep', 30) });
    expect(response.offers.length).toBeGreaterThan(0);
    expect(response.modelVersion).toBe('rules-only (fallback: model endpoint failed: ModelError)');
  });

  it('with a model that breaks while scoring, ranks by rules alone and says why', async () => {
    const broken = { ...loadModel(), scorer: () => { throw new Error('corrupt weights'); } };
    const response = await answer({ model: broken });
    expect(response.offers.length).toBeGreaterThan(0);
    expect(response.modelVersion).toBe('rules-only (fallback: in-process model failed: corrupt weights)');
  });

  it('never sends the profile of a customer without consent to the endpoint: the model scores her as an unknown visitor', async () => {
    await ingestBatch([toRecord(segmentEvent({ userId: 'u-private', timestamp: '2026-12-01T10:00:00.000Z' }), new SequenceFactory().take(), 'shardId-000000000009')], stores, ingestConfig());
    const c = client('answer');
    const response = await answerDecision(parseDecisionRequest(JSON.stringify({ identity: { namespace: 'userId', value: 'u-private' }, placement: 'home', context: { timestamp: '2026-12-01T12:00:00Z' } })), {
      stores, config: ingestConfig(), catalog, model: loadModel(), scorer: new SageMakerScorer(c as never, 'ep', 30), salt: 'test-salt',
    });
    expect(response.consent.granted).toBe(false);
    expect(c.seen.calls).toBe(0);
    expect(response.modelVersion).toBe('in-process:demo-1');
  });

  it('scores an unknown visitor with the in-process model', async () => {
    const response = await answerDecision(parseDecisionRequest(JSON.stringify({ placement: 'home', context: { timestamp: '2026-12-01T12:00:00Z' } })), {
      stores, config: ingestConfig(), catalog, model: loadModel(), salt: 'test-salt',
    });
    expect(response.profileId).toBeNull();
    expect(response.modelVersion).toBe('in-process:demo-1');
  });
});
