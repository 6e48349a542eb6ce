import { loadCatalog } from '../../lib/decision/catalog';
import { OwnerCache } from '../../lib/decision/owner-cache';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

describe('the owner cache', () => {
  it('forgets entries after their time to live, and the oldest first when full', () => {
    let now = 0;
    const cache = new OwnerCache(1000, 2, () => now);
    cache.set('a', 'p1');
    cache.set('b', 'p2');
    now = 500;
    expect(cache.get('a')).toBe('p1');
    cache.set('c', 'p3');
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 'p2', 'p3']);
    now = 1200;
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe('p3');
  });
});

describe('a decision with the owner cache', () => {
  const catalog = loadCatalog();
  const seq = new SequenceFactory();
  const request = parseDecisionRequest(JSON.stringify({ identity: { namespace: 'anonymousId', value: 'phone-1' }, placement: 'home', context: { timestamp: '2026-12-01T12:00:00Z' } }));

  it('reads the profile only for a returning visitor, follows a merge that happened since, and asks the graph again when the profile is gone', async () => {
    const stores = new MemoryStores();
    const owners = new OwnerCache();
    const deps = { stores, config: ingestConfig(), catalog, salt: 'test-salt', owners };
    await ingestBatch([toRecord(segmentEvent({ anonymousId: 'phone-1', timestamp: '2026-12-01T10:00:00.000Z' }), seq.take())], stores, ingestConfig());
    const reads = async () => {
      const before = stores.counts.reads;
      const d = await answerDecision(request, deps);
      return { reads: stores.counts.reads - before, profileId: d.profileId };
    };
    const anonymous = deriveProfileId('anonymousId:phone-1');
    expect(await reads()).toEqual({ reads: 2, profileId: anonymous });
    expect(await reads()).toEqual({ reads: 1, profileId: anonymous });

    // She logs in: the phone's profile merges into her customer profile (a tombstone now).
    await ingestBatch([toRecord(segmentEvent({ userId: 'cust-7', timestamp: '2026-12-01T09:00:00.000Z' }), seq.take())], stores, ingestConfig());
    await ingestBatch([toRecord(segmentEvent({ type: 'identify', userId: 'cust-7', anonymousId: 'phone-1', timestamp: '2026-12-01T11:00:00.000Z' }), seq.take())], stores, ingestConfig());
    const survivor = deriveProfileId('userId:cust-7');
    expect(stores.profileItems.get(anonymous)?.mergedInto).toBe(survivor);
    expect(await reads()).toEqual({ reads: 2, profileId: survivor });
    expect(await reads()).toEqual({ reads: 1, profileId: survivor });

    // The profile is gone (for example erased): the cached owner is dropped and the graph asked.
    stores.profileItems.delete(survivor);
    stores.owners.delete('anonymousId:phone-1');
    expect(await reads()).toEqual({ reads: 2, profileId: null });
    expect(owners.size).toBe(0);
  });
});
