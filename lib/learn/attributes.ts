/**
 * The nightly job's value attributes for each customer, from her stored events: `clv` (her
 * expected value over the horizon, lib/learn/clv.ts: BG/NBD purchases x Gamma-Gamma value x margin,
 * discounted), `valueTier` (low / medium / high basket value; none without an order) and `cluster`
 * (her audience cluster by behaviour), each stamped with the night, ready for lib/profile/batch.ts's
 * merge-safe writer. Segments and offer eligibility read them as `batch.clv`, `batch.valueTier`,
 * `batch.cluster`.
 *
 * Her orders are read in days: a day with orders is one purchase (their totals summed); frequency is
 * her days with an order after her first, recency her last such day since her first, T the last day
 * before the night since her first. When the population cannot carry the models (too few buyers or
 * repeat buyers: the purchase rate and the drop-out cannot be told apart without repeats) no `clv` is
 * written that night, rather than a number no model stands behind; the report says why, and a
 * profile keeps the `clv` of the last night that had one, stamped with that night.
 */
import type { CollectedEvent } from '../events/segment';
import type { BatchAttribute } from '../profile/profile';
import { backtestValue, clvDefaults, fitValueModels, lifetimeValue, summarize, type BacktestResult, type ClvOptions, type CustomerSummary, type Purchase, type ValueFit, type ValueModels } from './clv';
import { kMeans, nearestCluster, type Clustering } from './kmeans';
import { DAY_MS, isOrder, type CustomerHistory } from './training-set';
import { tierOf, tierScale, type OrderHistory, type Tier, type TierOptions, type TierScale } from './value';

export interface ValueAttributeOptions extends TierOptions, ClvOptions {
  /** How many audience clusters (default 4). */
  clusters?: number;
  seed?: number;
  /** The last days of the history the nightly back-test forecasts, the models fitted on the days before (default 90). */
  backtestDays?: number;
  /** The most an order's total counts for (default: 100 times the night's median order total). A public write key can send any total. */
  maxOrderValue?: number;
}

const YEAR_MS = 365 * DAY_MS;

/**
 * What the night's value attributes are computed against, fitted on a population (every customer,
 * or on AWS a sample of them): the value models (or why there are none tonight) and how `clv` reads
 * them, the back-test, the tier cuts and the audience clusters. Applied to each customer on her own
 * (`customerAttributes`), so scoring fans out.
 */
export interface ValueModel {
  asOf: string;
  /** The last day (days since 1970-01-01, UTC) of the history the models read. */
  lastDay: number;
  /** Customers seen, with a purchase, with a repeat purchase. */
  customers: { seen: number; buyers: number; repeatBuyers: number };
  clv: ValueFit & { horizonDays: number; margin: number; annualDiscountRate: number };
  /**
   * How the night read order totals: the most one counts for (null without a positive total), and
   * how many of the night's orders were above it (counted at the cap) or had no readable total
   * (missing, not a number, negative: counted as 0). Every figure the models read is bounded by it.
   */
  orderValues: { cap: number | null; orders: number; capped: number; unreadable: number };
  backtest: BacktestResult;
  tiers: TierScale;
  clusters: Pick<Clustering, 'centroids' | 'means' | 'scales'>;
  /** For the report: customers per value tier, and each audience cluster's size and typical customer. */
  summary: { tiers: Record<Tier, number>; clusters: ClusterSummary[] };
}

/** An audience cluster as a marketer reads it: how many, and its centre in plain units. */
export interface ClusterSummary {
  cluster: number;
  customers: number;
  ordersInYear: number;
  revenueInYear: number;
  productViews: number;
  daysSinceSeen: number;
}

/** The last whole day of the history as of `now` (the night's midnight: the day before). */
const lastDayOf = (now: Date): number => Math.ceil(now.getTime() / DAY_MS) - 1;

/** An order total's cap, without a configured one: this many times the night's median order total. */
const CAP_OVER_MEDIAN = 100;

export function fitValue(customers: readonly CustomerHistory[], now: Date, options: ValueAttributeOptions = {}): ValueModel {
  const known = customers.map((c) => seenBy(c, now)).filter((events) => events.length > 0);
  const orderValues = orderValuesOf(known, options);
  const cap = orderValues.cap ?? Number.POSITIVE_INFINITY;
  const histories = known.map((events) => orderHistory(events, now, cap));
  const clustering = kMeans(
    known.map((events, i) => behaviour(events, histories[i] as OrderHistory, now)),
    { k: options.clusters ?? 4, seed: options.seed ?? 1 },
  );
  const lastDay = lastDayOf(now);
  const purchases = known.map((events) => purchasesOf(events, cap));
  const summaries = purchases.flatMap((p) => summarize(p, lastDay) ?? []);
  const { horizonDays, margin, annualDiscountRate } = clvDefaults(options);
  const tiers = tierScale(histories, options);
  const tierCounts: Record<Tier, number> = { low: 0, medium: 0, high: 0 };
  for (const h of histories) {
    const tier = tierOf(h, tiers);
    if (tier !== undefined) tierCounts[tier] += 1;
  }
  // The behaviour features are orders, log1p(revenue), log1p(views) and days since seen (see behaviour()).
  const clusters = clustering.centroids.map((c, cluster) => ({
    cluster,
    customers: clustering.sizes[cluster] ?? 0,
    ordersInYear: round2(c[0] ?? 0),
    revenueInYear: round2(Math.expm1(c[1] ?? 0)),
    productViews: round2(Math.expm1(c[2] ?? 0)),
    daysSinceSeen: round2(c[3] ?? 0),
  }));
  return {
    asOf: now.toISOString(),
    lastDay,
    customers: { seen: known.length, buyers: summaries.length, repeatBuyers: summaries.filter((s) => s.frequency > 0).length },
    clv: { ...fitValueModels(summaries, options), horizonDays, margin, annualDiscountRate },
    orderValues,
    backtest: backtestValue(purchases, lastDay, options.backtestDays ?? 90, options),
    tiers,
    clusters: { centroids: clustering.centroids, means: clustering.means, scales: clustering.scales },
    summary: { tiers: tierCounts, clusters },
  };
}

/** A customer's value attributes on the night's model; undefined if she had no event by then. `clv` is 0 before her first order (BG/NBD is of customers already acquired). */
export function customerAttributes(model: ValueModel, customer: CustomerHistory, now: Date): Record<string, BatchAttribute> | undefined {
  const events = seenBy(customer, now);
  if (events.length === 0) return undefined;
  // A model stored before the cap existed (a deploy mid-night) has none: totals are read uncapped.
  const cap = model.orderValues?.cap ?? Number.POSITIVE_INFINITY;
  const history = orderHistory(events, now, cap);
  const tier = tierOf(history, model.tiers);
  const asOf = model.asOf;
  const out: Record<string, BatchAttribute> = {
    cluster: { value: model.clusters.centroids.length === 0 ? 0 : nearestCluster(model.clusters, behaviour(events, history, now)), asOf },
    ...(tier === undefined ? {} : { valueTier: { value: tier, asOf } }),
  };
  if (model.clv.fitted) {
    const value = clvOf(model.clv.models, summarize(purchasesOf(events, cap), model.lastDay), model.clv);
    if (value !== undefined) out.clv = { value, asOf };
  }
  return out;
}

/** Her clv, 0 before her first order; none where her history gives no finite value (one customer never fails the others). */
function clvOf(models: ValueModels, summary: CustomerSummary | undefined, options: ClvOptions): number | undefined {
  if (summary === undefined) return 0;
  try {
    return round2(lifetimeValue(models, summary, options));
  } catch {
    return undefined;
  }
}

/** What the night's report shows of the value model: the models' parameters (or why there are none), the customers they read and the back-test. */
export function valueReport(model: ValueModel): Record<string, unknown> {
  const { clv } = model;
  return {
    customers: model.customers,
    clv: clv.fitted
      ? { purchases: clv.models.purchases, spend: clv.models.spend ?? `not used (${clv.models.spendNotUsed ?? 'no reason given'}): each purchase is worth the repeat buyers' median, ${round2(clv.models.purchaseValue)}`, horizonDays: clv.horizonDays, margin: clv.margin, annualDiscountRate: clv.annualDiscountRate }
      : { notFitted: clv.reason },
    orderValues: model.orderValues,
    backtest: model.backtest,
    tiers: { cuts: model.tiers, customers: model.summary.tiers },
    clusters: model.summary.clusters,
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

/** An order's total as sent: a finite, non-negative number, or undefined (missing, a string, NaN, negative). */
const sentTotal = (e: CollectedEvent): number | undefined => {
  const total = (e.properties as Record<string, unknown> | undefined)?.total;
  return typeof total === 'number' && Number.isFinite(total) && total >= 0 ? total : undefined;
};

/** An order's total as the models read it: 0 when unreadable, at most the cap. */
const totalOf = (e: CollectedEvent, cap: number): number => Math.min(sentTotal(e) ?? 0, cap);

/**
 * The night's cap on order totals and what it did: the configured maximum, else 100 times the median
 * positive total (a median, so even many absurd orders cannot raise it), and the orders above it or
 * without a readable total.
 */
function orderValuesOf(known: readonly (readonly CollectedEvent[])[], options: ValueAttributeOptions): ValueModel['orderValues'] {
  const totals = known.flatMap((events) => events.filter(isOrder).map(sentTotal));
  const positive = totals.filter((t): t is number => t !== undefined && t > 0).sort((a, b) => a - b);
  const configured = options.maxOrderValue;
  if (configured !== undefined && !(configured > 0 && Number.isFinite(configured))) throw new RangeError(`maxOrderValue must be a positive number, not ${configured}`);
  const median = positive.length === 0 ? undefined : ((positive[(positive.length - 1) >> 1] as number) + (positive[positive.length >> 1] as number)) / 2;
  const cap = configured ?? (median === undefined ? null : CAP_OVER_MEDIAN * median);
  return { cap, orders: totals.length, capped: cap === null ? 0 : positive.filter((t) => t > cap).length, unreadable: totals.filter((t) => t === undefined).length };
}

/** Her orders as purchases by day, with their totals (each at most the cap). */
const purchasesOf = (events: readonly CollectedEvent[], cap: number): Purchase[] => events.filter(isOrder).map((e) => ({ day: Math.floor(Date.parse(e.timestamp) / DAY_MS), value: totalOf(e, cap) }));

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Her orders and revenue in the last year (for her tier and cluster). */
function orderHistory(events: readonly CollectedEvent[], now: Date, cap: number): OrderHistory {
  const orders = events.filter((e) => isOrder(e) && now.getTime() - Date.parse(e.timestamp) <= YEAR_MS);
  return { orders: orders.length, revenue: orders.reduce((s, e) => s + totalOf(e, cap), 0) };
}

/** What the clusters are found on: orders and revenue in the year, product views, and days since she was last seen. */
function behaviour(events: readonly CollectedEvent[], h: OrderHistory, now: Date): number[] {
  const views = events.filter((e) => e.type === 'track' && e.event === 'Product Viewed').length;
  const lastSeen = events.reduce((t, e) => Math.max(t, Date.parse(e.timestamp)), Number.NEGATIVE_INFINITY);
  return [h.orders, Math.log1p(h.revenue), Math.log1p(views), (now.getTime() - lastSeen) / DAY_MS];
}
