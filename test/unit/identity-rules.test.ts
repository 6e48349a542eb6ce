import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { deriveProfileId } from '../../lib/identity/resolver';
import { viewAggregates } from '../../lib/profile/aggregates';
import { ConflictError } from '../../lib/store/ports';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

const idOf = (key: string) => deriveProfileId(key);

async function ingest(stores: MemoryStores, seq: SequenceFactory, events: Array<Record<string, unknown>>) {
  return ingestBatch(events.map((e) => toRecord(segmentEvent(e), seq.take())), stores, ingestConfig());
}

describe('deterministic identity rules', () => {
  it('identifiers arriving together join one profile, and the survivor is the authenticated one', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingest(stores, seq, [{ anonymousId: 'phone-1', timestamp: '2026-11-01T08:00:00.000Z' }]);
    await ingest(stores, seq, [{ anonymousId: 'laptop-1', context: { device: { id: 'mac-1' } }, timestamp: '2026-11-02T08:00:00.000Z' }]);
    await ingest(stores, seq, [{ type: 'identify', userId: 'u-ann', anonymousId: 'phone-1' }]);
    await ingest(stores, seq, [{ type: 'identify', userId: 'u-ann', anonymousId: 'laptop-1' }]);
    // The phone's profile took the userId at login, so it survives the laptop merge and keeps its id.
    const ann = stores.profileItems.get(stores.owners.get('userId:u-ann')!)!;
    expect(ann.profileId).toBe(idOf('anonymousId:phone-1'));
    expect(ann.identities).toEqual({ userId: ['u-ann'], deviceId: ['mac-1'], anonymousId: ['laptop-1', 'phone-1'] });
    // The laptop's profile was named after its most trustworthy identifier, the device id.
    expect(ann.members).toEqual([idOf('deviceId:mac-1')]);
    expect(stores.profileItems.get(idOf('deviceId:mac-1'))?.mergedInto).toBe(ann.profileId);
    expect(ann.mergeLog.map((m) => m.from).sort()).toEqual(ann.members);
    expect(viewAggregates(ann.aggregates)).toMatchObject({ eventCount: 4, firstSeen: '2026-11-01T08:00:00.000Z' });
  });

  it('never merges two userIds: a shared tablet follows whoever logged in last, history stays', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingest(stores, seq, [{ type: 'identify', userId: 'mum', anonymousId: 'family-tablet' }]);
    await ingest(stores, seq, [{ anonymousId: 'family-tablet', event: 'Order Completed', properties: { total: 30 } }]);
    const result = await ingest(stores, seq, [{ type: 'identify', userId: 'dad', anonymousId: 'family-tablet' }]);
    expect(result.stats).toMatchObject({ merges: 0, conflicts: 1, moves: 1 });
    await ingest(stores, seq, [{ anonymousId: 'family-tablet', event: 'Product Viewed' }]);

    const mum = stores.profileItems.get(idOf('userId:mum'))!;
    const dad = stores.profileItems.get(idOf('userId:dad'))!;
    expect(mum.identities).toEqual({ userId: ['mum'] });
    expect(dad.identities).toEqual({ userId: ['dad'], anonymousId: ['family-tablet'] });
    expect(viewAggregates(mum.aggregates)).toMatchObject({ eventCount: 2, orderCount: 1, revenue: 30 });
    expect(viewAggregates(dad.aggregates)).toMatchObject({ eventCount: 2, productViews: 1 });
    expect(stores.owners.get('anonymousId:family-tablet')).toBe(dad.profileId);
  });

  it('stops linking past a namespace limit (bots, kiosks) and counts it', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const events = Array.from({ length: 55 }, (_, i) => ({ userId: 'bot-user', anonymousId: `cookie-${i}` }));
    const result = await ingest(stores, seq, events);
    const bot = stores.profileItems.get(idOf('userId:bot-user'))!;
    expect(bot.identities.anonymousId).toHaveLength(50);
    expect(result.stats.limitReached).toBe(5);
    expect(stores.owners.has('anonymousId:cookie-54')).toBe(false);
    expect(viewAggregates(bot.aggregates).eventCount).toBe(55);
  });

  it('refuses a merge that would exceed a limit', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingest(stores, seq, Array.from({ length: 30 }, (_, i) => ({ anonymousId: `a-${i}`, context: { device: { id: 'kiosk-1' } } })));
    await ingest(stores, seq, Array.from({ length: 30 }, (_, i) => ({ anonymousId: `b-${i}`, context: { device: { id: 'kiosk-2' } } })));
    const result = await ingest(stores, seq, [{ anonymousId: 'a-0', context: { device: { id: 'kiosk-2' } } }]);
    expect(result.stats.merges).toBe(0);
    expect(result.stats.limitReached).toBeGreaterThan(0);
    expect(stores.owners.get('deviceId:kiosk-1')).not.toBe(stores.owners.get('deviceId:kiosk-2'));
  });

  it.each(['null', 'undefined', 'anonymous', '0', '-1', '', '  '])('ignores the junk userId %j, so strangers stay apart', async (junk) => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingest(stores, seq, [
      { type: 'identify', userId: junk, anonymousId: 'stranger-1' },
      { type: 'identify', userId: junk, anonymousId: 'stranger-2' },
    ]);
    expect(stores.profileItems.size).toBe(2);
    expect([...stores.owners.keys()].sort()).toEqual(['anonymousId:stranger-1', 'anonymousId:stranger-2']);
  });

  it('links hashed e-mail across devices and never stores the address', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingest(stores, seq, [
      { type: 'identify', anonymousId: 'web-1', traits: { email: 'Ann@Example.com' } },
      { type: 'identify', anonymousId: 'app-1', context: { traits: { email: ' ann@example.com ' } } },
    ]);
    const live = [...stores.profileItems.values()].filter((p) => !p.mergedInto);
    expect(live).toHaveLength(1);
    expect(JSON.stringify([...stores.profileItems.values(), ...stores.owners.keys()])).not.toMatch(/example\.com/i);
  });

  it('gives the same profile ids when the same records are replayed into an empty store', async () => {
    const events = [{ anonymousId: 'x1' }, { type: 'identify', userId: 'u9', anonymousId: 'x1' }, { anonymousId: 'x2' }];
    const ids = async () => {
      const stores = new MemoryStores();
      await ingest(stores, new SequenceFactory(), events.map((e, i) => ({ ...e, messageId: `m${i}`, timestamp: '2026-11-01T00:00:00.000Z' })));
      return [...stores.profileItems.keys()].sort();
    };
    expect(await ids()).toEqual(await ids());
  });
});

/** Fails chosen writes once, as a throttled or conflicting DynamoDB write would. */
function failOnce(stores: MemoryStores, when: (profileId: string) => boolean): { failures: number } {
  const state = { failures: 0 };
  const put = stores.profiles.put;
  stores.profiles.put = async (profile, ...rest) => {
    if (state.failures === 0 && when(profile.profileId)) {
      state.failures += 1;
      throw new ConflictError('injected');
    }
    return put(profile, ...rest);
  };
  return state;
}

describe('partial failures', () => {
  it('reports the first record of the failed profile and the retry loses and double-counts nothing', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const records: StreamRecord[] = ['a', 'b', 'a', 'c', 'b', 'a'].map((who, i) =>
      toRecord(segmentEvent({ anonymousId: who, event: 'Order Completed', properties: { total: i + 1 } }), seq.take()),
    );
    failOnce(stores, (id) => id === idOf('anonymousId:b'));
    const first = await ingestBatch(records, stores, ingestConfig());
    expect(first.failedSequenceNumbers).toEqual([records[1]?.sequenceNumber]);

    // Lambda retries from the reported record onward.
    const retry = await ingestBatch(records.slice(1), stores, ingestConfig());
    expect(retry.failedSequenceNumbers).toEqual([]);
    const revenue = (who: string) => viewAggregates(stores.profileItems.get(idOf(`anonymousId:${who}`))!.aggregates).revenue;
    expect([revenue('a'), revenue('b'), revenue('c')]).toEqual([1 + 3 + 6, 2 + 5, 4]);
  });

  it('finishes a merge whose survivor write was lost after the tombstone was written', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingest(stores, seq, [{ anonymousId: 'anon-7', event: 'Order Completed', properties: { total: 10 } }]);
    await ingest(stores, seq, [{ type: 'identify', userId: 'u7' }]);
    failOnce(stores, (id) => id === idOf('userId:u7'));
    const login = [toRecord(segmentEvent({ type: 'identify', userId: 'u7', anonymousId: 'anon-7' }), seq.take())];
    const failed = await ingestBatch(login, stores, ingestConfig());
    expect(failed.failedSequenceNumbers).toHaveLength(1);
    expect(stores.profileItems.get(idOf('anonymousId:anon-7'))?.mergedInto).toBe(idOf('userId:u7'));

    await ingestBatch(login, stores, ingestConfig());
    const survivor = stores.profileItems.get(idOf('userId:u7'))!;
    expect(survivor.members).toEqual([idOf('anonymousId:anon-7')]);
    expect(viewAggregates(survivor.aggregates)).toMatchObject({ revenue: 10, eventCount: 3 });
  });
});

describe('recovery from half-written batches', () => {
  it('adopts an identifier whose link was written but whose profile write was lost, then merges it on login', async () => {
    // Prepare: an earlier attempt linked the tablet to its new profile, then lost the race on the userId.
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingest(stores, seq, [{ type: 'identify', userId: 'u-ann' }]);
    stores.owners.set('anonymousId:tablet-9', idOf('anonymousId:tablet-9'));
    // Act: the retry delivers the tablet's visit and login again.
    await ingest(stores, seq, [{ type: 'page', anonymousId: 'tablet-9' }, { type: 'identify', userId: 'u-ann', anonymousId: 'tablet-9' }]);
    // Assess
    const ann = stores.profileItems.get(idOf('userId:u-ann'))!;
    expect(ann.identities.anonymousId).toEqual(['tablet-9']);
    // The tablet's link leads to Ann's profile (through the tombstone of the profile it was linked to, if written).
    const owner = stores.owners.get('anonymousId:tablet-9') as string;
    expect(stores.profileItems.get(owner)?.mergedInto ?? owner).toBe(ann.profileId);
    expect(viewAggregates(ann.aggregates).eventCount).toBe(3);
  });
});
