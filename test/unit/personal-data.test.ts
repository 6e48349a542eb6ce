import { extractIdentifiers, hashPii } from '../../lib/events/identifiers';
import { redactPersonalData, redactRecordData } from '../../lib/events/personal';
import { defaultEventPolicy } from '../../lib/events/policy';
import type { CollectedEvent } from '../../lib/events/segment';
import { loadIdentityRules } from '../../lib/identity/rules';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, rawRecord, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

const rules = loadIdentityRules();
const policy = defaultEventPolicy().personalData;
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

describe('personal data redaction (defect 8)', () => {
  const message = {
    type: 'identify',
    userId: 'cust-1',
    messageId: 'm1',
    traits: { email: 'Ann.Smith@example.com', phone: '+44 20 7946 0958', firstName: 'Ann', lastName: 'Smith', name: 'Ann Smith', plan: 'gold', address: { street: '1 Acacia Avenue', city: 'Leeds', country: 'GB' } },
    context: { ip: '203.0.113.7', traits: { email: 'ann.smith@example.com', name: 'Ann' }, locale: 'en-GB' },
    properties: { email: 'ann@example.com', product_id: 'p1', name: 'Sage paint 2L' },
  };

  it('hashes e-mail, phone and the IP address, and removes names and the street address', () => {
    const redacted = redactPersonalData(message, policy, SALT);
    const text = JSON.stringify(redacted);
    for (const clear of ['Ann', 'Smith', 'Acacia', '203.0.113.7', '7946']) expect(text).not.toContain(clear);
    expect(redacted.traits).toEqual({
      email: `sha256:${hashPii('email', 'ann.smith@example.com', SALT)}`,
      phone: `sha256:${hashPii('phone', '+442079460958', SALT)}`,
      plan: 'gold',
      address: { city: 'Leeds', country: 'GB' },
    });
    expect(redacted.context.ip).toMatch(/^sha256:[0-9a-f]{64}$/);
    // A product's name is not a person's.
    expect(redacted.properties).toMatchObject({ product_id: 'p1', name: 'Sage paint 2L', email: expect.stringMatching(/^sha256:/) });
    // The input is not changed.
    expect(message.traits.firstName).toBe('Ann');
  });

  it('is idempotent for what it produced, and hashes again a client-sent "hash" (nobody claims an identity by hash)', () => {
    const once = redactPersonalData(message, policy, SALT);
    expect(redactPersonalData(once, policy, SALT, { trustHashed: true })).toEqual(once);
    const claimed = redactPersonalData({ type: 'identify', traits: { email: once.traits.email } }, policy, SALT);
    expect(claimed.traits).toEqual({});
  });

  it('keeps the identifiers the same as from the clear values, so matching still works', () => {
    const clear = extractIdentifiers(message as unknown as CollectedEvent, rules, SALT);
    const redacted = extractIdentifiers(redactPersonalData(message, policy, SALT) as unknown as CollectedEvent, rules, SALT);
    expect(redacted).toEqual(clear);
  });

  it('masks what it cannot parse in a dead letter', () => {
    const text = '{"traits":{"email":"ann.smith@example.com","phone":"+44 20 7946 0958"},"context":{"ip":"203.0.113.7"} broken';
    const kept = Buffer.from(redactRecordData(Buffer.from(text).toString('base64'), policy, SALT), 'base64').toString('utf8');
    for (const clear of ['ann.smith', '7946', '203.0.113.7']) expect(kept).not.toContain(clear);
    expect(JSON.parse(kept)).toMatchObject({ undecodable: true, bytes: text.length });
  });

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
      links: [...stores.links.values()].map((m) => [...m.values()]),
      events: [...stores.eventItems.values()],
      letters: [...stores.letters.values()].map((l) => ({ ...l, data: Buffer.from(l.data, 'base64').toString('utf8') })),
    });
    expect(stores.letters.size).toBe(2);
    for (const clear of ['Ann.Smith', 'ann.smith', 'Smith', 'Acacia', '203.0.113.7', '7946', '"Ann"']) expect(everything).not.toContain(clear);
  });
});
