/**
 * The journey stage, derived from the aggregates whenever they are read or updated, with the reason in
 * words. Time-based stages (cart abandoned, lapsing) are computed from stored timestamps at read time,
 * so no timers are needed.
 */
export const STAGES = ['exploring', 'evaluating', 'in cart', 'cart abandoned', 'purchased', 'repeat customer', 'lapsing'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageConfig {
  cartAbandonedAfterMinutes: number;
  lapsingAfterDays: number;
  evaluatingProductViews: number;
  evaluatingCategoryViews: number;
}

/** The aggregates the stage reads (all in the shipped definitions; checked when the config loads). */
export const STAGE_AGGREGATES = ['cart', 'cartOpenedAt', 'orderCount', 'lastOrderAt', 'productViews30d', 'categoryViews30d', 'orderCount365d', 'revenue365d'] as const;

type Top = Array<{ value: string; count: number }>;

export function journeyStage(aggregates: Record<string, unknown>, now: Date, config: StageConfig): { stage: Stage; reason: string } {
  const cart = (aggregates.cart as Array<{ item: string }> | undefined) ?? [];
  const orders = (aggregates.orderCount as number | undefined) ?? 0;
  if (cart.length > 0) {
    const opened = aggregates.cartOpenedAt as string | null | undefined;
    const minutes = opened ? Math.floor((now.getTime() - Date.parse(opened)) / 60_000) : 0;
    const items = `${cart.length} item${cart.length === 1 ? '' : 's'} in the cart`;
    return minutes >= config.cartAbandonedAfterMinutes
      ? { stage: 'cart abandoned', reason: `${items} for ${minutes} minutes without an order (threshold ${config.cartAbandonedAfterMinutes})` }
      : { stage: 'in cart', reason: `${items}, opened ${minutes} minutes ago` };
  }
  if (orders > 0) {
    const last = aggregates.lastOrderAt as string | undefined;
    const days = last ? Math.floor((now.getTime() - Date.parse(last)) / 86_400_000) : 0;
    if (days > config.lapsingAfterDays) return { stage: 'lapsing', reason: `${orders} order(s), the last ${days} days ago (threshold ${config.lapsingAfterDays})` };
    return orders >= 2
      ? { stage: 'repeat customer', reason: `${orders} orders, the last ${days} days ago` }
      : { stage: 'purchased', reason: `one order, ${days} days ago` };
  }
  const product = ((aggregates.productViews30d as Top | undefined) ?? [])[0];
  if (product && product.count >= config.evaluatingProductViews) {
    return { stage: 'evaluating', reason: `viewed product ${product.value} ${product.count} times in 30 days` };
  }
  const category = ((aggregates.categoryViews30d as Top | undefined) ?? [])[0];
  if (category && category.count >= config.evaluatingCategoryViews) {
    return { stage: 'evaluating', reason: `${category.count} views in ${category.value} in 30 days` };
  }
  return { stage: 'exploring', reason: 'no repeated interest, cart or order yet' };
}
