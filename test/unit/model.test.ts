import { loadCatalog, type Offer } from '../../lib/decision/catalog';
import { decisionContext } from '../../lib/decision/context';
import { decide, type DecisionFacts } from '../../lib/decision/decide';
import { boughtTogether, loadModel, serendipityPick, type AssociationRule } from '../../lib/decision/model';

const bundled = require('../../config/model.json') as Record<string, unknown>;
const catalog = loadCatalog();
const offer = (id: string) => catalog.byId.get(id) as Offer;
const facts = (aggregates: Record<string, unknown>, more: Partial<DecisionFacts> = {}): DecisionFacts => ({
  aggregates,
  derived: {},
  traits: {},
  consent: { personalization: true },
  stage: 'exploring',
  batch: {},
  segments: [],
  ...more,
});
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('the model artifact', () => {
  const model = loadModel({
    version: 't-1',
    kind: 'logistic',
    features: [
      { name: 'orders', path: 'aggregates.orderCount365d', transform: 'log1p', cap: 9 },
      { name: 'paint', path: 'aggregates.categoryViews30d', keys: ['Paint'] },
      { name: 'abandoned', path: 'stage', equals: 'cart abandoned' },
      { name: 'mobile', path: 'segments', equals: 'mobileShoppers' },
      { name: 'recency', path: 'derived.daysSinceLastOrder', default: 365 },
    ],
    targets: {
      default: { intercept: -2, weights: { orders: 0.5 } },
      'category:paint': { intercept: -1, weights: { paint: 0.25, recency: -0.01 } },
      'offer:cart-reminder': { intercept: 0, weights: { abandoned: 2, mobile: 1 } },
    },
  });

  it('scores an offer with its most specific target: the offer, else its category, else the default', () => {
    const f = facts({ orderCount365d: 20, categoryViews30d: [{ value: 'Paint', count: 4 }, { value: 'Garden', count: 9 }] }, { stage: 'cart abandoned', segments: ['mobileShoppers'] });
    const score = model.scorer(f);
    expect(score(offer('cart-reminder'))).toBeCloseTo(sigmoid(3), 12);
    // Category "paint": 4 paint views, recency missing -> its default of 365 days.
    expect(score(offer('black-friday-paint'))).toBeCloseTo(sigmoid(-1 + 0.25 * 4 - 0.01 * 365), 12);
    // The default target: 20 orders capped at 9, then log1p.
    expect(score(offer('garden-season'))).toBeCloseTo(sigmoid(-2 + 0.5 * Math.log1p(9)), 12);
  });

  it('scores an unknown visitor on the features\' defaults', () => {
    const score = model.scorer(undefined);
    expect(score(offer('garden-season'))).toBeCloseTo(sigmoid(-2), 12);
    expect(score(offer('cart-reminder'))).toBeCloseTo(sigmoid(0), 12);
    expect(score(offer('black-friday-paint'))).toBeCloseTo(sigmoid(-1 - 3.65), 12);
  });

  it('has 0/1 features for one of several values (a list: contains one) and for a missing or non-numeric fact', () => {
    const tested = loadModel({
      version: 't-3',
      kind: 'logistic',
      features: [
        { name: 'south', path: 'traits.region', oneOf: ['south', 'south-west'] },
        { name: 'loyal', path: 'segments', oneOf: ['vip', 'regulars'] },
        { name: 'noAge', path: 'traits.age', missing: true },
      ],
      targets: { default: { intercept: 0, weights: { south: 1, loyal: 2, noAge: 4 } } },
    });
    const score = (traits: Record<string, unknown>, segments: string[] = []) => tested.scorer({ ...facts({}, { segments }), traits } as never)(offer('garden-season'));
    expect(score({ region: 'south-west', age: 40 }, ['regulars'])).toBeCloseTo(sigmoid(3), 12);
    expect(score({ region: 'north', age: 40 })).toBeCloseTo(sigmoid(0), 12);
    expect(score({ region: 'north', age: 'forty' })).toBeCloseTo(sigmoid(4), 12);
    expect(score({ region: 'north' })).toBeCloseTo(sigmoid(4), 12);
    // A boolean is a value (read as 0/1), not a missing one.
    expect(score({ region: 'north', age: true })).toBeCloseTo(sigmoid(0), 12);
    // An unknown visitor: no fact, so the missing indicator is 1.
    expect(tested.scorer(undefined)(offer('garden-season'))).toBeCloseTo(sigmoid(4), 12);
  });

  it('has no score for an offer no target covers, so the decision falls back', () => {
    const partial = loadModel({ version: 't-2', kind: 'logistic', features: [], targets: { 'offer:garden-season': { intercept: 1, weights: {} } } });
    expect(partial.scorer(undefined)(offer('survey-q4'))).toBeUndefined();
    expect(partial.scorer(undefined)(offer('garden-season'))).toBeCloseTo(sigmoid(1), 12);
  });

  it('loads the bundled demo artifact', () => {
    const demo = loadModel();
    expect(demo.version).toBe('demo-1');
    const p = demo.scorer(facts({ orderCount365d: 2 }))(offer('cart-reminder'));
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1);
  });

  it.each([
    [{ ...bundled, kind: 'forest' }, /^Invalid model: kind: /],
    [{ ...bundled, features: [{ name: 'x', path: 'profile.secret' }] }, /feature "x" path: must be stage, segments, or start with aggregates\./],
    [{ ...bundled, features: [{ name: 'x', path: 'stage' }, { name: 'x', path: 'stage' }], targets: {} }, /feature "x" is declared twice/],
    [{ ...bundled, targets: { 'offer:x': { intercept: 0, weights: { nope: 1 } } } }, /target "offer:x" weights\.nope: no feature of that name/],
    [{ ...bundled, targets: { 'product:x': { intercept: 0, weights: {} } } }, /target "product:x": must be offer:<id>, category:<name> or default/],
    [{ ...bundled, targets: { default: { intercept: 'high', weights: {} } } }, /target "default" intercept: /],
    [{ ...bundled, associations: { rules: [{ if: ['a'], then: 'b', support: 0.1, confidence: 2, lift: 3 }], itemSupport: { b: 0.1 } } }, /association rule #0 confidence: /],
    [{ ...bundled, associations: { rules: [{ if: ['a'], then: 'b', support: 0.1, confidence: 0.2, lift: 3 }], itemSupport: {} } }, /association rule #0 then: no itemSupport for "b"/],
  ])('rejects a bad artifact with an error that names the item and field (%#)', (input, message) => {
    expect(() => loadModel(input)).toThrow(message);
  });
});

describe('the serendipity pick', () => {
  const rule = (r: Partial<AssociationRule> & Pick<AssociationRule, 'if' | 'then'>): AssociationRule => ({ support: 0.01, confidence: 0.2, lift: 4, ...r });
  const model = loadModel({
    version: 't-3',
    kind: 'logistic',
    features: [],
    targets: {},
    associations: {
      rules: [
        rule({ if: ['paint'], then: 'brushes', lift: 9 }),
        rule({ if: ['paint'], then: 'dust-sheet', lift: 5 }),
        rule({ if: ['paint', 'tape'], then: 'filler', lift: 7 }),
        rule({ if: ['paint'], then: 'rare-roller', lift: 1.5 }),
        rule({ if: ['lamp'], then: 'bulb', lift: 20 }),
      ],
      itemSupport: { brushes: 0.2, 'dust-sheet': 0.01, filler: 0.005, 'rare-roller': 0.001, bulb: 0.001 },
    },
  });
  const options = { minLift: 2, maxItemSupport: 0.02 };
  const pick = (chosen: string[], exclude: string[] = []) => serendipityPick(model.associations, new Set(chosen), new Set(exclude), options)?.item;

  it('picks the highest-lift rule whose whole antecedent she chose, leading to a less popular item', () => {
    expect(pick(['paint'])).toBe('dust-sheet'); // brushes are too popular, rare-roller's lift too low
    expect(pick(['paint', 'tape'])).toBe('filler'); // both antecedent items chosen
    expect(pick(['tape'])).toBeUndefined();
  });

  it('never picks what she already has or what another offer already shows', () => {
    expect(pick(['paint', 'tape', 'filler'])).toBe('dust-sheet');
    expect(pick(['paint', 'tape'], ['filler'])).toBe('dust-sheet');
    expect(pick(['paint'], ['dust-sheet'])).toBeUndefined();
  });
});

describe('the serendipity slot in a decision', () => {
  const demo = loadModel();
  const ann = facts({ recentlyBought: ['paint-sage-2l', 'tape-50m'], recentlyViewed: ['brush-set-pro'], categoryViews30d: [{ value: 'Paint', count: 3 }] });
  const context = decisionContext({ placement: 'home', timestamp: '2026-11-21T11:00:00Z', timezone: 'Europe/London' }, catalog, 'Europe/London');
  // The pick scores lowest here, so only the reserved slot can bring it in.
  const propensity = (o: Offer) => (o.id === 'discover-pick' ? 0.001 : 0.5);
  const run = (f: DecisionFacts | undefined, count: number, profileId = 'p_ann') =>
    decide({ decisionId: 'd-fixed-1', profileId, facts: f, context, count, associations: demo.associations, propensity }, catalog);

  it('puts a less popular item that association rules tie to what she chose in the last slot, saying why', () => {
    const d = run(ann, 3);
    expect(d.offers.map((o) => o.offerId)).toEqual(['garden-season', 'survey-q4', 'discover-pick']);
    expect(d.offers[2]).toMatchObject({ offerId: 'discover-pick', items: ['filler-knife-set'] });
    expect(d.offers[2]?.reasons[0]).toBe(
      'serendipity: customers who chose paint-sage-2l + tape-50m also chose filler-knife-set (lift 8.1, confidence 0.22), a less popular item',
    );
  });

  it('reserves no slot when only one offer is asked for, and has none without a rule that fits', () => {
    expect(run(ann, 1).offers.map((o) => o.offerId)).not.toContain('discover-pick');
    const gardener = facts({ recentlyBought: ['hose-30m'] });
    const d = run(gardener, 3);
    expect(d.offers.map((o) => o.offerId)).not.toContain('discover-pick');
    expect(d.suppressed).toContainEqual({ offerId: 'discover-pick', reason: 'no association rule with enough lift leads to a less popular item' });
  });

  it('gives the holdout group no serendipity slot', () => {
    let holdout: string | undefined;
    for (let i = 0; holdout === undefined; i++) if (run(ann, 3, `p_${i}`).variant === 'holdout') holdout = `p_${i}`;
    expect(run(ann, 3, holdout).offers.map((o) => o.offerId)).not.toContain('discover-pick');
  });
});

describe('bought together (the cross-sell after a purchase)', () => {
  const { associations } = loadModel();
  const sellable = (item: string) => catalog.products.has(item);

  it("takes the consequents of the model's rules whose antecedent she bought, strongest lift first, never what she bought", () => {
    const together = boughtTogether(associations, new Set(['paint-sage-2l']), {}, sellable);
    expect(together?.items).toEqual(['dust-sheet-cotton', 'brush-set-pro']);
    expect(together?.reason).toBe('bought together: customers who bought paint-sage-2l also bought dust-sheet-cotton (lift 6.3, confidence 0.19)');
    // A rule needs its whole antecedent: with the tape too, the filler knife set (lift 8.1) comes first; the paint itself is never offered back.
    expect(boughtTogether(associations, new Set(['paint-sage-2l', 'tape-50m']), {}, sellable)?.items).toEqual(['filler-knife-set', 'dust-sheet-cotton', 'brush-set-pro']);
  });

  it("falls back to the catalog's complements without a rule (no model yet, or nothing mined for her items), and to nothing without either", () => {
    expect(boughtTogether(undefined, new Set(['lamp-arc']), { 'lamp-arc': ['bulb-e27', 'lamp-arc'] }, sellable)).toEqual({ items: ['bulb-e27'], reason: 'goes with what she bought: bulb-e27' });
    expect(boughtTogether(associations, new Set(['unknown-item']), { constructor: ['x'] }, sellable)).toBeUndefined();
  });
});
