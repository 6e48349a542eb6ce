import { AddressSealer, LocalDataKeys, type DataKeys } from '../../lib/campaign/addresses';
import { collect } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { defaultEventPolicy } from '../../lib/events/policy';
import { hashPii } from '../../lib/events/identifiers';
import { MemoryStores } from '../../lib/store/memory';
import { CampaignHarness, HOUR, treatedUserId } from '../support/campaigns';

/**
 * Contact addresses for the e-mail and SMS channels: sealed by the collector (envelope encryption),
 * stored only sealed, under the hashed identifier they belong to, and opened only to send.
 */
const master = Buffer.alloc(32, 9);
const counting = (inner: DataKeys) => {
  const calls = { generate: 0, unwrap: 0 };
  return {
    calls,
    keys: { generate: () => (calls.generate++, inner.generate()), unwrap: (w: Buffer) => (calls.unwrap++, inner.unwrap(w)) } satisfies DataKeys,
  };
};

describe('sealing', () => {
  it('opens what it sealed, only under the identifier it is bound to, and only with its master key', async () => {
    const sealer = new AddressSealer(new LocalDataKeys(master));
    const sealed = await sealer.seal('ann@example.com', 'email:abc');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('ann');
    expect(await sealer.open(sealed, 'email:abc')).toBe('ann@example.com');
    await expect(sealer.open(sealed, 'email:someone-else')).rejects.toThrow();
    await expect(new AddressSealer(new LocalDataKeys(Buffer.alloc(32, 1))).open(sealed, 'email:abc')).rejects.toThrow();
    await expect(sealer.open(sealed.replace(/\.[\w-]+$/, '.AAAA'), 'email:abc')).rejects.toThrow();
  });

  it('reuses a data key for a while (one key request per 5 minutes), and remembers unwrapped keys as long', async () => {
    let now = 0;
    const { keys, calls } = counting(new LocalDataKeys(master));
    const sealer = new AddressSealer(keys, { now: () => now });
    const sealed = await Promise.all(Array.from({ length: 50 }, (_, i) => sealer.seal(`c${i}@example.com`, `email:${i}`)));
    expect(calls.generate).toBe(1);
    now += 301_000;
    await sealer.seal('late@example.com', 'email:late');
    expect(calls.generate).toBe(2);
    const opener = new AddressSealer(keys, { now: () => now });
    for (const [i, s] of sealed.entries()) expect(await opener.open(s, `email:${i}`)).toBe(`c${i}@example.com`);
    expect(calls.unwrap).toBe(1);
  });
});

describe('the collector', () => {
  it('seals the e-mail and phone of accepted messages under their identifier keys, and puts none on the stream', async () => {
    const stores = new MemoryStores();
    const put: string[] = [];
    const sealer = new AddressSealer(new LocalDataKeys(master));
    const request = parseRequest('batch', JSON.stringify({ batch: [
      { type: 'identify', userId: 'u1', traits: { email: ' Ann@Example.com ', phone: '+44 7700 900123' } },
      { type: 'identify', userId: 'u2', traits: { email: 'noemail@example.com' } },
      { type: 'track', userId: 'u3', event: 42 },
      { type: 'identify', userId: 'u4', traits: { email: `sha256:${'a'.repeat(64)}` } },
    ] }), () => undefined);
    const stream = { putRecords: async (records: Array<{ data: string }>) => (put.push(...records.map((r) => r.data)), []) };
    const result = await collect(request, new Date('2026-11-20T10:00:00Z'), { stream, deadLetters: stores.deadLetters, contacts: { sealer, store: stores.contacts } }, { salt: 'salt', personalData: defaultEventPolicy().personalData });
    expect(result.accepted).toBe(3);
    const emailKey = `email:${hashPii('email', 'ann@example.com', 'salt')}`;
    const phoneKey = `phone:${hashPii('phone', '+44 7700 900123', 'salt')}`;
    // The placeholder identifies nobody, the rejected message gives nothing, a client's hash is no address.
    expect([...stores.contacts.items.keys()].sort()).toEqual([emailKey, phoneKey].sort());
    expect(await sealer.open(stores.contacts.items.get(emailKey)!.sealed, emailKey)).toBe('ann@example.com');
    // Normalised as it is hashed (digits and "+"): what the send hands to SMS, whatever text came with it.
    expect(await sealer.open(stores.contacts.items.get(phoneKey)!.sealed, phoneKey)).toBe('+447700900123');
    for (const text of [...put, JSON.stringify([...stores.contacts.items.values()])]) {
      expect(text.toLowerCase()).not.toContain('ann@example.com');
      expect(text).not.toContain('7700');
    }
  });

  it.each([
    ['a replayed message of hers (from before her erasure)', '2026-11-20T10:00:00Z', '2026-11-21T00:00:00Z', 'u1', false],
    ['a message after her erasure under her own, erased userId', '2026-11-20T10:00:00Z', '2026-11-19T00:00:00Z', 'gone-user', false],
    ['a message after her erasure that names nobody else', '2026-11-20T10:00:00Z', '2026-11-19T00:00:00Z', undefined, false],
    ["another customer's message after the erasure, with his userId (the address is released to him)", '2026-11-20T10:00:00Z', '2026-11-19T00:00:00Z', 'u1', true],
  ])('for an identifier erased at the person\'s request, keeps the address of %s: %s', async (_what, timestamp, erasedAt, userId, kept) => {
    const stores = new MemoryStores();
    const sealer = new AddressSealer(new LocalDataKeys(master));
    const gone = `email:${hashPii('email', 'gone@example.com', 'salt')}`;
    const suppressed = new Map([gone, 'userId:gone-user'].map((k) => [k, erasedAt]));
    const request = parseRequest('batch', JSON.stringify({ batch: [
      { type: 'identify', ...(userId ? { userId } : { anonymousId: 'a-1' }), timestamp, traits: { email: 'gone@example.com' } },
      { type: 'identify', userId: 'u2', timestamp, traits: { email: 'kept@example.com' } },
    ] }), () => undefined);
    const stream = { putRecords: async () => [] };
    const suppressions = async (keys: string[]) => new Map(keys.flatMap((k): Array<[string, string]> => (suppressed.has(k) ? [[k, suppressed.get(k) as string]] : [])));
    await collect(request, new Date(timestamp), { stream, deadLetters: stores.deadLetters, contacts: { sealer, store: stores.contacts }, suppressions }, { salt: 'salt', personalData: defaultEventPolicy().personalData });
    const keptAddress = `email:${hashPii('email', 'kept@example.com', 'salt')}`;
    expect([...stores.contacts.items.keys()].sort()).toEqual((kept ? [gone, keptAddress] : [keptAddress]).sort());
  });
});

describe('sending to a sealed address', () => {
  it('sends to the address she gave first: one added later to her userId by anyone holding the write key does not replace it', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const zoe = treatedUserId('addr-z', ['cart-abandoned']);
    const context = { timezone: 'Europe/London', consent: { categoryPreferences: { personalization: true } } };
    await h.ingest([{ type: 'identify', userId: zoe.userId, traits: { email: 'zoe@example.com' }, context }]);
    h.now = new Date('2026-11-20T12:05:00Z');
    await h.ingest([
      { type: 'identify', userId: zoe.userId, traits: { email: 'attacker@evil.test' } },
      { event: 'Product Added', userId: zoe.userId, context, properties: { product_id: 'lamp-arc' } },
    ]);
    await h.advance(HOUR);
    expect(h.sentTo).toEqual(['zoe@example.com']);
  });

  it('gives the channel her opened address, and cancels a send with none on file', async () => {
    const h = new CampaignHarness('2026-11-20T12:00:00Z');
    const [withEmail, without] = [treatedUserId('addr-a', ['cart-abandoned']), treatedUserId('addr-b', ['cart-abandoned'])];
    const context = { timezone: 'Europe/London', consent: { categoryPreferences: { personalization: true } } };
    await h.ingest([
      { type: 'identify', userId: withEmail.userId, traits: { email: 'Zoe@Example.com' }, context },
      { event: 'Product Added', userId: withEmail.userId, context, properties: { product_id: 'lamp-arc' } },
      { event: 'Product Added', userId: without.userId, context, properties: { product_id: 'lamp-arc' } },
    ]);
    expect((await h.advance(HOUR)).sort()).toEqual(['cancelled', 'sent']);
    expect(h.sentTo).toEqual(['zoe@example.com']);
    expect((await h.instances()).find((i) => i.profileId === without.profileId)?.reason).toBe('no e-mail address on file');
  });
});
