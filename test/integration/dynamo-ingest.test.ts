import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { deriveProfileId } from '../../lib/identity/resolver';
import { viewAggregates } from '../../lib/profile/aggregates';
import { newProfile } from '../../lib/profile/profile';
import { readJourney, readProfile } from '../../lib/profile/read';
import { DynamoStores } from '../../lib/store/dynamo';
import { ConflictError } from '../../lib/store/ports';
import { startEmulators, provision, type Emulators } from '../../local/emulators';
import { TABLES, type TableName } from '../../lib/store/tables';
import { ingestConfig, rawRecord, segmentEvent, SequenceFactory, signedFeedback, toRecord } from '../support/factories';
import { seedEvents, SEED } from '../support/journey';

/**
 * The ingest pipeline against a real DynamoDB API (dynalite on loopback) through the real SDK client:
 * conditional writes, batch reads and writes, the byProfile index, and faults injected into the
 * real client (a throttle on the profiles table mid-batch).
 */
let emulators: Emulators;
let client: DynamoDBClient;
const tables = Object.fromEntries(Object.entries(TABLES).map(([k, t]) => [k, t.localName])) as Record<TableName, string>;

beforeAll(async () => {
  emulators = await startEmulators();
  await provision(emulators);
  client = new DynamoDBClient({
    endpoint: emulators.dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client?.destroy();
  await emulators?.stop();
});

/** Fails the first `times` matching commands with a throttling error, as DynamoDB would under load. */
function throttle(match: (command: string, input: Record<string, unknown>) => boolean, times: number): { thrown: number } {
  const state = { thrown: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (state.thrown < times && match(context.commandName ?? '', args.input as Record<string, unknown>)) {
        state.thrown += 1;
        const error = new Error('Rate of requests exceeds the allowed throughput.');
        error.name = 'ProvisionedThroughputExceededException';
        throw error;
      }
      return next(args);
    },
    { step: 'initialize', name: `throttle-${Math.random()}` },
  );
  return state;
}

describe('ingest on DynamoDB', () => {
  it('stitches the seed journey with the same result as the in-memory store', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const result = await ingestBatch(seedEvents().map((e) => toRecord(e, seq.take())), stores, ingestConfig());
    expect(result.errors.map(String)).toEqual([]);
    expect(result.failedSequenceNumbers).toEqual([]);
    const owner = (await stores.graph.getOwners([`userId:${SEED.people.ann.userId}`])).values().next().value as string;
    const view = await readProfile(stores, owner, ingestConfig());
    expect(view.identities.anonymousId).toEqual([SEED.people.ann.devices.tablet]);
    expect(view.probableLinks).toHaveLength(2);
    const journey = await readJourney(stores, owner);
    expect(journey.events.map((e) => e.messageId)).toEqual(['seed-6', 'seed-7', 'seed-8', 'seed-9', 'seed-10']);
  });

  it('keeps merges pending on the survivor\'s item until a write that carries them settles them, even before the survivor exists', async () => {
    const stores = new DynamoStores(client, tables);
    const survivor = deriveProfileId('userId:pending-1');
    await stores.profiles.markPendingMerge(survivor, ['p_loser_a']);
    await stores.profiles.markPendingMerge(survivor, ['p_loser_b', 'p_loser_a']);
    // An item holding only pending merges is no profile to readers...
    expect((await stores.profiles.getMany([survivor])).size).toBe(0);
    expect((await stores.profiles.load([survivor])).pending.get(survivor)).toEqual(['p_loser_a', 'p_loser_b']);
    // ...the survivor's first write takes its place, settling the merge whose state it carries...
    await stores.profiles.put({ ...newProfile(survivor), version: 1 }, 0, { settled: ['p_loser_a'] });
    const loaded = await stores.profiles.load([survivor]);
    expect(loaded.profiles.get(survivor)?.version).toBe(1);
    expect(loaded.pending.get(survivor)).toEqual(['p_loser_b']);
    await expect(stores.profiles.put({ ...newProfile(survivor), version: 1 }, 0)).rejects.toBeInstanceOf(ConflictError);
    // ...another writer (the nightly scores) keeps what is still pending, and a tombstone's mark can be settled on its own.
    await stores.profiles.put({ ...newProfile(survivor), version: 2 }, 1);
    expect((await stores.profiles.load([survivor])).pending.get(survivor)).toEqual(['p_loser_b']);
    await stores.profiles.settlePendingMerge(survivor, ['p_loser_b']);
    expect((await stores.profiles.load([survivor])).pending.size).toBe(0);
    await stores.profiles.settlePendingMerge('p_nobody', ['p_loser_c']);
    expect((await stores.profiles.load(['p_nobody'])).pending.size).toBe(0);
  });

  it('rejects a stale profile write with a ConflictError (optimistic locking)', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    await ingestBatch([toRecord(segmentEvent({ anonymousId: 'locking-1' }), seq.take())], stores, ingestConfig());
    const id = deriveProfileId('anonymousId:locking-1');
    const profile = (await stores.profiles.getMany([id])).get(id)!;
    await expect(stores.profiles.put({ ...profile, version: 5 }, 4)).rejects.toBeInstanceOf(ConflictError);
    await expect(stores.profiles.put({ ...profile, version: 1 }, 0)).rejects.toBeInstanceOf(ConflictError);
  });

  it('reports the first record of the throttled profile, and the retry loses and double-counts nothing', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const who = ['thr-a', 'thr-b', 'thr-a', 'thr-c', 'thr-b', 'thr-a'];
    const records = who.map((w, i) => toRecord(segmentEvent({ anonymousId: w, event: 'Order Completed', properties: { total: i + 1 } }), seq.take()));
    const victim = deriveProfileId('anonymousId:thr-b');
    const fault = throttle((command, input) => command === 'PutItemCommand' && (input.Item as { profileId?: string } | undefined)?.profileId === victim, 1);

    const first = await ingestBatch(records, stores, ingestConfig());
    expect(fault.thrown).toBe(1);
    expect(first.failedSequenceNumbers).toEqual([records[1]!.sequenceNumber]);

    const retry = await ingestBatch(records.slice(1), stores, ingestConfig());
    expect(retry.failedSequenceNumbers).toEqual([]);
    const revenue = async (w: string) => {
      const id = deriveProfileId(`anonymousId:${w}`);
      return viewAggregates((await stores.profiles.getMany([id])).get(id)!.aggregates).revenue;
    };
    expect(await Promise.all(['thr-a', 'thr-b', 'thr-c'].map(revenue))).toEqual([1 + 3 + 6, 2 + 5, 4]);
    // A second delivery of the whole batch changes nothing.
    await ingestBatch(records, stores, ingestConfig());
    expect(await Promise.all(['thr-a', 'thr-b', 'thr-c'].map(revenue))).toEqual([10, 7, 4]);
  });

  it('fails the whole batch back to the stream when the events table is throttled, then recovers exactly', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const records = ['ev-a', 'ev-b'].map((w) => toRecord(segmentEvent({ anonymousId: w }), seq.take()));
    throttle((command) => command === 'BatchWriteItemCommand', 1);
    const first = await ingestBatch(records, stores, ingestConfig());
    expect(first.failedSequenceNumbers.length).toBeGreaterThan(0);
    await ingestBatch(records, stores, ingestConfig());
    const id = deriveProfileId('anonymousId:ev-a');
    expect(viewAggregates((await stores.profiles.getMany([id])).get(id)!.aggregates).eventCount).toBe(1);
    expect((await stores.events.existing([records[0] ? JSON.parse(Buffer.from(records[0].data, 'base64').toString()).messageId : ''])).size).toBe(1);
  });

  it('recognises a producer retry that arrives right after the original was stored (reads that decide are strongly consistent)', async () => {
    // An eventually consistent read may miss an item written a moment ago: a replica that has not seen
    // the write yet answers without it. Fault injected into the real client for reads that allow it.
    const lagging = (input: Record<string, unknown>) =>
      Object.values((input.RequestItems ?? {}) as Record<string, { ConsistentRead?: boolean }>).some((r) => r.ConsistentRead !== true);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        if (context.commandName === 'BatchGetItemCommand' && lagging(input) && JSON.stringify(input).includes(tables.events)) {
          return { output: { Responses: {}, UnprocessedKeys: {}, $metadata: {} }, response: {} } as never;
        }
        return next(args);
      },
      { step: 'initialize', name: 'lagging-replica' },
    );
    try {
      const stores = new DynamoStores(client, tables);
      const seq = new SequenceFactory();
      const order = segmentEvent({ anonymousId: 'retry-1', event: 'Order Completed', messageId: 'retried-order', properties: { total: 30 } });
      await ingestBatch([toRecord(order, seq.take())], stores, ingestConfig());
      // The SDK did not hear back in time and sent the same message again: a new record, the same messageId.
      const retry = await ingestBatch([toRecord(order, seq.take())], stores, ingestConfig());
      expect(retry.stats.duplicates).toBe(1);
      const id = deriveProfileId('anonymousId:retry-1');
      expect(viewAggregates((await stores.profiles.getMany([id])).get(id)!.aggregates)).toMatchObject({ orderCount: 1, revenue: 30 });
    } finally {
      client.middlewareStack.remove('lagging-replica');
    }
  });

  it('dead-letters a record of almost a megabyte (the most a stream record holds) within an item\'s size, and the shard moves on', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const huge = rawRecord(JSON.stringify({ type: 'track', anonymousId: 'huge-1', event: 'x', properties: { pad: 'x'.repeat(900_000) } }), seq.take(), 'shardId-000000000008');
    const result = await ingestBatch([huge, toRecord(segmentEvent({ anonymousId: 'after-huge' }), seq.take(), 'shardId-000000000008')], stores, ingestConfig());
    expect(result.errors.map(String)).toEqual([]);
    expect(result.failedSequenceNumbers).toEqual([]);
    const letter = (await stores.deadLetters.list(1000)).find((l) => l.id === `shardId-000000000008#${huge.sequenceNumber}`);
    expect(letter?.reason).toMatch(/32768 bytes|too large|limit/);
    expect(Buffer.byteLength(letter!.data)).toBeLessThan(16 * 1024);
  });

  it('dead-letters a 350 KB schema-invalid record within an item, and fails nothing (found in review)', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const big = toRecord({ type: 'bogus', anonymousId: 'big-1', messageId: 'big-1', properties: { blob: 'x'.repeat(350 * 1024) } }, seq.take());
    const ok = toRecord(segmentEvent({ anonymousId: 'small-1', messageId: 'small-1' }), seq.take());
    const result = await ingestBatch([big, ok], stores, ingestConfig());
    expect({ failed: result.failedSequenceNumbers, errors: result.errors.map((e) => e.message.slice(0, 120)) }).toEqual({ failed: [], errors: [] });
    expect((await stores.profiles.getMany([deriveProfileId('anonymousId:small-1')])).size).toBe(1);
  });

  it("dead-letters a schema-valid 450 KB record instead of failing the batch's events write (found in review)", async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const big = toRecord(segmentEvent({ anonymousId: 'big-2', messageId: 'big-2', properties: { blob: 'x'.repeat(450 * 1024) } }), seq.take());
    const ok = toRecord(segmentEvent({ anonymousId: 'small-2', messageId: 'small-2' }), seq.take());
    const result = await ingestBatch([ok, big], stores, ingestConfig());
    expect({ failed: result.failedSequenceNumbers, errors: result.errors.map((e) => e.message.slice(0, 120)) }).toEqual({ failed: [], errors: [] });
    expect(result.stats.deadLettered).toBe(1);
  });

  it('keeps a profile under the item limit through 30 KB product ids and trait names, and folds the next event (defect 2)', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const big = (n: number) => String(n).repeat(30_000);
    // Ten views with 30 KB product ids and three identifies with 30 KB trait names made a 414 KB item.
    const hostile = [
      ...Array.from({ length: 10 }, (_, i) => segmentEvent({ anonymousId: 'big-profile', properties: { product_id: big(i) } })),
      ...Array.from({ length: 3 }, (_, i) => segmentEvent({ type: 'identify', anonymousId: 'big-profile', event: undefined, traits: { [big(i)]: 'v' } })),
    ];
    for (const e of hostile) await ingestBatch([toRecord(e, seq.take())], stores, ingestConfig());
    const next = await ingestBatch([toRecord(segmentEvent({ anonymousId: 'big-profile', event: 'Order Completed', properties: { total: 5 } }), seq.take())], stores, ingestConfig());
    expect(next.errors.map(String)).toEqual([]);
    const id = deriveProfileId('anonymousId:big-profile');
    expect(viewAggregates((await stores.profiles.getMany([id])).get(id)!.aggregates)).toMatchObject({ orderCount: 1, eventCount: 14 });
  });

  it('keeps invalid records in the dead-letter table with their reason', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const bad = rawRecord('not json at all', seq.take(), 'shardId-000000000009');
    await ingestBatch([bad], stores, ingestConfig());
    const letters = await stores.deadLetters.list(100);
    const letter = letters.find((l) => l.id === `shardId-000000000009#${bad.sequenceNumber}`);
    expect(letter).toMatchObject({ reason: 'invalid JSON', source: 'ingest' });
    // What cannot be parsed cannot be redacted field by field: its size and a masked preview are kept.
    expect(JSON.parse(Buffer.from(letter!.data, 'base64').toString('utf8'))).toEqual({ undecodable: true, bytes: 15, preview: 'not json at all' });
  });
});

describe('offer statistics on DynamoDB', () => {
  const feedback = (n: number, event = 'Promotion Viewed', decision = n) =>
    signedFeedback(segmentEvent({ userId: `stats-${n % 2}`, event, messageId: `stats-${event}-${n}`, properties: { decision_id: `d-${decision}`, promotion_id: 'garden-season', variant: 'personalised' }, timestamp: '2026-12-03T10:00:00.000Z' }));

  it('adds each event once with conditional updates, through a throttled write and a retry with more records', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    // The click is on the first impression's decision (a click counts only beside its impression).
    const records = [1, 2, 3].map((n) => toRecord(n === 3 ? feedback(n, 'Promotion Clicked', 1) : feedback(n), seq.take()));
    const throttled = throttle((command) => command === 'UpdateCommand' || command === 'UpdateItemCommand', 1);
    const first = await ingestBatch(records, stores, ingestConfig());
    expect(throttled.thrown).toBe(1);
    expect(first.failedSequenceNumbers.length).toBeGreaterThan(0);
    const from = first.failedSequenceNumbers.sort()[0] as string;
    const retry = await ingestBatch([...records.filter((r) => r.sequenceNumber >= from), toRecord(feedback(4), seq.take())], stores, ingestConfig());
    expect(retry.failedSequenceNumbers).toEqual([]);
    await ingestBatch(records, stores, ingestConfig());
    const days = await stores.offerStats.range('garden-season', '2026-12-01', '2026-12-31');
    expect(days).toEqual([{ day: '2026-12-03', counts: { impressions_personalised: 3, clicks_personalised: 1 } }]);
  });

  it('refuses to move a mark that moved meanwhile', async () => {
    const stores = new DynamoStores(client, tables);
    const key = { offerId: 'survey-q4', day: '2026-12-04' };
    await stores.offerStats.add(key, 'shardId-1', undefined, '0002', { impressions_holdout: 1 });
    await expect(stores.offerStats.add(key, 'shardId-1', undefined, '0003', { impressions_holdout: 1 })).rejects.toBeInstanceOf(ConflictError);
    await expect(stores.offerStats.add(key, 'shardId-1', '0001', '0003', { impressions_holdout: 1 })).rejects.toBeInstanceOf(ConflictError);
    await stores.offerStats.add(key, 'shardId-1', '0002', '0003', { impressions_holdout: 2 });
    expect(await stores.offerStats.marks([key], 'shardId-1')).toEqual(new Map([['survey-q4|2026-12-04', '0003']]));
    expect(await stores.offerStats.range('survey-q4', '2026-12-04', '2026-12-04')).toEqual([{ day: '2026-12-04', counts: { impressions_holdout: 3 } }]);
  });
});
