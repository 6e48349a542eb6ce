import defaults from '../../config/aggregates.json';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch, type IngestConfig } from '../../lib/ingest/pipeline';
import { loadAggregates } from '../../lib/profile/aggregates';
import { advanceMark, MAX_APPLIED, type ShardMarks } from '../../lib/profile/marks';
import { loadProfileRules } from '../../lib/profile/segments';
import type { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { FaultyStores } from '../support/faults';

/** Same instrumentation as test/unit/exactly-once.property.test.ts: how often each messageId was folded. */
const aggregates = loadAggregates({ ...defaults, aggregates: [...defaults.aggregates, { name: 'perMessage', op: 'topk', field: 'messageId', size: 50 }] });
const config = (overrides: Partial<IngestConfig> = {}): IngestConfig => ({ ...ingestConfig(), aggregates, profileRules: loadProfileRules(aggregates), ...overrides });

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

const S0 = 'shardId-000000000000';
const S1 = 'shardId-000000000001';

describe('review: exactly-once under shared-device moves', () => {
  it('folds an anonymous order once when the batch is retried after its device moved to another customer (events table write throttled after the profile writes, as a crash there does)', async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    // Customer u1 logs in on the family tablet.
    const login1 = segmentEvent({ type: 'identify', userId: 'u1', anonymousId: 'tablet', messageId: 'login-1', event: undefined, timestamp: '2026-11-20T09:00:00.000Z' });
    expect((await ingestBatch([toRecord(login1, seq.take())], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Then, in one batch: an anonymous order on the tablet (u1's), and u2 logs in on it (the tablet moves to u2).
    const order = toRecord(segmentEvent({ anonymousId: 'tablet', event: 'Order Completed', messageId: 'order-1', properties: { total: 50 }, timestamp: '2026-11-20T09:01:00.000Z' }), seq.take());
    const login2 = toRecord(segmentEvent({ type: 'identify', userId: 'u2', anonymousId: 'tablet', messageId: 'login-2', event: undefined, timestamp: '2026-11-20T09:02:00.000Z' }), seq.take());
    // The function dies after its profile and identifier writes, before the events table write (e.g. a timeout).
    faulty.arm({ kind: 'throttle', on: 'events', nth: 1 });
    const attempt = await ingestBatch([order, login2], faulty.stores, config());
    expect(attempt.failedSequenceNumbers.length).toBeGreaterThan(0);
    expect(faulty.inner.profileItems.get(deriveProfileId('userId:u1'))?.aggregates.orderCount).toBe(1);
    // The mapping retries from the first reported record.
    faulty.arm({ kind: 'none' });
    const retry = await ingestBatch([order, login2], faulty.stores, config());
    expect(retry.failedSequenceNumbers).toEqual([]);
    const u1 = faulty.inner.profileItems.get(deriveProfileId('userId:u1'));
    const u2 = faulty.inner.profileItems.get(deriveProfileId('userId:u2'));
    expect({ order: foldCounts(faulty.inner).get('order-1'), u1Orders: u1?.aggregates.orderCount ?? 0, u2Orders: u2?.aggregates.orderCount ?? 0 }).toEqual({
      order: 1,
      u1Orders: 1,
      u2Orders: 0,
    });
  });
});

describe('review: exactly-once for producer retries', () => {
  it('folds a message once when its producer retry (same messageId) is on another shard and the first copy\'s events write failed after its profile write', async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const event = segmentEvent({ anonymousId: 'visitor-x', event: 'Order Completed', messageId: 'order-x', properties: { total: 99 }, timestamp: '2026-11-20T09:01:00.000Z' });
    // First copy, shard 0: the profile is written, the events table write is throttled: the group is reported failed.
    faulty.arm({ kind: 'throttle', on: 'events', nth: 1 });
    const first = toRecord(event, s0.take(), S0);
    expect((await ingestBatch([first], faulty.stores, config())).failedSequenceNumbers).toEqual([first.sequenceNumber]);
    // The producer's retry of the same message, on shard 1, is processed before shard 0's retry.
    faulty.arm({ kind: 'none' });
    expect((await ingestBatch([toRecord(event, s1.take(), S1)], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Shard 0 retries its record.
    expect((await ingestBatch([first], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    const profile = faulty.inner.profileItems.get(deriveProfileId('anonymousId:visitor-x'));
    expect({ folded: foldCounts(faulty.inner).get('order-x'), orderCount: profile?.aggregates.orderCount, revenue: profile?.aggregates.revenue }).toEqual({ folded: 1, orderCount: 1, revenue: 99 });
  });
});

describe('review: processing marks bounded to MAX_APPLIED', () => {
  it('does not drop the applied records of a shard whose retry is still pending when the profile is written from other shards (cap of 512)', async () => {
    const faulty = new FaultyStores();
    const shards = Array.from({ length: 6 }, (_, i) => ({ id: `shardId-00000000000${i}`, seq: new SequenceFactory() }));
    let minute = 0;
    const at = () => new Date(Date.UTC(2026, 10, 21, 0, minute++));
    const views = (shard: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        toRecord(segmentEvent({ userId: 'busy', anonymousId: `dev-${shard}-${i}`, messageId: `v-${shard}-${i}`, timestamp: '2026-11-20T09:00:00.000Z' }), shards[shard]!.seq.take(), shards[shard]!.id),
      );
    // Shard 0: a batch of 100 (the mapping's batch size): another customer's record first, whose write fails,
    // then 99 of the busy customer's events, which are folded and written.
    const other = toRecord(segmentEvent({ userId: 'other', messageId: 'other-1', timestamp: '2026-11-20T09:00:00.000Z' }), shards[0]!.seq.take(), shards[0]!.id);
    const batch0 = [other, ...views(0, 99)];
    throttleProfileOf(faulty, deriveProfileId('userId:other'));
    // The events table write fails too (so messageIds cannot catch the redelivery; only the marks can).
    faulty.arm({ kind: 'throttle', on: 'events', nth: 1 });
    const attempt = await ingestBatch(batch0, faulty.stores, config({ now: at }));
    expect(attempt.failedSequenceNumbers).toContain(other.sequenceNumber);
    faulty.arm({ kind: 'none' });
    // Meanwhile shards 1..5 each deliver a batch of the busy customer's events (100 each).
    for (let s = 1; s < 6; s++) expect((await ingestBatch(views(s, 100), faulty.stores, config({ now: at }))).failedSequenceNumbers).toEqual([]);
    // Shard 0 retries from the failed record.
    expect((await ingestBatch(batch0, faulty.stores, config({ now: at }))).failedSequenceNumbers).toEqual([]);
    const busy = faulty.inner.profileItems.get(deriveProfileId('userId:busy'));
    expect(busy?.aggregates.eventCount).toBe(99 + 5 * 100);
  });

  it('keeps at most MAX_APPLIED records in all, whatever the number of shards (the documented bound)', () => {
    let marks: ShardMarks = {};
    for (let s = 0; s < 8; s++) {
      const seq = new SequenceFactory();
      const records = Array.from({ length: 100 }, () => seq.take());
      marks = advanceMark(marks, `shardId-00000000000${s}`, records[0]!, records, new Date(Date.UTC(2026, 10, 21, 0, s)));
    }
    const total = Object.values(marks).reduce((n, m) => n + m.applied.length, 0);
    expect(total).toBeLessThanOrEqual(MAX_APPLIED);
  });
});

describe('review: tombstone chains', () => {
  it("keeps folding a visitor's events when her identifier's tombstone chain is 17 merges deep (no group failing for good)", async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const ok = async (event: Record<string, unknown>) => expect((await ingestBatch([toRecord(event, seq.take())], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    const base = Date.UTC(2026, 10, 20, 0);
    // 18 visitors, each older than the one before (the older profile survives a merge).
    for (let i = 0; i <= 17; i++) await ok(segmentEvent({ anonymousId: `a${i}`, context: { device: { id: `dev${i}` } }, messageId: `create-${i}`, timestamp: new Date(base - i * 3_600_000).toISOString() }));
    // Each merges into the next, older one: a0's owner is the first tombstone of a chain of 17.
    for (let i = 0; i < 17; i++) await ok(segmentEvent({ anonymousId: `a${i}`, context: { device: { id: `dev${i + 1}` } }, messageId: `merge-${i}`, timestamp: new Date(base + 3_600_000).toISOString() }));
    const root = [...faulty.inner.profileItems.values()].filter((p) => p.mergedInto === undefined);
    expect(root).toHaveLength(1);
    // The visitor comes back on a0.
    const back = toRecord(segmentEvent({ anonymousId: 'a0', messageId: 'back', timestamp: new Date(base + 7_200_000).toISOString() }), seq.take());
    const again = await ingestBatch([back], faulty.stores, config());
    // The mapping retries the record: the same again.
    const retry = await ingestBatch([back], faulty.stores, config());
    expect({ failed: again.failedSequenceNumbers.length + retry.failedSequenceNumbers.length, errors: [...again.errors, ...retry.errors].map((e) => e.message), folded: foldCounts(faulty.inner).get('back') }).toEqual({ failed: 0, errors: [], folded: 1 });
  });
});

describe('review: offer statistics and producer retries', () => {
  it('counts an impression once when its producer retry is on another shard and the first copy\'s events write failed', async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const event = segmentEvent({ anonymousId: 'visitor-y', event: 'Promotion Viewed', messageId: 'imp-y', properties: { decision_id: 'd-1', promotion_id: 'garden-season', variant: 'personalised' }, timestamp: '2026-11-20T09:01:00.000Z' });
    const first = toRecord(event, s0.take(), S0);
    faulty.arm({ kind: 'throttle', on: 'events', nth: 1 });
    await ingestBatch([first], faulty.stores, config());
    faulty.arm({ kind: 'none' });
    await ingestBatch([toRecord(event, s1.take(), S1)], faulty.stores, config());
    await ingestBatch([first], faulty.stores, config());
    const [stats] = await faulty.inner.offerStats.range('garden-season', '2026-11-20', '2026-11-20');
    expect(stats?.counts).toEqual({ impressions_personalised: 1 });
  });
});

describe('review: a merge whose survivor write failed, when the merged identifier then moved', () => {
  it("keeps a visitor's history when she logs in (merge into u0, survivor write throttled) and a second customer logs in on her device in the same batch", async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const u0 = deriveProfileId('userId:u0');
    const ok = async (event: Record<string, unknown>) => expect((await ingestBatch([toRecord(event, seq.take())], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    await ok(segmentEvent({ userId: 'u0', messageId: 'u0-server', timestamp: '2026-11-20T08:00:00.000Z' }));
    await ok(segmentEvent({ anonymousId: 'tablet', messageId: 'visit', event: 'Order Completed', properties: { total: 40 }, timestamp: '2026-11-20T08:01:00.000Z' }));
    // u0 logs in on the tablet (the visitor's profile merges into u0's), then u1 logs in on it (the tablet moves to u1).
    const batch = [
      toRecord(segmentEvent({ type: 'identify', userId: 'u0', anonymousId: 'tablet', messageId: 'login-u0', event: undefined, timestamp: '2026-11-20T08:02:00.000Z' }), seq.take()),
      toRecord(segmentEvent({ type: 'identify', userId: 'u1', anonymousId: 'tablet', messageId: 'login-u1', event: undefined, timestamp: '2026-11-20T08:03:00.000Z' }), seq.take()),
    ];
    throttleProfileOf(faulty, u0);
    const attempt = await ingestBatch(batch, faulty.stores, config());
    expect(attempt.failedSequenceNumbers).toEqual([batch[0]!.sequenceNumber]);
    const retry = await ingestBatch(batch, faulty.stores, config());
    expect(retry.failedSequenceNumbers).toEqual([]);
    // The visitor's order (folded into the tombstone's state) must live on in a live profile.
    expect({ visit: foldCounts(faulty.inner).get('visit') ?? 0, u0Orders: faulty.inner.profileItems.get(u0)?.aggregates.orderCount ?? 0 }).toEqual({ visit: 1, u0Orders: 1 });
  });
});
