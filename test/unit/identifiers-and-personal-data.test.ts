import { collect, type EventStream } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { extractIdentifiers, hashPii } from '../../lib/events/identifiers';
import { defaultEventPolicy } from '../../lib/events/policy';
import type { CollectedEvent } from '../../lib/events/segment';
import { loadIdentityRules } from '../../lib/identity/rules';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, rawRecord, segmentEvent, SequenceFactory, toRecord, annIdentify } from '../support/factories';
import identityDefaults from '../../config/identity.json';

/**
 * Placeholders typed into forms identify nobody (issue #13, defect 5), and nothing personal is left in
 * clear in any store after the ingest (defect 8). Written against functions that existed before the
 * fixes, so they fail on the earlier code by what it does.
 */
const rules = loadIdentityRules();
const SALT = 'test-salt';

describe('placeholder identifiers (defect 5)', () => {
  const identify = (phone: string, i: number) =>
    segmentEvent({ type: 'identify', anonymousId: `visitor-${i}`, messageId: `junk-${i}`, event: undefined, traits: { phone, email: phone } });

  it.each(['N/A', '-', 'x', 'tbd', 'not given', 'n/a ', '000-000-0000', '12', '+1', '1111111', '(123) 456-7890 ext. 0000000000000000'])(
    'identify nobody by phone or e-mail: %j',
    (junk) => {
      const ids = extractIdentifiers(identify(junk, 0) as unknown as CollectedEvent, rules, SALT);
      expect(ids.map((i) => i.ns)).toEqual(['anonymousId']);
    },
  );

  it('keep six anonymous visitors who typed placeholders apart', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const placeholders = ['N/A', '-', 'x', 'tbd', 'not given', 'none'];
    const result = await ingestBatch(placeholders.map((p, i) => toRecord(identify(p, i), seq.take())), stores, ingestConfig());
    expect(result.stats.merges).toBe(0);
    expect([...stores.profileItems.values()].filter((p) => p.mergedInto === undefined)).toHaveLength(6);
    expect([...stores.owners.keys()].filter((k) => !k.startsWith('anonymousId:'))).toEqual([]);
  });

  it('still recognise real numbers and addresses, however they are written', () => {
    const a = extractIdentifiers(segmentEvent({ type: 'identify', userId: 'u', traits: { phone: '+44 (0)20 7946 0958', email: ' Ann.Smith@Example.COM ' } }) as unknown as CollectedEvent, rules, SALT);
    const b = extractIdentifiers(segmentEvent({ type: 'identify', userId: 'u', traits: { phone: '+44 0 20-7946-0958', email: 'ann.smith@example.com' } }) as unknown as CollectedEvent, rules, SALT);
    expect(a.map((i) => i.ns).sort()).toEqual(['email', 'phone', 'userId']);
    expect(a).toEqual(b);
  });
});

describe('placeholder e-mail addresses and phone numbers written with a country code', () => {
  const nsOf = (traits: Record<string, unknown>, r = rules) =>
    extractIdentifiers(segmentEvent({ type: 'identify', anonymousId: 'v', event: undefined, traits }) as unknown as CollectedEvent, r, SALT).map((i) => i.ns);
  const live = (stores: MemoryStores) => [...stores.profileItems.values()].filter((p) => p.mergedInto === undefined);

  it.each(['+1 000 000 0000', '+1 (000) 000-0000', '+44 0000 000000', '+1 555 555 5555', '+33 0 00 00 00 00', '0044 0000 000000', '+1 123 456 7890'])(
    'identify nobody by a zero, repeated or sequential national number after the country code: %j',
    (phone) => expect(nsOf({ phone })).toEqual(['anonymousId']),
  );

  it.each(['noemail@noemail.com', 'test@test.com', 'none@none.com', 'na@na.com', 'no@email.com', 'email@email.com', 'NoReply@shop.example'])(
    'identify nobody by a placeholder e-mail address (a listed local part, or the local part equal to the domain): %j',
    (email) => expect(nsOf({ email })).toEqual(['anonymousId']),
  );

  it('still recognises real numbers with a country code and real addresses', () => {
    expect(nsOf({ phone: '+1 415 555 0132', email: 'ann.test@example.com' }).sort()).toEqual(['anonymousId', 'email', 'phone']);
    expect(nsOf({ phone: '+44 20 7946 0958' })).toEqual(['anonymousId', 'phone']);
  });

  it('lets the configured blocklist block an e-mail address or phone number, compared with the normalised clear value', () => {
    const custom = loadIdentityRules({ ...identityDefaults, blocklist: [...identityDefaults.blocklist, 'Store@Shop.example', '+44 20 7946 0000'] });
    expect(nsOf({ email: ' store@shop.example ', phone: '+44 20-7946-0000' }, custom)).toEqual(['anonymousId']);
    expect(nsOf({ email: 'store@shop.example' })).toEqual(['anonymousId', 'email']);
  });

  it('still lets the blocklist block by hash, as it did before it compared clear values', () => {
    const custom = loadIdentityRules({ ...identityDefaults, blocklist: [hashPii('email', 'store@shop.example', SALT)] });
    expect(nsOf({ email: 'store@shop.example' }, custom)).toEqual(['anonymousId']);
  });

  it('takes its placeholder local parts from configuration, validated with errors that name the field', () => {
    const custom = loadIdentityRules({ ...identityDefaults, placeholders: { emailLocalParts: ['Walk-In'] } });
    expect(nsOf({ email: 'walk-in@shop.example' }, custom)).toEqual(['anonymousId']);
    expect(() => loadIdentityRules({ ...identityDefaults, placeholders: { emailLocalParts: ['walk in@shop'] } })).toThrow(/^Invalid identity rules: placeholders\.emailLocalParts\.0: must be the part before the @/);
    const { placeholders: _p, ...without } = identityDefaults;
    expect(() => loadIdentityRules(without)).toThrow(/^Invalid identity rules: placeholders: /);
  });

  it('keeps two strangers apart who both typed the POS placeholder "+1 (000) 000-0000"', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const result = await ingestBatch(
      ['walk-in-1', 'walk-in-2'].map((a) => toRecord(segmentEvent({ type: 'identify', anonymousId: a, event: undefined, traits: { phone: '+1 (000) 000-0000' } }), seq.take())),
      stores,
      ingestConfig(),
    );
    expect(result.failedSequenceNumbers).toEqual([]);
    expect(live(stores)).toHaveLength(2);
  });

  it('keeps two strangers apart who both typed test@test.com into a form sent through the collector (it removes the placeholder while it is in clear)', async () => {
    const stores = new MemoryStores();
    const stream: string[] = [];
    const sink: EventStream = { putRecords: async (records) => (stream.push(...records.map((r) => r.data)), []) };
    const batch = ['walk-in-1', 'walk-in-2'].map((anonymousId) => ({ type: 'identify', anonymousId, traits: { email: 'test@test.com', phone: '+44 0000 000000' } }));
    await collect(parseRequest('batch', JSON.stringify({ batch })), new Date('2026-11-20T10:00:00Z'), { stream: sink, deadLetters: stores.deadLetters }, { salt: SALT, personalData: defaultEventPolicy().personalData });
    const seq = new SequenceFactory();
    await ingestBatch(stream.map((data) => ({ shardId: 'shardId-000000000000', sequenceNumber: seq.take(), data: Buffer.from(data).toString('base64') })), stores, ingestConfig());
    expect(live(stores)).toHaveLength(2);
    expect([...stores.owners.keys()].filter((k) => !k.startsWith('anonymousId:'))).toEqual([]);
  });

  it('takes the e-mail of an identify call whatever the key is spelled (Email, E-mail)', () => {
    const ids = extractIdentifiers(segmentEvent({ type: 'identify', anonymousId: 'v', event: undefined, traits: { Email: 'ann@example.com' }, context: { traits: { 'E-mail': 'ann@example.com' } } }) as unknown as CollectedEvent, rules, SALT);
    expect(ids).toContainEqual({ ns: 'email', value: hashPii('email', 'ann@example.com', SALT) });
  });
});

describe("a group call's traits describe the company, not the person", () => {
  const group = (anonymousId: string, context: Record<string, unknown> = {}) =>
    segmentEvent({ type: 'group', anonymousId, groupId: 'acme', event: undefined, traits: { name: 'Acme Ltd', email: 'billing@acme.example', phone: '+44 20 7946 0000', plan: 'enterprise' }, context });

  it("does not take a group's e-mail (billing@acme.example) as the sender's identifier, nor merge two colleagues' visits by it", async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingestBatch([toRecord(group('colleague-1'), seq.take()), toRecord(group('colleague-2'), seq.take())], stores, ingestConfig());
    expect([...stores.profileItems.values()].filter((p) => p.mergedInto === undefined)).toHaveLength(2);
  });

  it("still takes the sender's own e-mail from the group call's context.traits", () => {
    const ids = extractIdentifiers(group('colleague-1', { traits: { email: 'ann@example.com' } }) as unknown as CollectedEvent, rules, SALT);
    expect(ids.map((i) => i.ns).sort()).toEqual(['anonymousId', 'email']);
    expect(ids).toContainEqual({ ns: 'email', value: hashPii('email', 'ann@example.com', SALT) });
  });
});

describe('personal data after the ingest (defect 8)', () => {
  const message = annIdentify;

  it('leaves nothing in clear in any store after the ingest, dead letters included', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingestBatch(
      [
        toRecord(segmentEvent({ ...message, timestamp: '2026-11-20T10:00:00.000Z' }), seq.take()),
        toRecord(segmentEvent({ anonymousId: 'v1', context: { ip: '203.0.113.7', traits: { email: 'ann.smith@example.com' } }, properties: { category: 'Paint' } }), seq.take()),
        toRecord({ ...message, type: 'bogus' }, seq.take()),
        rawRecord(`{"traits":{"email":"ann.smith@example.com"}, not json`, seq.take()),
      ],
      stores,
      ingestConfig(),
    );
    const everything = JSON.stringify({
      profiles: [...stores.profileItems.values()],
      owners: [...stores.owners.entries()],
      visits: [...stores.visits.entries()].map(([k, v]) => [k, [...v.values()]]),
      events: [...stores.eventItems.values()],
      letters: [...stores.letters.values()].map((l) => ({ ...l, data: Buffer.from(l.data, 'base64').toString('utf8') })),
    });
    expect(stores.letters.size).toBe(2);
    for (const clear of ['Ann.Smith', 'ann.smith', 'Smith', 'Acacia', '203.0.113.7', '7946', '"Ann"']) expect(everything).not.toContain(clear);
  });
});
