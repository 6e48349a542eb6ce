import { collect, type EventStream, type Privacy } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { defaultEventPolicy } from '../../lib/events/policy';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { readJourney, readProfile } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, SequenceFactory } from '../support/factories';

/**
 * Personal data never at rest in clear (issue #13, defect 8), end to end: a batch through the
 * collector (validation, redaction, dead letters), its stream records through the ingest, then
 * everything stored and what the read API answers.
 */
const received = new Date('2026-11-20T10:00:00.000Z');
const privacy: Privacy = { salt: 'test-salt', personalData: defaultEventPolicy().personalData };

async function throughTheEngine(batch: unknown[]) {
  const stores = new MemoryStores();
  const stream: string[] = [];
  const sink: EventStream = { putRecords: async (records) => (stream.push(...records.map((r) => r.data)), []) };
  const result = await collect(parseRequest('batch', JSON.stringify({ batch })), received, { stream: sink, deadLetters: stores.deadLetters }, privacy);
  const seq = new SequenceFactory();
  const ingest = await ingestBatch(
    stream.map((data) => ({ shardId: 'shardId-000000000000', sequenceNumber: seq.take(), data: Buffer.from(data).toString('base64') })),
    stores,
    ingestConfig({ salt: privacy.salt, now: () => received }),
  );
  expect(ingest.failedSequenceNumbers).toEqual([]);
  const live = [...stores.profileItems.values()].filter((p) => p.mergedInto === undefined);
  const config = ingestConfig();
  const api = await Promise.all(live.map(async (p) => [await readProfile(stores, p.profileId, config, received), await readJourney(stores, p.profileId)]));
  const everything = JSON.stringify({
    stream,
    rejected: result.rejected,
    profiles: [...stores.profileItems.values()],
    owners: [...stores.owners.keys()],
    events: [...stores.eventItems.values()],
    letters: [...stores.letters.values()].map((l) => ({ ...l, data: l.source === 'ingest' ? Buffer.from(l.data, 'base64').toString('utf8') : l.data })),
    api,
  });
  return { result, stores, everything };
}

/** Which of the clear values can be found anywhere. */
const leaked = (everything: string, clear: string[]) => clear.filter((c) => everything.includes(c));

describe('review: personal data never at rest in clear', () => {
  it('hashes or removes e-mail, phone and names whatever the key is spelled (Email, E-mail, e_mail, Phone, first_name, last_name, full_name)', async () => {
    const { everything } = await throughTheEngine([
      {
        type: 'identify',
        userId: 'cust-1',
        traits: { Email: 'ann.smith@example.com', 'e-mail': 'ann.smith@example.com', e_mail: 'ann.smith@example.com', Phone: '+44 20 7946 0958', first_name: 'Annabel', last_name: 'Smithson', full_name: 'Annabel Smithson' },
      },
    ]);
    expect(leaked(everything, ['ann.smith@example.com', '7946 0958', 'Annabel', 'Smithson'])).toEqual([]);
  });

  it('removes a street address sent as a string (traits.address: "1 Acacia Avenue, Leeds")', async () => {
    const { everything } = await throughTheEngine([{ type: 'identify', userId: 'cust-2', traits: { address: '1 Acacia Avenue, Leeds LS1 4AP', plan: 'gold' } }]);
    expect(leaked(everything, ['Acacia'])).toEqual([]);
  });

  it('keeps no e-mail address in clear from nested objects and arrays (traits.contact.email, properties.customer.email, traits.emails[])', async () => {
    const { everything } = await throughTheEngine([
      { type: 'identify', userId: 'cust-3', traits: { contact: { email: 'ann.smith@example.com' }, emails: ['ann.smith@example.com'] } },
      { type: 'track', userId: 'cust-3', event: 'Order Completed', properties: { total: 10, customer: { email: 'ann.smith@example.com', phone: '+44 20 7946 0958' } } },
    ]);
    expect(leaked(everything, ['ann.smith@example.com', '7946 0958'])).toEqual([]);
  });

  it('keeps no e-mail address in clear from a page URL (a newsletter link: ?email=...)', async () => {
    const { everything } = await throughTheEngine([
      {
        type: 'page',
        anonymousId: 'visitor-1',
        name: 'Welcome',
        properties: { url: 'https://shop.example/welcome?email=ann.smith%40example.com', search: '?email=ann.smith@example.com' },
        context: { page: { url: 'https://shop.example/welcome?email=ann.smith@example.com', search: '?email=ann.smith@example.com' } },
      },
    ]);
    expect(leaked(everything, ['ann.smith@example.com', 'ann.smith%40example.com'])).toEqual([]);
  });

  it('keeps no e-mail in clear when the userId is an e-mail address (identities, identifier keys, events, stream)', async () => {
    const { everything } = await throughTheEngine([{ type: 'track', userId: 'ann.smith@example.com', event: 'Product Viewed', properties: { product_id: 'p1' } }]);
    expect(leaked(everything, ['ann.smith@example.com'])).toEqual([]);
  });

  it('keeps no e-mail or phone in clear in the dead letter of a rejected message whose traits are not an object', async () => {
    const { result, everything } = await throughTheEngine([
      { type: 'identify', userId: 'cust-4', traits: [{ email: 'ann.smith@example.com', phone: '+44 20 7946 0958', firstName: 'Annabel' }] },
      { type: 'identify', userId: 'cust-5', context: [{ ip: '203.0.113.7', traits: { email: 'ann.smith@example.com' } }] },
    ]);
    expect(result.rejected.map((r) => r.index)).toEqual([0, 1]);
    expect(leaked(everything, ['ann.smith@example.com', '7946 0958', 'Annabel', '203.0.113.7'])).toEqual([]);
  });
});
