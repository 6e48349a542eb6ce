import fc from 'fast-check';
import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { foldAggregates, loadAggregates, mergeAggregates, type Aggregates } from '../../lib/profile/aggregates';
import type { CollectedEvent } from '../../lib/events/segment';
import { MemoryStores } from '../../lib/store/memory';
import type { Profile } from '../../lib/profile/profile';
import { ingestConfig, SequenceFactory, toRecord } from '../support/factories';

const defs = loadAggregates();
const EVENTS = ['Product Viewed', 'Product Added', 'Order Completed'];

/** A person owns some anonymous ids and devices and maybe one userId; events mix them. */
const personEvent = (people: number) =>
  fc.record({
    person: fc.integer({ min: 0, max: people - 1 }),
    anon: fc.integer({ min: 0, max: 2 }),
    withUser: fc.boolean(),
    withDevice: fc.boolean(),
    event: fc.constantFrom(...EVENTS),
    total: fc.integer({ min: 1, max: 50000 }).map((c) => c / 100),
    minute: fc.integer({ min: 0, max: 10_000 }),
  });

type Spec = ReturnType<typeof personEvent> extends fc.Arbitrary<infer T> ? T : never;

function toEvents(specs: Spec[]): CollectedEvent[] {
  return specs.map((s, i) => {
    const timestamp = new Date(Date.UTC(2026, 10, 1) + s.minute * 60_000).toISOString();
    return {
      type: 'track',
      event: s.event,
      messageId: `m${i}`,
      anonymousId: `anon-${s.person}-${s.anon}`,
      ...(s.withUser ? { userId: `user-${s.person}` } : {}),
      context: s.withDevice ? { device: { id: `dev-${s.person}` } } : {},
      properties: s.event === 'Order Completed' ? { total: s.total } : { category: `c${s.person % 3}` },
      timestamp,
      receivedAt: timestamp,
    } as CollectedEvent;
  });
}

function toRecords(events: CollectedEvent[], shards = 2): StreamRecord[] {
  const seqs = Array.from({ length: shards }, () => new SequenceFactory());
  return events.map((e) => {
    const shard = Number(e.anonymousId?.split('-')[1] ?? 0) % shards;
    return toRecord(e, (seqs[shard] as SequenceFactory).take(), `shardId-00000000000${shard}`);
  });
}

/** Splits records into per-shard batches of the given sizes, as the event source mapping does. */
function batches(records: StreamRecord[], sizes: number[]): StreamRecord[][] {
  const out: StreamRecord[][] = [];
  const byShard = new Map<string, StreamRecord[]>();
  for (const r of records) byShard.set(r.shardId, [...(byShard.get(r.shardId) ?? []), r]);
  let s = 0;
  for (const list of byShard.values()) {
    for (let i = 0; i < list.length; ) {
      const size = sizes[s++ % sizes.length] as number;
      out.push(list.slice(i, i + size));
      i += size;
    }
  }
  return out;
}

async function run(stores: MemoryStores, groups: StreamRecord[][]): Promise<void> {
  for (const b of groups) {
    const result = await ingestBatch(b, stores, ingestConfig());
    expect(result.failedSequenceNumbers).toEqual([]);
  }
}

/** The live profile an identifier leads to (its link may point at a tombstone of it). */
function liveOwner(stores: MemoryStores, owner: string): string {
  let p = stores.profileItems.get(owner);
  for (let hops = 0; p?.mergedInto !== undefined && hops < 64; hops++) p = stores.profileItems.get(p.mergedInto);
  return p?.profileId ?? owner;
}

const snapshot = (stores: MemoryStores) =>
  JSON.stringify({
    profiles: [...stores.profileItems.entries()].sort(),
    owners: [...stores.owners.entries()].map(([k, o]) => [k, liveOwner(stores, o)]).sort(),
    events: [...stores.eventItems.keys()].sort(),
  });

/** A person as the resolved profiles show them: identities and totals, ids aside. */
function people(stores: MemoryStores): string[] {
  return [...stores.profileItems.values()]
    .filter((p: Profile) => p.mergedInto === undefined)
    .map((p) => JSON.stringify([p.identities, p.aggregates.eventCount, p.aggregates.revenue ?? 0, p.aggregates.orderCount ?? 0]))
    .sort();
}

describe('exactly-once effect (property tests)', () => {
  it('replaying any batches again leaves every profile, link and event unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(personEvent(4), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (specs, sizes, replays) => {
          const stores = new MemoryStores();
          const groups = batches(toRecords(toEvents(specs)), sizes);
          await run(stores, groups);
          const before = snapshot(stores);
          await run(stores, replays.map((i) => groups[i % groups.length] as StreamRecord[]));
          expect(snapshot(stores)).toBe(before);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a producer retry (same messageId, new sequence number) is counted once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(personEvent(3), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 4 }),
        async (specs, dupes, sizes) => {
          const events = toEvents(specs);
          const once = new MemoryStores();
          await run(once, batches(toRecords(events), sizes));
          const withRetries = [...events, ...dupes.map((i) => events[i % events.length] as CollectedEvent)];
          const twice = new MemoryStores();
          await run(twice, batches(toRecords(withRetries), sizes));
          expect(people(twice)).toEqual(people(once));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the same events in any order and batching resolve to the same people with the same totals', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(personEvent(4), { minLength: 1, maxLength: 40 }).chain((specs) =>
          fc.tuple(fc.constant(specs), fc.shuffledSubarray(specs, { minLength: specs.length, maxLength: specs.length })),
        ),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 }),
        async ([specs, shuffled], sizes) => {
          const events = toEvents(specs);
          const byId = new Map(events.map((e, i) => [specs[i], e]));
          const reordered = shuffled.map((s) => byId.get(s) as CollectedEvent);
          const a = new MemoryStores();
          const b = new MemoryStores();
          await run(a, batches(toRecords(events, 1), sizes));
          await run(b, batches(toRecords(reordered, 1), [...sizes].reverse()));
          expect(people(b)).toEqual(people(a));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('aggregate merges (property tests)', () => {
  const arbEvents = fc.array(personEvent(2), { maxLength: 25 }).map(toEvents);
  const fold = (events: CollectedEvent[]): Aggregates => events.reduce((s, e) => foldAggregates(defs, s, e), {} as Aggregates);

  it('folding A then B, B then A, or merging two partial folds gives the same aggregates', () => {
    fc.assert(
      fc.property(arbEvents, arbEvents, (a, b) => {
        const bIds = b.map((e, i) => ({ ...e, messageId: `b${i}` }) as CollectedEvent);
        const ab = fold([...a, ...bIds]);
        expect(fold([...bIds, ...a])).toEqual(ab);
        expect(mergeAggregates(defs, fold(a), fold(bIds))).toEqual(ab);
        expect(mergeAggregates(defs, fold(bIds), fold(a))).toEqual(ab);
      }),
    );
  });
});
