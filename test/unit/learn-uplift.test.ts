import type { ModelConfig } from '../../lib/decision/model';
import type { CollectedEvent } from '../../lib/events/segment';
import { createRandom } from '../../lib/learn/metrics';
import { learnNightly, trainingCutoff, type NightlyConfig } from '../../lib/learn/nightly';
import { assignmentOf, trainingSet, trainingSets, type CustomerHistory } from '../../lib/learn/training-set';
import { fitTwoModel, predictUplift } from '../../lib/learn/uplift';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';

const aggregates = loadAggregates();
const profileRules = loadProfileRules(aggregates);
const night = new Date('2026-11-27T02:00:00Z');
const horizonDays = 7;
const cutoff = trainingCutoff(night, horizonDays);
const paintViews = { name: 'paintViews30d', path: 'aggregates.categoryViews30d', keys: ['paint'], transform: 'log1p' as const };
const gardenViews = { name: 'gardenViews30d', path: 'aggregates.categoryViews30d', keys: ['garden'], transform: 'log1p' as const };
const features = [paintViews, gardenViews];
const OFFER = 'paint-bundle';
const target = { kind: 'offer' as const, offerId: OFFER };

let n = 0;
const track = (name: string, at: Date | string, properties: Record<string, unknown> = {}): CollectedEvent => {
  const timestamp = typeof at === 'string' ? at : at.toISOString();
  return { type: 'track', event: name, messageId: `u-${(n += 1)}`, anonymousId: 'a', timestamp, receivedAt: timestamp, properties, context: {} } as unknown as CollectedEvent;
};
const decision = (at: string, variant: 'personalised' | 'holdout', offers: string[], withheld?: string[]) =>
  track('Decision Made', at, { decision_id: `d-${n}`, placement: 'home', variant, offers, ...(withheld ? { withheld } : {}) });
const view = (at: string, category = 'Paint') => track('Product Viewed', at, { product_id: 'p', category });
const order = (at: string) => track('Order Completed', at, { total: 30, products: [{ product_id: 'paint-sage', category: 'Paint' }] });
const converted = (at: string) => track('Promotion Converted', at, { promotion_id: OFFER });

/**
 * Customers who browse paint before the cut-off; in the horizon, a decision offers them the paint
 * bundle, or holds it back (the decision holdout, half of them here, so both arms are large); a tenth
 * never meet the offer at all. Everyone orders at a base rate of 10%; where `effect` is 'segment',
 * the offer raises it to 50% for customers with 4 or more paint views (half of them) and changes
 * nothing for the rest; with 'none', it changes nothing for anyone.
 */
function population(count: number, seed: number, effect: 'segment' | 'none'): CustomerHistory[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const views = Math.floor(random() * 8);
    const garden = Math.floor(random() * 8);
    const events = [
      ...Array.from({ length: views }, (_, k) => view(new Date(Date.UTC(2026, 10, 5 + k, 10)).toISOString())),
      ...Array.from({ length: garden + 1 }, (_, k) => view(new Date(Date.UTC(2026, 10, 6 + k, 11)).toISOString(), 'Garden')),
    ];
    const met = random() < 0.9;
    const held = random() < 0.5;
    const treated = met && !held;
    if (met) events.push(held ? decision('2026-11-21T10:00:00Z', 'holdout', [], [OFFER]) : decision('2026-11-21T10:00:00Z', 'personalised', [OFFER]));
    if (treated && random() < 0.7) events.push(track('Promotion Viewed', '2026-11-21T10:00:05Z', { promotion_id: OFFER }));
    const rate = treated && effect === 'segment' && views >= 4 ? 0.5 : 0.1;
    if (random() < rate) {
      events.push(order('2026-11-23T12:00:00Z'));
      if (treated) events.push(converted('2026-11-23T12:00:00Z'));
    }
    return { profileId: `c${i}`, events };
  });
}

const config = (more: Partial<NightlyConfig> = {}): NightlyConfig => ({
  features,
  targets: [{ name: `offer:${OFFER}`, target }],
  horizonDays,
  rules: { minSupport: 0.05, minConfidence: 0.5, maxRules: 100 },
  challenge: { confidence: 0.95, resamples: 1000, minHoldoutBuyers: 30 },
  minPositives: 20,
  aggregates,
  profileRules,
  ...more,
});

const champion: ModelConfig = { version: 'champion-1', kind: 'logistic', features: features.map((f) => ({ default: 0, ...f })), targets: { default: { intercept: -3, weights: {} } } } as ModelConfig;

describe('who was offered an offer, and who was held out from it', () => {
  it('reads the engine’s records: a decision that returned it, a send, a view; a holdout decision that withheld it, a campaign’s control', () => {
    // Act / Assess
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'personalised', ['other', OFFER]), OFFER)).toBe('treated');
    expect(assignmentOf(track('Message Sent', '2026-11-21T10:00:00Z', { campaign_id: 'c', promotion_id: OFFER }), OFFER)).toBe('treated');
    expect(assignmentOf(track('Promotion Viewed', '2026-11-21T10:00:00Z', { promotion_id: OFFER }), OFFER)).toBe('treated');
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'holdout', ['newsletter-signup'], [OFFER]), OFFER)).toBe('control');
    expect(assignmentOf(track('Message Held Out', '2026-11-21T10:00:00Z', { campaign_id: 'c', promotion_id: OFFER }), OFFER)).toBe('control');
    // Another offer's records, a holdout decision that would not have shown it, a conversion: none of them.
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'personalised', ['other']), OFFER)).toBeUndefined();
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'holdout', ['newsletter-signup'], ['other']), OFFER)).toBeUndefined();
    expect(assignmentOf(converted('2026-11-21T10:00:00Z'), OFFER)).toBeUndefined();
  });
});

describe("an offer's training set: response given exposure", () => {
  // Each seen before the cut-off (2026-11-20T02:00Z).
  const before = '2026-11-15T10:00:00Z';
  const ann: CustomerHistory = { profileId: 'ann', events: [view(before), decision('2026-11-21T10:00:00Z', 'personalised', [OFFER]), order('2026-11-22T10:00:00Z'), converted('2026-11-22T10:00:00Z')] };
  const bob: CustomerHistory = { profileId: 'bob', events: [view(before), decision('2026-11-21T10:00:00Z', 'holdout', [], [OFFER]), order('2026-11-22T10:00:00Z')] };
  const cy: CustomerHistory = { profileId: 'cy', events: [view(before), order('2026-11-22T10:00:00Z')] };
  const dee: CustomerHistory = { profileId: 'dee', events: [view(before), track('Promotion Viewed', '2026-11-24T10:00:00Z', { promotion_id: OFFER })] };
  // Offered before the cut-off only: her row would be judged on an exposure whose response fell before the label's horizon.
  const eve: CustomerHistory = { profileId: 'eve', events: [view(before), decision('2026-11-16T10:00:00Z', 'personalised', [OFFER]), converted('2026-11-22T10:00:00Z')] };
  // Ordered before she was offered it: that order is not a response to it.
  const fay: CustomerHistory = { profileId: 'fay', events: [view(before), order('2026-11-20T12:00:00Z'), decision('2026-11-21T10:00:00Z', 'personalised', [OFFER])] };

  it('has rows only for the customers offered it in the horizon, labelled by whether they converted after', () => {
    // Act
    const set = trainingSet([ann, bob, cy, dee, eve, fay], { cutoff, horizonDays, target, features, aggregates, profileRules });

    // Assess: Cy never met the offer and Bob was held out from it: neither is a 0 for it.
    expect(set.profileIds).toEqual(['ann', 'dee', 'fay']);
    expect(Array.from(set.y)).toEqual([1, 0, 0]);
  });

  it('keeps, beside it, both arms for uplift, with an outcome either arm can have (an order after the assignment)', () => {
    // Act
    const [set] = trainingSets([ann, bob, cy, dee, eve, fay], { cutoff, horizonDays, features, aggregates, profileRules }, [target]);

    // Assess
    expect(set?.uplift?.profileIds).toEqual(['ann', 'bob', 'dee', 'fay']);
    expect(Array.from(set?.uplift?.treated ?? [])).toEqual([1, 0, 1, 1]);
    expect(Array.from(set?.uplift?.y ?? [])).toEqual([1, 1, 0, 0]);
    expect(set?.uplift?.schema.target).toBe('purchase');
  });

  it('leaves the other targets as they were: a row for every customer seen before the cut-off', () => {
    // Act
    const [purchase, offer] = trainingSets([ann, bob, cy], { cutoff, horizonDays, features, aggregates, profileRules }, [{ kind: 'purchase' }, target]);

    // Assess
    expect(purchase?.profileIds).toEqual(['ann', 'bob', 'cy']);
    expect(Array.from(purchase?.y ?? [])).toEqual([1, 1, 1]);
    expect(purchase?.uplift).toBeUndefined();
    expect(offer?.profileIds).toEqual(['ann']);
  });
});

describe("an offer's uplift in the nightly report", () => {
  it('finds the segment the offer changes: the response model and the uplift ranking put it first, with a Qini coefficient well above 0', () => {
    // Prepare
    const people = population(4000, 11, 'segment');

    // Act
    const result = learnNightly(people, champion, config(), night);
    const report = result.report.targets[0];
    const [set] = trainingSets(people, { cutoff, horizonDays, features, aggregates, profileRules }, [target]);
    const uplift = set?.uplift;
    if (uplift === undefined) throw new Error('no uplift set');
    const model = fitTwoModel(uplift, uplift.y, uplift.treated);
    const predicted = predictUplift(model, uplift);
    const views = uplift.facts.map((f) => ((f.aggregates.categoryViews30d as Array<{ value: string; count: number }> | undefined) ?? []).find((t) => t.value === 'paint')?.count ?? 0);
    const mean = (keep: (v: number) => boolean) => {
      const picked = Array.from(predicted).filter((_, i) => keep(views[i] as number));
      return picked.reduce((s, v) => s + v, 0) / picked.length;
    };

    // Assess: only those offered it are rows of the response model, and it ranks the segment first.
    expect(report?.rows).toBe(uplift.treated.reduce((s, v) => s + v, 0));
    expect(report?.challenger?.topDecileLift).toBeGreaterThan(1.5);
    // Both arms, their rates: the offer's average effect is 40 points for half of them (0.234 here).
    expect(report?.uplift?.treated.rows).toBeGreaterThan(1500);
    expect(report?.uplift?.control.rows).toBeGreaterThan(1500);
    expect(report?.uplift?.averageUplift).toBeGreaterThan(0.15);
    // On the holdout: 0.218 (where no effect, below: 0.006 to 0.059).
    expect(report?.uplift?.holdout?.coefficient).toBeGreaterThan(0.15);
    expect(report?.uplift?.holdout?.deciles).toHaveLength(10);
    expect(report?.uplift?.reason).toMatch(/Qini coefficient 0\.\d{3}/);
    // The uplift ranking: those with 4 or more paint views first.
    expect(mean((v) => v >= 4)).toBeGreaterThan(0.25);
    expect(Math.abs(mean((v) => v < 4))).toBeLessThan(0.1);
  });

  it('finds nothing where the offer changes nothing: a Qini coefficient near 0', () => {
    // Prepare / Act: several populations, as a night's noise is that of one.
    const coefficients = [21, 22].map((seed) => learnNightly(population(4000, seed, 'none'), champion, config(), night).report.targets[0]?.uplift?.holdout?.coefficient as number);

    // Assess: 0.036 and 0.006, against 0.218 where the offer moves a segment.
    for (const c of coefficients) expect(Math.abs(c)).toBeLessThan(0.1);
  });

  it('says why there is no model where the engine held nobody out', () => {
    // Prepare: everyone who met the offer was given it.
    const people = population(600, 5, 'segment').map((c) => ({ ...c, events: c.events.filter((e) => assignmentOf(e, OFFER) !== 'control') }));

    // Act
    const report = learnNightly(people, champion, config(), night).report.targets[0];

    // Assess
    expect(report?.uplift?.control.rows).toBe(0);
    expect(report?.uplift?.holdout).toBeUndefined();
    expect(report?.uplift?.reason).toMatch(/^no control group/);
  });
});
