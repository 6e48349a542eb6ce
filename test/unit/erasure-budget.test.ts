import { collect, type Privacy } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { defaultEventPolicy } from '../../lib/events/policy';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { erasePerson } from '../../lib/privacy/erase';
import { letterIndexHash, MAX_LETTERS_PER_ERASURE } from '../../lib/privacy/letters';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * Anyone with the public write key can make thousands of refused messages name a person (her userId,
 * her address), each kept as a dead letter for 14 days. Her erasure must not cost more for it: one
 * call removes her profile, links and events first, then at most MAX_LETTERS_PER_ERASURE of her
 * letters, and says whether letters remain; erasing again goes on from the erasure record, which
 * keeps the salted hashes her letters are indexed under, never her identifiers.
 */
const config = ingestConfig();
const seq = new SequenceFactory();
const privacy: Privacy = { salt: config.salt, personalData: defaultEventPolicy().personalData };
const NOW = new Date('2026-11-30T12:00:00Z');
const received = new Date('2026-11-20T10:00:00Z');

/** The collector with the write key, in requests of at most 2,500 messages; how many it refused. */
async function send(stores: MemoryStores, messages: Array<Record<string, unknown>>): Promise<number> {
  let refused = 0;
  for (let i = 0; i < messages.length; i += 2_500) {
    const result = await collect(parseRequest('batch', JSON.stringify({ batch: messages.slice(i, i + 2_500) })), received, { stream: { putRecords: async () => [] }, deadLetters: stores.deadLetters }, privacy);
    refused += result.rejected.length;
  }
  return refused;
}

/** Vic, known by her userId, her phone and her e-mail address, with an event and one refused message of her own; her profile id. */
async function vic(stores: MemoryStores): Promise<string> {
  const identify = segmentEvent({ type: 'identify', userId: 'vic-t', anonymousId: 'vic-phone', traits: { email: 'vic.tor@example.com' }, timestamp: '2026-11-19T09:00:00Z' });
  const viewed = segmentEvent({ anonymousId: 'vic-phone', properties: { product_id: 'lamp-1' }, timestamp: '2026-11-19T09:05:00Z' });
  expect((await ingestBatch([toRecord(identify, seq.take()), toRecord(viewed, seq.take())], stores, config)).failedSequenceNumbers).toEqual([]);
  expect(await send(stores, [{ type: 'track', anonymousId: 'vic-phone', properties: { product_id: 'lamp-2' } }])).toBe(1);
  return stores.owners.get('userId:vic-t') as string;
}

/** Refused messages aimed at her (a track without its event name), as the review sent them: her userId and address, a new device each. */
const aimedAtHer = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: 'track', userId: 'vic-t', anonymousId: `r${i}`, context: { device: { id: `d${i}` }, traits: { email: 'vic.tor@example.com', phone: '+1 555 0100' } } }));
/** Somebody else's refused messages. */
const others = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'track', userId: `other-${i}`, properties: {} }));

/** Letters still carrying one of her identifiers, found as the index finds them. */
async function lettersOfHers(stores: MemoryStores): Promise<number> {
  const hashes = ['userId:vic-t', 'anonymousId:vic-phone'].map((k) => letterIndexHash(k, config.salt));
  return (await stores.deadLetters.carrying(hashes, 1_000_000)).length;
}

describe('an erasure of a person a write-key holder aimed thousands of refused messages at', () => {
  it('removes her profile, links and events in its first call, then at most MAX_LETTERS_PER_ERASURE of her letters, and says letters remain', async () => {
    const stores = new MemoryStores();
    const vicId = await vic(stores);
    expect(await send(stores, [...aimedAtHer(MAX_LETTERS_PER_ERASURE + 500), ...others(20)])).toBe(MAX_LETTERS_PER_ERASURE + 520);

    const first = await erasePerson(stores, vicId, config.salt, NOW);
    expect(first).toMatchObject({ erasedProfileId: vicId, alreadyErased: false, deadLettersRemaining: true });
    expect(first.removed).toMatchObject({ profiles: 1, events: 2, deadLetters: MAX_LETTERS_PER_ERASURE });
    expect(first.removed.identifierLinks).toBeGreaterThanOrEqual(3);
    // Everything but letters is gone already.
    expect(stores.profileItems.has(vicId)).toBe(false);
    expect([...stores.owners.values()]).not.toContain(vicId);
    expect([...stores.eventItems.values()].filter((e) => e.profileId === vicId)).toEqual([]);
    expect(await lettersOfHers(stores)).toBe(501);
    // What the record keeps to go on: salted hashes, never her identifiers.
    const record = JSON.stringify(stores.erasures.get(vicId));
    expect(record).toContain(letterIndexHash('userId:vic-t', config.salt));
    for (const clear of ['vic-t', 'vic-phone', 'vic.tor']) expect(record).not.toContain(clear);
  });

  it('goes on when erased again: the rest of her letters are removed, everyone else\'s stay', async () => {
    const stores = new MemoryStores();
    const vicId = await vic(stores);
    await send(stores, [...aimedAtHer(MAX_LETTERS_PER_ERASURE + 500), ...others(20)]);
    expect((await erasePerson(stores, vicId, config.salt, NOW)).deadLettersRemaining).toBe(true);

    const second = await erasePerson(stores, vicId, config.salt, NOW);
    expect(second).toMatchObject({ erasedProfileId: vicId, alreadyErased: true, deadLettersRemaining: false });
    expect(second.removed.deadLetters).toBe(501);
    expect(await lettersOfHers(stores)).toBe(0);
    expect(stores.letters.size).toBe(20);
    expect([...stores.letters.values()].every((l) => l.data.includes('other-'))).toBe(true);
    // Nothing left to do: a third call removes nothing and says so.
    expect(await erasePerson(stores, vicId, config.salt, NOW)).toMatchObject({ alreadyErased: true, deadLettersRemaining: false, removed: { deadLetters: 0 } });
  });

  it('costs the same store calls whatever the number of letters aimed at her', async () => {
    const costOfFirstCall = async (planted: number) => {
      const stores = new MemoryStores();
      const vicId = await vic(stores);
      await send(stores, aimedAtHer(planted));
      const before = { ...stores.counts };
      const result = await erasePerson(stores, vicId, config.salt, NOW);
      return { deadLetters: result.removed.deadLetters, reads: stores.counts.reads - before.reads, writes: stores.counts.writes - before.writes, itemWrites: stores.counts.itemWrites - before.itemWrites };
    };
    const few = await costOfFirstCall(MAX_LETTERS_PER_ERASURE + 500);
    const many = await costOfFirstCall(3 * MAX_LETTERS_PER_ERASURE);
    expect(many).toEqual(few);
    expect(few.deadLetters).toBe(MAX_LETTERS_PER_ERASURE);
  });
});
