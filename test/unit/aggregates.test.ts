import { foldAggregates, loadAggregates, viewAggregates, type Aggregates } from '../../lib/profile/aggregates';
import type { CollectedEvent } from '../../lib/events/segment';

const model = loadAggregates();
let n = 0;
function ev(timestamp: string, fields: Record<string, unknown>): CollectedEvent {
  n += 1;
  return { type: 'track', event: 'Product Viewed', anonymousId: 'maria', messageId: `m${n}`, receivedAt: timestamp, timestamp, context: {}, ...fields } as CollectedEvent;
}
const fold = (events: CollectedEvent[]) => events.reduce((s, e) => foldAggregates(model, s, e), {} as Aggregates);
const order = (at: string, total: number, tz = 'America/New_York') =>
  ev(at, { event: 'Order Completed', properties: { total }, context: { timezone: tz } });

describe('aggregates, hand-checked', () => {
  it('counts orders in the customer\'s own calendar day, across midnight in her time zone', () => {
    // Maria in New York: 04:30 and 05:30 UTC on 2 Dec are 23:30 on 1 Dec and 00:30 on 2 Dec in her time zone.
    const state = fold([order('2026-12-02T04:30:00Z', 20), order('2026-12-02T05:30:00Z', 30), order('2026-12-02T16:00:00Z', 5)]);
    // At noon New York time on 2 Dec, "today" holds the 00:30 and 11:00 orders, not the 23:30 one.
    const view = viewAggregates(state, model, new Date('2026-12-02T17:00:00Z'), 'America/New_York');
    expect(view).toMatchObject({ ordersToday: 2, revenueToday: 35, orderCount: 3, revenue: 55, averageOrderValue: 18.33 });
    // The day before (local), read at 23:59 on 1 Dec, today held only the 23:30 order.
    expect(viewAggregates(state, model, new Date('2026-12-02T04:59:00Z'), 'America/New_York')).toMatchObject({ ordersToday: 1, revenueToday: 20 });
  });

  it('puts a late event in the bucket of its own event time', () => {
    const state = fold([order('2026-12-10T12:00:00Z', 100, 'Europe/London'), order('2026-11-05T12:00:00Z', 40, 'Europe/London')]);
    const view = viewAggregates(state, model, new Date('2026-12-10T13:00:00Z'), 'Europe/London');
    expect(view).toMatchObject({ orderCount30d: 1, revenue30d: 100, orderCount365d: 2, revenue365d: 140, ordersToday: 1 });
    // 31 days later the December order has left the 30-day window too.
    expect(viewAggregates(state, model, new Date('2027-01-10T13:00:00Z'), 'Europe/London')).toMatchObject({ orderCount30d: 0, revenue30d: 0 });
  });

  it('keeps the cart: added, minus removed, emptied by an order, and when it was opened', () => {
    const added = (at: string, id: string) => ev(at, { event: 'Product Added', properties: { product_id: id } });
    const state = fold([
      added('2026-12-01T10:00:00Z', 'paint-sage'),
      added('2026-12-01T10:05:00Z', 'roller'),
      ev('2026-12-01T10:06:00Z', { event: 'Product Removed', properties: { product_id: 'roller' } }),
      added('2026-12-01T10:07:00Z', 'brush'),
    ]);
    expect(viewAggregates(state, model)).toMatchObject({
      cart: [{ item: 'paint-sage', addedAt: '2026-12-01T10:00:00Z' }, { item: 'brush', addedAt: '2026-12-01T10:07:00Z' }],
      cartOpenedAt: '2026-12-01T10:00:00Z',
      cartAdds: 3,
    });
    const afterOrder = foldAggregates(model, state, order('2026-12-01T11:00:00Z', 60));
    expect(viewAggregates(afterOrder, model)).toMatchObject({ cart: [], cartOpenedAt: null });
    // An add that arrives late but happened before the order stays out of the cart.
    const late = foldAggregates(model, afterOrder, added('2026-12-01T10:30:00Z', 'tape'));
    expect(viewAggregates(late, model)).toMatchObject({ cart: [], cartOpenedAt: null });
  });

  it('ranks viewed categories and products, and lists recently viewed products without repeats', () => {
    const view = (id: string, category: string, at: string) => ev(at, { properties: { product_id: id, category } });
    const state = fold([
      view('p1', 'Paint', '2026-12-01T10:00:00Z'),
      view('p2', 'Tools', '2026-12-01T10:01:00Z'),
      view('p1', 'Paint', '2026-12-01T10:02:00Z'),
      view('p3', 'paint', '2026-12-01T10:03:00Z'),
    ]);
    expect(viewAggregates(state, model, new Date('2026-12-02T00:00:00Z'))).toMatchObject({
      categoryViews30d: [{ value: 'paint', count: 3 }, { value: 'tools', count: 1 }],
      productViews30d: [{ value: 'p1', count: 2 }, { value: 'p2', count: 1 }, { value: 'p3', count: 1 }],
      recentlyViewed: ['p3', 'p1', 'p2'],
      lastProductViewed: 'p3',
    });
  });

  it('counts sessions, devices and channels, and keeps only a coarse location', () => {
    const state = fold([
      ev('2026-12-01T10:00:00Z', { context: { userAgent: 'Mozilla/5.0 (iPhone) Mobile', location: { latitude: 53.80764, longitude: -1.54869, city: 'Leeds' } } }),
      ev('2026-12-01T10:10:00Z', { context: { userAgent: 'Mozilla/5.0 (iPhone) Mobile' } }),
      ev('2026-12-01T19:00:00Z', { anonymousId: 'maria-tablet', context: { userAgent: 'Mozilla/5.0 (iPad)' } }),
      ev('2026-12-02T14:00:00Z', { userId: 'maria', context: { channel: 'store' } }),
    ]);
    const view = viewAggregates(state, model);
    expect(view.sessions).toEqual({ count: 3, values: expect.any(Array) });
    expect(view.devices).toEqual({ count: 2, values: ['smartphone', 'tablet'] });
    expect(view.channels).toEqual({ count: 2, values: ['store', 'web'] });
    expect(view.lastLocation).toEqual({ city: 'Leeds', latitude: 53.8, longitude: -1.5 });
  });

  it('leaves an aggregate unchanged when the event lacks its field, rather than failing', () => {
    const state = fold([ev('2026-12-01T10:00:00Z', { event: 'Order Completed', properties: { total: 'not a number' } }), order('2026-12-01T11:00:00Z', 10)]);
    expect(viewAggregates(state, model)).toMatchObject({ orderCount: 2, revenue: 10, averageOrderValue: 10 });
  });
});

describe('aggregate definitions are validated', () => {
  const load = (aggregates: unknown[], extra: Record<string, unknown> = {}) => () => loadAggregates({ version: 2, defaultTimezone: 'Europe/London', aggregates, ...extra });

  it.each([
    [[{ name: 'revenue', op: 'sum' }], 'aggregate "revenue" field: is required for op "sum"'],
    [[{ name: 'x', op: 'median', field: 'a' }], 'aggregate "x" op:'],
    [[{ name: 'x', op: 'count', window: { rollingDays: 0 } }], 'aggregate "x" window'],
    [[{ name: 'cart', op: 'set', field: 'p', window: { rollingDays: 3 } }], 'aggregate "cart" window: op "set" keeps its own history'],
    [[{ name: 'x', op: 'distinct', field: '$weather' }], 'aggregate "x" field: unknown derived field'],
    [[{ name: 'x', op: 'count' }, { name: 'x', op: 'count' }], 'aggregate "x" is declared twice'],
    [[{ name: '1x', op: 'count' }], 'aggregate "1x" name: must be an identifier'],
  ])('names the aggregate and the field: %j', (aggregates, message) => {
    expect(load(aggregates)).toThrow(message);
  });

  it('rejects an unknown default time zone', () => {
    expect(load([], { defaultTimezone: 'Mars/Olympus' })).toThrow('defaultTimezone: "Mars/Olympus" is not an IANA time zone');
  });
});

describe('aggregates are data', () => {
  it('folds and reads a new aggregate added to the definitions, with no code change', () => {
    const config = require('../../config/aggregates.json') as { aggregates: unknown[] };
    const extended = loadAggregates({
      ...config,
      aggregates: [...config.aggregates, { name: 'paintViewsThisWeek', on: { event: ['Product Viewed'], where: [{ field: 'properties.category', op: 'eq', value: 'Paint' }] }, op: 'count', window: { calendar: 'week' } }],
    });
    const state = [ev('2026-12-01T10:00:00Z', { properties: { category: 'Paint' } }), ev('2026-12-02T10:00:00Z', { properties: { category: 'Tools' } })].reduce(
      (s, e) => foldAggregates(extended, s, e),
      {} as Aggregates,
    );
    expect(viewAggregates(state, extended, new Date('2026-12-03T10:00:00Z'))).toMatchObject({ paintViewsThisWeek: 1, productViews: 2 });
  });
});
