import { loadCatalog } from '../../lib/decision/catalog';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { lookupIdentity, readProfile } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { config } from '../support/exactly-once';

/** Every reader follows tombstone chains as deep as the ingest (found in the second review: the decision API followed 4, the read API 16). */

/** Visitors a0..an, each older than the one before; each merges into the next: a0's link leads to a chain of n tombstones. */
async function chainOf(n: number): Promise<{ stores: MemoryStores; root: string }> {
  const stores = new MemoryStores();
  const seq = new SequenceFactory();
  const ok = async (event: Record<string, unknown>) => expect((await ingestBatch([toRecord(event, seq.take())], stores, config())).failedSequenceNumbers).toEqual([]);
  const base = Date.UTC(2026, 10, 20, 0);
  for (let i = 0; i <= n; i++) await ok(segmentEvent({ anonymousId: `a${i}`, context: { device: { id: `dev${i}` } }, messageId: `create-${i}`, timestamp: new Date(base - i * 3_600_000).toISOString() }));
  for (let i = 0; i < n; i++) await ok(segmentEvent({ anonymousId: `a${i}`, context: { device: { id: `dev${i + 1}` } }, messageId: `merge-${i}`, timestamp: new Date(base + 3_600_000).toISOString() }));
  const live = [...stores.profileItems.values()].filter((p) => p.mergedInto === undefined);
  expect(live).toHaveLength(1);
  return { stores, root: live[0]!.profileId };
}

it("decides for the visitor's live profile when her cookie's link leads through 5 tombstones (the ingest follows 64)", async () => {
  const { stores, root } = await chainOf(5);
  const request = parseDecisionRequest(JSON.stringify({ identity: { namespace: 'anonymousId', value: 'a0' }, placement: 'home', context: { timestamp: '2026-11-21T12:00:00Z' } }));
  const decision = await answerDecision(request, { stores, config: config(), catalog: loadCatalog(), salt: 'test-salt' });
  expect({ profileId: decision.profileId, isTombstone: stores.profileItems.get(decision.profileId ?? '')?.mergedInto !== undefined }).toEqual({ profileId: root, isTombstone: false });
});

it("answers the read API for the visitor's cookie when its link leads through 17 tombstones (the ingest follows 64)", async () => {
  const { stores, root } = await chainOf(17);
  const found = await lookupIdentity(stores, 'anonymousId', 'a0', 'test-salt').catch((e: Error) => ({ error: e.message }));
  expect(found).toEqual({ profileId: root });
  const first = stores.owners.get('anonymousId:a0') as string;
  const view = await readProfile(stores, first, config()).then((v) => ({ profileId: v.profileId })).catch((e: Error) => ({ error: e.message }));
  expect(view).toEqual({ profileId: root });
});
