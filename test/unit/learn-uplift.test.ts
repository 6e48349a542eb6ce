import type { ModelConfig } from '../../lib/decision/model';
import type { CollectedEvent } from '../../lib/events/segment';
import { createRandom } from '../../lib/learn/metrics';
import { learnNightly, trainingCutoff, type NightlyConfig, type TargetReport } from '../../lib/learn/nightly';
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
const sent = (at: string, campaign = 'c') => track('Message Sent', at, { campaign_id: campaign, promotion_id: OFFER });
const heldOut = (at: string, campaign = 'c') => track('Message Held Out', at, { campaign_id: campaign, promotion_id: OFFER });

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

/** The decision holdout's uplift in a target's report. */
const upliftOf = (report: TargetReport | undefined, source = 'decision') => report?.uplift?.find((u) => u.source === source);

const champion: ModelConfig = { version: 'champion-1', kind: 'logistic', features: features.map((f) => ({ default: 0, ...f })), targets: { default: { intercept: -3, weights: {} } } } as ModelConfig;

describe('who was offered an offer, and who was held out from it', () => {
  it('reads the engine’s own records, each with its source: a personalised decision that returned it, a send; a holdout decision that withheld it, a campaign’s control', () => {
    // Act / Assess
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'personalised', ['other', OFFER]), OFFER)).toEqual({ arm: 'treated', source: 'decision' });
    expect(assignmentOf(sent('2026-11-21T10:00:00Z'), OFFER)).toEqual({ arm: 'treated', source: 'campaign:c' });
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'holdout', ['newsletter-signup'], [OFFER]), OFFER)).toEqual({ arm: 'control', source: 'decision' });
    expect(assignmentOf(heldOut('2026-11-21T10:00:00Z'), OFFER)).toEqual({ arm: 'control', source: 'campaign:c' });
    // Another offer's records, a holdout decision that would not have shown it, a conversion: none of them.
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'personalised', ['other']), OFFER)).toBeUndefined();
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'holdout', ['newsletter-signup'], ['other']), OFFER)).toBeUndefined();
    expect(assignmentOf(converted('2026-11-21T10:00:00Z'), OFFER)).toBeUndefined();
  });

  it('takes no client event as an exposure: a Promotion Viewed comes with the public write key, anyone can send it', () => {
    // Act / Assess
    expect(assignmentOf(track('Promotion Viewed', '2026-11-21T10:00:00Z', { promotion_id: OFFER }), OFFER)).toBeUndefined();
  });

  it('counts as treated only a personalised decision: a holdout decision whose generic offers happened to include it is neither arm', () => {
    // Act / Assess
    expect(assignmentOf(decision('2026-11-21T10:00:00Z', 'holdout', [OFFER]), OFFER)).toBeUndefined();
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
  // Held out by a campaign, then sent the offer by the same campaign: in both of its arms.
  const gus: CustomerHistory = { profileId: 'gus', events: [view(before), heldOut('2026-11-21T10:00:00Z'), sent('2026-11-22T10:00:00Z'), order('2026-11-23T10:00:00Z')] };
  // In the decision holdout on one device, offered it by a personalised decision on another (merged later): in both arms of the decision's.
  const hal: CustomerHistory = { profileId: 'hal', events: [view(before), decision('2026-11-21T10:00:00Z', 'holdout', [], [OFFER]), decision('2026-11-22T10:00:00Z', 'personalised', [OFFER]), order('2026-11-23T10:00:00Z')] };
  // Held out by the decision holdout, sent it by a campaign: one arm in each source.
  const ivy: CustomerHistory = { profileId: 'ivy', events: [view(before), decision('2026-11-21T10:00:00Z', 'holdout', [], [OFFER]), sent('2026-11-22T10:00:00Z'), order('2026-11-23T10:00:00Z')] };

  it('has rows only for the customers offered it in the horizon, labelled by whether they converted after', () => {
    // Act
    const set = trainingSet([ann, bob, cy, dee, eve, fay], { cutoff, horizonDays, target, features, aggregates, profileRules });

    // Assess: Cy never met the offer and Bob was held out from it: neither is a 0 for it; Dee's view is no exposure.
    expect(set.profileIds).toEqual(['ann', 'fay']);
    expect(Array.from(set.y)).toEqual([1, 0]);
  });

  it('keeps, beside it, both arms for uplift, with an outcome either arm can have (an order after the assignment)', () => {
    // Act
    const [set] = trainingSets([ann, bob, cy, dee, eve, fay], { cutoff, horizonDays, features, aggregates, profileRules }, [target]);

    // Assess
    expect(set?.uplift?.profileIds).toEqual(['ann', 'bob', 'fay']);
    expect(Array.from(set?.uplift?.treated ?? [])).toEqual([1, 0, 1]);
    expect(Array.from(set?.uplift?.y ?? [])).toEqual([1, 1, 0]);
    expect(set?.uplift?.sources).toEqual(['decision', 'decision', 'decision']);
    expect(set?.uplift?.schema.target).toBe('purchase');
  });

  it('keeps each assignment with its source, and leaves out of a source’s arms whoever has records in both of them', () => {
    // Act
    const [set] = trainingSets([ann, gus, hal, ivy], { cutoff, horizonDays, features, aggregates, profileRules }, [target]);

    // Assess: Gus (both arms of campaign c) and Hal (both arms of the decision holdout) are in no arm of theirs; Ivy is in one arm of each source.
    expect(set?.uplift?.profileIds).toEqual(['ann', 'ivy', 'ivy']);
    expect(set?.uplift?.sources).toEqual(['decision', 'decision', 'campaign:c']);
    expect(Array.from(set?.uplift?.treated ?? [])).toEqual([1, 0, 1]);
    expect(Array.from(set?.uplift?.y ?? [])).toEqual([1, 1, 1]);
    // The response model's rows: those the engine offered it to, from their first exposure.
    expect(set?.profileIds).toEqual(['ann', 'gus', 'hal', 'ivy']);
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
    expect(upliftOf(report)?.treated.rows).toBeGreaterThan(1500);
    expect(upliftOf(report)?.control.rows).toBeGreaterThan(1500);
    expect(upliftOf(report)?.averageUplift).toBeGreaterThan(0.15);
    // On the holdout: 0.218 (where no effect, below: 0.006 to 0.059).
    expect(upliftOf(report)?.holdout?.coefficient).toBeGreaterThan(0.15);
    expect(upliftOf(report)?.holdout?.deciles).toHaveLength(10);
    expect(upliftOf(report)?.reason).toMatch(/Qini coefficient 0\.\d{3}/);
    // The uplift ranking: those with 4 or more paint views first.
    expect(mean((v) => v >= 4)).toBeGreaterThan(0.25);
    expect(Math.abs(mean((v) => v < 4))).toBeLessThan(0.1);
  });

  it('finds nothing where the offer changes nothing: a Qini coefficient near 0', () => {
    // Prepare / Act: several populations, as a night's noise is that of one.
    const coefficients = [21, 22].map((seed) => upliftOf(learnNightly(population(4000, seed, 'none'), champion, config(), night).report.targets[0])?.holdout?.coefficient as number);

    // Assess: 0.036 and 0.006, against 0.218 where the offer moves a segment.
    for (const c of coefficients) expect(Math.abs(c)).toBeLessThan(0.1);
  });

  it('reports each source of assignments apart: the decision holdout and a campaign’s control hold out different shares of different customers', () => {
    // Prepare: an offer that changes nothing. In-app decisions hold out 10% of customers who order at 10%;
    // a campaign holds out half of its audience, who order at 40%.
    const random = createRandom(31);
    const people: CustomerHistory[] = Array.from({ length: 2400 }, (_, i) => {
      const campaign = i % 2 === 1;
      const held = random() < (campaign ? 0.5 : 0.1);
      const events = [view('2026-11-15T10:00:00Z')];
      if (campaign) events.push(held ? heldOut('2026-11-21T10:00:00Z', 'spring') : sent('2026-11-21T10:00:00Z', 'spring'));
      else events.push(held ? decision('2026-11-21T10:00:00Z', 'holdout', [], [OFFER]) : decision('2026-11-21T10:00:00Z', 'personalised', [OFFER]));
      if (random() < (campaign ? 0.4 : 0.1)) events.push(order('2026-11-23T12:00:00Z'));
      return { profileId: `s${i}`, events };
    });

    // Act
    const report = learnNightly(people, champion, config(), night).report.targets[0];

    // Assess: an entry per source, each finding no effect; pooled, the arms would have shown one of about -14 points.
    expect(report?.uplift?.map((u) => u.source)).toEqual(['decision', 'campaign:spring']);
    for (const u of report?.uplift ?? []) expect(Math.abs(u.averageUplift)).toBeLessThan(0.06);
    const pooled = (arm: 'treated' | 'control') => {
      const arms = (report?.uplift ?? []).map((u) => u[arm]);
      return arms.reduce((s, a) => s + a.responders, 0) / arms.reduce((s, a) => s + a.rows, 0);
    };
    expect(pooled('treated') - pooled('control')).toBeLessThan(-0.1);
  });

  it('says why there is no model where the engine held nobody out', () => {
    // Prepare: everyone who met the offer was given it.
    const people = population(600, 5, 'segment').map((c) => ({ ...c, events: c.events.filter((e) => assignmentOf(e, OFFER)?.arm !== 'control') }));

    // Act
    const report = learnNightly(people, champion, config(), night).report.targets[0];

    // Assess
    expect(upliftOf(report)?.control.rows).toBe(0);
    expect(upliftOf(report)?.holdout).toBeUndefined();
    expect(upliftOf(report)?.reason).toMatch(/^no control group/);
  });
});
