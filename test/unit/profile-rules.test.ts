import { loadAggregates, viewAggregates } from '../../lib/profile/aggregates';
import { factsOf, updateSegments } from '../../lib/profile/facts';
import { applyBatchAttributes, foldEvent, mergeProfiles, newProfile, type Profile } from '../../lib/profile/profile';
import { loadProfileRules } from '../../lib/profile/segments';
import { journeyStage } from '../../lib/profile/stage';
import type { CollectedEvent } from '../../lib/events/segment';
import { writeBatchAttributes } from '../../lib/profile/batch';
import { ConflictError } from '../../lib/store/ports';
import { MemoryStores } from '../../lib/store/memory';

const model = loadAggregates();
const rules = loadProfileRules(model);
let n = 0;
function ev(timestamp: string, event: string, properties: Record<string, unknown> = {}): CollectedEvent {
  n += 1;
  return { type: 'track', event, properties, anonymousId: 'a', messageId: `r${n}`, timestamp, receivedAt: timestamp, context: { timezone: 'Europe/London' } } as CollectedEvent;
}
function profileOf(events: CollectedEvent[]): Profile {
  const p = newProfile('p_test');
  for (const e of events) foldEvent(p, e, model);
  updateSegments(p, model, rules);
  return p;
}
const stageAt = (p: Profile, at: string) => factsOf(p, model, rules, new Date(at));

describe('journey stage', () => {
  const view = (id: string, at: string, category = 'Paint') => ev(at, 'Product Viewed', { product_id: id, category });

  it('is exploring on first visits, evaluating on repeated views of one product', () => {
    expect(stageAt(profileOf([view('p1', '2026-12-01T10:00:00Z')]), '2026-12-01T10:05:00Z')).toMatchObject({ stage: 'exploring' });
    const evaluating = profileOf([view('p1', '2026-12-01T10:00:00Z'), view('p1', '2026-12-02T10:00:00Z'), view('p1', '2026-12-03T10:00:00Z')]);
    expect(stageAt(evaluating, '2026-12-03T10:05:00Z')).toMatchObject({ stage: 'evaluating', stageReason: 'viewed product p1 3 times in 30 days' });
  });

  it('is in cart, then cart abandoned once the cart is older than the threshold, computed at read time', () => {
    const p = profileOf([ev('2026-12-01T10:00:00Z', 'Product Added', { product_id: 'brush' })]);
    expect(stageAt(p, '2026-12-01T10:30:00Z')).toMatchObject({ stage: 'in cart', stageReason: '1 item in the cart, opened 30 minutes ago' });
    expect(stageAt(p, '2026-12-01T11:30:00Z')).toMatchObject({ stage: 'cart abandoned', stageReason: '1 item in the cart for 90 minutes without an order (threshold 60)' });
  });

  it('is purchased, then repeat customer, then lapsing after a long silence', () => {
    const once = profileOf([ev('2026-01-10T10:00:00Z', 'Order Completed', { total: 20 })]);
    expect(stageAt(once, '2026-01-11T10:00:00Z')).toMatchObject({ stage: 'purchased' });
    const twice = profileOf([ev('2026-01-10T10:00:00Z', 'Order Completed', { total: 20 }), ev('2026-02-10T10:00:00Z', 'Order Completed', { total: 30 })]);
    expect(stageAt(twice, '2026-02-11T10:00:00Z')).toMatchObject({ stage: 'repeat customer' });
    expect(stageAt(twice, '2026-09-11T10:00:00Z')).toMatchObject({ stage: 'lapsing', stageReason: '2 order(s), the last 213 days ago (threshold 120)' });
  });

  it('reads only the aggregates it names', () => {
    expect(journeyStage({}, new Date(), rules.stage)).toEqual({ stage: 'exploring', reason: 'no repeated interest, cart or order yet' });
  });
});

describe('segments', () => {
  it('puts a DIY enthusiast in the audience after 5 views in tools or paint within 30 days, and records it', () => {
    const views = ['Tools', 'Paint', 'Tools', 'Paint'].map((c, i) => ev(`2026-12-0${i + 1}T10:00:00Z`, 'Product Viewed', { product_id: `x${i}`, category: c }));
    const p = profileOf(views);
    expect(p.segments?.diyEnthusiasts).toBeUndefined();
    foldEvent(p, ev('2026-12-05T10:00:00Z', 'Product Viewed', { product_id: 'x9', category: 'Paint' }), model);
    updateSegments(p, model, rules);
    expect(p.segments?.diyEnthusiasts).toEqual({ enteredAt: '2026-12-05T10:00:00Z' });
    expect(p.segmentHistory).toContainEqual({ segment: 'diyEnthusiasts', change: 'entered', at: '2026-12-05T10:00:00Z' });
    // Forty days on, an unrelated event: the views have left the 30-day window, and so has she.
    foldEvent(p, ev('2027-01-14T10:00:00Z', 'Product Viewed', { product_id: 'g1', category: 'Garden' }), model);
    updateSegments(p, model, rules);
    expect(p.segments?.diyEnthusiasts).toBeUndefined();
    expect(p.segmentHistory?.at(-1)).toEqual({ segment: 'diyEnthusiasts', change: 'left', at: '2027-01-14T10:00:00Z' });
  });

  it.each([
    [{ segments: [{ name: 'x', when: {} }] }, 'segment "x" when: needs "all" or "any"'],
    [{ segments: [{ name: 'x', when: { all: [{ path: 'aggregates.nope', op: 'gte', value: 1 }] } }] }, 'segment "x" when: aggregate "nope" is not defined'],
    [{ segments: [{ name: 'x', when: { all: [{ path: 'stage', op: 'eq', value: 'browsing' }] } }] }, 'segment "x" when: stage "browsing" does not exist'],
    [{ segments: [{ name: 'x', when: { all: [{ path: 'profile.x', op: 'eq' }] } }] }, 'segment "x" when.all.0.path: must be stage, or start with aggregates., derived., traits. or batch.'],
  ])('rejects a bad segment, naming it and the field: %j', (segments, message) => {
    const input = {
      stage: { cartAbandonedAfterMinutes: 60, lapsingAfterDays: 120, evaluatingProductViews: 3, evaluatingCategoryViews: 5 },
      rfm: { recencyDays: [30, 90, 180, 365], frequency: [1, 2, 4, 8], monetary: [50, 150, 400, 1000] },
      ...segments,
    };
    expect(() => loadProfileRules(model, input)).toThrow(message);
  });
});

describe('RFM scores', () => {
  it('scores recency, frequency and monetary from 1 to 5 against the configured breakpoints', () => {
    const orders = [ev('2026-03-01T10:00:00Z', 'Order Completed', { total: 200 }), ev('2026-05-01T10:00:00Z', 'Order Completed', { total: 300 })];
    // 20 days after the last order; 2 orders and 500 in the last 365 days.
    expect(factsOf(profileOf(orders), model, rules, new Date('2026-05-21T10:00:00Z')).derived).toEqual({
      daysSinceLastOrder: 20,
      cartAgeMinutes: null,
      rfm: { recency: 5, frequency: 3, monetary: 4, score: '534' },
    });
    // A year and a half later, the orders have left the 365-day window.
    expect(factsOf(profileOf(orders), model, rules, new Date('2027-11-01T10:00:00Z')).derived).toMatchObject({ rfm: { recency: 1, frequency: 1, monetary: 1, score: '111' } });
  });

  it('rejects breakpoints that are not ascending, naming the field', () => {
    const input = { ...require('../../config/profile.json'), rfm: { recencyDays: [30, 20, 180, 365], frequency: [1, 2, 4, 8], monetary: [50, 150, 400, 1000] } };
    expect(() => loadProfileRules(model, input)).toThrow('rfm.recencyDays: must be four ascending numbers');
  });
});

describe('batch attributes', () => {
  it('sit beside the live aggregates, and a merge keeps the newer value of each', () => {
    const a = profileOf([ev('2026-12-01T10:00:00Z', 'Order Completed', { total: 10 })]);
    applyBatchAttributes(a, { propensity: { value: 0.2, asOf: '2026-12-01' }, tier: { value: 'low', asOf: '2026-12-01' } });
    const b = { ...profileOf([ev('2026-12-02T10:00:00Z', 'Order Completed', { total: 90 })]), profileId: 'p_b' };
    applyBatchAttributes(b, { propensity: { value: 0.7, asOf: '2026-12-02' }, clv: { value: 310, asOf: '2026-11-30' } });
    const merged = mergeProfiles(a, b, model, 'userId:x', '2026-12-03T00:00:00Z');
    expect(merged.batch).toEqual({
      propensity: { value: 0.7, asOf: '2026-12-02' },
      tier: { value: 'low', asOf: '2026-12-01' },
      clv: { value: 310, asOf: '2026-11-30' },
    });
    expect(viewAggregates(merged.aggregates, model)).toMatchObject({ revenue: 100, orderCount: 2 });
    expect(factsOf(merged, model, rules, new Date('2026-12-03T00:00:00Z')).batch).toEqual({ propensity: 0.7, tier: 'low', clv: 310 });
  });
});

describe('writing batch attributes', () => {
  it('lands on the survivor of a merge, keeps newer values, and retries when ingest wrote in between', async () => {
    const stores = new MemoryStores();
    const survivor = { ...profileOf([]), profileId: 'p_survivor', version: 3 };
    stores.profileItems.set('p_survivor', survivor);
    stores.profileItems.set('p_loser', { ...newProfile('p_loser'), version: 2, mergedInto: 'p_survivor' });
    // The first write loses a race with live ingest.
    const put = stores.profiles.put;
    let raced = false;
    stores.profiles.put = async (p, ...rest) => {
      if (!raced) {
        raced = true;
        throw new ConflictError('ingest wrote first');
      }
      return put(p, ...rest);
    };
    const written = await writeBatchAttributes(stores, 'p_loser', { propensity: { value: 0.4, asOf: '2026-12-01' } });
    await writeBatchAttributes(stores, 'p_loser', { propensity: { value: 0.1, asOf: '2026-11-01' } });
    expect(written).toBe('p_survivor');
    expect(stores.profileItems.get('p_survivor')?.batch).toEqual({ propensity: { value: 0.4, asOf: '2026-12-01' } });
    expect(stores.profileItems.get('p_survivor')?.version).toBe(4);
  });
});

describe('device kinds', () => {
  const seen = (timestamp: string, userAgent: string): CollectedEvent =>
    ({ ...ev(timestamp, 'Product Viewed', { product_id: 'x1', category: 'Paint' }), context: { timezone: 'Europe/London', userAgent } }) as CollectedEvent;
  const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148';
  const windows = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0';
  /** A profile stored before kinds were kept: its user agent's family only. */
  const legacy = (id: string, anonymousIds: string[], family: string): Profile => {
    const p = { ...newProfile(id), identities: { anonymousId: anonymousIds } };
    p.signals.userAgent = { v: family, t: '2026-11-01T10:00:00Z', id: 'old' };
    return p;
  };

  it('keeps every kind a profile was seen with, in any order, and a merge keeps both sides\'', () => {
    const a = profileOf([seen('2026-12-01T10:00:00Z', iphone), seen('2026-12-01T11:00:00Z', windows), seen('2026-12-01T12:00:00Z', iphone)]);
    const b = profileOf([seen('2026-12-01T12:00:00Z', windows), seen('2026-12-01T10:00:00Z', iphone)]);
    expect(a.signals.kinds).toEqual(['ios-phone', 'windows']);
    expect(b.signals.kinds).toEqual(['ios-phone', 'windows']);
  });

  it("takes a single device's kind from its user agent when it was stored before kinds were kept", () => {
    const old = legacy('p_old', ['phone-1'], 'ios-phone');
    foldEvent(old, seen('2026-12-02T10:00:00Z', iphone), model);
    expect(old.signals.kinds).toEqual(['ios-phone']);
    const laptop = profileOf([seen('2026-12-02T11:00:00Z', windows)]);
    expect(mergeProfiles(legacy('p_old', ['phone-1'], 'ios-phone'), { ...laptop, profileId: 'p_laptop' }, model, 'userId:x', '2026-12-03T00:00:00Z').signals.kinds).toEqual(['ios-phone', 'windows']);
  });

  it("leaves the kinds unknown for a customer merged from several devices before kinds were kept (her latest user agent is one device's)", () => {
    const old = legacy('p_old', ['phone-1', 'laptop-1'], 'windows');
    foldEvent(old, seen('2026-12-02T10:00:00Z', windows), model);
    expect(old.signals.kinds).toBeUndefined();
    const tablet = profileOf([seen('2026-12-02T11:00:00Z', 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) Mobile/15E148')]);
    expect(mergeProfiles(legacy('p_old', ['phone-1', 'laptop-1'], 'windows'), { ...tablet, profileId: 'p_tablet' }, model, 'userId:x', '2026-12-03T00:00:00Z').signals.kinds).toBeUndefined();
  });
});
