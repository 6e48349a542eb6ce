import shipped from '../../config/campaigns.json';
import { sendDue } from '../../lib/campaign/send';
import { loadCatalog } from '../../lib/decision/catalog';
import { ledgerContact, MAX_CONTACTS_PER_DAY } from '../../lib/decision/contact-ledger';
import { DynamoStores } from '../../lib/store/dynamo';
import type { ContactLedgerStore } from '../../lib/store/ports';
import { CampaignHarness, MINUTE, treatedUserId } from '../support/campaigns';
import { localTables, useEmulators } from '../support/stores';

/**
 * The contact ledger on DynamoDB (dynalite, through the real SDK): a reservation is one conditional
 * UpdateItem, so sends racing each other never take a counter past its limit, and a contact counts
 * once by its id.
 */
const emulators = useEmulators();
const policy = loadCatalog().contactPolicy;
const limits = { total: 12, channel: 10, offer: 3 };

describe('the contact ledger in DynamoDB', () => {
  it('reserves no more than a limit allows when sixteen reserve at once, each in its own place in the day, and a retry counts once', async () => {
    const { ledger } = new DynamoStores(emulators.client(), localTables);
    const outcomes = await Promise.all(Array.from({ length: 16 }, (_, i) => ledger.reserve('p-race', '2026-11-20', ledgerContact(`m-${i}`, 'email', 'newsletter-signup'), limits, 0)));
    expect(outcomes.filter((o) => o.reserved)).toHaveLength(3);
    expect(outcomes.filter((o) => !o.reserved)[0]).toMatchObject({ reserved: false, day: { total: 3, offers: { 'newsletter-signup': 3 } } });
    const first = outcomes.findIndex((o) => o.reserved);
    expect(await ledger.reserve('p-race', '2026-11-20', ledgerContact(`m-${first}`, 'email', 'newsletter-signup'), limits, 0)).toEqual({ reserved: true, already: true });
    // Another offer on the same channel still fits, up to the channel's limit.
    const others = await Promise.all(Array.from({ length: 16 }, (_, i) => ledger.reserve('p-race', '2026-11-20', ledgerContact(`n-${i}`, 'email', `offer-${i}`), limits, 0)));
    expect(others.filter((o) => o.reserved)).toHaveLength(limits.channel - 3);
    const day = await ledger.read('p-race', '2026-11-20');
    expect(day.total).toBe(limits.channel);
    // Each contact has its own place in the day's order: the writes were atomic, one after another.
    expect(new Set(Object.values(day.counted).map((c) => c.seq)).size).toBe(limits.channel);
  });

  it('gives a contact back once, and counts in-app impressions without channel or offer names it cannot keep, up to the day\'s most', async () => {
    const { ledger } = new DynamoStores(emulators.client(), localTables);
    const mine = ledgerContact('m-released', 'push', 'in-store-complement');
    await ledger.reserve('p-release', '2026-11-20', mine, limits, 0);
    expect(await ledger.release('p-release', '2026-11-20', mine.id)).toBe(true);
    expect(await ledger.release('p-release', '2026-11-20', mine.id)).toBe(false);
    expect(await ledger.read('p-release', '2026-11-20')).toEqual({ total: 0, channels: { push: 0 }, offers: { 'in-store-complement': 0 }, counted: {} });

    await Promise.all(Array.from({ length: MAX_CONTACTS_PER_DAY + 10 }, (_, i) => ledger.reserve('p-flood', '2026-11-20', ledgerContact(`x-${i}`, `Not A Channel ${i}`, `__proto__`), { total: MAX_CONTACTS_PER_DAY }, 0)));
    const day = await ledger.read('p-flood', '2026-11-20');
    expect({ total: day.total, counted: Object.keys(day.counted).length, channels: day.channels, offers: day.offers }).toEqual({ total: MAX_CONTACTS_PER_DAY, counted: MAX_CONTACTS_PER_DAY, channels: {}, offers: {} });
  });

  it('sixteen sends due together, run at once, deliver no offer past its cap with the ledger in DynamoDB', async () => {
    const everyCart = {
      ...structuredClone(shipped),
      campaigns: [{ id: 'every-cart', name: 'A reminder for every cart', trigger: { event: ['Product Added'] }, wait: { delay: 'PT5M' }, reentry: { afterDays: 0 }, action: { placement: 'email', channel: 'email' } }],
    };
    const h = new CampaignHarness('2026-11-20T12:00:00Z', everyCart);
    (h.stores as { ledger: ContactLedgerStore }).ledger = new DynamoStores(emulators.client(), localTables).ledger;
    const who = treatedUserId('dyn', ['every-cart']);
    const context = { timezone: 'Europe/London', consent: { categoryPreferences: { personalization: true } } };
    await h.ingest([
      { type: 'identify', userId: who.userId, traits: { email: `${who.userId}@example.com` }, context },
      ...Array.from({ length: 9 }, (_, i) => ({ event: 'Promotion Viewed', userId: who.userId, context: { ...context, channel: 'app' }, properties: { promotion_id: `garden-season-${i}` } })),
    ]);
    await h.ingest(Array.from({ length: 16 }, () => ({ event: 'Product Added', userId: who.userId, context, properties: { product_id: 'lamp-arc' } })));
    h.now = new Date(h.now.getTime() + 5 * MINUTE);
    const due = await h.stores.activations.due(h.now.toISOString(), 100);
    expect(due).toHaveLength(16);

    await Promise.all(due.map((i) => sendDue(i, h.sendDeps())));

    // 9 impressions counted by the ingest in DynamoDB, so 3 sends make her day's 12.
    expect(h.sent).toHaveLength(policy.globalPerDay - 9);
    expect((await h.stores.ledger.read(who.profileId, '2026-11-20')).total).toBe(policy.globalPerDay);
  });
});
