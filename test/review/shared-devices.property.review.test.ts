import fc from 'fast-check';
import defaults from '../../config/aggregates.json';
import { ingestBatch, type IngestConfig, type StreamRecord } from '../../lib/ingest/pipeline';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';
import type { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { FaultyStores, WRITE_KINDS, type Fault } from '../support/faults';

/**
 * The exactly-once property of test/unit/exactly-once.property.test.ts, unchanged (same faults, same
 * mapping, same events), except that the two people share their devices: anonymousIds are not per
 * person, so logins of two customers on one device move it (DESIGN.md's shared family tablet). The
 * original generator never produces a move. Fixed seed, so the counterexample is reproducible.
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
    const anonymousId = `a${s.anon}`;
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

describe('review: exactly-once folding under faults, retries, merges and shared-device moves (property)', () => {
  it.each([1])('counts every event exactly once on %i shard(s) when customers share devices', async (shardCount) => {
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
            const shard = shardOf[Number(anonymousId.slice(1))] as number;
            (shards[shard] as StreamRecord[]).push(toRecord(event, (seqs[shard] as SequenceFactory).take(), `shardId-00000000000${shard}`));
          }
          const faulty = new FaultyStores();
          await runMapping(faulty, shards, schedule);
          const counts = foldCounts(faulty.inner);
          for (const { event } of events) expect([event.messageId, counts.get(event.messageId as string) ?? 0]).toEqual([event.messageId, 1]);
          expect(faulty.inner.eventItems.size).toBe(events.length);
        },
      ),
      { numRuns: 300, seed: 5 },
    );
  });
});
