import { gzipSync } from 'node:zlib';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { deriveProfileId } from '../../lib/identity/resolver';
import { nightlyTasks, type BlobStore } from '../../lib/learn/nightly-job';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';
import { DynamoStores } from '../../lib/store/dynamo';
import { exportedEvent, exportedProfile, type ExportedTable, type TableExporter } from '../../lib/store/exports';
import { localTables, memoryBlobs, throughGroup, twoDevicesLogIn, useEmulators } from '../support/stores';

/**
 * The nightly job reads DynamoDB's export files: here written from the tables' raw items (a scan
 * through the low-level client returns the same DynamoDB JSON an export holds), in the export's
 * layout, so the readers are checked against the items lib/store/dynamo.ts really writes.
 */
const emulators = useEmulators();
const tables = localTables;
const night = '2026-11-27';

async function rawItems(table: string): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await emulators.client().send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** An export as DynamoDB writes one: data files of `{"Item": ...}` lines, gzipped, listed by manifest-files.json, named by the summary. */
async function exportOf(blobs: BlobStore, table: string, prefix: string): Promise<string> {
  const items = await rawItems(table);
  const base = `${prefix}/AWSDynamoDB/01700000000000-abcdef12`;
  const files: string[] = [];
  for (let i = 0; i < items.length; i += 3) {
    const key = `${base}/data/file${files.length}.json.gz`;
    await blobs.putBytes(key, gzipSync(items.slice(i, i + 3).map((Item) => JSON.stringify({ Item })).join('\n')));
    files.push(JSON.stringify({ itemCount: Math.min(3, items.length - i), md5Checksum: 'x', etag: 'y', dataFileS3Key: key }));
  }
  // DynamoDB lists a file for a partition with nothing in it too.
  await blobs.putBytes(`${base}/data/empty.json.gz`, new Uint8Array(0));
  files.push(JSON.stringify({ itemCount: 0, md5Checksum: 'x', etag: 'y', dataFileS3Key: `${base}/data/empty.json.gz` }));
  await blobs.putBytes(`${base}/manifest-files.json`, Buffer.from(files.join('\n')));
  await blobs.put(`${base}/manifest-summary.json`, { version: '2020-06-30', manifestFilesS3Key: `${base}/manifest-files.json`, outputFormat: 'DYNAMODB_JSON' });
  return `${base}/manifest-summary.json`;
}

it('reads the events and profiles (tombstones included) from the items DynamoStores writes, and groups a merged customer under her survivor', async () => {
  const stores = new DynamoStores(emulators.client(), tables);
  await twoDevicesLogIn(stores, night, { userId: 'bea', phone: 'phone-x', laptop: 'laptop-x' });

  // Each raw item read as the nightly job reads an exported one, against what the stores read.
  const events = (await rawItems(tables.events)).map((i) => exportedEvent(unmarshall(i)));
  expect(events.map((e) => e?.event.messageId).sort()).toEqual((await stores.events.scan()).events.map((e) => e.event.messageId).sort());
  const profiles = (await rawItems(tables.profiles)).flatMap((i) => exportedProfile(unmarshall(i)) ?? []);
  const scanned = (await stores.profiles.scan()).profiles;
  expect(profiles.map((p) => [p.profileId, p.mergedInto ?? null]).sort()).toEqual(scanned.map((p) => [p.profileId, p.mergedInto ?? null]).sort());
  expect(profiles.some((p) => p.mergedInto !== undefined)).toBe(true);

  // The tasks up to the grouping, on exports in DynamoDB's own layout.
  const blobs = memoryBlobs();
  const manifests: Record<ExportedTable, string> = { events: await exportOf(blobs, tables.events, `exports/${night}/events`), profiles: await exportOf(blobs, tables.profiles, `exports/${night}/profiles`) };
  const exporter: TableExporter = { start: async (table) => manifests[table], describe: async (id) => ({ status: 'COMPLETED', manifest: id }) };
  const aggregates = loadAggregates();
  const tasks = nightlyTasks({
    stores,
    blobs,
    exporter,
    champion: async () => ({ version: 'champion-1' }) as never,
    publish: async () => undefined,
    config: { features: [], targets: [], horizonDays: 7, rules: { minSupport: 0.5, minConfidence: 0.5, maxRules: 10 }, challenge: { confidence: 0.95, resamples: 1000, minHoldoutBuyers: 30 }, minPositives: 10, aggregates, profileRules: loadProfileRules(aggregates) },
    shards: 2,
  });
  const { grouped } = (await throughGroup(tasks, night)) as { grouped: Array<{ customers: number }> };
  expect(grouped.reduce((n, g) => n + g.customers, 0)).toBe(1);
  const survivor = scanned.find((p) => p.mergedInto === undefined && p.identities.userId !== undefined)?.profileId ?? deriveProfileId('userId:bea');
  const customers = [0, 1].flatMap((shard) => blobs.items.get(`work/${night}/customers/${shard}.json`) as Array<{ profileId: string; events: Array<{ messageId: string }>; atCutoff?: Record<string, string> }>);
  expect(customers).toEqual([{ profileId: survivor, events: expect.any(Array), atCutoff: expect.any(Object) }]);
  expect(customers[0]?.events).toHaveLength(4);
  // Her laptop merged into her at noon on 20 November, after the training cut-off (the night less 7
  // days), as the merge log in the exported documents says: its event was another profile's then.
  const laptop = scanned.find((p) => p.mergedInto !== undefined && JSON.stringify(p.identities).includes('laptop'))?.profileId;
  expect(Object.values(customers[0]?.atCutoff ?? {})).toEqual([laptop]);
});
