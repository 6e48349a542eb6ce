import { TABLES } from '../../lib/store/tables';
import { treatedUserId } from '../support/campaigns';
import { ADMIN, READ, useLocalStack } from '../support/local-api';

/**
 * Triggered campaigns on the local stack with a controlled clock (LOCAL_CLOCK=manual), through HTTP
 * only: events to the collector, the ingest announcing changes on the local activation bus, the
 * trigger and send functions, the outbox and the webhook sink. The clock starts three days ago at
 * 10:00 in Tokyo (no daylight saving there, so the expected times hold whenever the test runs), so
 * every event it stamps is in the past and trusted as sent.
 */
const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
const at = (days: number, utc: string) => new Date(Date.parse(`${day}T${utc}Z`) + days * 86_400_000).toISOString();
const START = at(0, '01:00:00'); // 10:00 in Tokyo
const STORE = { latitude: 53.8163, longitude: -1.6028 };
const tokyo = { timezone: 'Asia/Tokyo', consent: { categoryPreferences: { personalization: true } } };

// Published documents are read again at once (30 s by default), so a published campaign serves at the next request.
const local = useLocalStack({ clock: 'manual', clockStart: START }, { CATALOG_REFRESH_MS: '0' });
const call = local.json;
const send = local.sendNow;
const clock = (body: { advance?: string; set?: string }) => call('POST', '/local/clock', body);
const outbox = async (campaignId: string, profileId: string) => (await call('GET', '/local/outbox')).messages.filter((m: any) => m.campaignId === campaignId && m.profileId === profileId);
const deliveries = async (campaignId: string) => (await call('GET', '/local/outbox')).deliveries.filter((d: any) => d.message.campaignId === campaignId);

describe('the cart abandoned, bought in the store, and the cross-sell the next morning in her time zone', () => {
  const ann = treatedUserId('e2e-ann', ['cart-abandoned', 'bought-together', 'store-visit']);

  it('plans the reminder an hour after the cart', async () => {
    await send([
      // Her e-mail address: the collector keeps it sealed for the e-mail channel (SES), the rest of the engine only its hash.
      { type: 'identify', userId: ann.userId, traits: { email: 'Ann.E2E@example.com' }, context: tokyo },
      { event: 'Product Viewed', userId: ann.userId, context: tokyo, properties: { product_id: 'paint-sage-2l', category: 'paint' } },
      { event: 'Product Added', userId: ann.userId, context: tokyo, properties: { product_id: 'paint-sage-2l' } },
    ]);
    expect(await outbox('cart-abandoned', ann.profileId)).toEqual([expect.objectContaining({ channel: 'email', status: 'planned', dueAt: at(0, '02:00:00.000'), reason: 'triggered by Product Added' })]);
  });

  it('cancels it when she buys in the store half an hour later, so nothing goes at its time', async () => {
    await clock({ advance: 'PT30M' });
    await send([{ event: 'Order Completed', userId: ann.userId, context: { ...tokyo, channel: 'store' }, properties: { order_id: 'store-1', total: 40, products: [{ product_id: 'paint-sage-2l' }] } }]);
    expect(await outbox('cart-abandoned', ann.profileId)).toEqual([expect.objectContaining({ status: 'cancelled', reason: `exit: Order Completed at ${at(0, '01:30:00.000')}` })]);
    await clock({ advance: 'PT65M' });
    expect(await deliveries('cart-abandoned')).toEqual([]);
  });

  it('sends the cross-sell at 09:00 the next morning in Tokyo, with what customers bought together with the paint (the model\'s association rules)', async () => {
    expect(await outbox('bought-together', ann.profileId)).toEqual([expect.objectContaining({ status: 'planned', dueAt: at(1, '00:00:00.000') })]);
    await clock({ set: at(0, '23:59:00') });
    expect(await deliveries('bought-together')).toEqual([]);
    const moved = await clock({ advance: 'PT1M' });
    expect(moved.ran).toEqual([expect.objectContaining({ campaignId: 'bought-together', profileId: ann.profileId })]);
    expect(await deliveries('bought-together')).toEqual([
      expect.objectContaining({ channel: 'email', adapter: 'ses', to: 'a***@example.com', message: expect.objectContaining({ template: 'moment-offer', offerId: 'bought-together', items: ['dust-sheet-cotton', 'brush-set-pro'] }) }),
    ]);
    expect(await outbox('bought-together', ann.profileId)).toEqual([expect.objectContaining({ status: 'sent', sentAt: at(1, '00:00:00.000'), offerId: 'bought-together' })]);
  });

  it('a push that falls in quiet hours waits for the morning, then goes to the webhook signed', async () => {
    // 22:30 in Tokyo: the catalog's quiet hours are 22:00-06:00.
    await clock({ set: at(1, '13:30:00') });
    await send([{ event: 'Location Updated', userId: ann.userId, context: { ...tokyo, location: STORE } }]);
    await clock({ advance: 'PT0S' });
    expect(await outbox('store-visit', ann.profileId)).toEqual([expect.objectContaining({ channel: 'push', status: 'deferred', dueAt: at(1, '21:00:00.000'), reason: expect.stringMatching(/^deferred: quiet hours/) })]);
    expect(await deliveries('store-visit')).toEqual([]);
    await clock({ set: at(1, '21:00:00') });
    expect(await deliveries('store-visit')).toEqual([expect.objectContaining({ channel: 'push', adapter: 'webhook', signatureValid: true, message: expect.objectContaining({ offer: expect.objectContaining({ offerId: 'in-store-complement' }) }) })]);
  });

  it('keeps her e-mail address only sealed: no table holds it in clear, and the outbox shows it masked', async () => {
    let contacts = 0;
    for (const { table, item } of await local.scanAll()) {
      const text = JSON.stringify(item).toLowerCase();
      expect(text).not.toContain('ann.e2e@example.com');
      if (table === TABLES.contacts.localName) contacts += 1;
    }
    expect(contacts).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(await call('GET', '/local/outbox')).toLowerCase()).not.toContain('ann.e2e@example.com');
  });

  it('says why she did or did not get each campaign, and counts it in the statistics', async () => {
    const why = await call('GET', `/v1/profiles/${ann.profileId}/campaigns`, undefined, READ);
    const of = (id: string) => why.campaigns.find((c: any) => c.campaignId === id);
    expect(of('cart-abandoned').entries[0]).toMatchObject({ status: 'cancelled', reason: expect.stringMatching(/^exit: Order Completed/) });
    expect(of('store-visit').entries[0].history.map((h: any) => h.status)).toEqual(['planned', 'planned', 'sending', 'sent']);
    const stats = await call('GET', '/v1/campaigns/cart-abandoned/stats', undefined, READ);
    expect(stats).toMatchObject({ entered: 1, sent: 0, exited: { total: 1, reasons: { 'exit: Order Completed': 1 } } });
  });
});

describe('one contact policy for in-app decisions and campaigns', () => {
  it('a push counts against the same daily cap as in-app impressions', async () => {
    const ben = treatedUserId('e2e-ben', ['store-visit']);
    await clock({ set: at(2, '02:00:00') });
    await send([
      { type: 'identify', userId: ben.userId, context: tokyo },
      { event: 'Product Viewed', userId: ben.userId, context: tokyo, properties: { product_id: 'paint-sage-2l', category: 'paint' } },
      ...Array.from({ length: 11 }, (_, i) => ({ event: 'Promotion Viewed', userId: ben.userId, context: { ...tokyo, channel: 'app' }, properties: { promotion_id: `garden-season-${i}` } })),
    ]);
    await send([{ event: 'Store Entered', userId: ben.userId, context: { ...tokyo, location: STORE } }]);
    await clock({ advance: 'PT0S' });
    expect(await outbox('store-visit', ben.profileId)).toEqual([expect.objectContaining({ status: 'sent' })]);
    await local.stack.poller.idle();
    const { now } = await call('GET', '/local/clock');
    const decision = await call('POST', '/v1/decisions', { identity: { namespace: 'userId', value: ben.userId }, placement: 'home', context: { timestamp: now, timezone: 'Asia/Tokyo' } }, { 'x-api-key': 'dev-api-key' });
    expect(decision.offers).toEqual([]);
    expect(decision.suppressed.map((s: any) => s.reason)).toContain('global cap: 12 contacts today (max 12)');
  });

  it('a redelivered trigger sends once', async () => {
    const cat = treatedUserId('e2e-cat', ['store-visit']);
    await clock({ set: at(2, '03:00:00') });
    const visit = { event: 'Store Entered', userId: cat.userId, messageId: `visit-${cat.userId}`, context: { ...tokyo, location: STORE } };
    await send([{ type: 'identify', userId: cat.userId, context: tokyo }, { event: 'Product Viewed', userId: cat.userId, context: tokyo, properties: { product_id: 'lamp-arc' } }, visit]);
    // The app retries the same message (same messageId), twice.
    await send([visit]);
    await send([visit]);
    await clock({ advance: 'PT0S' });
    await clock({ advance: 'PT1M' });
    expect(await outbox('store-visit', cat.profileId)).toHaveLength(1);
    expect((await deliveries('store-visit')).filter((d: any) => d.message.userId === cat.userId)).toHaveLength(1);
  });

  it('consent withdrawn before the send cancels it', async () => {
    const dee = treatedUserId('e2e-dee', ['cart-abandoned']);
    await clock({ set: at(2, '04:00:00') });
    await send([{ type: 'identify', userId: dee.userId, traits: { email: 'dee@example.com' }, context: tokyo }, { event: 'Product Added', userId: dee.userId, context: tokyo, properties: { product_id: 'lamp-arc' } }]);
    await clock({ advance: 'PT10M' });
    await send([{ type: 'identify', userId: dee.userId, context: { consent: { categoryPreferences: { personalization: false } } } }]);
    await clock({ advance: 'PT55M' });
    expect(await outbox('cart-abandoned', dee.profileId)).toEqual([expect.objectContaining({ status: 'cancelled', reason: expect.stringMatching(/^consent: no consent to personalization/) })]);
    expect((await deliveries('cart-abandoned')).filter((d: any) => d.message.userId === dee.userId)).toEqual([]);
  });
});

describe('campaigns published at run time', () => {
  it('refuses a bad document naming the campaign and the field, and serves a good one without a restart', async () => {
    const current = await call('GET', '/v1/campaigns', undefined, READ);
    expect(current.campaigns.map((c: any) => c.id)).toEqual(['cart-abandoned', 'bought-together', 'store-visit', 'win-back']);
    const document = { version: 2, channels: { email: { adapter: 'eventbridge' } }, campaigns: [{ id: 'hello', name: 'Hello', trigger: { event: ['Signed Up'] }, wait: { delay: 'soon' }, action: { placement: 'email', channel: 'email' } }] };
    const bad = await fetch(`${local.stack.url}/v1/campaigns`, { method: 'PUT', headers: ADMIN, body: JSON.stringify(document) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/campaign "hello" wait\.delay: must be an ISO 8601 duration/);
    document.campaigns[0]!.wait.delay = 'PT5M';
    expect(await call('PUT', '/v1/campaigns', document)).toMatchObject({ campaigns: 1 });
    expect((await call('GET', '/v1/campaigns', undefined, READ)).campaigns.map((c: any) => c.id)).toEqual(['hello']);
    expect(await call('PUT', '/v1/campaigns', document, READ).catch((e: Error) => e.message)).toMatch(/403/);
  });
});

describe('the local routes', () => {
  it('exist only in the embedded stack, take an admin key, and refuse a clock move they cannot read', async () => {
    expect((await fetch(`${local.stack.url}/local/outbox`)).status).toBe(401);
    expect((await fetch(`${local.stack.url}/local/outbox`, { headers: READ })).status).toBe(403);
    const bad = await fetch(`${local.stack.url}/local/clock`, { method: 'POST', headers: ADMIN, body: JSON.stringify({ advance: '65 minutes' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/not an ISO 8601 duration/);
    const before = (await call('GET', '/local/clock')).now;
    for (const body of ['null', '[]', '{"advance":"P99999999W"}', '{"set":12}']) {
      expect((await fetch(`${local.stack.url}/local/clock`, { method: 'POST', headers: ADMIN, body })).status).toBe(400);
    }
    expect((await call('GET', '/local/clock')).now).toBe(before);
    // The webhook sink refuses, and does not keep, what is not signed with the secret.
    const forged = await fetch(`${local.stack.url}/local/webhook-sink/push`, { method: 'POST', headers: { 'x-moment-signature': 't=1,v1=00' }, body: JSON.stringify({ campaignId: 'forged' }) });
    expect(forged.status).toBe(401);
    expect(await deliveries('forged')).toEqual([]);
  });
});
