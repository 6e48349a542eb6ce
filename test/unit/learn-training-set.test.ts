import type { CollectedEvent } from '../../lib/events/segment';
import type { Dataset } from '../../lib/learn/csv';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';
import profileDefaults from '../../config/profile.json';
import { createRandom } from '../../lib/learn/metrics';
import { crossValidate } from '../../lib/learn/train';
import { hits, trainingSet, type CustomerHistory, type TrainingSetOptions } from '../../lib/learn/training-set';

const aggregates = loadAggregates();
const profileRules = loadProfileRules(aggregates);
const features = [
  { name: 'orders', path: 'aggregates.orderCount365d', transform: 'log1p' as const },
  { name: 'paintViews', path: 'aggregates.categoryViews30d', keys: ['paint'] },
  { name: 'productViews', path: 'aggregates.productViews' },
];
const cutoff = new Date('2026-11-20T00:00:00Z');
const options = (target: TrainingSetOptions['target']): TrainingSetOptions => ({ cutoff, horizonDays: 7, target, features, aggregates, profileRules });

let n = 0;
const event = (type: string, name: string | undefined, at: string, properties: Record<string, unknown> = {}): CollectedEvent =>
  ({ type, event: name, messageId: `m-${(n += 1)}`, anonymousId: 'a', timestamp: at, receivedAt: at, properties, context: {} }) as unknown as CollectedEvent;
/** Each column's values, as plain arrays (a training set's columns are all numeric). */
const valuesOf = (set: Dataset): number[][] => set.columns.map((c) => (c.type === 'numeric' ? Array.from(c.values) : []));
const view = (at: string, category = 'Paint') => event('track', 'Product Viewed', at, { product_id: 'p', category });
const order = (at: string, category?: string) => event('track', 'Order Completed', at, { total: 20, ...(category ? { products: [{ product_id: 'p', category }] } : {}) });

describe('a training set time-split at a cut-off', () => {
  const ann: CustomerHistory = { profileId: 'ann', events: [view('2026-11-10T10:00:00Z'), view('2026-11-11T10:00:00Z'), order('2026-11-12T10:00:00Z'), order('2026-11-23T10:00:00Z', 'Paint')] };
  const bob: CustomerHistory = { profileId: 'bob', events: [view('2026-11-15T10:00:00Z', 'Garden'), order('2026-12-20T10:00:00Z', 'Paint')] };
  const cy: CustomerHistory = { profileId: 'cy', events: [view('2026-11-21T10:00:00Z')] };

  it('has a row per customer seen before the cut-off, her features as of it, and the label from the horizon after it', () => {
    const set = trainingSet([ann, bob, cy], options({ kind: 'category', category: 'Paint' }));
    expect(set.profileIds).toEqual(['ann', 'bob']);
    expect(set.columns.map((c) => c.name)).toEqual(['orders', 'paintViews', 'productViews']);
    const column = (name: string) => valuesOf(set)[set.columns.findIndex((c) => c.name === name)];
    expect(column('orders')).toEqual([Math.log1p(1), 0]);
    expect(column('paintViews')).toEqual([2, 0]);
    expect(column('productViews')).toEqual([2, 1]);
    // Ann ordered paint 3 days after the cut-off; Bob's paint order is a month later, past the horizon.
    expect(Array.from(set.y)).toEqual([1, 0]);
    expect(set.positives).toBe(1);
  });

  it('sees the segments she is in at the cut-off, as a decision does', () => {
    const set = trainingSet([ann, bob], { ...options({ kind: 'purchase' }), features: [{ name: 'painter', path: 'segments', equals: 'paintIntenders' }] });
    const rules = loadProfileRules(aggregates, {
      ...profileDefaults,
      segments: [{ name: 'paintIntenders', when: { all: [{ path: 'aggregates.categoryViews30d', keys: ['paint'], op: 'gte', value: 2 }] } }],
    });
    const withSegment = trainingSet([ann, bob], { ...options({ kind: 'purchase' }), profileRules: rules, features: [{ name: 'painter', path: 'segments', equals: 'paintIntenders' }] });
    expect(valuesOf(set)).toEqual([[0, 0]]);
    expect(valuesOf(withSegment)).toEqual([[1, 0]]);
  });

  it('lets nothing after the cut-off reach a feature', () => {
    const later = { ...ann, events: [...ann.events, view('2026-11-20T00:00:01Z'), order('2026-11-21T00:00:00Z'), view('2026-11-25T00:00:00Z')] };
    const a = trainingSet([ann], options({ kind: 'purchase' }));
    const b = trainingSet([later], options({ kind: 'purchase' }));
    expect(valuesOf(b)).toEqual(valuesOf(a));
  });

  it('labels an order of anything, an order in a category, and an offer converted', () => {
    const converted = event('track', 'Promotion Converted', '2026-11-21T00:00:00Z', { promotion_id: 'paint-bundle' });
    expect(hits(order('2026-11-21T00:00:00Z'), { kind: 'purchase' })).toBe(true);
    expect(hits(order('2026-11-21T00:00:00Z', 'Garden'), { kind: 'category', category: 'Paint' })).toBe(false);
    expect(hits(event('track', 'Order Completed', '2026-11-21T00:00:00Z', { category: 'paint' }), { kind: 'category', category: 'Paint' })).toBe(true);
    expect(hits(converted, { kind: 'offer', offerId: 'paint-bundle' })).toBe(true);
    expect(hits(converted, { kind: 'offer', offerId: 'garden-season' })).toBe(false);
    expect(hits(view('2026-11-21T00:00:00Z'), { kind: 'purchase' })).toBe(false);
  });
});

describe('a propensity model trained on such a set', () => {
  it('ranks the customers who go on to buy paint above those who do not (cross-validated)', () => {
    // Customers whose paint views make a paint order in the next week likelier, as a seeded simulation.
    const random = createRandom(5);
    const customers: CustomerHistory[] = Array.from({ length: 600 }, (_, i) => {
      const views = Math.floor(random() * 8);
      const events = Array.from({ length: views + 1 }, (_, k) => view(new Date(Date.UTC(2026, 10, 5 + (k % 14), 9, k)).toISOString(), k === 0 ? 'Garden' : 'Paint'));
      if (random() < 1 / (1 + Math.exp(-(-2.5 + 0.5 * views)))) events.push(order(new Date(Date.UTC(2026, 10, 21 + (i % 5))).toISOString(), 'Paint'));
      return { profileId: `c${i}`, events };
    });
    const set = trainingSet(customers, options({ kind: 'category', category: 'Paint' }));
    const cv = crossValidate(set, { model: 'logistic', folds: 5, seed: 1 });
    expect(set.rows).toBe(600);
    expect(set.positives).toBeGreaterThan(100);
    expect(cv.meanAuc).toBeGreaterThan(0.75);
  });
});
