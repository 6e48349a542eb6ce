import { loadCatalog } from '../../lib/decision/catalog';
import { decisionContext, type ContextRequest } from '../../lib/decision/context';
import { bucketOf, decide, type DecisionFacts } from '../../lib/decision/decide';
import type { CollectedEvent } from '../../lib/events/segment';
import { loadAggregates } from '../../lib/profile/aggregates';
import { factsOf } from '../../lib/profile/facts';
import { foldEvent, newProfile } from '../../lib/profile/profile';
import { loadProfileRules } from '../../lib/profile/segments';

const catalog = loadCatalog();
const model = loadAggregates();
const rules = loadProfileRules(model);
const LEEDS_STORE = { latitude: 53.8164, longitude: -1.6027 };
const NEAR_GYM = { latitude: 53.7998, longitude: -1.5493 };
const CINEMA = { latitude: 53.8169, longitude: -1.5687 };
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
const LAPTOP = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36';

let n = 0;
/** Facts of a customer after these events, read at `now`. */
function customer(
  events: Array<[string, string, Record<string, unknown>, Record<string, unknown>?]>,
  now: string,
  traits: Record<string, unknown> = { consentPersonalisation: true },
): DecisionFacts {
  const p = newProfile('p_customer');
  foldEvent(p, { type: 'identify', userId: 'c1', messageId: 'id0', timestamp: '2026-01-01T00:00:00Z', receivedAt: '2026-01-01T00:00:00Z', traits, context: { timezone: 'Europe/London' } } as unknown as CollectedEvent, model);
  for (const [at, event, properties, context] of events) {
    n += 1;
    foldEvent(p, { type: 'track', event, properties, userId: 'c1', messageId: `d${n}`, timestamp: at, receivedAt: at, context: { timezone: 'Europe/London', ...context } } as unknown as CollectedEvent, model);
  }
  return { ...factsOf(p, model, rules, new Date(now)), segments: [] };
}

function decideFor(facts: DecisionFacts | undefined, request: Partial<ContextRequest> & { timestamp: string }, count = 3, profileId: string | null = 'p_customer') {
  const context = decisionContext({ placement: 'app-feed', timezone: 'Europe/London', device: { userAgent: LAPTOP }, ...request }, catalog, 'Europe/London');
  return decide({ decisionId: 'd-fixed-1', profileId, facts, context, count }, catalog);
}

const ids = (d: { offers: Array<{ offerId: string }> }) => d.offers.map((o) => o.offerId);
const plain = customer([], '2026-12-01T12:00:00Z');

describe('decisions for the situations the product exists for', () => {
  it('offers the health club at 06:00 local near a gym partner, and a restaurant at 18:00, in her own time zone', () => {
    const morning = decideFor(plain, { timestamp: '2026-12-01T06:05:00Z', location: NEAR_GYM });
    expect(ids(morning)[0]).toBe('health-club-trial');
    expect(morning.offers[0]?.reasons).toContain('06:00 local near a gym partner: health club');
    const evening = decideFor(plain, { timestamp: '2026-12-01T18:05:00Z', location: NEAR_GYM });
    expect(ids(evening)[0]).toBe('restaurant-evening');
    expect(ids(evening)).not.toContain('health-club-trial');
    // 06:05 in New York is 11:05 UTC: her morning, not the server's noon.
    const newYork = decideFor(plain, { timestamp: '2026-12-01T11:05:00Z', timezone: 'America/New_York', location: NEAR_GYM });
    expect(newYork.context.localTime).toBe('2026-12-01 06h');
    expect(ids(newYork)[0]).toBe('health-club-trial');
  });

  it('in one of our stores, offers what goes with what she chose: brushes for the paint she bought', () => {
    const ann = customer([['2026-11-20T14:03:00Z', 'Order Completed', { total: 64.99, products: [{ product_id: 'paint-sage-2l' }] }]], '2026-11-21T11:00:00Z');
    const inStore = decideFor(ann, { timestamp: '2026-11-21T11:04:00Z', location: LEEDS_STORE, device: { userAgent: IPHONE } });
    expect(inStore.offers[0]).toMatchObject({ offerId: 'in-store-complement', items: ['brush-set-pro', 'roller-set-9in'] });
    expect(inStore.context.nearby).toEqual(['store-leeds-kirkstall']);
    const atHome = decideFor(ann, { timestamp: '2026-11-21T11:04:00Z', device: { userAgent: IPHONE } });
    expect(ids(atHome)).not.toContain('in-store-complement');
  });

  it('contacts nothing at a quiet place or in quiet hours, and says why', () => {
    const cinema = decideFor(plain, { timestamp: '2026-12-01T19:00:00Z', location: CINEMA });
    expect(cinema.offers).toEqual([]);
    expect(cinema.context.quiet).toBe('at a quiet place (cinema: Hyde Park Picture House)');
    expect(cinema.suppressed).toContainEqual({ offerId: 'restaurant-evening', reason: 'contact nothing: at a quiet place (cinema: Hyde Park Picture House)' });
    const night = decideFor(plain, { timestamp: '2026-12-01T23:30:00Z' });
    expect(night.offers).toEqual([]);
    expect(night.context.quiet).toBe('quiet hours (22:00-6:00 local)');
  });

  it('replaces a planned survey with an instant-response offer on a smartphone', () => {
    const desktop = decideFor(plain, { timestamp: '2026-12-01T12:00:00Z' }, 10);
    expect(ids(desktop)).toContain('survey-q4');
    expect(ids(desktop)).not.toContain('instant-win');
    const phone = decideFor(plain, { timestamp: '2026-12-01T12:00:00Z', device: { userAgent: IPHONE } }, 10);
    expect(ids(phone)).toContain('instant-win');
    expect(phone.suppressed).toContainEqual({ offerId: 'survey-q4', reason: 'replaced by instant-win: on a smartphone a survey becomes an instant-response offer' });
  });

  it('moves on to the next best offer when a time-limited one has expired', () => {
    const during = decideFor(plain, { timestamp: '2026-11-28T12:00:00Z' }, 1);
    expect(ids(during)).toEqual(['black-friday-paint']);
    const after = decideFor(plain, { timestamp: '2026-12-02T12:00:00Z' }, 1);
    expect(ids(after)).not.toContain('black-friday-paint');
    expect(after.offers).toHaveLength(1);
    expect(after.suppressed).toContainEqual({ offerId: 'black-friday-paint', reason: 'expired at 2026-11-30T23:59:59Z' });
  });

  it('reminds her of an abandoned cart with its items, unless she has since bought', () => {
    const cart: Array<[string, string, Record<string, unknown>]> = [['2026-12-01T10:00:00Z', 'Product Added', { product_id: 'roller-set-9in' }]];
    const abandoned = decideFor(customer(cart, '2026-12-01T12:00:00Z'), { timestamp: '2026-12-01T12:00:00Z' });
    expect(abandoned.offers[0]).toMatchObject({ offerId: 'cart-reminder', items: ['roller-set-9in'] });
    // She bought, on another device of hers (the stitched profile holds both): no reminder.
    const bought = customer([...cart, ['2026-12-01T11:00:00Z', 'Order Completed', { total: 12.5 }]], '2026-12-01T12:00:00Z');
    expect(ids(decideFor(bought, { timestamp: '2026-12-01T12:00:00Z' }))).not.toContain('cart-reminder');
  });
});

describe('contact policy, consent and arbitration', () => {
  it('caps an offer per day and cools down after a dismissal', () => {
    const shown = customer(
      [1, 2, 3].map((i) => [`2026-12-01T1${i}:00:00Z`, 'Promotion Viewed', { promotion_id: 'garden-season' }] as [string, string, Record<string, unknown>]),
      '2026-12-01T14:30:00Z',
    );
    const capped = decideFor(shown, { timestamp: '2026-12-01T14:30:00Z' }, 10);
    expect(capped.suppressed).toContainEqual({ offerId: 'garden-season', reason: 'offer cap: shown 3 times today (max 3)' });
    const dismissed = customer([['2026-12-01T12:00:00Z', 'Promotion Dismissed', { promotion_id: 'survey-q4' }]], '2026-12-01T14:00:00Z');
    expect(decideFor(dismissed, { timestamp: '2026-12-01T14:00:00Z' }, 10).suppressed).toContainEqual({
      offerId: 'survey-q4',
      reason: 'cooldown: 24 h after a dismissal at 2026-12-01T12:00:00Z',
    });
  });

  it('caps contacts per channel and globally per calendar day and week in her time zone', () => {
    type E = [string, string, Record<string, unknown>, Record<string, unknown>?];
    // Ten e-mail impressions on Monday 1 Dec, of different offers (no offer cap reached).
    const monday: E[] = Array.from({ length: 10 }, (_, i) => [`2026-12-01T0${Math.floor(i / 2)}:${i % 2 ? '30' : '00'}:00Z`, 'Promotion Viewed', { promotion_id: `mail-${i}` }, { channel: 'email' }]);
    const onMonday = customer(monday, '2026-12-01T12:00:00Z');
    expect(decideFor(onMonday, { timestamp: '2026-12-01T12:00:00Z', channel: 'email', placement: 'email' }).suppressed).toContainEqual({
      offerId: 'newsletter-signup',
      reason: 'channel cap: 10 contacts on email today (max 10)',
    });
    // The app is another channel: not capped by e-mail's contacts.
    expect(decideFor(onMonday, { timestamp: '2026-12-01T12:00:00Z', channel: 'app' }).offers.length).toBeGreaterThan(0);
    // Tuesday: a new day, so e-mail is open again; by Thursday, 30 e-mails this week close the channel for the week.
    expect(decideFor(customer(monday, '2026-12-02T12:00:00Z'), { timestamp: '2026-12-02T12:00:00Z', channel: 'email', placement: 'email' }).offers.length).toBeGreaterThan(0);
    const week: E[] = [1, 2, 3].flatMap((day) => monday.map(([at, e, p, c]): E => [at.replace('12-01', `12-0${day}`), e, { promotion_id: `${p.promotion_id as string}-${day}` }, c]));
    expect(decideFor(customer(week, '2026-12-04T12:00:00Z'), { timestamp: '2026-12-04T12:00:00Z', channel: 'email', placement: 'email' }).suppressed).toContainEqual({
      offerId: 'newsletter-signup',
      reason: 'channel cap: 30 contacts on email this week (max 30)',
    });
    // Twelve contacts on any channels today reach the global daily cap.
    const busy: E[] = Array.from({ length: 12 }, (_, i) => [`2026-12-01T${String(8 + (i % 4)).padStart(2, '0')}:${String(i * 4).padStart(2, '0')}:00Z`, 'Promotion Viewed', { promotion_id: `x-${i}` }, { channel: i % 2 ? 'web' : 'app' }]);
    expect(decideFor(customer(busy, '2026-12-01T13:00:00Z'), { timestamp: '2026-12-01T13:00:00Z' }).suppressed).toContainEqual({
      offerId: 'garden-season',
      reason: 'global cap: 12 contacts today (max 12)',
    });
    // In New York, 02:00 UTC on 2 December is still 21:00 on the 1st: her day, not the server's.
    const newYork: E[] = Array.from({ length: 12 }, (_, i) => [`2026-12-01T${18 + (i % 4)}:${String(i * 4).padStart(2, '0')}:00Z`, 'Promotion Viewed', { promotion_id: `x-${i}` }, { timezone: 'America/New_York' }]);
    const late = decideFor(customer(newYork, '2026-12-02T02:00:00Z'), { timestamp: '2026-12-02T02:00:00Z', timezone: 'America/New_York' });
    expect(late.suppressed).toContainEqual({ offerId: 'garden-season', reason: 'global cap: 12 contacts today (max 12)' });
    expect(customer(newYork, '2026-12-02T05:00:00Z').aggregates.impressionsToday).toBe(0);
  });

  it('applies an offer\'s own caps where stricter than the policy\'s, and eligibility on segments', () => {
    const surveyed = customer([['2026-12-01T09:00:00Z', 'Promotion Viewed', { promotion_id: 'survey-q4' }]], '2026-12-01T12:00:00Z');
    expect(decideFor(surveyed, { timestamp: '2026-12-01T12:00:00Z' }, 10).suppressed).toContainEqual({ offerId: 'survey-q4', reason: 'offer cap: shown 1 times today (max 1)' });
    expect(decideFor(plain, { timestamp: '2026-12-01T12:00:00Z' }, 10).suppressed).toContainEqual({ offerId: 'vip-early-access', reason: 'not eligible for this customer' });
    const champion = { ...plain, segments: ['champions'] };
    expect(ids(decideFor(champion, { timestamp: '2026-12-01T12:00:00Z' }, 10))).toContain('vip-early-access');
  });

  it('gives no personalised offer without consent: a generic one instead', () => {
    const noConsent = customer([['2026-12-01T10:00:00Z', 'Product Viewed', { product_id: 'drill', category: 'Tools' }]], '2026-12-01T12:00:00Z', {});
    const d = decideFor(noConsent, { timestamp: '2026-12-01T12:00:00Z' }, 10);
    expect(d.suppressed).toContainEqual({ offerId: 'diy-tools-bundle', reason: 'no consent to personalised offers' });
    expect(d.offers.length).toBeGreaterThan(0);
    expect(d.offers.every((o) => !catalog.byId.get(o.offerId)?.personalised)).toBe(true);
  });

  it('answers an unknown visitor with generic offers', () => {
    const d = decideFor(undefined, { timestamp: '2026-12-01T12:00:00Z' }, 2, null);
    expect(d.offers).toHaveLength(2);
    expect(d.offers.every((o) => !catalog.byId.get(o.offerId)?.personalised)).toBe(true);
  });

  it('puts no two offers of one category in the top slots while others remain', () => {
    const d = decideFor(plain, { timestamp: '2026-12-01T12:00:00Z' }, 5);
    const categories = d.offers.map((o) => catalog.byId.get(o.offerId)?.category);
    expect(new Set(categories).size).toBe(categories.length);
  });

  it('sends a stable 5% of profiles to the holdout, marked in the response', () => {
    const inHoldout = Array.from({ length: 400 }, (_, i) => `p_${i}`).find((id) => bucketOf(`holdout:${id}`) < 5) as string;
    const d = decideFor(plain, { timestamp: '2026-12-01T12:00:00Z' }, 3, inHoldout);
    expect(d.variant).toBe('holdout');
    expect(d.offers.every((o) => o.reasons.includes('control group'))).toBe(true);
    const share = Array.from({ length: 2000 }, (_, i) => bucketOf(`holdout:p_${i}`) < 5).filter(Boolean).length / 2000;
    expect(share).toBeGreaterThan(0.03);
    expect(share).toBeLessThan(0.07);
  });
});

describe('the catalog is validated', () => {
  const base = require('../../config/catalog.json');
  it.each([
    [{ offers: [{ ...base.offers[0], value: -1 }] }, 'offer "health-club-trial" value'],
    [{ contextRules: [{ ...base.contextRules[0], effect: { boost: ['nope'] } }] }, 'rule "morning-near-gym" effect: unknown offer "nope"'],
    [{ contextRules: [{ ...base.contextRules[0], when: { nearKinds: ['spa'] } }] }, 'rule "morning-near-gym" when.nearKinds: no place of kind "spa"'],
  ])('names the item and the field: %#', (patch, message) => {
    expect(() => loadCatalog({ ...base, ...patch })).toThrow(message);
  });
});
