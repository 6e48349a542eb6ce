import { loadCatalog } from '../../lib/decision/catalog';
import { decisionContext } from '../../lib/decision/context';
import { decide, type DecisionFacts } from '../../lib/decision/decide';
import { loadModel, MAX_COEFFICIENT } from '../../lib/decision/model';

/**
 * A model artifact whose linear score could overflow (coefficients of ±1e308) is refused when it is
 * published and when it is loaded; and a decision never ranks on a score that is not a finite number:
 * such a propensity falls back as a failed model does (the batch score, else the default).
 */
const catalog = loadCatalog();
const facts: DecisionFacts = { aggregates: {}, derived: {}, traits: {}, stage: 'exploring', batch: {}, segments: [], consent: { personalization: true } };

function logistic(intercept: number, weights: Record<string, number>, features = [{ name: 'orders', path: 'aggregates.orderCount365d' }, { name: 'revenue', path: 'aggregates.revenue365d' }]) {
  return { version: 'overflow-1', kind: 'logistic', features, targets: { default: { intercept, weights } } };
}

describe('a model whose score can overflow is refused', () => {
  it.each([
    [logistic(1e308, { orders: 1 }), 'target "default" intercept: must be between'],
    [logistic(0, { orders: 1e308, revenue: -1e308 }), 'target "default" weights.orders: must be between'],
    [logistic(0, { orders: 1, revenue: -(MAX_COEFFICIENT * 10) }), 'target "default" weights.revenue: must be between'],
  ])('names the target and the field of a coefficient out of bounds (%#)', (artifact, message) => {
    expect(() => loadModel(artifact)).toThrow(message);
  });

  it('scores a finite propensity from coefficients at their bounds, whatever values her profile holds', () => {
    const model = loadModel(logistic(MAX_COEFFICIENT, { orders: MAX_COEFFICIENT, revenue: -MAX_COEFFICIENT }));
    const offer = catalog.offers[0]!;
    for (const [orders, revenue] of [[1e308, -1e308], [1e308, 1e308], [-1e308, 0], [Number.MAX_VALUE, Number.MIN_VALUE]] as const) {
      const p = model.scorer({ ...facts, aggregates: { orderCount365d: orders, revenue365d: revenue } })(offer);
      expect(Number.isFinite(p)).toBe(true);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
  });
});

describe('a decision never ranks on a non-finite score', () => {
  const context = decisionContext({ placement: 'app-feed', timezone: 'Europe/London', timestamp: '2026-12-01T12:00:00Z' }, catalog, 'Europe/London');
  const run = (propensity: () => number | undefined, batch: Record<string, unknown> = {}) =>
    decide({ decisionId: 'd-overflow', profileId: 'p-1', facts: { ...facts, batch }, context, count: 3, propensity, modelVersion: 'in-process:overflow-1' }, catalog);

  it.each([NaN, Infinity, -Infinity, 1.5, -0.1])('scores a propensity of %p as the default propensity would, never null', (bad) => {
    const fallback = run(() => undefined);
    const decision = run(() => bad);
    expect(decision.offers.map((o) => [o.offerId, o.score])).toEqual(fallback.offers.map((o) => [o.offerId, o.score]));
    for (const o of JSON.parse(JSON.stringify(decision)).offers) expect(typeof o.score).toBe('number');
  });

  it('falls back to her batch propensity first, as when the model is missing', () => {
    const batch = { [catalog.arbitration.propensityAttribute]: 0.42 };
    expect(run(() => NaN, batch).offers.map((o) => o.score)).toEqual(run(() => undefined, batch).offers.map((o) => o.score));
  });
});
