import { TABLES } from '../../lib/store/tables';
import { treatedUserId } from '../support/campaigns';
import { READ, useLocalStack } from '../support/local-api';

/**
 * Which address her campaign e-mails go to, attacked as issue 21 did it: through the collector with
 * the public write key only, on the local stack with a manual clock. An attacker seals his address
 * anonymously first; she signs up with her own address; he then names his address beside her userId.
 * Her cart reminder, with her cart, must go to her address, and the read API says which is used.
 */
const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
const START = `${day}T01:00:00.000Z`; // 10:00 in Tokyo
const tokyo = { timezone: 'Asia/Tokyo', consent: { categoryPreferences: { personalization: true } } };

const local = useLocalStack({ clock: 'manual', clockStart: START });
const call = local.json;
/** One request of the public write key, stamped with the stack's clock; waits until the ingest has it. */
const send = local.sendNow;

describe('her cart reminder, after an attacker sealed his address first and named it beside her userId', () => {
  const victim = treatedUserId('e2e-victim', ['cart-abandoned']);

  it('goes to the address she gave while logged in, not to the attacker\'s', async () => {
    // 1. The attacker, anonymously: his address is sealed now, before she ever gives hers.
    await send([{ type: 'identify', anonymousId: 'mallory-phone', traits: { email: 'mallory@evil.example' } }]);
    // 2. She signs up with her own address.
    await send([{ type: 'identify', userId: victim.userId, traits: { email: 'Victim.E2E@example.com' }, context: tokyo }]);
    // 3. The attacker names his address beside her userId (the write key is public; nothing is verified).
    await send([{ type: 'identify', userId: victim.userId, traits: { email: 'mallory@evil.example' } }]);
    // 4. Her cart; the reminder is due an hour later.
    await send([{ event: 'Product Added', userId: victim.userId, context: tokyo, properties: { product_id: 'paint-sage-2l' } }]);
    await call('POST', '/local/clock', { advance: 'PT65M' });
    const { deliveries } = await call('GET', '/local/outbox');
    expect(deliveries.filter((d: any) => d.message.campaignId === 'cart-abandoned')).toEqual([expect.objectContaining({ channel: 'email', adapter: 'ses', to: 'v***@example.com' })]);
  });

  it('says which address is used (masked), since when, that she gave it while logged in, and that one other is not used', async () => {
    const why = await call('GET', `/v1/profiles/${victim.profileId}/campaigns`, undefined, READ);
    expect(why.addresses).toEqual({
      email: { used: { address: 'v***@e***.com', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), givenWhileLoggedIn: true }, notUsed: 1 },
      phone: { notUsed: 0 },
    });
  });

  it('keeps neither address in clear in any table: only the sealed value and its coarse mask', async () => {
    const masks: string[] = [];
    for (const { table, item } of await local.scanAll()) {
      const text = JSON.stringify(item).toLowerCase();
      for (const clear of ['victim.e2e', 'mallory@', 'evil.example']) expect(text).not.toContain(clear);
      if (table === TABLES.contacts.localName) masks.push(String(item.mask));
    }
    expect(masks.sort()).toEqual(['m***@e***.example', 'v***@e***.com']);
  });
});

describe("her cart reminder, after another customer's login named her address (the hostile review's F1)", () => {
  const victim = treatedUserId('e2e-victim-f1', ['cart-abandoned']);

  it('still goes to her address, not to one named beside her userId later, and she is not left without one', async () => {
    await send([{ type: 'identify', userId: victim.userId, traits: { email: 'alice.f1@example.com' }, context: tokyo }]);
    // His address beside her userId, then his own login claims hers (the identity link moves to him).
    await send([{ type: 'identify', userId: victim.userId, traits: { email: 'mallory.f1@evil.example' } }]);
    await send([{ type: 'identify', userId: 'mallory-acct-f1', traits: { email: 'alice.f1@example.com' } }]);
    const { deliveries: before } = await call('GET', '/local/outbox');
    await send([{ event: 'Product Added', userId: victim.userId, context: tokyo, properties: { product_id: 'paint-sage-2l' } }]);
    await call('POST', '/local/clock', { advance: 'PT65M' });
    const { deliveries } = await call('GET', '/local/outbox');
    const hers = deliveries.slice(before.length).filter((d: any) => d.message.campaignId === 'cart-abandoned');
    expect(hers).toEqual([expect.objectContaining({ channel: 'email', adapter: 'ses', to: 'a***@example.com' })]);
    const why = await call('GET', `/v1/profiles/${victim.profileId}/campaigns`, undefined, READ);
    expect(why.addresses.email.used).toEqual({ address: 'a***@e***.com', since: expect.any(String), givenWhileLoggedIn: true });
  });
});
