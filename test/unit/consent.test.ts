import fc from 'fast-check';
import { loadCatalog } from '../../lib/decision/catalog';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import type { CollectedEvent } from '../../lib/events/segment';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { loadAggregates } from '../../lib/profile/aggregates';
import { consentStatements, hasConsent, MAX_CONSENT_CATEGORIES, MAX_CONSENT_HISTORY, shippedConsentConfig } from '../../lib/profile/consent';
import { foldEvent, mergeProfiles, newProfile, type Profile } from '../../lib/profile/profile';
import { readProfile } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * Consent per category: stated by Segment's `context.consent.categoryPreferences` or by an identify
 * trait mapped in config/profile.json, kept with its time and source, ordered by when the server
 * received it, honoured by the next decision, and never carried by a probable link (identity-links.test.ts).
 */
const model = loadAggregates();
const config = ingestConfig();
const at = (minute: number) => new Date(Date.UTC(2026, 10, 20, 10, minute)).toISOString();

/** A message as the collector put it on the stream: `timestamp` is the device's clock, `receivedAt` the server's. */
function stated(preferences: Record<string, unknown>, received: string, timestamp = received, extra: Record<string, unknown> = {}): CollectedEvent {
  return segmentEvent({ anonymousId: 'dev-1', timestamp, receivedAt: received, context: { consent: { categoryPreferences: preferences } }, ...extra }) as unknown as CollectedEvent;
}

const fold = (events: CollectedEvent[]): Profile => {
  const p = newProfile('p1');
  for (const e of events) foldEvent(p, e, model);
  return p;
};

describe('consent statements', () => {
  it('keeps each category of context.consent.categoryPreferences with when it was received and its source', () => {
    const p = fold([stated({ Personalization: true, Advertising: false }, at(1))]);
    expect(p.consent).toMatchObject({
      personalization: { granted: true, at: at(1), source: 'context.consent' },
      advertising: { granted: false, at: at(1), source: 'context.consent' },
    });
    expect(p.consentHistory).toEqual([
      { category: 'personalization', granted: true, at: at(1), source: 'context.consent' },
      { category: 'advertising', granted: false, at: at(1), source: 'context.consent' },
    ].sort((a, b) => (a.granted === b.granted ? 0 : a.granted ? -1 : 1)));
  });

  it('takes an identify trait mapped in config/profile.json when a source has no consent tool', () => {
    const identify = segmentEvent({ type: 'identify', userId: 'u1', receivedAt: at(2), timestamp: at(2), traits: { consentPersonalisation: true, plan: 'gold' } }) as unknown as CollectedEvent;
    const p = fold([identify]);
    expect(p.consent?.personalization).toMatchObject({ granted: true, source: 'trait:consentPersonalisation' });
    // A trait that is not a boolean states nothing.
    expect(consentStatements({ ...identify, traits: { consentPersonalisation: 'yes' } } as CollectedEvent, shippedConsentConfig())).toEqual([]);
  });

  it('orders statements by receipt, not by the device clock: a withdrawal wins over a grant stamped ahead, in any order', () => {
    // The phone's clock runs ten minutes fast: its grant claims 10:12 but reached the server at 10:02.
    const grant = stated({ Personalization: true }, at(2), at(12));
    const withdrawal = stated({ Personalization: false }, at(5), at(5));
    for (const order of [[grant, withdrawal], [withdrawal, grant]]) {
      const p = fold(order);
      expect(p.consent?.personalization).toMatchObject({ granted: false, at: at(5) });
      expect(p.consentHistory?.map((h) => h.granted)).toEqual([true, false]);
    }
  });

  it('lets a withdrawal win over a grant received at the same instant', () => {
    const both = [stated({ Personalization: true }, at(3)), stated({ Personalization: false }, at(3))];
    expect(fold(both).consent?.personalization?.granted).toBe(false);
    expect(fold([...both].reverse()).consent?.personalization?.granted).toBe(false);
  });

  it('does not fill the history with a consent tool restating the same choice on every event', () => {
    const p = fold(Array.from({ length: 200 }, (_, i) => stated({ Personalization: true }, at(i % 60))));
    expect(p.consentHistory).toHaveLength(1);
    const flips = fold(Array.from({ length: 200 }, (_, i) => stated({ Personalization: i % 2 === 0 }, new Date(Date.UTC(2026, 10, 20, 10, 0, i)).toISOString())));
    expect(flips.consentHistory).toHaveLength(MAX_CONSENT_HISTORY);
    expect(flips.consentHistory?.at(-1)).toMatchObject({ granted: false });
  });

  it('keeps a hostile statement bounded: categories, names and values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 80 }), fc.anything(), { maxKeys: 60 }), (preferences) => {
        const p = fold([stated(preferences, at(1)), stated({ ...preferences, __proto__: true, constructor: false }, at(2))]);
        const categories = Object.keys(p.consent ?? {});
        expect(categories.length).toBeLessThanOrEqual(MAX_CONSENT_CATEGORIES);
        for (const c of categories) expect(c.length).toBeLessThanOrEqual(64);
        for (const s of Object.values(p.consent ?? {})) expect(typeof s.granted).toBe('boolean');
        expect(Object.getPrototypeOf(p.consent ?? {})).toBe(Object.prototype);
      }),
    );
  });

  it("merges one person's profiles by each category's later statement, histories joined", () => {
    const phone = fold([stated({ Personalization: true }, at(1))]);
    const laptop = newProfile('p2');
    foldEvent(laptop, stated({ Personalization: false }, at(4)), model);
    const merged = mergeProfiles(phone, laptop, model, 'userId:u1', at(6));
    expect(merged.consent?.personalization).toMatchObject({ granted: false, at: at(4) });
    expect(merged.consentHistory?.map((h) => [h.granted, h.at])).toEqual([[true, at(1)], [false, at(4)]]);
    expect(hasConsent(mergeProfiles(laptop, phone, model, 'userId:u1', at(6)), 'Personalization')).toBe(false);
  });
});

describe('consent through the ingest, the read API and the next decision', () => {
  const catalog = loadCatalog();
  const seq = new SequenceFactory();
  async function ingest(stores: MemoryStores, events: Array<Record<string, unknown>>): Promise<void> {
    expect((await ingestBatch(events.map((e) => toRecord(e, seq.take())), stores, config)).failedSequenceNumbers).toEqual([]);
  }
  const view = (minute: number, consent?: boolean) =>
    segmentEvent({
      userId: 'u-cora',
      timestamp: at(minute),
      receivedAt: at(minute),
      properties: { product_id: 'drill-1', category: 'tools' },
      context: { timezone: 'Europe/London', ...(consent === undefined ? {} : { consent: { categoryPreferences: { Personalization: consent } } }) },
    });
  const decideFor = (stores: MemoryStores) =>
    answerDecision(parseDecisionRequest(JSON.stringify({ identity: { namespace: 'userId', value: 'u-cora' }, placement: 'home', count: 3, context: { timestamp: at(30) } })), {
      stores,
      config,
      catalog,
      salt: config.salt,
    });

  it('applies a withdrawal in the same batch as her browsing, and the next decision is generic and says why', async () => {
    const stores = new MemoryStores();
    await ingest(stores, [view(1, true), view(2), view(3), view(4)]);
    const before = await decideFor(stores);
    expect(before.consent).toEqual({ category: 'personalization', granted: true });
    expect(before.offers.flatMap((o) => o.reasons)).toContain('interest in tools');
    expect(before.offers.map((o) => o.offerId)).toContain('diy-tools-bundle');

    // One batch: more browsing, then the withdrawal (its events come before and after it in the batch).
    await ingest(stores, [view(5), view(6, false), view(7)]);
    const after = await decideFor(stores);
    expect(after.consent).toEqual({ category: 'personalization', granted: false, reason: 'no consent to personalization: generic offers, ranked without her profile' });
    expect(after.offers.map((o) => o.offerId)).not.toContain('diy-tools-bundle');
    expect(after.suppressed).toContainEqual({ offerId: 'diy-tools-bundle', reason: 'no consent to personalised offers' });
    // Not ranked on her profile: her interest in tools no longer counts.
    expect(after.offers.flatMap((o) => o.reasons).join('; ')).not.toContain('interest in');
    expect(after.modelVersion).toBe('rules-only');

    const profile = await readProfile(stores, before.profileId as string, config);
    expect(profile.consent).toEqual({ personalization: { granted: false, at: at(6), source: 'context.consent' } });
    expect(profile.consentHistory).toEqual([
      { category: 'personalization', granted: true, at: at(1), source: 'context.consent' },
      { category: 'personalization', granted: false, at: at(6), source: 'context.consent' },
    ]);
  });

  it('keeps protecting her without consent: the contact caps still count her impressions', async () => {
    const stores = new MemoryStores();
    const impressions = Array.from({ length: 12 }, (_, i) =>
      segmentEvent({ userId: 'u-cora', event: 'Promotion Viewed', timestamp: at(10 + i), receivedAt: at(10 + i), properties: { promotion_id: 'garden-season' }, context: { timezone: 'Europe/London' } }),
    );
    await ingest(stores, [view(1, false), ...impressions]);
    const d = await decideFor(stores);
    expect(d.consent.granted).toBe(false);
    expect(d.offers).toEqual([]);
    expect(d.suppressed.some((s) => s.reason.startsWith('global cap'))).toBe(true);
  });

  it('gives an unknown visitor a generic decision that says so', async () => {
    const d = await answerDecision(parseDecisionRequest(JSON.stringify({ identity: { namespace: 'anonymousId', value: 'never-seen' }, placement: 'home', context: { timestamp: at(30) } })), {
      stores: new MemoryStores(),
      config,
      catalog,
      salt: config.salt,
    });
    expect(d.consent).toEqual({ category: 'personalization', granted: false, reason: 'unknown visitor: generic offers, ranked without a profile' });
  });
});
