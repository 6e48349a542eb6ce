/**
 * A customer's basket-value tier: low / medium / high by her average order value against
 * configurable quantiles of the average order values of the customers who ordered (default the
 * thirds). Transparent on purpose (a marketer can recompute it by hand). Customers with one value
 * stay in one tier: the tier where the middle of their ranks falls (so where half of the buyers spend
 * exactly 45, they are the medium tier, not a cut that leaves none).
 *
 * What a customer is worth over time is lib/learn/clv.ts's (BG/NBD and Gamma-Gamma).
 */

/** Her orders and their revenue (the nightly job reads the last year's). */
export interface OrderHistory {
  orders: number;
  revenue: number;
}

export interface TierOptions {
  /** Quantiles of average order value between low and medium, and medium and high. */
  tierQuantiles?: [number, number];
}

export type Tier = 'low' | 'medium' | 'high';

/** What a customer's tier is judged against: the highest average order value of the low tier and of the medium one (lower than every buyer's when a tier is empty). */
export interface TierScale {
  cuts: [number, number];
}

/** The cuts from a population's histories (all customers, or a sample of them). */
export function tierScale(histories: readonly OrderHistory[], options: TierOptions = {}): TierScale {
  const [lowCut, highCut] = options.tierQuantiles ?? [1 / 3, 2 / 3];
  if (!(lowCut > 0 && lowCut < highCut && highCut < 1)) throw new RangeError(`tier quantiles must rise within (0, 1), not ${lowCut}, ${highCut}`);
  const values = histories.filter((h) => h.orders > 0).map((h) => h.revenue / h.orders).sort((a, b) => a - b);
  return { cuts: [tierTop(values, lowCut), tierTop(values, highCut)] };
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

/** Her tier on a scale; none without an order, or on a scale fitted without buyers (stored as JSON, its cuts are null). */
export function tierOf(h: OrderHistory, scale: TierScale): Tier | undefined {
  if (h.orders <= 0) return undefined;
  const [low, high] = scale.cuts;
  if (!(Number.isFinite(low) && Number.isFinite(high))) return undefined;
  const aov = h.revenue / h.orders;
  return aov <= low ? 'low' : aov <= high ? 'medium' : 'high';
}

/** Every customer's tier, the scale fitted on them all. */
export function valueTiers(histories: readonly OrderHistory[], options: TierOptions = {}): Array<Tier | undefined> {
  const scale = tierScale(histories, options);
  return histories.map((h) => tierOf(h, scale));
}
