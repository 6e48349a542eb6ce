import shipped from '../../config/campaigns.json';
import { DeliveryError } from '../../lib/campaign/channels';
import { sendDue } from '../../lib/campaign/send';
import { loadCatalog } from '../../lib/decision/catalog';
import { CONTACT_EVENTS, ledgerContact, MAX_CONTACTS_PER_DAY } from '../../lib/decision/contact-ledger';
import aggregates from '../../config/aggregates.json';
import { MemoryContactLedger } from '../../lib/store/ledger-memory';
import { CampaignHarness, MINUTE, treatedUserId } from '../support/campaigns';

/**
 * The contact ledger (issue 21, item 4): campaign sends that fall due together reserve their contact
 * per person and local day before they deliver, so the contact policy's caps hold however many run at
 * once; in-app impressions count in the same ledger as the ingest folds them.
 */
const policy = loadCatalog().contactPolicy;
const consent = { consent: { categoryPreferences: { personalization: true } } };

/** A campaign that enters her on every cart and e-mails her five minutes later. */
const everyCart = {
  ...structuredClone(shipped),
  campaigns: [{ id: 'every-cart', name: 'A reminder for every cart', trigger: { event: ['Product Added'] }, wait: { delay: 'PT5M' }, reentry: { afterDays: 0 }, action: { placement: 'email', channel: 'email' } }],
};

function customer(prefix: string, timezone: string) {
  const who = treatedUserId(prefix, ['every-cart']);
  const context = { timezone, ...consent };
  return { ...who, context, identify: { type: 'identify', userId: who.userId, traits: { email: `${who.userId}@example.com` }, context } };
}

/** Her carts (one trigger each), then every send due five minutes later run at once, as the send queue's concurrency runs them. */
async function cartsSentAtOnce(h: CampaignHarness, who: ReturnType<typeof customer>, carts = 16) {
  await h.ingest(Array.from({ length: carts }, () => ({ event: 'Product Added', userId: who.userId, context: who.context, properties: { product_id: 'lamp-arc' } })));
  h.now = new Date(h.now.getTime() + 5 * MINUTE);
  const due = await h.stores.activations.due(h.now.toISOString(), 100);
  expect(due).toHaveLength(carts);
  return Promise.all(due.map((i) => sendDue(i, h.sendDeps())));
}

const byOffer = (h: CampaignHarness) => h.sent.reduce<Record<string, number>>((n, m) => ({ ...n, [m.offer.offerId]: (n[m.offer.offerId] ?? 0) + 1 }), {});

describe('sends due together keep the contact policy', () => {
  it('sixteen sends run at once deliver no offer more than its daily cap, and the rest say which cap', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z', everyCart);
    const ann = customer('ann', 'Europe/London');
    await h.ingest([ann.identify]);

    const outcomes = await cartsSentAtOnce(h, ann);

    expect(Object.values(byOffer(h)).every((n) => n <= policy.perOfferPerDay)).toBe(true);
    expect(h.sent.length).toBeGreaterThan(0);
    expect(h.sent.length).toBeLessThanOrEqual(Math.min(policy.perChannelPerDay, policy.globalPerDay));
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(h.sent.length);
    for (const i of (await h.instances('every-cart')).filter((x) => x.status !== 'sent')) expect(i).toMatchObject({ status: 'cancelled', reason: expect.stringMatching(/^contact policy: offer cap/) });
  });

  it('sends run at once after 11 in-app impressions make one contact, the 12th of her day, before anything else is folded', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z', everyCart);
    const bea = customer('bea', 'Europe/London');
    await h.ingest([bea.identify, ...Array.from({ length: 11 }, (_, i) => ({ event: 'Promotion Viewed', userId: bea.userId, context: { ...bea.context, channel: 'app' }, properties: { promotion_id: `garden-season-${i}` } }))]);

    await cartsSentAtOnce(h, bea);

    expect(h.sent).toHaveLength(policy.globalPerDay - 11);
    // The send is in the ledger before its `Message Sent` is folded: the next in-app decision is capped already.
    const decision = await h.decide(bea.userId, 'home', 'app');
    expect(decision.offers).toEqual([]);
    expect(decision.suppressed.map((s) => s.reason)).toContain(`global cap: ${policy.globalPerDay} contacts today (max ${policy.globalPerDay})`);
  });

  it('counts her day in her time zone: impressions of her evening do not cap sends of her next morning, though it is the same UTC day', async () => {
    // 21:50 in Tokyo is 12:50 UTC; the sends go at 06:05 Tokyo time the next morning, 21:05 UTC the same UTC day.
    const h = new CampaignHarness('2026-11-20T12:50:00Z', everyCart);
    const cy = customer('cy', 'Asia/Tokyo');
    await h.ingest([cy.identify, ...Array.from({ length: 11 }, (_, i) => ({ event: 'Promotion Viewed', userId: cy.userId, context: { ...cy.context, channel: 'app' }, properties: { promotion_id: `p-${i}` } }))]);
    h.now = new Date('2026-11-20T21:00:00Z');

    await cartsSentAtOnce(h, cy);

    expect(h.sent.length).toBeGreaterThan(policy.globalPerDay - 11);
    expect((await h.stores.ledger.read(cy.profileId, '2026-11-20')).total).toBe(11);
    expect((await h.stores.ledger.read(cy.profileId, '2026-11-21')).total).toBe(h.sent.length);
  });
});

describe('merged profiles', () => {
  it('after a login merges her phone into her, her caps count what the phone was shown today, in every wave of sends', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z', everyCart);
    const fay = customer('fay', 'Europe/London');
    await h.ingest([fay.identify]);
    // Anonymous on her phone: 11 impressions on a profile of its own.
    await h.ingest(Array.from({ length: 11 }, (_, i) => ({ event: 'Promotion Viewed', anonymousId: 'fay-phone', context: { ...fay.context, channel: 'app' }, properties: { promotion_id: `p-${i}` } })));
    // She logs in on the phone: its profile merges into hers.
    await h.ingest([{ ...fay.identify, anonymousId: 'fay-phone' }]);
    await h.ingest(Array.from({ length: 16 }, () => ({ event: 'Product Added', userId: fay.userId, context: fay.context, properties: { product_id: 'lamp-arc' } })));
    h.now = new Date(h.now.getTime() + 5 * MINUTE);
    const due = await h.stores.activations.due(h.now.toISOString(), 100);

    // Two waves of sends, the second reading the first's reservations (nothing folded meanwhile).
    for (const wave of [due.slice(0, 8), due.slice(8)]) await Promise.all(wave.map((i) => sendDue(i, h.sendDeps())));

    expect(h.sent).toHaveLength(policy.globalPerDay - 11);
  });
});

describe('one reservation per send', () => {
  it('a send retried after a failure between its reservation and its delivery reserves once', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z', everyCart);
    const dot = customer('dot', 'Europe/London');
    await h.ingest([dot.identify]);
    await h.ingest([{ event: 'Product Added', userId: dot.userId, context: dot.context, properties: { product_id: 'lamp-arc' } }]);
    h.now = new Date(h.now.getTime() + 5 * MINUTE);
    const [due] = await h.stores.activations.due(h.now.toISOString(), 1);
    const update = h.stores.activations.update.bind(h.stores.activations);
    let throttled = false;
    h.stores.activations.update = async (instance, rev) => {
      if (instance.status === 'sending' && !throttled) {
        throttled = true;
        throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      }
      return update(instance, rev);
    };

    await expect(sendDue(due!, h.sendDeps())).rejects.toThrow('throttled');
    expect(await sendDue(due!, h.sendDeps())).toBe('sent');

    const day = await h.stores.ledger.read(dot.profileId, '2026-11-20');
    expect({ total: day.total, counted: Object.keys(day.counted).length, sent: h.sent.length }).toEqual({ total: 1, counted: 1, sent: 1 });
  });

  it('a delivery refused for good gives its contact back; one whose outcome is unknown keeps it', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z', everyCart);
    const eva = customer('eva', 'Europe/London');
    await h.ingest([eva.identify]);
    h.failDelivery = new DeliveryError('SES refused the e-mail: MessageRejected', true);
    await cartsSentAtOnce(h, eva, 1);
    expect((await h.stores.ledger.read(eva.profileId, '2026-11-20')).total).toBe(0);

    h.failDelivery = new DeliveryError('webhook failed after 4 attempts: timeout', false);
    await cartsSentAtOnce(h, eva, 1);
    expect((await h.stores.ledger.read(eva.profileId, '2026-11-20')).total).toBe(1);
  });
});

describe('what the ledger counts', () => {
  it('counts the events her profile counts as contacts, so the two views of a cap agree', () => {
    const impressions = aggregates.aggregates.filter((a) => /^(impressions|channelImpressions|offerImpressions)(Today|Week)$/.test(a.name));
    expect(impressions).toHaveLength(6);
    for (const a of impressions) expect({ name: a.name, events: [...(a.on as { event: string[] }).event].sort() }).toEqual({ name: a.name, events: [...CONTACT_EVENTS].sort() });
  });
});

describe('the ledger store', () => {
  it('counts a contact once by its id, and never past a limit however many reserve at once', async () => {
    const ledger = new MemoryContactLedger();
    const outcomes = await Promise.all(Array.from({ length: 16 }, (_, i) => ledger.reserve('p1', '2026-11-20', ledgerContact(`m-${i}`, 'email', 'newsletter-signup'), { total: 12, channel: 10, offer: 3 }, 0)));
    expect(outcomes.filter((o) => o.reserved)).toHaveLength(3);
    expect(await ledger.reserve('p1', '2026-11-20', ledgerContact('m-0', 'email', 'newsletter-signup'), { total: 12, channel: 10, offer: 3 }, 0)).toEqual({ reserved: true, already: true });
    expect((await ledger.read('p1', '2026-11-20')).offers).toEqual({ 'newsletter-signup': 3 });
  });

  it('keeps a day bounded: channel and offer names it cannot keep count in the total only, and it counts at most MAX_CONTACTS_PER_DAY', async () => {
    const ledger = new MemoryContactLedger();
    for (let i = 0; i < MAX_CONTACTS_PER_DAY + 20; i++) await ledger.reserve('p2', '2026-11-20', ledgerContact(`x-${i}`, `Channel ${'x'.repeat(i)}`, `__proto__${i}`), { total: MAX_CONTACTS_PER_DAY }, 0);
    const day = await ledger.read('p2', '2026-11-20');
    expect({ total: day.total, counted: Object.keys(day.counted).length, channels: day.channels, offers: day.offers }).toEqual({ total: MAX_CONTACTS_PER_DAY, counted: MAX_CONTACTS_PER_DAY, channels: {}, offers: {} });
  });
});
