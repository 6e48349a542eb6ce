/**
 * The nightly job's value attributes for each customer, from her stored events: `clv` (expected
 * value over the horizon), `valueTier` (low / medium / high basket value; none without an order)
 * and `cluster` (her audience cluster by behaviour), each stamped with the night, ready for
 * lib/profile/batch.ts's merge-safe writer. Segments and offer eligibility read them as
 * `batch.clv`, `batch.valueTier`, `batch.cluster`.
 */
import type { CollectedEvent } from '../events/segment';
import type { BatchAttribute } from '../profile/profile';
import { kMeans } from './kmeans';
import { DAY_MS, isOrder, type CustomerHistory } from './training-set';
import { customerValues, type OrderHistory, type ValueOptions } from './value';

export interface ValueAttributeOptions extends ValueOptions {
  /** How many audience clusters (default 4). */
  clusters?: number;
  seed?: number;
}

const YEAR_MS = 365 * DAY_MS;

export function valueAttributes(customers: readonly CustomerHistory[], now: Date, options: ValueAttributeOptions = {}): Map<string, Record<string, BatchAttribute>> {
  const known = customers.map((c) => ({ profileId: c.profileId, events: c.events.filter((e) => Date.parse(e.timestamp) <= now.getTime()) })).filter((c) => c.events.length > 0);
  const histories = known.map((c) => orderHistory(c.events, now));
  const values = customerValues(histories, options);
  const clusters = kMeans(
    known.map((c, i) => behaviour(c.events, histories[i] as OrderHistory, now)),
    { k: options.clusters ?? 4, seed: options.seed ?? 1 },
  );
  const asOf = now.toISOString();
  return new Map(
    known.map((c, i) => {
      const v = values[i];
      const attributes: Record<string, BatchAttribute> = {
        clv: { value: v?.expectedValue ?? 0, asOf },
        cluster: { value: clusters.assignments[i] as number, asOf },
        ...(v?.tier === undefined ? {} : { valueTier: { value: v.tier, asOf } }),
      };
      return [c.profileId, attributes];
    }),
  );
}

const totalOf = (e: CollectedEvent): number => {
  const total = (e.properties as Record<string, unknown> | undefined)?.total;
  return typeof total === 'number' && Number.isFinite(total) ? total : 0;
};

/** Her orders and revenue in the last year, tenure and days since her last order (loops, not spreads: a bot's profile may hold a great many events). */
function orderHistory(events: readonly CollectedEvent[], now: Date): OrderHistory {
  const first = events.reduce((t, e) => Math.min(t, Date.parse(e.timestamp)), Number.POSITIVE_INFINITY);
  const orders = events.filter((e) => isOrder(e) && now.getTime() - Date.parse(e.timestamp) <= YEAR_MS);
  const lastOrder = events.filter(isOrder).reduce((t, e) => Math.max(t, Date.parse(e.timestamp)), Number.NEGATIVE_INFINITY);
  return {
    orders: orders.length,
    revenue: orders.reduce((s, e) => s + totalOf(e), 0),
    tenureDays: (now.getTime() - first) / DAY_MS,
    ...(Number.isFinite(lastOrder) ? { daysSinceLastOrder: (now.getTime() - lastOrder) / DAY_MS } : {}),
  };
}

/** What the clusters are found on: orders and revenue in the year, product views, and days since she was last seen. */
function behaviour(events: readonly CollectedEvent[], h: OrderHistory, now: Date): number[] {
  const views = events.filter((e) => e.type === 'track' && e.event === 'Product Viewed').length;
  const lastSeen = events.reduce((t, e) => Math.max(t, Date.parse(e.timestamp)), Number.NEGATIVE_INFINITY);
  return [h.orders, Math.log1p(h.revenue), Math.log1p(views), (now.getTime() - lastSeen) / DAY_MS];
}
