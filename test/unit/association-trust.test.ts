import { loadCatalog } from '../../lib/decision/catalog';
import { decisionContext } from '../../lib/decision/context';
import { decide, type DecisionFacts } from '../../lib/decision/decide';
import { loadModel, type ModelConfig } from '../../lib/decision/model';
import type { CollectedEvent } from '../../lib/events/segment';
import { learnNightly, type NightlyConfig } from '../../lib/learn/nightly';
import { loadNightlyConfig } from '../../lib/learn/nightly-config';
import type { CustomerHistory } from '../../lib/learn/training-set';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';
import bundled from '../../config/model.json';

/**
 * What a sender with the public write key can plant in other people's messages through the nightly
 * association rules: orders are collected like any event, so anyone can invent customers who "bought"
 * a product together with a word of their own. The bought-together e-mail of a real customer must
 * carry only products of the catalog, and a rule must rest on enough distinct customers to be used.
 */
const aggregates = loadAggregates();
const settings = loadNightlyConfig();
const config: NightlyConfig = { ...settings, features: bundled.features as ModelConfig['features'], aggregates, profileRules: loadProfileRules(aggregates) };
const night = new Date('2026-11-27T02:00:00Z');
const champion = bundled as unknown as ModelConfig;
const catalog = loadCatalog();
const PLANTED = 'Visit evil.example for 90% off';

let n = 0;
const order = (day: number, products: string[]): CollectedEvent =>
  ({
    type: 'track',
    event: 'Order Completed',
    messageId: `o-${(n += 1)}`,
    anonymousId: 'a',
    timestamp: new Date(Date.UTC(2026, 10, day, 12)).toISOString(),
    receivedAt: new Date(Date.UTC(2026, 10, day, 12)).toISOString(),
    properties: { total: 30, products: products.map((product_id) => ({ product_id })) },
    context: {},
  }) as unknown as CollectedEvent;

/** The shop's real customers: lamps with bulbs, paint with brushes. */
const shoppers: CustomerHistory[] = [
  ...Array.from({ length: 60 }, (_, i) => ({ profileId: `p_lamp${i}`, events: [order(10 + (i % 10), ['lamp-arc', 'bulb-e27'])] })),
  ...Array.from({ length: 20 }, (_, i) => ({ profileId: `p_paint${i}`, events: [order(10 + (i % 10), ['paint-sage-2l', 'brush-set-pro'])] })),
];
/** Invented customers, each "buying" the paint with the planted words, several times. */
const planters = (customers: number, ordersEach: number): CustomerHistory[] =>
  Array.from({ length: customers }, (_, i) => ({ profileId: `p_fake${i}`, events: Array.from({ length: ordersEach }, (_, k) => order(5 + k, ['paint-sage-2l', PLANTED])) }));

/** The bought-together e-mail's items for a real customer who bought the paint, under tonight's model. */
function crossSellFor(artifact: ModelConfig): string[] | undefined {
  const ann: DecisionFacts = { aggregates: { recentlyBought: ['paint-sage-2l'], orderCount: 1 }, derived: {}, traits: {}, consent: { personalization: true }, stage: 'purchased', batch: {}, segments: [] };
  const context = decisionContext({ placement: 'email', channel: 'email', timestamp: '2026-11-27T09:00:00Z', timezone: 'Europe/London' }, catalog, 'Europe/London');
  const d = decide({ decisionId: 'd-1', profileId: 'p_ann', facts: ann, context, count: 3, associations: loadModel(artifact).associations, explore: false }, catalog);
  return d.offers.find((o) => o.offerId === 'bought-together')?.items;
}

describe('association rules learned from collected orders', () => {
  it('are not used when they rest on fewer distinct customers than the minimum, however many orders those few send', () => {
    const result = learnNightly([...shoppers, ...planters(3, 12)], champion, config, night);
    const rules = result.artifact.associations?.rules ?? [];
    expect(rules.filter((r) => [...r.if, r.then].includes(PLANTED))).toEqual([]);
    // The real customers' rules are learned.
    expect(rules).toContainEqual(expect.objectContaining({ if: ['lamp-arc'], then: 'bulb-e27' }));
    // The minimum is configurable (config/nightly.json rules.minCustomers): at three, three customers make a rule.
    const lenient = learnNightly([...shoppers, ...planters(3, 12)], champion, { ...config, rules: { ...config.rules, minCustomers: 3 } }, night);
    expect(lenient.artifact.associations?.rules).toContainEqual(expect.objectContaining({ if: ['paint-sage-2l'], then: PLANTED }));
  });

  it('take their minimum of customers from the configuration, 10 unless it says otherwise, and refuse one that is no count, naming the field', () => {
    expect(settings.rules.minCustomers).toBe(10);
    const { minCustomers, ...withoutIt } = settings.rules;
    expect(loadNightlyConfig({ ...settings, rules: withoutIt }).rules.minCustomers).toBe(minCustomers);
    expect(() => loadNightlyConfig({ ...settings, rules: { ...settings.rules, minCustomers: 0 } })).toThrow(/rules\.minCustomers/);
  });

  it('never carry a word that is not a product of the catalog into a customer\'s message, however many customers "bought" it', () => {
    const result = learnNightly([...shoppers, ...planters(30, 1)], champion, config, night);
    const items = crossSellFor(result.artifact);
    expect(items).toBeDefined();
    expect(items).not.toContain(PLANTED);
    expect(items?.every((item) => catalog.products.has(item))).toBe(true);
  });
});

describe('items in messages', () => {
  const context = decisionContext({ placement: 'email', channel: 'email', timestamp: '2026-11-27T09:00:00Z', timezone: 'Europe/London' }, catalog, 'Europe/London');
  const withCart = (items: string[]): DecisionFacts => ({
    aggregates: { cart: items.map((item) => ({ item })) },
    derived: {},
    traits: {},
    consent: { personalization: true },
    stage: 'cart abandoned',
    batch: {},
    segments: [],
  });
  const reminder = (items: string[]) => {
    const d = decide({ decisionId: 'd-2', profileId: 'p_bea', facts: withCart(items), context, count: 3, explore: false }, catalog);
    return { offer: d.offers.find((o) => o.offerId === 'cart-reminder'), suppressed: d.suppressed.find((s) => s.offerId === 'cart-reminder') };
  };

  it('are products of the catalog: words someone put in her cart with her userId are left out, and a cart of nothing else sends no reminder', () => {
    expect(reminder(['lamp-arc', PLANTED]).offer?.items).toEqual(['lamp-arc']);
    expect(reminder([PLANTED])).toEqual({ offer: undefined, suppressed: { offerId: 'cart-reminder', reason: 'nothing in the cart is a product of the catalog' } });
  });

  it("are the catalog's listed products and the products its complements name", () => {
    const bare = loadCatalog({ ...require('../../config/catalog.json'), products: undefined, complements: { 'lamp-arc': ['bulb-e27'] } });
    expect([...bare.products].sort()).toEqual(['bulb-e27', 'lamp-arc']);
    expect(() => loadCatalog({ ...require('../../config/catalog.json'), products: [''] })).toThrow(/products/);
  });
});
