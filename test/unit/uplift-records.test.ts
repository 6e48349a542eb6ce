import shipped from '../../config/campaigns.json';
import { loadCatalog } from '../../lib/decision/catalog';
import { decisionContext } from '../../lib/decision/context';
import { bucketOf, decide, type DecisionFacts } from '../../lib/decision/decide';
import { loadModel } from '../../lib/decision/model';
import { deriveProfileId } from '../../lib/identity/resolver';
import { identifierKey } from '../../lib/events/identifiers';
import type { CollectedEvent } from '../../lib/events/segment';
import { assignmentOf } from '../../lib/learn/training-set';
import { loadAggregates } from '../../lib/profile/aggregates';
import { factsOf } from '../../lib/profile/facts';
import { foldEvent, newProfile } from '../../lib/profile/profile';
import { loadProfileRules } from '../../lib/profile/segments';
import { CampaignHarness } from '../support/campaigns';

/**
 * What the engine records of its control groups, so the nightly job can measure an offer's uplift
 * against them: a holdout decision logs the offers it withheld, a campaign's control its hold-out.
 */
const catalog = loadCatalog();
const model = loadModel();
const aggregates = loadAggregates();
const profileRules = loadProfileRules(aggregates);
const at = '2026-12-01T12:00:00Z';

/** A consenting customer with a paint cart: the cart reminder is hers to be offered. */
function withCart(profileId: string, more: string[] = []): DecisionFacts {
  const p = newProfile(profileId);
  const fold = (e: Record<string, unknown>) => foldEvent(p, { messageId: `m-${Math.random()}`, userId: 'c1', timestamp: '2026-11-30T10:00:00Z', receivedAt: '2026-11-30T10:00:00Z', context: { timezone: 'Europe/London' }, ...e } as unknown as CollectedEvent, aggregates);
  fold({ type: 'identify', traits: { consentPersonalisation: true } });
  fold({ type: 'track', event: 'Product Added', properties: { product_id: 'paint-sage-2l', category: 'paint', price: 20 } });
  for (const product_id of more) fold({ type: 'track', event: 'Product Added', properties: { product_id, category: 'paint', price: 5 } });
  return { ...factsOf(p, aggregates, profileRules, new Date(at)), segments: [] };
}

const decideAs = (profileId: string) => {
  const context = decisionContext({ placement: 'home', timezone: 'Europe/London', timestamp: at }, catalog, 'Europe/London');
  return decide({ decisionId: 'd-1', profileId, facts: withCart(profileId), context, count: 2, explore: false }, catalog);
};

describe('the control arms the engine records', () => {
  it('a holdout decision names the personalised offers it withheld: what the same customer outside the holdout is offered', () => {
    // Prepare
    const ids = Array.from({ length: 400 }, (_, i) => `p_${i}`);
    const held = ids.find((id) => bucketOf(`holdout:${id}`) < catalog.arbitration.holdoutPercent) as string;
    const shown = ids.find((id) => bucketOf(`holdout:${id}`) >= catalog.arbitration.holdoutPercent) as string;

    // Act
    const control = decideAs(held);
    const treated = decideAs(shown);

    // Assess
    const personalised = treated.offers.map((o) => o.offerId).filter((id) => catalog.byId.get(id)?.personalised);
    expect(personalised.length).toBeGreaterThan(0);
    expect(control.variant).toBe('holdout');
    expect(control.withheld).toEqual(personalised);
    expect(control.offers.some((o) => control.withheld?.includes(o.offerId))).toBe(false);
    expect(treated.withheld).toBeUndefined();
  });

  it('withholds exactly what she would have been shown, the serendipity slot and exploration included (same decision, same draws)', () => {
    // Prepare: two slots, the model's association rules (a serendipity pick for her cart of paint and tape), exploration on.
    const ids = Array.from({ length: 400 }, (_, i) => `p_${i}`);
    const held = ids.find((id) => bucketOf(`holdout:${id}`) < catalog.arbitration.holdoutPercent) as string;
    const shown = ids.find((id) => bucketOf(`holdout:${id}`) >= catalog.arbitration.holdoutPercent) as string;
    const context = decisionContext({ placement: 'home', timezone: 'Europe/London', timestamp: at }, catalog, 'Europe/London');
    const facts = (profileId: string) => withCart(profileId, ['tape-50m']);
    const decideFor = (profileId: string, decisionId: string) => decide({ decisionId, profileId, facts: facts(profileId), context, count: 2, associations: model.associations }, catalog);

    // Act: the same decisions for a customer in the holdout and one outside it.
    const pairs = Array.from({ length: 60 }, (_, k) => ({ control: decideFor(held, `d-${k}`), treated: decideFor(shown, `d-${k}`) }));

    // Assess: what the personalised decision returned and the holdout did not show, for every decision.
    expect(pairs.some(({ treated }) => treated.offers.some((o) => o.explored))).toBe(true);
    expect(pairs.some(({ treated }) => treated.offers.some((o) => o.reasons.some((r) => r.startsWith('serendipity'))))).toBe(true);
    for (const { control, treated } of pairs) {
      const shownToHer = control.offers.map((o) => o.offerId);
      expect(control.withheld ?? []).toEqual(treated.offers.map((o) => o.offerId).filter((id) => !shownToHer.includes(id)));
    }
  });

  it("a campaign's control group is on the stream as a Message Held Out of the offer it would have been sent", async () => {
    // Prepare: the store-visit campaign with half its entries held out, for shoppers outside the decision holdout.
    const input = structuredClone(shipped) as { campaigns: Array<Record<string, unknown>> };
    input.campaigns = [{ ...input.campaigns[2], controlPercent: 50 }];
    const h = new CampaignHarness('2026-11-20T10:00:00Z', input);
    const profileIdOf = (userId: string) => deriveProfileId(identifierKey({ ns: 'userId', value: userId }));
    const people = Array.from({ length: 40 }, (_, i) => `shopper-${i}`).filter((u) => bucketOf(`holdout:${profileIdOf(u)}`) >= 5).slice(0, 20);
    const consent = { consent: { categoryPreferences: { personalization: true } } };
    for (const userId of people) {
      await h.ingest([
        { type: 'identify', userId, context: { timezone: 'Europe/London', ...consent } },
        { event: 'Product Viewed', userId, properties: { product_id: 'paint-sage-2l', category: 'paint' } },
        { event: 'Store Entered', userId, context: { location: { latitude: 53.8163, longitude: -1.6028 } } },
      ]);
    }

    // Act
    await h.advance(0);

    // Assess: one Message Held Out per held-out instance, naming its offer, read as the control arm.
    const held = (await h.instances('store-visit')).filter((i) => i.status === 'held-out');
    const events = [...h.stores.eventItems.values()].map((e) => e.event).filter((e) => e.type === 'track' && e.event === 'Message Held Out');
    expect(held.length).toBeGreaterThan(3);
    expect(events).toHaveLength(held.length);
    for (const e of events) {
      const offer = (e.properties as Record<string, unknown>).promotion_id as string;
      expect(held.map((i) => i.offerId)).toContain(offer);
      expect(assignmentOf(e, offer)).toEqual({ arm: 'control', source: 'campaign:store-visit' });
    }
    // Held out is not a contact: the channel delivered only to the others.
    expect(h.sent).toHaveLength((await h.instances('store-visit')).length - held.length);
  });
});
