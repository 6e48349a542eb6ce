import fc from 'fast-check';
import { maskAddress, rankAddresses } from '../../lib/campaign/addresses';
import { addressesInUse } from '../../lib/campaign/why';
import { hashPii } from '../../lib/events/identifiers';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { attachAddresses, mergeAttachedAddresses, type AttachedAddresses } from '../../lib/profile/attached-addresses';
import { newProfile, type Profile } from '../../lib/profile/profile';
import { followMerges } from '../../lib/profile/read';
import { splitProfile } from '../../lib/privacy/split';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * When an address became hers (lib/profile/attached-addresses.ts) and which one a message goes to
 * (lib/campaign/addresses.ts rankAddresses): the pieces under the property test of the rule
 * (contact-address-rule.property.test.ts).
 */
const config = ingestConfig();
const email = (address: string) => ({ ns: 'email' as const, value: hashPii('email', address, config.salt) });
const keyOf = (address: string) => `email:${email(address).value}`;

function holding(...addresses: string[]): Profile {
  const p = newProfile('p_1');
  p.identities = { userId: ['ann'], email: addresses.map((a) => email(a).value).sort() };
  return p;
}

describe('attaching addresses', () => {
  it('records when each held address became hers and whether while logged in, by receipt time; folding a message again changes nothing', () => {
    const p = holding('ann@example.com', 'old@example.com');
    attachAddresses(p, [email('old@example.com')], '2026-11-20T10:00:00.000Z');
    attachAddresses(p, [{ ns: 'userId', value: 'ann' }, email('ann@example.com'), email('old@example.com')], '2026-11-20T11:00:00.000Z');
    const once = structuredClone(p);
    attachAddresses(p, [{ ns: 'userId', value: 'ann' }, email('ann@example.com'), email('old@example.com')], '2026-11-20T11:00:00.000Z');
    expect(p).toEqual(once);
    expect(p.addresses).toEqual({
      [keyOf('ann@example.com')]: { at: '2026-11-20T11:00:00.000Z', loggedInAt: '2026-11-20T11:00:00.000Z' },
      [keyOf('old@example.com')]: { at: '2026-11-20T10:00:00.000Z', loggedInAt: '2026-11-20T11:00:00.000Z' },
    });
    // Two given in one message: the smaller key, so every reader agrees.
    expect(p.addressGivenLoggedIn).toEqual({ email: { at: '2026-11-20T11:00:00.000Z', key: [keyOf('ann@example.com'), keyOf('old@example.com')].sort()[0] } });
  });

  it('records nothing for an address she does not hold (another profile has it, or a limit was reached), but notes that she gave one while logged in', () => {
    const p = holding('ann@example.com');
    attachAddresses(p, [{ ns: 'userId', value: 'ann' }, email('elsewhere@example.com')], '2026-11-20T10:00:00.000Z');
    expect(p.addresses).toBeUndefined();
    expect(p.addressGivenLoggedIn).toEqual({ email: { at: '2026-11-20T10:00:00.000Z', key: keyOf('elsewhere@example.com') } });
  });

  const time = fc.integer({ min: 0, max: 1000 }).map((m) => new Date(Date.UTC(2026, 10, 20) + m * 60_000).toISOString());
  const attachments = fc.dictionary(fc.constantFrom('email:a', 'email:b', 'phone:c'), fc.record({ at: time, loggedInAt: fc.option(time, { nil: undefined }) }).map(({ at, loggedInAt }) => ({ at, ...(loggedInAt ? { loggedInAt } : {}) })));
  const side = fc.record({ addresses: fc.option(attachments, { nil: undefined }), addressGivenLoggedIn: fc.option(fc.record({ email: fc.record({ at: time, key: fc.constantFrom('email:a', 'email:b') }) }), { nil: undefined }) }).map((s) => JSON.parse(JSON.stringify(s)) as { addresses?: AttachedAddresses });

  it('merges by the earliest of each time: associative and commutative, as every merge of profiles', () => {
    fc.assert(
      fc.property(side, side, side, (a, b, c) => {
        expect(mergeAttachedAddresses(a, b)).toEqual(mergeAttachedAddresses(b, a));
        expect(mergeAttachedAddresses(mergeAttachedAddresses(a, b), c)).toEqual(mergeAttachedAddresses(a, mergeAttachedAddresses(b, c)));
        expect(mergeAttachedAddresses(a, a)).toEqual(mergeAttachedAddresses(a, {}));
      }),
    );
  });

  it('keeps at most as many as her identities hold (the namespace limit), whatever one sender names beside her userId', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const records = Array.from({ length: 200 }, (_, i) => toRecord(segmentEvent({ type: 'identify', userId: 'ann', traits: { email: `planted-${i}@evil.example` } }), seq.take()));
    for (let i = 0; i < records.length; i += 50) await ingestBatch(records.slice(i, i + 50), stores, config);
    const owner = (await stores.graph.getOwners(['userId:ann'])).get('userId:ann') as string;
    const profile = (await followMerges(stores, owner)) as Profile;
    expect(Object.keys(profile.addresses ?? {})).toHaveLength(config.rules.namespaces.email.limit);
    expect(Object.keys(profile.addresses ?? {}).sort()).toEqual((profile.identities.email ?? []).map((h) => `email:${h}`).sort());
  });
});

describe('which address is used', () => {
  const kept = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([address, at]) => [keyOf(address), { at, mask: maskAddress('email', address) }]));

  it('the one given first while logged in, before one attached without her login earlier, before one kept before attachments were recorded', () => {
    const p = holding('ann@example.com', 'anon@example.com', 'legacy@example.com');
    attachAddresses(p, [email('anon@example.com')], '2026-11-20T09:00:00.000Z');
    const store = kept({ 'ann@example.com': '2026-11-20T10:00:00.000Z', 'anon@example.com': '2026-11-20T09:00:00.000Z', 'legacy@example.com': '2025-01-01T00:00:00.000Z' });
    expect(rankAddresses(p, 'email', store).map((r) => r.key)).toEqual([keyOf('anon@example.com'), keyOf('legacy@example.com'), keyOf('ann@example.com')]);
    attachAddresses(p, [{ ns: 'userId', value: 'ann' }, email('ann@example.com')], '2026-11-20T10:00:00.000Z');
    // Once she gave one while logged in, nothing attached without her login is used at all.
    expect(rankAddresses(p, 'email', store)).toEqual([{ key: keyOf('ann@example.com'), since: '2026-11-20T10:00:00.000Z', givenWhileLoggedIn: true }]);
    expect(addressesInUse(p, store)).toEqual({ email: { used: { address: 'a***@e***.com', since: '2026-11-20T10:00:00.000Z', givenWhileLoggedIn: true }, notUsed: 2 }, phone: { notUsed: 0 } });
  });

  it('none, rather than one attached without her login, when the one she gave while logged in is not hers any more', () => {
    const p = holding('anon@example.com');
    attachAddresses(p, [email('anon@example.com')], '2026-11-20T09:00:00.000Z');
    attachAddresses(p, [{ ns: 'userId', value: 'ann' }, email('taken@example.com')], '2026-11-20T10:00:00.000Z');
    expect(addressesInUse(p, kept({ 'anon@example.com': '2026-11-20T09:00:00.000Z' }))).toEqual({ email: { notUsed: 1 }, phone: { notUsed: 0 } });
  });
});

describe('a change of address', () => {
  async function hers(stores: MemoryStores): Promise<Profile> {
    const owner = (await stores.graph.getOwners(['userId:ann'])).get('userId:ann') as string;
    return (await followMerges(stores, owner)) as Profile;
  }
  const used = (p: Profile) => rankAddresses(p, 'email', new Map((p.identities.email ?? []).map((h) => [`email:${h}`, { at: '2026-01-01T00:00:00.000Z' }])))[0]?.key;

  it('given later through the write key is not taken; once an operator splits the old address off, the next one she gives while logged in is', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const identify = (address: string, at: string) => toRecord(segmentEvent({ type: 'identify', userId: 'ann', traits: { email: address }, timestamp: at, receivedAt: at }), seq.take());
    await ingestBatch([identify('old@example.com', '2026-11-20T10:00:00.000Z'), identify('new@example.com', '2026-11-21T10:00:00.000Z')], stores, config);
    expect(used(await hers(stores))).toBe(keyOf('old@example.com'));
    await splitProfile(stores, (await hers(stores)).profileId, { identifier: { namespace: 'email', value: 'old@example.com' } }, config);
    expect(used(await hers(stores))).toBe(keyOf('new@example.com'));
    expect(Object.keys((await hers(stores)).addresses ?? {})).toEqual([keyOf('new@example.com')]);
  });
});

describe('an address taken by another login', () => {
  const keptAll = (...addresses: string[]) => new Map(addresses.map((a) => [keyOf(a), { at: '2026-01-01T00:00:00.000Z' }]));
  async function hers(stores: MemoryStores): Promise<Profile> {
    const owner = (await stores.graph.getOwners(['userId:vera'])).get('userId:vera') as string;
    return (await followMerges(stores, owner)) as Profile;
  }

  it("still sends hers, not one named beside her userId later, when another customer's login names her address (the link moves to him)", async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const identify = (userId: string, address: string, minute: number) => {
      const at = new Date(Date.UTC(2026, 10, 20, 10, minute)).toISOString();
      return toRecord(segmentEvent({ type: 'identify', userId, traits: { email: address }, timestamp: at, receivedAt: at }), seq.take());
    };
    const kept = keptAll('vera@example.com', 'mallory@evil.example');
    await ingestBatch([identify('vera', 'vera@example.com', 0)], stores, config);
    await ingestBatch([identify('vera', 'mallory@evil.example', 1)], stores, config);
    await ingestBatch([identify('mallory-acct', 'vera@example.com', 2)], stores, config);
    // The identity link of her address went to his login, yet her messages still go to her address.
    expect((await stores.graph.getOwners([keyOf('vera@example.com')])).get(keyOf('vera@example.com'))).not.toBe((await hers(stores)).profileId);
    expect(rankAddresses(await hers(stores), 'email', kept)[0]?.key).toBe(keyOf('vera@example.com'));
    // She logs in again with it (the link comes back, dated later): still hers, and still first.
    await ingestBatch([identify('vera', 'vera@example.com', 3)], stores, config);
    expect(rankAddresses(await hers(stores), 'email', kept)).toEqual([{ key: keyOf('vera@example.com'), since: '2026-11-20T10:00:00.000Z', givenWhileLoggedIn: true }]);
  });
});

describe('the mask kept in clear beside a sealed address', () => {
  it('keeps the first character, the domain\'s first character and its top-level domain, or a phone\'s last two digits; never lengths', () => {
    expect(maskAddress('email', 'ann.smith@example.com')).toBe('a***@e***.com');
    expect(maskAddress('email', 'mallory@evil.example')).toBe('m***@e***.example');
    expect(maskAddress('email', 'x@mail.co.uk')).toBe('x***@m***.uk');
    expect(maskAddress('email', 'ann@example.annsmith1985')).toBe('a***@e***');
    expect(maskAddress('email', 'ünal@örnek.com')).toBe('ü***@ö***.com');
    expect(maskAddress('phone', '+447700900123')).toBe('***23');
  });
});
