import { extractIdentifiers } from '../../lib/events/identifiers';
import type { CollectedEvent } from '../../lib/events/segment';
import { loadIdentityRules } from '../../lib/identity/rules';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, rawRecord, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

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

describe('personal data after the ingest (defect 8)', () => {
  const message = {
    type: 'identify',
    userId: 'cust-1',
    messageId: 'm1',
    traits: { email: 'Ann.Smith@example.com', phone: '+44 20 7946 0958', firstName: 'Ann', lastName: 'Smith', name: 'Ann Smith', plan: 'gold', address: { street: '1 Acacia Avenue', city: 'Leeds', country: 'GB' } },
    context: { ip: '203.0.113.7', traits: { email: 'ann.smith@example.com', name: 'Ann' }, locale: 'en-GB' },
    properties: { email: 'ann@example.com', product_id: 'p1', name: 'Sage paint 2L' },
  };

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
