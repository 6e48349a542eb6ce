import { collect, type Privacy } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { defaultEventPolicy } from '../../lib/events/policy';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { erasePerson } from '../../lib/privacy/erase';
import { exportPerson } from '../../lib/privacy/export';
import * as letters from '../../lib/privacy/letters';
import { MemoryStores } from '../../lib/store/memory';
import type { DeadLetterStore, Stores } from '../../lib/store/ports';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * A person's dead letters are found through an index on the salted hashes of the identifiers they
 * carry, never by reading the whole dead-letter table: anyone with the public write key can fill that
 * table (2,500 letters a request, kept 14 days), and nobody may slow down another person's export or
 * erasure that way. The door is the collector (what a write-key holder reaches) and the ingest.
 */
const config = ingestConfig();
const seq = new SequenceFactory();
const privacy: Privacy = { salt: config.salt, personalData: defaultEventPolicy().personalData };
const NOW = new Date('2026-11-30T12:00:00Z');
const received = new Date('2026-11-20T10:00:00Z');

/** The collector with the write key: a batch, its invalid messages dead-lettered. */
async function sendBatch(stores: Stores, batch: Array<Record<string, unknown>>): Promise<number> {
  const result = await collect(parseRequest('batch', JSON.stringify({ batch })), received, { stream: { putRecords: async () => [] }, deadLetters: stores.deadLetters }, privacy);
  return result.rejected.length;
}

/** Nora, known by her userId, her phone's anonymousId and her e-mail address. */
async function nora(stores: MemoryStores): Promise<string> {
  const identify = segmentEvent({ type: 'identify', userId: 'nora-5', anonymousId: 'nora-phone', traits: { email: 'nora.quist@example.com' }, timestamp: '2026-11-19T09:00:00Z' });
  expect((await ingestBatch([toRecord(identify, seq.take())], stores, config)).failedSequenceNumbers).toEqual([]);
  return stores.owners.get('userId:nora-5') as string;
}

/** Her three refused messages: a track without its event name by her userId, one from her phone, an identify naming only her address. */
const hers = [
  { type: 'track', userId: 'nora-5', properties: { product_id: 'lamp-1' } },
  { type: 'track', anonymousId: 'nora-phone', properties: {} },
  { type: 'identify', traits: { email: 'Nora.Quist@example.com' } },
];
/** Someone else's refused messages, each naming its own sender. */
const others = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ type: 'track', userId: `other-${from + i}`, anonymousId: `other-device-${from + i}`, properties: {} }));

/** The dead-letter store, recording each call and how many letters it handed back; a scan is refused. */
function watched(inner: DeadLetterStore) {
  const calls: Array<{ method: string; letters: number }> = [];
  const store = new Proxy(inner, {
    get(target, method: string) {
      const value = (target as unknown as Record<string, unknown>)[method];
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (method === 'scan') throw new Error('the dead-letter table was scanned');
        const out = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        const handed = Array.isArray(out) ? out.length : ((out as { letters?: unknown[] } | undefined)?.letters?.length ?? 0);
        calls.push({ method, letters: handed });
        return out;
      };
    },
  });
  return { store, calls };
}

describe('a person\'s dead letters', () => {
  it('are found and removed through the index on her identifiers among thousands of letters a write-key holder sent, and the table is never scanned', async () => {
    const stores = new MemoryStores();
    const noraId = await nora(stores);
    expect(await sendBatch(stores, [...others(1_200), hers[0] as Record<string, unknown>, ...others(1_200, 1_200)])).toBe(2_401);
    expect(await sendBatch(stores, [...others(2_000, 2_400), ...hers.slice(1)])).toBe(2_002);
    expect(stores.letters.size).toBe(4_403);

    const { store, calls } = watched(stores.deadLetters);
    const observed: Stores = { ...stores, deadLetters: store };
    const exported = await exportPerson(observed, noraId, config.salt, NOW);
    expect(exported.deadLetters.map((l) => l.data)).toHaveLength(3);
    expect(JSON.stringify(exported.deadLetters)).toContain('lamp-1');
    expect(JSON.stringify(exported.deadLetters)).toContain('nora-phone');
    expect(JSON.stringify(exported.deadLetters)).not.toContain('other-');

    const erased = await erasePerson(observed, noraId, config.salt, NOW);
    expect(erased.removed.deadLetters).toBe(3);
    expect(stores.letters.size).toBe(4_400);
    expect([...stores.letters.values()].every((l) => l.data.includes('other-'))).toBe(true);

    // Never a scan, and every letter handed to the search is one of hers.
    expect(calls.map((c) => c.method)).not.toContain('scan');
    const reads = calls.filter((c) => c.method !== 'remove');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.reduce((n, c) => n + c.letters, 0)).toBeLessThanOrEqual(2 * hers.length);
  });

  it('are found when the ingest refused them (base64 of the record), and removing a letter removes its index entries', async () => {
    const stores = new MemoryStores();
    const noraId = await nora(stores);
    const refused = [{ type: 'track', userId: 'nora-5', messageId: 'bad-1' }, { type: 'track', userId: 'olaf-2', messageId: 'bad-2' }].map((e) => toRecord({ ...e, timestamp: '2026-11-20T10:00:00Z', receivedAt: '2026-11-20T10:00:00Z' }, seq.take()));
    expect((await ingestBatch(refused, stores, config)).stats.deadLettered).toBe(2);
    const { store, calls } = watched(stores.deadLetters);
    const observed: Stores = { ...stores, deadLetters: store };
    expect((await exportPerson(observed, noraId, config.salt, NOW)).deadLetters).toHaveLength(1);
    expect((await erasePerson(observed, noraId, config.salt, NOW)).removed.deadLetters).toBe(1);
    expect(calls.map((c) => c.method)).not.toContain('scan');
    // Olaf's letter and its entries stay; none of hers.
    expect(stores.letters.size).toBe(1);
    expect(await stores.deadLetters.carrying([letters.letterIndexHash('userId:nora-5', config.salt)], 10)).toEqual([]);
    expect(await stores.deadLetters.carrying([letters.letterIndexHash('userId:olaf-2', config.salt)], 10)).toHaveLength(1);
  });

  it('planted by the thousand under her userId are shown up to a bound (the export says it is truncated) and all removed by her erasure', async () => {
    const stores = new MemoryStores();
    const noraId = await nora(stores);
    const planted = Array.from({ length: letters.MAX_PERSON_LETTERS + 500 }, (_, i) => ({ type: 'track', userId: 'nora-5', properties: { n: i } }));
    expect(await sendBatch(stores, planted)).toBe(planted.length);
    const exported = await exportPerson(stores, noraId, config.salt, NOW);
    expect(exported.deadLetters).toHaveLength(letters.MAX_PERSON_LETTERS);
    expect(exported.truncated).toBe(true);
    const erased = await erasePerson(stores, noraId, config.salt, NOW);
    expect(erased.removed.deadLetters).toBe(planted.length);
    expect(stores.letters.size).toBe(0);
  });
});

describe('a letter\'s index entries', () => {
  it('are salted hashes of the identifier keys it carries, never the identifiers', () => {
    const letter = letters.indexedLetter({ id: 'collect#1', reason: 'r', source: 'collect', at: NOW.toISOString(), data: JSON.stringify({ userId: 'nora-5', anonymousId: 'nora-phone' }) }, config.salt);
    expect(letter.identifierHashes.sort()).toEqual(['userId:nora-5', 'anonymousId:nora-phone'].map((k) => letters.letterIndexHash(k, config.salt)).sort());
    expect(letter.identifierHashes.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
    expect(letters.letterIndexHash('userId:nora-5', config.salt)).not.toBe(letters.letterIndexHash('userId:nora-5', 'another-salt'));
  });

  it('are at most 10 for a letter carrying more identifiers: its own sender\'s fields come first, nested ones after', () => {
    const nestedIds = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, { userId: `planted-${i}` }]));
    const data = JSON.stringify({ properties: nestedIds, userId: 'nora-5', anonymousId: 'nora-phone', context: { device: { id: 'nora-device' } } });
    const letter = letters.indexedLetter({ id: 'collect#2', reason: 'r', source: 'collect', at: NOW.toISOString(), data }, config.salt);
    expect(letters.MAX_LETTER_IDENTIFIERS).toBe(10);
    expect(letter.identifierHashes).toHaveLength(10);
    for (const key of ['userId:nora-5', 'anonymousId:nora-phone', 'deviceId:nora-device']) expect(letter.identifierHashes).toContain(letters.letterIndexHash(key, config.salt));
  });

  it('are one for a hashed e-mail address, found by her e-mail key', () => {
    const hex = 'ab'.repeat(32);
    const letter = letters.indexedLetter({ id: 'collect#3', reason: 'r', source: 'collect', at: NOW.toISOString(), data: JSON.stringify({ traits: { email: `sha256:${hex}` } }) }, config.salt);
    expect(letter.identifierHashes).toEqual([letters.letterIndexHash(`email:${hex}`, config.salt)]);
  });
});
