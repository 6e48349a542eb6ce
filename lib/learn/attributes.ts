/**
 * The nightly job's value attributes for each customer, from her stored events: `clv` (expected
 * value over the horizon), `valueTier` (low / medium / high basket value; none without an order)
 * and `cluster` (her audience cluster by behaviour), each stamped with the night, ready for
 * lib/profile/batch.ts's merge-safe writer. Segments and offer eligibility read them as
 * `batch.clv`, `batch.valueTier`, `batch.cluster`.
 */
import type { CollectedEvent } from '../events/segment';
import type { BatchAttribute } from '../profile/profile';
import { kMeans, nearestCluster, type Clustering } from './kmeans';
import { DAY_MS, isOrder, type CustomerHistory } from './training-set';
import { customerValue, valueScale, type OrderHistory, type ValueOptions, type ValueScale } from './value';

export interface ValueAttributeOptions extends ValueOptions {
  /** How many audience clusters (default 4). */
  clusters?: number;
  seed?: number;
}

const YEAR_MS = 365 * DAY_MS;

/**
 * What the night's value attributes are computed against, fitted on a population (every customer,
 * or on AWS a sample of them): the value scale (median gap, tier cuts) and the audience clusters.
 * Applied to each customer on her own (`customerAttributes`), so scoring fans out.
 */
export interface ValueModel {
  asOf: string;
  scale: ValueScale;
  clusters: Pick<Clustering, 'centroids' | 'means' | 'scales'>;
}

export function fitValue(customers: readonly CustomerHistory[], now: Date, options: ValueAttributeOptions = {}): ValueModel {
  const known = customers.map((c) => seenBy(c, now)).filter((events) => events.length > 0);
  const histories = known.map((events) => orderHistory(events, now));
  const clustering = kMeans(
    known.map((events, i) => behaviour(events, histories[i] as OrderHistory, now)),
    { k: options.clusters ?? 4, seed: options.seed ?? 1 },
  );
  return { asOf: now.toISOString(), scale: valueScale(histories, options), clusters: { centroids: clustering.centroids, means: clustering.means, scales: clustering.scales } };
}

/** A customer's value attributes on the night's model; undefined if she had no event by then. */
export function customerAttributes(model: ValueModel, customer: CustomerHistory, now: Date): Record<string, BatchAttribute> | undefined {
  const events = seenBy(customer, now);
  if (events.length === 0) return undefined;
  const history = orderHistory(events, now);
  const value = customerValue(history, model.scale);
  const asOf = model.asOf;
  return {
    clv: { value: value.expectedValue, asOf },
    cluster: { value: model.clusters.centroids.length === 0 ? 0 : nearestCluster(model.clusters, behaviour(events, history, now)), asOf },
    ...(value.tier === undefined ? {} : { valueTier: { value: value.tier, asOf } }),
  };
}

/** Every customer's value attributes, the model fitted on them all. */
export function valueAttributes(customers: readonly CustomerHistory[], now: Date, options: ValueAttributeOptions = {}): Map<string, Record<string, BatchAttribute>> {
  const model = fitValue(customers, now, options);
  const out = new Map<string, Record<string, BatchAttribute>>();
  for (const c of customers) {
    const attributes = customerAttributes(model, c, now);
    if (attributes !== undefined) out.set(c.profileId, attributes);
  }
  return out;
}

/** Her events up to the night. */
const seenBy = (c: CustomerHistory, now: Date): CollectedEvent[] => c.events.filter((e) => Date.parse(e.timestamp) <= now.getTime());

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
