import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BlobStore, nightlyTasks } from '../../lib/learn/nightly-job';
import { ingestBatch } from '../../lib/ingest/pipeline';
import type { Stores } from '../../lib/store/ports';
import { TABLES, type TableName } from '../../lib/store/tables';
import { provision, startEmulators, type Emulators } from '../../local/emulators';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from './factories';

/** The nightly job's blob store in memory, its items open to a test. */
export function memoryBlobs(): BlobStore & { items: Map<string, unknown> } {
  const items = new Map<string, unknown>();
  return {
    items,
    put: async (k, v) => void items.set(k, JSON.parse(JSON.stringify(v))),
    get: async <T>(k: string) => items.get(k) as T | undefined,
    claim: async (k, v) => !items.has(k) && (items.set(k, JSON.parse(JSON.stringify(v))), true),
    putBytes: async (k, bytes) => void items.set(k, Buffer.from(bytes)),
    getBytes: async (k) => items.get(k) as Buffer | undefined,
  };
}

/** The local tables' names. */
export const localTables = Object.fromEntries(Object.entries(TABLES).map(([k, t]) => [k, t.localName])) as Record<TableName, string>;

/** The embedded emulators, started and provisioned before the file's tests and stopped after; a DynamoDB client on them without retries. */
export function useEmulators(): { client: () => DynamoDBClient; endpoint: () => string } {
  let emulators: Emulators | undefined;
  let client: DynamoDBClient | undefined;
  beforeAll(async () => {
    emulators = await startEmulators();
    await provision(emulators);
    client = new DynamoDBClient({ endpoint: emulators.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    client?.destroy();
    await emulators?.stop();
  });
  return { client: () => client as DynamoDBClient, endpoint: () => emulators?.dynamodbEndpoint ?? '' };
}

/** The nightly tasks up to the grouping (and the training sample), called one after another as the state machine would; the state they leave. */
export async function throughGroup(tasks: ReturnType<typeof nightlyTasks>, night: string, execution = 'test'): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = { night };
  state.snapshot = await tasks.Snapshot({ night, execution } as never);
  state.exported = await tasks.ExportStatus(state as never);
  const exported = state.exported as { ready: boolean; profiles: number[]; events: number[] };
  expect(exported.ready).toBe(true);
  for (const item of exported.profiles) await tasks.ReadProfiles({ night, item } as never);
  await tasks.Roots(state as never);
  for (const item of exported.events) await tasks.SplitEvents({ night, item } as never);
  state.grouped = [];
  for (const item of (state.snapshot as { shards: number[] }).shards) (state.grouped as unknown[]).push(await tasks.GroupShard({ night, item } as never));
  return state;
}

/**
 * One customer's two devices, each browsing anonymously and then logged in on (so the two anonymous
 * profiles become one customer, leaving tombstones), one batch per event, ingested at `night` 01:00.
 */
export async function twoDevicesLogIn(stores: Stores, night: string, who: { userId: string; phone: string; laptop: string }): Promise<void> {
  const seq = new SequenceFactory();
  const at = (h: number) => new Date(Date.UTC(2026, 10, 20, h)).toISOString();
  const batches = [
    [segmentEvent({ anonymousId: who.phone, event: 'Product Viewed', properties: { product_id: 'paint-sage' }, timestamp: at(9) })],
    [segmentEvent({ anonymousId: who.laptop, event: 'Product Viewed', properties: { product_id: 'brush-set' }, timestamp: at(10) })],
    [segmentEvent({ anonymousId: who.phone, userId: who.userId, event: 'Signed In', timestamp: at(11) })],
    [segmentEvent({ anonymousId: who.laptop, userId: who.userId, event: 'Signed In', timestamp: at(12) })],
  ];
  for (const batch of batches) expect((await ingestBatch(batch.map((e) => toRecord(e, seq.take())), stores, ingestConfig({ now: () => new Date(`${night}T01:00:00Z`) }))).failedSequenceNumbers).toEqual([]);
}
