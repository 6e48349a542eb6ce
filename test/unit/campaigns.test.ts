import { loadCampaigns } from '../../lib/campaign/campaign';
import { bucketOf } from '../../lib/decision/decide';
import { deriveProfileId } from '../../lib/identity/resolver';
import { identifierKey } from '../../lib/events/identifiers';
import { campaignStats } from '../../lib/campaign/stats';
import { onProfileChange } from '../../lib/campaign/journey';
import { sendDue } from '../../lib/campaign/send';
import { CampaignHarness, HOUR, MINUTE, treatedUserId } from '../support/campaigns';
import shipped from '../../config/campaigns.json';

/**
 * Triggered campaigns through the real ingest and decision engine on in-memory stores, with a clock
 * the test moves: plans, waits, exits, sends, quiet hours, shared caps, consent, control groups,
 * conversions and redelivery.
 */
const STORE = { latitude: 53.8163, longitude: -1.6028 }; // Leeds Kirkstall (catalog)
const consent = { consent: { categoryPreferences: { personalization: true } } };
const profileIdOf = (userId: string) => deriveProfileId(identifierKey({ ns: 'userId', value: userId }));

/** A customer in a time zone who consented; her userId chosen so the shipped campaigns treat her (not held out). */
function customer(prefix: string, timezone: string, campaigns = ['cart-abandoned', 'bought-together', 'store-visit']) {
  const who = treatedUserId(prefix, campaigns);
  const context = { timezone, ...consent };
  /** Her identify call with her e-mail address (the e-mail channel sends to it, sealed). */
  const identify = { type: 'identify', userId: who.userId, traits: { email: `${who.userId}@example.com` }, context };
  return { ...who, context, identify };
}

describe('campaigns as data', () => {
  it('loads the shipped demo campaigns', () => {
    const c = loadCampaigns();
    expect(c.campaigns.map((x) => x.id)).toEqual(['cart-abandoned', 'bought-together', 'store-visit', 'win-back']);
    expect([...c.watched].sort()).toEqual(['Location Updated', 'Order Completed', 'Product Added', 'Store Entered']);
  });

  it.each([
    [{ wait: { delay: 'one hour' } }, 'campaign "cart-abandoned" wait.delay: must be an ISO 8601 duration'],
    [{ action: { placement: 'email', channel: 'fax' } }, 'campaign "cart-abandoned" action.channel: no adapter for channel "fax"'],
    [{ trigger: {} }, 'campaign "cart-abandoned" trigger: needs event or segment'],
    [{ wait: { at: '9am' } }, 'campaign "cart-abandoned" wait.at: must be HH:MM'],
    [{ controlPercent: 80 }, 'campaign "cart-abandoned" controlPercent'],
  ])('names the campaign and the field of a mistake: %j', (change, message) => {
    const input = structuredClone(shipped);
    Object.assign(input.campaigns[0] as object, change);
    expect(() => loadCampaigns(input)).toThrow(message);
  });

  it('refuses a segment trigger on a segment that does not exist, and a campaign declared twice', () => {
    const input = structuredClone(shipped) as { campaigns: Array<Record<string, unknown>> };
    input.campaigns[0] = { ...input.campaigns[0], trigger: { segment: { entered: 'nobody' } } };
    expect(() => loadCampaigns(input, ['champions'])).toThrow('campaign "cart-abandoned" trigger.segment: no segment "nobody"');
    const twice = structuredClone(shipped) as { campaigns: unknown[] };
    twice.campaigns.push(twice.campaigns[0]);
    expect(() => loadCampaigns(twice)).toThrow('campaign "cart-abandoned" is declared twice');
  });
});

describe('the cart-abandonment reminder and the next-morning cross-sell', () => {
  it('plans the reminder an hour after the cart, cancels it when she buys in the store, and sends the cross-sell at 09:00 her time', async () => {
    // Prepare: 09:00 in New York is 14:00 UTC.
    const h = new CampaignHarness('2026-11-20T14:00:00Z');
    const ann = customer('ann', 'America/New_York');
    await h.ingest([
      ann.identify,
      { event: 'Product Viewed', userId: ann.userId, context: ann.context, properties: { product_id: 'paint-sage-2l', category: 'paint' } },
      { event: 'Product Added', userId: ann.userId, context: ann.context, properties: { product_id: 'paint-sage-2l' } },
    ]);
    const [reminder] = await h.instances('cart-abandoned');
    expect(reminder).toMatchObject({ status: 'planned', group: 'treatment', dueAt: '2026-11-20T15:00:00.000Z' });

    // Act: half an hour later she buys the paint in the store.
    await h.advance(30 * MINUTE);
    await h.ingest([{ event: 'Order Completed', userId: ann.userId, context: { ...ann.context, channel: 'store' }, properties: { order_id: 'o-1', total: 40, products: [{ product_id: 'paint-sage-2l' }] } }]);

    // Assess: the reminder is cancelled by the purchase, and nothing is sent at its time.
    expect((await h.instances('cart-abandoned'))[0]).toMatchObject({ status: 'cancelled', reason: 'exit: Order Completed at 2026-11-20T14:30:00.000Z' });
    expect(h.wakeups.cancelled).toBeGreaterThanOrEqual(1);
    expect(await h.advance(HOUR)).toEqual([]);
    expect(h.sent).toEqual([]);

    // The cross-sell waits for the next 09:00 in New York (14:00 UTC), not the server's morning.
    const [crossSell] = await h.instances('bought-together');
    expect(crossSell).toMatchObject({ status: 'planned', dueAt: '2026-11-21T14:00:00.000Z' });
    await h.advance(Date.parse('2026-11-21T13:59:00Z') - h.now.getTime());
    expect(h.sent).toEqual([]);
    await h.advance(MINUTE);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toMatchObject({ campaignId: 'bought-together', userId: ann.userId, channel: 'email', offer: { offerId: 'bought-together', items: ['brush-set-pro', 'roller-set-9in'] } });
    // The channel was given her address, opened from its seal; the message itself carries none.
    expect(h.sentTo).toEqual([`${ann.userId}@example.com`]);
    expect(JSON.stringify(h.sent[0])).not.toContain('@example.com');
    expect((await h.instances('bought-together'))[0]).toMatchObject({ status: 'sent', sentAt: '2026-11-21T14:00:00.000Z', contactLogged: true });
  });

  it('sends the reminder when she does not buy, with her cart, at a decent local time', async () => {
    // 20:30 in London: an hour later is outside the 09:00-21:00 window, so it goes at 09:00.
    const h = new CampaignHarness('2026-11-20T20:30:00Z');
    const bea = customer('bea', 'Europe/London');
    await h.ingest([bea.identify, { event: 'Product Added', userId: bea.userId, context: bea.context, properties: { product_id: 'lamp-arc' } }]);
    expect((await h.instances('cart-abandoned'))[0]).toMatchObject({ dueAt: '2026-11-21T09:00:00.000Z' });
    await h.advance(13 * HOUR);
    expect(h.sent).toEqual([expect.objectContaining({ campaignId: 'cart-abandoned', offer: expect.objectContaining({ offerId: 'cart-reminder', items: ['lamp-arc'] }) })]);
  });
});

describe('already in the store', () => {
  it('ends the online cart reminder when she walks into one of our stores', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const vic = customer('vic', 'Europe/London');
    await h.ingest([vic.identify, { event: 'Product Added', userId: vic.userId, context: vic.context, properties: { product_id: 'lamp-arc' } }]);
    h.now = new Date('2026-11-20T12:20:00Z');
    await h.ingest([{ event: 'Store Entered', userId: vic.userId, context: { ...vic.context, location: STORE } }]);
    expect((await h.instances('cart-abandoned'))[0]).toMatchObject({ status: 'cancelled', reason: 'exit: Store Entered at 2026-11-20T12:20:00.000Z' });
    await h.advance(HOUR);
    expect(h.sent.filter((m) => m.campaignId === 'cart-abandoned')).toEqual([]);
  });
});

describe('quiet hours, shared caps and consent', () => {
  it('a push that falls in quiet hours waits for the morning instead of being dropped', async () => {
    // 23:10 in London, in a 24-hour store: the catalog's quiet hours are 22:00-06:00.
    const h = new CampaignHarness('2026-11-20T23:10:00Z');
    const cat = customer('cat', 'Europe/London');
    await h.ingest([
      { event: 'Product Viewed', userId: cat.userId, context: cat.context, properties: { product_id: 'paint-sage-2l', category: 'paint' } },
      { event: 'Location Updated', userId: cat.userId, context: { ...cat.context, location: STORE } },
    ]);
    expect(await h.advance(0)).toEqual(['deferred']);
    expect((await h.instances('store-visit'))[0]).toMatchObject({ status: 'planned', dueAt: '2026-11-21T06:00:00.000Z', reason: expect.stringMatching(/^deferred: quiet hours \(22:00-6:00 local\)/) });
    expect(h.sent).toEqual([]);
    await h.advance(Date.parse('2026-11-21T06:00:00Z') - h.now.getTime());
    expect(h.sent).toEqual([expect.objectContaining({ campaignId: 'store-visit', channel: 'push', offer: expect.objectContaining({ offerId: 'in-store-complement' }) })]);
  });

  it('a push counts against the same daily cap as in-app impressions, both ways', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const dan = customer('dan', 'Europe/London');
    await h.ingest([{ event: 'Product Viewed', userId: dan.userId, context: dan.context, properties: { product_id: 'paint-sage-2l', category: 'paint' } }]);
    // 11 in-app impressions today: the global cap is 12.
    await h.ingest(Array.from({ length: 11 }, (_, i) => ({ event: 'Promotion Viewed', userId: dan.userId, context: { channel: 'app' }, properties: { promotion_id: `garden-season-${i}` } })));
    await h.ingest([{ event: 'Store Entered', userId: dan.userId, context: { ...dan.context, location: STORE } }]);
    expect(await h.advance(0)).toEqual(['sent']);
    // The push is the 12th contact today: the next in-app decision is capped.
    const decision = await h.decide(dan.userId, 'home', 'app');
    expect(decision.offers).toEqual([]);
    expect(decision.suppressed.map((x) => x.reason)).toContain('global cap: 12 contacts today (max 12)');
  });

  it('a push is not sent over the cap that in-app impressions reached, and says why', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const eve = customer('eve', 'Europe/London');
    await h.ingest([{ event: 'Product Viewed', userId: eve.userId, context: eve.context, properties: { product_id: 'paint-sage-2l', category: 'paint' } }]);
    await h.ingest(Array.from({ length: 12 }, (_, i) => ({ event: 'Promotion Viewed', userId: eve.userId, context: { ...eve.context, channel: 'app' }, properties: { promotion_id: `p-${i}` } })));
    await h.ingest([{ event: 'Store Entered', userId: eve.userId, context: { ...eve.context, location: STORE } }]);
    expect(await h.advance(0)).toEqual(['cancelled']);
    expect((await h.instances('store-visit'))[0]?.reason).toMatch(/^no offer: global cap: 12 contacts today \(max 12\)/);
    expect(h.sent).toEqual([]);
  });

  it('consent withdrawn before the send cancels it', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const fay = customer('fay', 'Europe/London');
    await h.ingest([{ event: 'Product Added', userId: fay.userId, context: fay.context, properties: { product_id: 'lamp-arc' } }]);
    await h.advance(10 * MINUTE);
    await h.ingest([{ type: 'identify', userId: fay.userId, context: { consent: { categoryPreferences: { personalization: false } } } }]);
    expect(await h.advance(HOUR)).toEqual(['cancelled']);
    expect((await h.instances('cart-abandoned'))[0]?.reason).toMatch(/^consent: no consent to personalization/);
    expect(h.sent).toEqual([]);
  });
});

describe('at most one send per trigger occurrence', () => {
  it('a redelivered batch and a repeated change enter and send once', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const gus = customer('gus', 'Europe/London');
    await h.ingest([gus.identify]);
    const records = h.records([{ event: 'Product Added', userId: gus.userId, context: gus.context, properties: { product_id: 'lamp-arc' } }]);
    await h.ingestRecords(records);
    // The stream redelivers the record, the producer sends it again, and the bus delivers the change again.
    await h.ingestRecords(records);
    await h.ingest([{ ...JSON.parse(Buffer.from(records[0]!.data, 'base64').toString()) }]);
    for (const change of [...h.changes]) await onProfileChange(change, { stores: h.stores, campaigns: h.campaigns, catalog: h.catalog, config: h.config, wakeups: h.wakeups });
    expect(await h.instances()).toHaveLength(1);
    // Two wake-ups for the same instance (a scheduler retry): one send.
    await h.advance(HOUR);
    const [instance] = await h.instances();
    expect(await sendDue(instance!, h.sendDeps())).toBe('sent');
    expect(h.sent).toHaveLength(1);
  });

  it('an order after a store visit in the same batch ends the push just planned, and a redelivery of the change changes nothing', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const kim = customer('kim', 'Europe/London');
    await h.ingest([
      { event: 'Store Entered', userId: kim.userId, context: { ...kim.context, location: STORE }, timestamp: '2026-11-20T11:50:00.000Z' },
      { event: 'Order Completed', userId: kim.userId, context: kim.context, properties: { order_id: 'o-kim', total: 20 }, timestamp: '2026-11-20T11:55:00.000Z' },
    ]);
    const after = await h.instances('store-visit');
    expect(after).toEqual([expect.objectContaining({ status: 'cancelled', reason: 'exit: Order Completed at 2026-11-20T11:55:00.000Z' })]);
    const outcome = await onProfileChange(h.changes[0]!, { stores: h.stores, campaigns: h.campaigns, catalog: h.catalog, config: h.config, wakeups: h.wakeups });
    expect(outcome).toMatchObject({ entered: 0, exited: 0 });
    expect(await h.instances('store-visit')).toEqual(after);
    expect(await h.advance(HOUR)).not.toContain('sent');
  });

  it('reads the audience from her profile as the batch left it: a cart emptied by an order in the same batch plans no reminder', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const lia = customer('lia', 'Europe/London');
    await h.ingest([
      { event: 'Product Added', userId: lia.userId, context: lia.context, properties: { product_id: 'lamp-arc' }, timestamp: '2026-11-20T11:50:00.000Z' },
      { event: 'Order Completed', userId: lia.userId, context: lia.context, properties: { order_id: 'o-lia', total: 20 }, timestamp: '2026-11-20T11:55:00.000Z' },
    ]);
    expect(h.outcomes[0]?.refused).toContainEqual({ campaignId: 'cart-abandoned', reason: 'not in the audience' });
    expect(await h.instances('cart-abandoned')).toEqual([]);
  });

  it('an occurrence announced again under the profile it merged into enters once (a retry after a login)', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const rae = customer('rae', 'Europe/London');
    // Her customer profile, from her laptop.
    await h.ingest([{ ...rae.identify, anonymousId: 'rae-laptop' }]);
    const put = h.stores.events.put.bind(h.stores.events);
    let failing = true;
    h.stores.events.put = async (events) => {
      if (failing) throw new Error('events table throttled');
      return put(events);
    };
    // Anonymous on her phone: the cart is announced, then the batch fails to store its events and is retried later.
    const cart = h.records([{ event: 'Product Added', anonymousId: 'rae-phone', context: rae.context, properties: { product_id: 'lamp-arc' } }]);
    expect((await h.ingestRecords(cart)).failedSequenceNumbers).toHaveLength(1);
    failing = false;
    // She logs in on the phone: its profile merges into hers; then the stream retries the cart.
    await h.ingest([{ ...rae.identify, anonymousId: 'rae-phone' }]);
    expect((await h.stores.profiles.getMany([rae.profileId])).get(rae.profileId)?.members.length).toBe(1);
    await h.ingestRecords(cart);
    expect(h.outcomes.at(-1)?.refused).toContainEqual({ campaignId: 'cart-abandoned', reason: 'this occurrence entered already (under a profile merged into hers since)' });
    expect(await h.instances('cart-abandoned')).toHaveLength(1);
    await h.advance(HOUR);
    expect(h.sent.filter((m) => m.campaignId === 'cart-abandoned')).toHaveLength(1);
  });

  it('applies an exit to an entry changed meanwhile (a deferral), reading it again', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const sid = customer('sid', 'Europe/London');
    await h.ingest([{ event: 'Store Entered', userId: sid.userId, context: { ...sid.context, location: STORE } }]);
    const update = h.stores.activations.update.bind(h.stores.activations);
    let raced = false;
    h.stores.activations.update = async (instance, rev) => {
      if (!raced && instance.status === 'cancelled') {
        raced = true;
        // A deferral lands first.
        const now = (await h.stores.activations.get(instance.profileId, instance.campaignId, instance.occurrence))!;
        await update({ ...now, reason: 'deferred: quiet hours', deferrals: 1, rev: now.rev + 1 }, now.rev);
      }
      return update(instance, rev);
    };
    h.now = new Date('2026-11-20T12:05:00Z');
    await h.ingest([{ event: 'Order Completed', userId: sid.userId, context: sid.context, properties: { order_id: 'o-sid', total: 10 } }]);
    expect(raced).toBe(true);
    expect((await h.instances('store-visit'))[0]).toMatchObject({ status: 'cancelled', reason: 'exit: Order Completed at 2026-11-20T12:05:00.000Z' });
  });

  it('announces every event of a busy batch: an order followed by many page views still ends the wait', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const tia = customer('tia', 'Europe/London');
    await h.ingest([{ event: 'Store Entered', userId: tia.userId, context: { ...tia.context, location: STORE } }]);
    h.now = new Date('2026-11-20T12:05:00Z');
    await h.ingest([
      { event: 'Order Completed', userId: tia.userId, context: tia.context, properties: { order_id: 'o-tia', total: 10 } },
      ...Array.from({ length: 30 }, (_, i) => ({ event: 'Product Viewed', userId: tia.userId, context: tia.context, properties: { product_id: `p-${i}` } })),
    ]);
    expect(h.changes.slice(-2).map((c) => c.events.length)).toEqual([25, 6]);
    expect((await h.instances('store-visit'))[0]?.status).toBe('cancelled');
  });

  it('leaves an entry another wake-up is delivering right now alone', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const uma = customer('uma', 'Europe/London');
    await h.ingest([uma.identify, { event: 'Product Added', userId: uma.userId, context: uma.context, properties: { product_id: 'lamp-arc' } }]);
    const [planned] = await h.instances();
    h.now = new Date(Date.parse(planned!.dueAt!));
    await h.stores.activations.update({ ...planned!, status: 'sending', history: [...planned!.history, { at: h.now.toISOString(), status: 'sending' }], rev: planned!.rev + 1 }, planned!.rev);
    expect(await sendDue(planned!, h.sendDeps())).toBe('sending');
    expect((await h.instances())[0]?.status).toBe('sending');
  });

  it('a crash mid-delivery is not sent again: the instance fails with the unknown outcome', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const hal = customer('hal', 'Europe/London');
    await h.ingest([{ event: 'Product Added', userId: hal.userId, context: hal.context, properties: { product_id: 'lamp-arc' } }]);
    const [planned] = await h.instances();
    await h.stores.activations.update({ ...planned!, status: 'sending', history: [...planned!.history, { at: planned!.dueAt!, status: 'sending' }], rev: planned!.rev + 1 }, planned!.rev);
    // Its claim is older than any delivery takes.
    h.now = new Date(Date.parse(planned!.dueAt!) + HOUR);
    expect(await sendDue(planned!, h.sendDeps())).toBe('failed');
    expect(h.sent).toEqual([]);
  });

  it('a change the bus refused is announced again by the retry, and enters once', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const ivy = customer('ivy', 'Europe/London');
    h.busDown = true;
    const records = h.records([{ event: 'Product Added', userId: ivy.userId, context: ivy.context, properties: { product_id: 'lamp-arc' } }]);
    const first = await h.ingestRecords(records);
    expect(first.failedSequenceNumbers).toHaveLength(1);
    expect(await h.instances()).toEqual([]);
    h.busDown = false;
    // The stream retries from the failed record: it is folded already, so the retry only announces and stores it.
    await h.ingestRecords(records);
    await h.ingestRecords(records);
    expect(await h.instances()).toHaveLength(1);
  });
});

describe('re-entry, control group and statistics', () => {
  const control = (percent: number) => {
    const input = structuredClone(shipped) as { campaigns: Array<Record<string, unknown>> };
    input.campaigns = [{ ...input.campaigns[2], controlPercent: percent, reentry: { afterDays: 1 } }];
    return input;
  };

  it('enters again only after the re-entry period', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const jo = customer('jo', 'Europe/London');
    const visit = () => h.ingest([{ event: 'Store Entered', userId: jo.userId, context: { ...jo.context, location: STORE } }]);
    await visit();
    await h.advance(2 * HOUR);
    await visit();
    expect(h.outcomes.at(-1)?.refused).toEqual([{ campaignId: 'store-visit', reason: 'entered within 1 day(s) (re-entry rule)' }]);
    await h.advance(24 * HOUR);
    await visit();
    expect(await h.instances('store-visit')).toHaveLength(2);
  });

  it('holds out the control group and attributes conversions within the window against it', async () => {
    const h = new CampaignHarness('2026-11-20T10:00:00Z', control(50));
    // Shoppers outside the decision engine's holdout (which gets generic offers only: none for this push).
    const people = Array.from({ length: 60 }, (_, i) => `shopper-${i}`).filter((u) => bucketOf(`holdout:${profileIdOf(u)}`) >= 5).slice(0, 40);
    for (const userId of people) {
      await h.ingest([
        { type: 'identify', userId, context: { timezone: 'Europe/London', ...consent } },
        { event: 'Product Viewed', userId, properties: { product_id: 'paint-sage-2l', category: 'paint' } },
        { event: 'Store Entered', userId, context: { location: STORE } },
      ]);
    }
    await h.advance(0);
    const instances = await h.instances('store-visit');
    const held = instances.filter((i) => i.group === 'control');
    expect(held.length).toBeGreaterThan(5);
    expect(held.map((i) => i.status)).toEqual(held.map(() => 'held-out'));
    expect(h.sent).toHaveLength(instances.length - held.length);
    // Everyone buys within the window but the last five, who buy after it.
    await h.advance(HOUR);
    for (const [n, userId] of people.entries()) {
      if (n === people.length - 5) await h.advance(4 * HOUR);
      await h.ingest([{ event: 'Order Completed', userId, properties: { order_id: `o-${userId}`, total: 20 } }]);
    }
    const stats = campaignStats(h.campaigns.byId.get('store-visit')!, await h.instances('store-visit'), h.catalog);
    const late = new Set(people.slice(-5).map((u) => profileIdOf(u)));
    const expectConverted = (group: string) => instances.filter((i) => i.group === group && !late.has(i.profileId)).length;
    expect(stats).toMatchObject({ entered: 40, sent: instances.length - held.length, control: { heldOut: held.length, converted: expectConverted('control') }, treatment: { converted: expectConverted('treatment') } });
  });
});

describe('waits and triggers beyond the demo', () => {
  const withCampaign = (campaign: Record<string, unknown>) => ({ ...structuredClone(shipped), campaigns: [campaign] });

  it('waits until an event comes (then sends), or exits at the timeout', async () => {
    const campaign = {
      id: 'review-after-delivery',
      name: 'Ask for a review once the order is delivered',
      trigger: { event: ['Order Completed'] },
      wait: { until: { event: ['Order Delivered'], timeout: 'P7D' } },
      action: { placement: 'email', channel: 'email' },
    };
    const h = new CampaignHarness('2026-11-20T12:00:00Z', withCampaign(campaign));
    const [mo, ned] = [customer('mo', 'Europe/London', ['review-after-delivery']), customer('ned', 'Europe/London', ['review-after-delivery'])];
    for (const c of [mo, ned]) {
      await h.ingest([
        c.identify,
        { event: 'Product Viewed', userId: c.userId, context: c.context, properties: { product_id: 'paint-sage-2l', category: 'paint' } },
        { event: 'Order Completed', userId: c.userId, context: c.context, properties: { order_id: `o-${c.userId}`, total: 30, products: [{ product_id: 'paint-sage-2l' }] } },
      ]);
    }
    expect((await h.instances()).map((i) => [i.status, i.dueAt])).toEqual([
      ['waiting', '2026-11-27T12:00:00.000Z'],
      ['waiting', '2026-11-27T12:00:00.000Z'],
    ]);
    await h.advance(2 * 86_400_000);
    await h.ingest([{ event: 'Order Delivered', userId: mo.userId, context: mo.context }]);
    expect(await h.advance(0)).toEqual(['sent']);
    expect(h.sent.map((m) => m.userId)).toEqual([mo.userId]);
    expect(await h.advance(5 * 86_400_000)).toEqual(['cancelled']);
    expect((await h.instances()).find((i) => i.profileId === ned.profileId)?.reason).toBe('timeout: no Order Delivered within P7D');
  });

  it('starts on entering a segment (a threshold on an aggregate), once per change that crossed it', async () => {
    const campaign = {
      id: 'now-high-value',
      name: 'Welcome to the high-value tier',
      trigger: { segment: { entered: 'highValue' } },
      reentry: 'once',
      action: { placement: 'email', channel: 'email' },
    };
    const h = new CampaignHarness('2026-11-20T12:00:00Z', withCampaign(campaign));
    const oz = customer('oz', 'Europe/London', ['now-high-value']);
    await h.ingest([{ event: 'Order Completed', userId: oz.userId, context: oz.context, properties: { order_id: 'o-1', total: 50 } }]);
    expect(await h.instances()).toEqual([]);
    await h.ingest([{ event: 'Order Completed', userId: oz.userId, context: oz.context, properties: { order_id: 'o-2', total: 2000 } }]);
    expect(h.changes.at(-1)?.segments?.entered).toContain('highValue');
    expect(await h.instances()).toEqual([expect.objectContaining({ campaignId: 'now-high-value', status: 'planned', reason: 'triggered by entered highValue' })]);
  });

  it('fires an event trigger only when its conditions on the event hold', async () => {
    const campaign = { id: 'big-order', name: 'Thank you for a big order', trigger: { event: ['Order Completed'], where: [{ field: 'properties.total', op: 'gte', value: 500 }] }, action: { placement: 'email', channel: 'email' } };
    const h = new CampaignHarness('2026-11-20T12:00:00Z', withCampaign(campaign));
    const pat = customer('pat', 'Europe/London', ['big-order']);
    await h.ingest([{ event: 'Order Completed', userId: pat.userId, context: pat.context, properties: { order_id: 'small', total: 40 } }]);
    expect(await h.instances()).toEqual([]);
    await h.ingest([{ event: 'Order Completed', userId: pat.userId, context: pat.context, properties: { order_id: 'big', total: 900 } }]);
    expect(await h.instances()).toHaveLength(1);
  });
});
