/**
 * Customer value for batch attributes: an expected value over a horizon from RFM history, and a
 * basket-value tier. Both are transparent on purpose (a marketer can recompute them by hand):
 *
 * - Expected value over H days = average order value x expected orders in H days x the chance she
 *   is still buying. Expected orders = her order rate over her tenure in the last year (orders /
 *   min(365, days since she was first seen, at least her typical gap)) x H. The chance she is still
 *   buying falls once she is later than her typical gap between orders: exp(-(days since her last
 *   order - gap) / gap), 1 while she is not late. A first-time buyer's gap is the population's
 *   median gap. This is an RFM projection, not a fitted BG/NBD model.
 * - Tier: low / medium / high by her average order value against configurable quantiles of the
 *   average order values of the customers who ordered (default the thirds). Customers with one value
 *   stay in one tier: the tier where the middle of their ranks falls (so where half of the buyers
 *   spend exactly 45, they are the medium tier, not a cut that leaves none).
 */

export interface OrderHistory {
  /** Orders in the last 365 days, and their revenue. */
  orders: number;
  revenue: number;
  /** Days since her first seen activity and since her last order (undefined without an order). */
  tenureDays: number;
  daysSinceLastOrder?: number;
}

export interface ValueOptions {
  horizonDays?: number;
  /** Quantiles of average order value between low and medium, and medium and high. */
  tierQuantiles?: [number, number];
}

export type Tier = 'low' | 'medium' | 'high';

export interface CustomerValue {
  expectedValue: number;
  tier?: Tier;
}

const DAYS = 365;

/** What a customer's value is judged against: the population's median gap between orders and its tier cuts. */
export interface ValueScale {
  horizonDays: number;
  /** A first-time buyer's gap, in days: the median gap of the customers with more than one order. */
  medianGap: number;
  /** The highest average order value of the low tier and of the medium one (lower than every buyer's when a tier is empty). */
  cuts: [number, number];
}

/** The scale from a population's histories (all customers, or a sample of them). */
export function valueScale(histories: readonly OrderHistory[], options: ValueOptions = {}): ValueScale {
  const [lowCut, highCut] = options.tierQuantiles ?? [1 / 3, 2 / 3];
  if (!(lowCut > 0 && lowCut < highCut && highCut < 1)) throw new RangeError(`tier quantiles must rise within (0, 1), not ${lowCut}, ${highCut}`);
  const buyers = histories.filter((h) => h.orders > 0);
  const values = buyers.map((h) => h.revenue / h.orders).sort((a, b) => a - b);
  return {
    horizonDays: options.horizonDays ?? DAYS,
    medianGap: median(buyers.filter((h) => h.orders > 1).map(gapOf)) ?? DAYS / 2,
    cuts: [tierTop(values, lowCut), tierTop(values, highCut)],
  };
}

/**
 * The highest value whose customers' middle rank is within the lowest q of the sorted values: each
 * run of equal values goes whole to one tier, the one the middle of its ranks falls in. Lower than
 * every value when none is (finite, so a scale stored as JSON keeps it); NaN without values.
 */
function tierTop(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  let top = -Number.MAX_VALUE;
  for (let start = 0; start < sorted.length; ) {
    let end = start;
    while (end < sorted.length && sorted[end] === sorted[start]) end++;
    if ((start + end) / 2 / sorted.length > q) break;
    top = sorted[start] as number;
    start = end;
  }
  return top;
}

/** One customer's expected value and tier on a scale. */
export function customerValue(h: OrderHistory, scale: ValueScale): CustomerValue {
  if (h.orders <= 0) return { expectedValue: 0 };
  const gap = h.orders > 1 ? gapOf(h) : scale.medianGap;
  const rate = h.orders / Math.max(Math.min(DAYS, h.tenureDays), gap, 1);
  const late = Math.max(0, (h.daysSinceLastOrder ?? 0) - gap);
  const aov = h.revenue / h.orders;
  const expectedValue = round2(aov * rate * scale.horizonDays * Math.exp(-late / gap));
  // No cuts where no buyer was seen to fit them on (a scale stored as JSON holds them as null).
  const [low, high] = scale.cuts;
  if (!(Number.isFinite(low) && Number.isFinite(high))) return { expectedValue };
  return { expectedValue, tier: aov <= low ? 'low' : aov <= high ? 'medium' : 'high' };
}

export function customerValues(histories: readonly OrderHistory[], options: ValueOptions = {}): CustomerValue[] {
  const scale = valueScale(histories, options);
  return histories.map((h) => customerValue(h, scale));
}

/** Her typical gap between orders over her tenure in the last year. */
const gapOf = (h: OrderHistory): number => Math.max(1, Math.min(DAYS, h.tenureDays) / h.orders);

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

/** The q-quantile of sorted values, interpolated linearly (as numpy's default). */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
