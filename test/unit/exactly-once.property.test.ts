import fc from 'fast-check';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { writeBatchAttributes } from '../../lib/profile/batch';
import { advanceMark, MARK_RETENTION_MS, MAX_APPLIED, type ShardMarks } from '../../lib/profile/marks';
import { segmentEvent, SequenceFactory, signedFeedback, toRecord } from '../support/factories';
import { config, foldCounts, S0, S1, throttleProfile } from '../support/exactly-once';
import { MemoryStores } from '../../lib/store/memory';
import { FaultyStores, interleaved, WRITE_KINDS, type Fault } from '../support/faults';

/**
 * Exactly-once folding (issue #13, defect 1): every record is folded exactly once into whichever
 * profile it resolves to, whatever fails, retries or merges in between. A test-only aggregate counts
 * each messageId per profile, so a loss (0) and a double count (2) are both visible per event.
 */
const throttleProfileOf = (faulty: FaultyStores, profileId: string, times = 1) => throttleProfile(faulty.stores, profileId, times);

describe('a retried record after a merge (defect 1)', () => {
  const order = (anonymousId: string, messageId: string) =>
    segmentEvent({ anonymousId, event: 'Order Completed', messageId, properties: { total: 120 }, timestamp: '2026-11-20T10:00:00.000Z' });
  const view = (anonymousId: string, messageId: string) => segmentEvent({ anonymousId, messageId, timestamp: '2026-11-20T10:01:00.000Z' });
  const alias = (messageId: string) =>
    segmentEvent({ type: 'alias', userId: 'cust-ab', anonymousId: 'visitor-b', previousId: 'visitor-a', messageId, event: undefined, timestamp: '2026-11-20T10:02:00.000Z' });

  /** Visitors A and B are known; then A's order r1 fails (A's write throttled) while B's view r2 is written. */
  async function ordersFailForA(faulty: FaultyStores, seq: SequenceFactory) {
    const first = await ingestBatch([toRecord(view('visitor-a', 'a-0'), seq.take()), toRecord(view('visitor-b', 'b-0'), seq.take())], faulty.stores, config());
    expect(first.failedSequenceNumbers).toEqual([]);
    const r1 = toRecord(order('visitor-a', 'order-1'), seq.take());
    const r2 = toRecord(view('visitor-b', 'b-1'), seq.take());
    throttleProfileOf(faulty, deriveProfileId('anonymousId:visitor-a'));
    const attempt = await ingestBatch([r1, r2], faulty.stores, config());
    expect(attempt.failedSequenceNumbers).toEqual([r1.sequenceNumber]);
    return { r1, r2 };
  }

  it('folds A\'s order once when the retry merges A and B (one shard)', async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const { r1, r2 } = await ordersFailForA(faulty, seq);
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
    const { r1, r2 } = await ordersFailForA(faulty, seq);
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

describe('a device that moves to another customer between two attempts', () => {
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

describe('a producer retry on another shard', () => {
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

describe('processing marks, bounded', () => {
  it('does not drop the applied records of a shard whose retry is still pending when the profile is written from other shards', async () => {
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

  it('keep at most MAX_APPLIED records in all, whatever the number of shards, the most recently written shards whole', () => {
    let marks: ShardMarks = {};
    const shards = Math.ceil(MAX_APPLIED / 100) + 3;
    for (let s = 0; s < shards; s++) {
      const seq = new SequenceFactory();
      const records = Array.from({ length: 100 }, () => seq.take());
      marks = advanceMark(marks, `shardId-${String(s).padStart(12, '0')}`, records[0]!, records, new Date(Date.UTC(2026, 10, 21, 0, s)));
    }
    const total = Object.values(marks).reduce((n, m) => n + m.applied.length, 0);
    expect(total).toBe(MAX_APPLIED);
    expect(marks[`shardId-${String(shards - 1).padStart(12, '0')}`]?.applied).toHaveLength(100);
    expect(marks['shardId-000000000000']?.applied ?? []).toHaveLength(0);
  });

  it('drop a shard\'s mark once it is older than the retention (its records can no longer come back)', () => {
    const seq = new SequenceFactory();
    const first = [seq.take()];
    let marks = advanceMark({}, 'shardId-old', first[0]!, first, new Date('2026-11-01T00:00:00Z'));
    const later = [seq.take()];
    marks = advanceMark(marks, 'shardId-new', later[0]!, later, new Date(Date.parse('2026-11-01T00:00:00Z') + MARK_RETENTION_MS + 1));
    expect(Object.keys(marks)).toEqual(['shardId-new']);
  });
});

describe('chains of tombstones', () => {
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

describe('offer statistics and a producer retry on another shard', () => {
  it('counts an impression once when its producer retry is on another shard and the first copy\'s events write failed', async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const event = signedFeedback(segmentEvent({ anonymousId: 'visitor-y', event: 'Promotion Viewed', messageId: 'imp-y', properties: { decision_id: 'd-1', promotion_id: 'garden-season', variant: 'personalised' }, timestamp: '2026-11-20T09:01:00.000Z' }));
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

describe('a merge whose survivor write failed, when the merged identifier then moved', () => {
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
    // u0's group fails; u1's, which moved the tablet out of it, is not written either.
    expect(attempt.failedSequenceNumbers).toEqual(batch.map((r) => r.sequenceNumber));
    const retry = await ingestBatch(batch, faulty.stores, config());
    expect(retry.failedSequenceNumbers).toEqual([]);
    // The visitor's order (folded into the tombstone's state) must live on in a live profile.
    expect({ visit: foldCounts(faulty.inner).get('visit') ?? 0, u0Orders: faulty.inner.profileItems.get(u0)?.aggregates.orderCount ?? 0 }).toEqual({ visit: 1, u0Orders: 1 });
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

/**
 * The events, with their partition key. `shared`: the people share their devices (a family tablet),
 * so a login by one customer moves a device from the other (DESIGN.md: it follows whoever logged in last).
 */
function toEvents(specs: EventSpec[], shared = false): Array<{ anonymousId: string; event: Record<string, unknown> }> {
  return specs.map((s, i) => {
    const anonymousId = shared ? `a${s.anon}` : `a${s.person}-${s.anon}`;
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
        return { anonymousId, event: signedFeedback(segmentEvent({ ...base, event: 'Promotion Viewed', properties: { decision_id: `d-${i}`, promotion_id: 'garden-season', variant: 'personalised' } })) };
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
async function runMapping(faulty: FaultyStores, shards: StreamRecord[][], schedule: Array<{ shard: number; size: number; fault: Fault; scores?: number }>): Promise<void> {
  const checkpoints = shards.map(() => 0);
  /** The nightly job writes a score on some profile between two attempts (another writer of its item). */
  const scores = async (pick: number) => {
    const ids = [...faulty.inner.profileItems.keys()].sort();
    const id = ids[pick % Math.max(ids.length, 1)];
    if (id !== undefined) await writeBatchAttributes(faulty.inner, id, { propensity: { value: pick / 100, asOf: `2026-11-2${pick % 10}T02:00:00.000Z` } }).catch(() => undefined);
  };
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
  for (const s of schedule) {
    await step(s.shard % shards.length, s.size, s.fault);
    if (s.scores !== undefined) await scores(s.scores);
  }
  for (let guard = 0; checkpoints.some((c, i) => c < (shards[i] as StreamRecord[]).length); guard++) {
    if (guard > 500) throw new Error('the mapping did not drain');
    for (let i = 0; i < shards.length; i++) await step(i, 7, { kind: 'none' });
  }
}

/** Events on their shards, run through the mapping under the faults of `schedule`; each event's fold count. */
async function foldUnderFaults(shardCount: number, shared: boolean, specs: EventSpec[], schedule: Array<{ shard: number; size: number; fault: Fault; scores?: number }>, shardOf: number[]) {
  const events = toEvents(specs, shared);
  const seqs = Array.from({ length: shardCount }, () => new SequenceFactory());
  const shards: StreamRecord[][] = Array.from({ length: shardCount }, () => []);
  for (const { anonymousId, event } of events) {
    // Records are partitioned by anonymousId, as the collector does; which ids share a shard varies.
    const [first, second] = anonymousId.slice(1).split('-').map(Number) as [number, number | undefined];
    const shard = shardOf[second === undefined ? first : first * 2 + second] as number;
    (shards[shard] as StreamRecord[]).push(toRecord(event, (seqs[shard] as SequenceFactory).take(), `shardId-00000000000${shard}`));
  }
  const faulty = new FaultyStores();
  await runMapping(faulty, shards, schedule);
  return { events, counts: foldCounts(faulty.inner), stored: faulty.inner.eventItems.size };
}

/**
 * How the fault property runs: 300 runs from a fixed seed, so a run of the suite is repeatable;
 * `EXACTLY_ONCE_SEED=random` (or another seed) explores further, as the interleaving property does.
 */
function faultRuns(): { numRuns: number; seed?: number } {
  const seed = process.env.EXACTLY_ONCE_SEED ?? '20261207';
  return { numRuns: Number(process.env.EXACTLY_ONCE_RUNS ?? 300), ...(seed === 'random' ? {} : { seed: Number(seed) }) };
}

describe('exactly-once folding under faults, retries and merges (property)', () => {
  it.each([
    [1, 'own devices', false],
    [2, 'own devices', false],
    [1, 'shared devices (moves)', true],
    [2, 'shared devices (moves)', true],
  ])('counts every event exactly once on %i shard(s), people with %s', async (shardCount, _devices, shared) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventSpec, { minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ shard: fc.nat(), size: fc.integer({ min: 1, max: 9 }), fault: faultArb, scores: fc.option(fc.nat(99), { nil: undefined }) }), { maxLength: 40 }),
        fc.array(fc.nat(shardCount - 1), { minLength: PEOPLE * 2, maxLength: PEOPLE * 2 }),
        async (specs, schedule, shardOf) => {
          const { events, counts, stored } = await foldUnderFaults(shardCount, shared, specs, schedule, shardOf);
          for (const { event } of events) expect([event.messageId, counts.get(event.messageId as string) ?? 0]).toEqual([event.messageId, 1]);
          expect(stored).toBe(events.length);
        },
      ),
      faultRuns(),
    );
  });

  /**
   * A known defect, found by the property above with a random seed (-2143796499) and present before
   * issue 21's work: a view, a login on another device, an alias back to the first device, another
   * customer's alias taking that device, and a crash after three writes of the first batch; the first
   * view is then counted twice. Marked failing so it is seen: when it is fixed, this test fails, and
   * it becomes an ordinary test.
   */
  it.failing('counts the first view once when a crash interrupts an alias that moves a shared device (known defect)', async () => {
    const specs = [
      { person: 0, anon: 0, other: 0, kind: 'view' },
      { person: 0, anon: 1, other: 0, kind: 'login' },
      { person: 0, anon: 0, other: 0, kind: 'alias' },
      { person: 1, anon: 0, other: 0, kind: 'alias' },
      { person: 0, anon: 0, other: 0, kind: 'view' },
    ] as EventSpec[];
    const schedule = [
      { shard: 0, size: 4, fault: { kind: 'crash', writes: 3 } },
      { shard: 0, size: 1, fault: { kind: 'throttle', on: 'profile', nth: 2 } },
    ] as Array<{ shard: number; size: number; fault: Fault }>;
    const { events, counts } = await foldUnderFaults(2, true, specs, schedule, [0, 0, 0, 0]);
    for (const { event } of events) expect([event.messageId, counts.get(event.messageId as string) ?? 0]).toEqual([event.messageId, 1]);
  });
});

// ---- Property: two shards' invocations at once, every store call interleaved ----------------------

/** A profile per customer: her userId in one live profile, which her link leads to; every device link leads to a live profile that lists it, and no other lists it. */
function oneProfilePerCustomer(stores: MemoryStores): string[] {
  const rootOf = (id: string | undefined): string | undefined => {
    let at = id;
    for (let hops = 0; at !== undefined && stores.profileItems.get(at)?.mergedInto !== undefined && hops < 64; hops++) at = stores.profileItems.get(at)?.mergedInto;
    return at;
  };
  const live = [...stores.profileItems.values()].filter((p) => p.mergedInto === undefined);
  const problems: string[] = [];
  for (const [key, owner] of stores.owners) {
    const [ns, value] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    const root = stores.profileItems.get(rootOf(owner) ?? '');
    if (root === undefined || root.mergedInto !== undefined) problems.push(`${key} leads to no live profile`);
    else if (!((root.identities as Record<string, string[] | undefined>)[ns] ?? []).includes(value)) problems.push(`${key} leads to ${root.profileId}, which does not list it`);
    const listing = live.filter((p) => ((p.identities as Record<string, string[] | undefined>)[ns] ?? []).includes(value)).map((p) => p.profileId);
    if (listing.length !== 1) problems.push(`${key} is listed by ${listing.length} live profiles`);
  }
  return problems;
}

/** How the interleaving property runs: 200 runs from a fixed seed, unless the environment asks otherwise. */
function interleavingRuns(): { numRuns: number; seed?: number } {
  const seed = process.env.INTERLEAVING_SEED ?? '20261130';
  return { numRuns: Number(process.env.INTERLEAVING_RUNS ?? 200), ...(seed === 'random' ? {} : { seed: Number(seed) }) };
}

describe('exactly-once folding and one profile per customer with two shards at once (property)', () => {
  it.each([
    ['own devices', false],
    ['shared devices (moves)', true],
  ])('counts every event once and keeps one profile per customer, people with %s, any interleaving of the two invocations', async (_devices, shared) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventSpec, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(1), { minLength: PEOPLE * 2, maxLength: PEOPLE * 2 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 2 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 30 }),
        fc.scheduler(),
        async (specs, shardOf, sizes, throttles, s) => {
          const events = toEvents(specs, shared);
          const seqs = [new SequenceFactory(), new SequenceFactory()];
          const shards: StreamRecord[][] = [[], []];
          for (const { anonymousId, event } of events) {
            const [first, second] = anonymousId.slice(1).split('-').map(Number) as [number, number | undefined];
            const shard = shardOf[second === undefined ? first : first * 2 + second] as number;
            (shards[shard] as StreamRecord[]).push(toRecord(event, (seqs[shard] as SequenceFactory).take(), `shardId-00000000000${shard}`));
          }
          const inner = new MemoryStores();
          // The first writes are throttled where the list says 0, or lose their answer where it says 1 (one in ten each), the later ones never.
          let nth = 0;
          const stores = interleaved(inner, (label) => s.schedule(Promise.resolve(label)).then(() => undefined), () => ({ 0: 'throttle' as const, 1: 'lost' as const })[throttles[nth++] ?? -1]);
          const drain = async (records: StreamRecord[], size: number) => {
            for (let from = 0, guard = 0; from < records.length; guard++) {
              if (guard > 200) throw new Error('the mapping did not drain');
              const batch = records.slice(from, from + size);
              const failed = (await ingestBatch(batch, stores, config())).failedSequenceNumbers.map((q) => records.findIndex((r) => r.sequenceNumber === q));
              from = failed.length > 0 ? Math.min(...failed) : from + batch.length;
            }
          };
          await s.waitFor(Promise.all(shards.map((records, i) => drain(records, sizes[i] as number))));
          const counts = foldCounts(inner);
          expect({
            notOnce: events.map((e) => e.event.messageId as string).filter((id) => counts.get(id) !== 1),
            stored: inner.eventItems.size,
            profiles: oneProfilePerCustomer(inner),
          }).toEqual({ notOnce: [], stored: events.length, profiles: [] });
        },
      ),
      // A fixed seed in CI, so a run is repeatable; INTERLEAVING_SEED=random (and INTERLEAVING_RUNS) explores
      // further (5,000 runs per case were clean when this was written).
      interleavingRuns(),
    );
  });
});
