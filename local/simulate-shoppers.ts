/**
 * Shoppers for trying the nightly job locally (`npm run train -- --simulate N`): each browses paint
 * and garden products over the weeks before the night, some leave a cart, and orders hold products,
 * paint with brushes and tape, garden with gloves, more likely for those who looked more. A decision
 * for each cart (its `Decision Made`, as the decision service logs it) either offers the cart
 * reminder or, for a fifth of them, is a holdout that withholds it: those shown it convert (and
 * order) more the more paint they looked at, so the nightly job's uplift has a control arm and an
 * effect to find. Before all that, three in five are customers of up to a year's standing, buying
 * as BG/NBD assumes (each at her own rate, stopping for good after a purchase with her own
 * probability, each spending around her own mean), so the value models have a history to fit and
 * to back-test. Seeded, so a run is repeatable.
 */
import { createRandom } from '../lib/learn/metrics';

const PAINT = ['paint-sage-2l', 'paint-white-5l', 'roller-set-9in'];
const GARDEN = ['hose-25m', 'seed-tray', 'lawn-feed'];

export function simulateShoppers(count: number, night: Date, seed = 7): Array<Record<string, unknown>> {
  const random = createRandom(seed);
  const day = (daysBefore: number, hour: number) => new Date(night.getTime() - daysBefore * 86_400_000 + hour * 3_600_000).toISOString();
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
  const out: Array<Record<string, unknown>> = [];
  let n = 0;
  const emit = (userId: string, timestamp: string, message: Record<string, unknown>) => out.push({ type: 'track', userId, messageId: `sim-${seed}-${(n += 1)}`, timestamp, context: {}, ...message });
  // Their own stream, so the browsing, carts and decisions below are the same with or without them.
  const history = createRandom(seed * 7919 + 1);
  for (let i = 0; i < count; i++) {
    const userId = `shopper-${i}`;
    for (const order of pastOrders(history)) emit(userId, day(order.daysBefore, 14), { event: 'Order Completed', properties: { total: order.total, products: basket(order.category, history) } });
    const paint = Math.floor(random() * 6);
    const garden = Math.floor(random() * 6);
    for (let k = 0; k < paint; k++) emit(userId, day(30 - k * 2, 10), { event: 'Product Viewed', properties: { product_id: pick(PAINT), category: 'Paint' } });
    for (let k = 0; k < garden; k++) emit(userId, day(29 - k * 2, 18), { event: 'Product Viewed', properties: { product_id: pick(GARDEN), category: 'Garden' } });
    if (random() < 0.3) emit(userId, day(25, 12), { event: 'Order Completed', properties: { total: 45, products: basket(paint >= garden ? 'Paint' : 'Garden', random) } });
    const carted = random() < 0.25;
    if (carted) emit(userId, day(16, 20), { event: 'Product Added', properties: { product_id: pick(PAINT), category: 'Paint' } });
    if (carted) {
      const held = random() < 0.2;
      const decision = { decision_id: `sim-decision-${i}`, placement: 'cart' };
      emit(userId, day(12, 8), {
        event: 'Decision Made',
        properties: held ? { ...decision, variant: 'holdout', offers: [], withheld: ['cart-reminder'] } : { ...decision, variant: 'personalised', offers: ['cart-reminder'] },
      });
      if (!held && random() < 0.8) {
        emit(userId, day(12, 9), { event: 'Promotion Viewed', properties: { promotion_id: 'cart-reminder' } });
        if (random() < 0.15 + 0.1 * paint) {
          emit(userId, day(10, 9), { event: 'Promotion Converted', properties: { promotion_id: 'cart-reminder' } });
          emit(userId, day(10, 10), { event: 'Order Completed', properties: { total: 60, products: basket('Paint', random) } });
        }
      }
    }
    const likes = (views: number) => 1 / (1 + Math.exp(-(-3 + 0.6 * views)));
    if (random() < likes(paint)) emit(userId, day(5 + (i % 7), 12), { event: 'Order Completed', properties: { total: 60, products: basket('Paint', random) } });
    if (random() < likes(garden)) emit(userId, day(4 + (i % 7), 15), { event: 'Order Completed', properties: { total: 30, products: basket('Garden', random) } });
  }
  return out;
}

/** A draw from Gamma(shape, 1) for a whole shape: a sum of exponentials. */
const gamma = (shape: number, random: () => number): number => {
  let sum = 0;
  for (let k = 0; k < shape; k++) sum -= Math.log(1 - random());
  return sum;
};

/**
 * An existing customer's orders before the last two weeks (none for two in five): her first on a
 * day in the past year, then at her own rate (one order in 30 days on average, varying as an
 * exponential across customers), stopping for good after an order with her own probability (Beta(1,
 * 3), a quarter on average); each order's total around her own mean (Gamma, mean 48).
 */
function pastOrders(random: () => number): Array<{ daysBefore: number; total: number; category: 'Paint' | 'Garden' }> {
  if (random() < 0.4) return [];
  const rate = gamma(1, random) / 30;
  const stop = 1 - (1 - random()) ** (1 / 3);
  const mean = (gamma(4, random) * 48) / 4;
  const category = random() < 0.5 ? 'Paint' : 'Garden';
  const orders: Array<{ daysBefore: number; total: number; category: 'Paint' | 'Garden' }> = [];
  for (let at = 20 + random() * 345; at > 15; at -= gamma(1, random) / rate) {
    orders.push({ daysBefore: Math.floor(at), total: Math.round(((mean * gamma(10, random)) / 10) * 100) / 100, category });
    if (random() < stop) break;
  }
  return orders;
}

/** A basket of the category's main product with its usual companions. */
function basket(category: 'Paint' | 'Garden', random: () => number): Array<Record<string, unknown>> {
  const items = category === 'Paint' ? ['paint-sage-2l', ...(random() < 0.7 ? ['brush-set-pro'] : []), ...(random() < 0.4 ? ['tape-50m'] : [])] : ['seed-tray', ...(random() < 0.6 ? ['garden-gloves'] : [])];
  return items.map((product_id) => ({ product_id, category }));
}
