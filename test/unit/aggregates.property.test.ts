import fc from 'fast-check';
import { foldAggregates, loadAggregates, mergeAggregates, viewAggregates, type Aggregates } from '../../lib/profile/aggregates';
import type { CollectedEvent } from '../../lib/events/segment';

const model = loadAggregates();

/** Events that exercise every operation and window: orders, carts, views, devices, time zones, days. */
const arbEvent = fc.record({
  kind: fc.constantFrom('Product Viewed', 'Product Added', 'Product Removed', 'Order Completed', 'page'),
  product: fc.constantFrom('p1', 'p2', 'p3', 'p4'),
  category: fc.constantFrom('Paint', 'Tools', 'Garden'),
  total: fc.integer({ min: 1, max: 99999 }).map((c) => c / 100),
  minutes: fc.integer({ min: 0, max: 60 * 24 * 90 }),
  timezone: fc.constantFrom('Europe/London', 'America/New_York', 'Asia/Tokyo', undefined),
  ua: fc.constantFrom('Mozilla/5.0 (iPhone) Mobile', 'Mozilla/5.0 (Windows NT 10.0)', undefined),
  anon: fc.constantFrom('a1', 'a2'),
});

type Spec = typeof arbEvent extends fc.Arbitrary<infer T> ? T : never;

function toEvents(specs: Spec[], prefix: string): CollectedEvent[] {
  return specs.map((s, i) => {
    const timestamp = new Date(Date.UTC(2026, 9, 1) + s.minutes * 60_000).toISOString();
    const context: Record<string, unknown> = { ...(s.timezone ? { timezone: s.timezone } : {}), ...(s.ua ? { userAgent: s.ua } : {}) };
    const base = { messageId: `${prefix}${i}`, anonymousId: s.anon, timestamp, receivedAt: timestamp, context };
    if (s.kind === 'page') return { ...base, type: 'page', name: 'Home' } as CollectedEvent;
    return {
      ...base,
      type: 'track',
      event: s.kind,
      properties: s.kind === 'Order Completed' ? { total: s.total, products: [{ product_id: s.product }, { product_id: 'p9' }] } : { product_id: s.product, category: s.category },
    } as CollectedEvent;
  });
}

const fold = (events: CollectedEvent[], from: Aggregates = {}) => events.reduce((s, e) => foldAggregates(model, s, e), from);
const arbEvents = (prefix: string) => fc.array(arbEvent, { maxLength: 40 }).map((specs) => toEvents(specs, prefix));

describe('aggregate merges (property tests)', () => {
  it('folding in any order gives the same state', () => {
    fc.assert(
      fc.property(arbEvents('a').chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length }))), ([events, shuffled]) => {
        expect(fold(shuffled)).toEqual(fold(events));
      }),
      { numRuns: 200 },
    );
  });

  it('merging two partial folds, either way round, equals folding everything', () => {
    fc.assert(
      fc.property(arbEvents('a'), arbEvents('b'), (a, b) => {
        const all = fold([...a, ...b]);
        expect(mergeAggregates(model, fold(a), fold(b))).toEqual(all);
        expect(mergeAggregates(model, fold(b), fold(a))).toEqual(all);
        // And folding B onto A's state is the same as both.
        expect(fold(b, fold(a))).toEqual(all);
      }),
      { numRuns: 200 },
    );
  });

  it('reads the same values from equal states at any time (views are functions of the state)', () => {
    fc.assert(
      fc.property(arbEvents('a'), fc.integer({ min: 0, max: 120 }), (events, day) => {
        const now = new Date(Date.UTC(2026, 9, 1) + day * 86_400_000);
        const a = viewAggregates(fold(events), model, now, 'Europe/London');
        const b = viewAggregates(fold([...events].reverse()), model, now, 'Europe/London');
        expect(a).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });
});
