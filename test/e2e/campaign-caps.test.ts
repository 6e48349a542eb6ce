import { loadCatalog } from '../../lib/decision/catalog';
import { treatedUserId } from '../support/campaigns';
import { useLocalStack } from '../support/local-api';

/**
 * The contact policy holds for campaign sends that fall due together (issue 21, item 4), on the
 * embedded stack through HTTP only: a campaign published with `PUT /v1/campaigns` that enters her on
 * every trigger, 16 triggers for one person through the collector, one clock move, and then no more
 * e-mails than the tightest cap, whatever the ingest has folded by then. The clock is manual and
 * starts at 10:00 in Tokyo three days ago, so both runs fall on one local day.
 */
const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
const START = `${day}T01:00:00.000Z`; // 10:00 in Tokyo
const tokyo = { timezone: 'Asia/Tokyo', consent: { categoryPreferences: { personalization: true } } };
const policy = loadCatalog().contactPolicy;

/** Every cart gets its own reminder, five minutes later, by e-mail: 16 carts are 16 sends due at once. */
const everyCart = {
  version: 21,
  channels: { email: { adapter: 'ses', from: 'offers@example.com', template: 'moment-offer', maxConcurrency: 5 } },
  campaigns: [
    {
      id: 'every-cart',
      name: 'A reminder for every cart',
      trigger: { event: ['Product Added'] },
      wait: { delay: 'PT5M' },
      reentry: { afterDays: 0 },
      action: { placement: 'email', channel: 'email' },
    },
  ],
};

const local = useLocalStack({ clock: 'manual', clockStart: START }, { CATALOG_REFRESH_MS: '0' });
const call = local.json;
const send = local.sendNow;
beforeAll(async () => {
  await call('PUT', '/v1/campaigns', everyCart);
});

/** Her sixteen carts, one trigger each. */
const carts = (userId: string, run: number) =>
  Array.from({ length: 16 }, (_, i) => ({ event: 'Product Added', userId, messageId: `${userId}-cart-${run}-${i}`, context: tokyo, properties: { product_id: 'lamp-arc' } }));

/** The e-mails delivered to her (the outbox masks her address to its first letter: each test's customer has her own), by offer. */
async function emailsTo(userId: string): Promise<{ total: number; byOffer: Record<string, number> }> {
  const delivered = (await call('GET', '/local/outbox')).deliveries.filter((d: any) => d.adapter === 'ses' && d.message.campaignId === 'every-cart' && d.to === `${userId[0]}***@example.com`);
  const byOffer: Record<string, number> = {};
  for (const d of delivered) byOffer[d.message.offerId] = (byOffer[d.message.offerId] ?? 0) + 1;
  return { total: delivered.length, byOffer };
}

describe('campaign sends due together hold the contact policy', () => {
  it('16 carts due at one clock move send no more e-mails than the tightest cap, over two runs on one day', async () => {
    const ann = treatedUserId('ann-caps', ['every-cart']);
    await send([{ type: 'identify', userId: ann.userId, traits: { email: `${ann.userId}@example.com` }, context: tokyo }]);

    // First run: 16 triggers, then the clock moves once past their due time.
    await send(carts(ann.userId, 1));
    expect((await call('POST', '/local/clock', { advance: 'PT6M' })).ran).toHaveLength(16);
    await local.stack.poller.idle();
    const first = await emailsTo(ann.userId);
    expect(first.total).toBeGreaterThan(0);

    // Second run the same morning: what the first sent counts, folded or not.
    await send(carts(ann.userId, 2));
    await call('POST', '/local/clock', { advance: 'PT6M' });
    await local.stack.poller.idle();
    const both = await emailsTo(ann.userId);
    // No offer more than its daily cap (3), no more e-mails than the channel's (10) and the global (12) caps.
    expect(Object.entries(both.byOffer).filter(([, n]) => n > policy.perOfferPerDay)).toEqual([]);
    expect(both.total).toBeLessThanOrEqual(Math.min(policy.perChannelPerDay, policy.globalPerDay));

    // Every entry not sent says which cap it met.
    const entries = (await call('GET', '/local/outbox')).messages.filter((m: any) => m.campaignId === 'every-cart' && m.profileId === ann.profileId);
    expect(entries).toHaveLength(32);
    for (const e of entries.filter((m: any) => m.status !== 'sent')) expect(e).toMatchObject({ status: 'cancelled', reason: expect.stringMatching(/(offer|channel|global) cap/) });
  });

  it('a change of her time zone opens no fresh day: Tokyo then Honolulu (still the day before there) sends no more than the caps (hostile review F3)', async () => {
    const cy = treatedUserId('cy-zones', ['every-cart']);
    const inZone = (timezone: string) => ({ ...tokyo, timezone });
    const cartsIn = (timezone: string, run: number) => carts(cy.userId, run).map((c) => ({ ...c, context: inZone(timezone) }));
    await send([{ type: 'identify', userId: cy.userId, traits: { email: `${cy.userId}@example.com` }, context: tokyo }]);
    await send(cartsIn('Asia/Tokyo', 1));
    await call('POST', '/local/clock', { advance: 'PT6M' });
    await local.stack.poller.idle();
    const inTokyo = await emailsTo(cy.userId);
    expect(inTokyo.total).toBeGreaterThan(0);
    for (const [run, zone] of [[2, 'Pacific/Honolulu'], [3, 'Pacific/Kiritimati'], [4, 'Pacific/Pago_Pago']] as const) {
      await send([{ type: 'identify', userId: cy.userId, context: inZone(zone) }, ...cartsIn(zone, run)]);
      await call('POST', '/local/clock', { advance: 'PT6M' });
      await local.stack.poller.idle();
    }
    const after = await emailsTo(cy.userId);
    expect(Object.entries(after.byOffer).filter(([, n]) => n > policy.perOfferPerDay)).toEqual([]);
    expect(after.total).toBe(inTokyo.total);
  });

  it('a burst of sends right after 11 in-app impressions is one contact, the 12th of her day', async () => {
    const ben = treatedUserId('ben-caps', ['every-cart']);
    await send([
      { type: 'identify', userId: ben.userId, traits: { email: `${ben.userId}@example.com` }, context: tokyo },
      ...Array.from({ length: 11 }, (_, i) => ({ event: 'Promotion Viewed', userId: ben.userId, context: { ...tokyo, channel: 'app' }, properties: { promotion_id: `garden-season-${i}` } })),
    ]);
    await send(carts(ben.userId, 1));
    await call('POST', '/local/clock', { advance: 'PT6M' });
    await local.stack.poller.idle();
    expect((await emailsTo(ben.userId)).total).toBe(policy.globalPerDay - 11);
  });
});
