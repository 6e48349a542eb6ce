import fc from 'fast-check';
import defaults from '../../config/aggregates.json';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch, type IngestConfig, type StreamRecord } from '../../lib/ingest/pipeline';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';
import type { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { FaultyStores, WRITE_KINDS, type Fault } from '../support/faults';

/**
 * Exactly-once folding (issue #13, defect 1): every record is folded exactly once into whichever
 * profile it resolves to, whatever fails, retries or merges in between. A test-only aggregate counts
 * each messageId per profile, so a loss (0) and a double count (2) are both visible per event.
 */
const aggregates = loadAggregates({ ...defaults, aggregates: [...defaults.aggregates, { name: 'perMessage', op: 'topk', field: 'messageId', size: 50 }] });
const config = (): IngestConfig => ({ ...ingestConfig(), aggregates, profileRules: loadProfileRules(aggregates) });

/** How often each messageId was folded, summed over live profiles. */
function foldCounts(stores: MemoryStores): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of stores.profileItems.values()) {
    if (p.mergedInto !== undefined) continue;
    for (const [id, n] of Object.entries((p.aggregates.perMessage ?? {}) as Record<string, number>)) counts.set(id, (counts.get(id) ?? 0) + n);
  }
  return counts;
}

const throttleProfileOf = (faulty: FaultyStores, profileId: string, times = 1) => {
  const put = faulty.stores.profiles.put;
  let left = times;
  faulty.stores.profiles.put = async (p, v) => {
    if (p.profileId === profileId && p.mergedInto === undefined && left-- > 0) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    return put(p, v);
  };
};

describe('a retried record after a merge (defect 1)', () => {
  const order = (anonymousId: string, messageId: string) =>
    segmentEvent({ anonymousId, event: 'Order Completed', messageId, properties: { total: 120 }, timestamp: '2026-11-20T10:00:00.000Z' });
  const view = (anonymousId: string, messageId: string) => segmentEvent({ anonymousId, messageId, timestamp: '2026-11-20T10:01:00.000Z' });
  const alias = (messageId: string) =>
    segmentEvent({ type: 'alias', userId: 'cust-ab', anonymousId: 'visitor-b', previousId: 'visitor-a', messageId, event: undefined, timestamp: '2026-11-20T10:02:00.000Z' });

  async function knownVisitors(faulty: FaultyStores, seq: SequenceFactory, shardId?: string) {
    const first = await ingestBatch([toRecord(view('visitor-a', 'a-0'), seq.take(), shardId), toRecord(view('visitor-b', 'b-0'), seq.take(), shardId)], faulty.stores, config());
    expect(first.failedSequenceNumbers).toEqual([]);
  }

  it('folds A\'s order once when the retry merges A and B (one shard)', async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    await knownVisitors(faulty, seq);
    const r1 = toRecord(order('visitor-a', 'order-1'), seq.take());
    const r2 = toRecord(view('visitor-b', 'b-1'), seq.take());
    throttleProfileOf(faulty, deriveProfileId('anonymousId:visitor-a'));
    const attempt = await ingestBatch([r1, r2], faulty.stores, config());
    expect(attempt.failedSequenceNumbers).toEqual([r1.sequenceNumber]);
    // The event source mapping retries from r1, with a record appended that merges A and B.
    const retry = await ingestBatch([r1, r2, toRecord(alias('alias-1'), seq.take())], faulty.stores, config());
    expect(retry.failedSequenceNumbers).toEqual([]);
    const counts = foldCounts(faulty.inner);
    expect(counts.get('order-1')).toBe(1);
    expect(counts.get('b-1')).toBe(1);
    const survivor = [...faulty.inner.profileItems.values()].find((p) => p.mergedInto === undefined && p.identities.userId?.[0] === 'cust-ab');
    expect(survivor?.aggregates.orderCount).toBe(1);
  });

  it('folds A\'s order once when the merge comes from another shard between the attempts', async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const other = new SequenceFactory();
    await knownVisitors(faulty, seq);
    const r1 = toRecord(order('visitor-a', 'order-1'), seq.take());
    const r2 = toRecord(view('visitor-b', 'b-1'), seq.take());
    throttleProfileOf(faulty, deriveProfileId('anonymousId:visitor-a'));
    const attempt = await ingestBatch([r1, r2], faulty.stores, config());
    expect(attempt.failedSequenceNumbers).toEqual([r1.sequenceNumber]);
    const merge = await ingestBatch([toRecord(alias('alias-1'), other.take(), 'shardId-000000000001')], faulty.stores, config());
    expect(merge.failedSequenceNumbers).toEqual([]);
    const retry = await ingestBatch([r1, r2], faulty.stores, config());
    expect(retry.failedSequenceNumbers).toEqual([]);
    expect(foldCounts(faulty.inner).get('order-1')).toBe(1);
    expect(foldCounts(faulty.inner).get('b-1')).toBe(1);
  });
});

describe('a merge whose survivor write failed (found by the property below)', () => {
  it('keeps the merged visitor\'s history when the survivor was new and only its tombstone was written', async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    await ingestBatch([toRecord(segmentEvent({ anonymousId: 'visitor-c', messageId: 'c-0', timestamp: '2026-11-20T09:00:00.000Z' }), seq.take())], faulty.stores, config());
    // The customer's profile is new in this batch (a server-side event), then she logs in on the visitor's
    // device: the visitor's profile becomes a tombstone of the new one.
    const batch = [
      toRecord(segmentEvent({ userId: 'cust-c', messageId: 'server-c', timestamp: '2026-11-20T09:04:00.000Z' }), seq.take()),
      toRecord(segmentEvent({ type: 'identify', userId: 'cust-c', anonymousId: 'visitor-c', messageId: 'login-c', event: undefined, timestamp: '2026-11-20T09:05:00.000Z' }), seq.take()),
    ];
    throttleProfileOf(faulty, deriveProfileId('userId:cust-c'));
    const attempt = await ingestBatch(batch, faulty.stores, config());
    expect(attempt.failedSequenceNumbers).toEqual([batch[0]!.sequenceNumber]);
    expect(faulty.inner.profileItems.get(deriveProfileId('anonymousId:visitor-c'))?.mergedInto).toBe(deriveProfileId('userId:cust-c'));
    expect(faulty.inner.profileItems.has(deriveProfileId('userId:cust-c'))).toBe(false);
    const retry = await ingestBatch(batch, faulty.stores, config());
    expect(retry.failedSequenceNumbers).toEqual([]);
    const customer = faulty.inner.profileItems.get(deriveProfileId('userId:cust-c'));
    expect(customer?.aggregates.eventCount).toBe(3);
    expect(foldCounts(faulty.inner).get('c-0')).toBe(1);
  });
});

// ---- Property: any faults, any retries, merges in between, one or two shards -------------------

const PEOPLE = 2;
const eventSpec = fc.record({
  person: fc.integer({ min: 0, max: PEOPLE - 1 }),
  anon: fc.integer({ min: 0, max: 1 }),
  other: fc.integer({ min: 0, max: 1 }),
  kind: fc.constantFrom('view', 'view', 'order', 'order', 'login', 'device', 'alias', 'alias', 'feedback'),
});
type EventSpec = ReturnType<typeof eventSpec.generate>['value'];

function toEvents(specs: EventSpec[]): Array<{ anonymousId: string; event: Record<string, unknown> }> {
  return specs.map((s, i) => {
    const anonymousId = `a${s.person}-${s.anon}`;
    const timestamp = new Date(Date.UTC(2026, 10, 20, 8) + i * 60_000).toISOString();
    const base = { messageId: `e${i}`, anonymousId, timestamp };
    switch (s.kind) {
      case 'order':
        return { anonymousId, event: segmentEvent({ ...base, event: 'Order Completed', properties: { total: 10 + i, products: [{ product_id: `p${i % 4}` }] } }) };
      case 'login':
        return { anonymousId, event: segmentEvent({ ...base, type: 'identify', userId: `u${s.person}`, event: undefined }) };
      case 'device':
        return { anonymousId, event: segmentEvent({ ...base, context: { device: { id: `d${s.person}` } } }) };
      case 'alias':
        return { anonymousId, event: segmentEvent({ ...base, type: 'alias', userId: `u${s.person}`, previousId: `a${s.person}-${s.other}`, event: undefined }) };
      case 'feedback':
        return { anonymousId, event: segmentEvent({ ...base, event: 'Promotion Viewed', properties: { decision_id: `d-${i}`, promotion_id: 'garden-season', variant: 'personalised' } }) };
      default:
        return { anonymousId, event: segmentEvent({ ...base, properties: { product_id: `p${i % 4}`, category: `c${s.person}` } }) };
    }
  });
}

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Fault>({ kind: 'none' }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('throttle' as const), on: fc.constant('profile' as const), nth: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('throttle' as const), on: fc.constantFrom(...WRITE_KINDS), nth: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), writes: fc.integer({ min: 0, max: 12 }) }) },
);

/**
 * The event source mapping, per shard: a batch from the checkpoint; after batch item failures, the
 * next batch starts at the lowest reported record (and may carry more records than before); after
 * a crash, the same batch again. Shards take turns as the schedule says, so merges made on one shard
 * land between the attempts of another.
 */
async function runMapping(faulty: FaultyStores, shards: StreamRecord[][], schedule: Array<{ shard: number; size: number; fault: Fault }>): Promise<void> {
  const checkpoints = shards.map(() => 0);
  const step = async (shard: number, size: number, fault: Fault) => {
    const records = shards[shard] as StreamRecord[];
    const from = checkpoints[shard] as number;
    if (from >= records.length) return;
    const batch = records.slice(from, from + size);
    faulty.arm(fault);
    const result = await ingestBatch(batch, faulty.stores, config());
    if (faulty.crashed) return;
    const failed = result.failedSequenceNumbers.map((s) => records.findIndex((r) => r.sequenceNumber === s));
    expect(failed.every((i) => i >= from && i < from + batch.length)).toBe(true);
    checkpoints[shard] = failed.length > 0 ? Math.min(...failed) : from + batch.length;
  };
  for (const s of schedule) await step(s.shard % shards.length, s.size, s.fault);
  for (let guard = 0; checkpoints.some((c, i) => c < (shards[i] as StreamRecord[]).length); guard++) {
    if (guard > 500) throw new Error('the mapping did not drain');
    for (let i = 0; i < shards.length; i++) await step(i, 7, { kind: 'none' });
  }
}

describe('exactly-once folding under faults, retries and merges (property)', () => {
  it.each([1, 2])('counts every event exactly once on %i shard(s)', async (shardCount) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventSpec, { minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ shard: fc.nat(), size: fc.integer({ min: 1, max: 9 }), fault: faultArb }), { maxLength: 40 }),
        fc.array(fc.nat(shardCount - 1), { minLength: PEOPLE * 2, maxLength: PEOPLE * 2 }),
        async (specs, schedule, shardOf) => {
          const events = toEvents(specs);
          const seqs = Array.from({ length: shardCount }, () => new SequenceFactory());
          const shards: StreamRecord[][] = Array.from({ length: shardCount }, () => []);
          for (const { anonymousId, event } of events) {
            // Records are partitioned by anonymousId, as the collector does; which ids share a shard varies.
            const [person, anon] = anonymousId.slice(1).split('-').map(Number) as [number, number];
            const shard = shardOf[person * 2 + anon] as number;
            (shards[shard] as StreamRecord[]).push(toRecord(event, (seqs[shard] as SequenceFactory).take(), `shardId-00000000000${shard}`));
          }
          const faulty = new FaultyStores();
          await runMapping(faulty, shards, schedule);
          const counts = foldCounts(faulty.inner);
          for (const { event } of events) expect([event.messageId, counts.get(event.messageId as string) ?? 0]).toEqual([event.messageId, 1]);
          expect(faulty.inner.eventItems.size).toBe(events.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
