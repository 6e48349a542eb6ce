/**
 * Table exports for the nightly job: on AWS a DynamoDB export to S3 (point-in-time recovery is on
 * for every table), so the night reads a consistent copy of the events and profiles from S3 instead
 * of scanning the live tables; on the embedded stack and in tests, where there is no export, the
 * same files written from a scan of the stores. Either way an export is DynamoDB's layout in the
 * job's blob store: `<prefix>/AWSDynamoDB/<id>/manifest-summary.json`, whose `manifestFilesS3Key`
 * names `manifest-files.json` (a JSON line per data file: `dataFileS3Key`, `itemCount`), and the
 * data files, gzipped JSON lines `{"Item": <DynamoDB JSON>}`.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { DescribeExportCommand, ExportTableToPointInTimeCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { CollectedEvent } from '../events/segment';
import type { BlobStore } from '../learn/nightly-job';
import { profileDocument, type Profile } from '../profile/profile';
import type { StoredEvent, Stores } from './ports';

export type ExportedTable = 'events' | 'profiles';

export interface ExportStatus {
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  /** When completed: the key of its manifest summary in the job's blob store. */
  manifest?: string;
  failure?: string;
}

export interface TableExporter {
  /**
   * Starts an export of a table as it was at `at` under `prefix`; its id. Started again with the
   * same token (a retry), it is the same export.
   */
  start(table: ExportedTable, at: Date, prefix: string, token: string): Promise<string>;
  describe(id: string): Promise<ExportStatus>;
}

/** DynamoDB's export to S3, into the job's bucket. */
export class DynamoTableExporter implements TableExporter {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly bucket: string,
    private readonly tableArns: Record<ExportedTable, string>,
  ) {}

  async start(table: ExportedTable, at: Date, prefix: string, token: string): Promise<string> {
    const res = await this.client.send(
      new ExportTableToPointInTimeCommand({ TableArn: this.tableArns[table], ExportTime: at, S3Bucket: this.bucket, S3Prefix: prefix, ExportFormat: 'DYNAMODB_JSON', ClientToken: token }),
    );
    const arn = res.ExportDescription?.ExportArn;
    if (arn === undefined) throw new Error(`the export of ${table} was not started`);
    return arn;
  }

  async describe(id: string): Promise<ExportStatus> {
    const d = (await this.client.send(new DescribeExportCommand({ ExportArn: id }))).ExportDescription;
    const status = d?.ExportStatus === 'COMPLETED' || d?.ExportStatus === 'FAILED' ? d.ExportStatus : 'IN_PROGRESS';
    return { status, ...(d?.ExportManifest ? { manifest: d.ExportManifest } : {}), ...(d?.FailureMessage ? { failure: `${d.FailureCode ?? 'failed'}: ${d.FailureMessage}` } : {}) };
  }
}

/**
 * Exports written from a scan of the stores, in DynamoDB's layout, complete as soon as started:
 * for the embedded stack (its emulator has no export) and tests. Not a point in time: writes during
 * the scan may or may not be in it.
 */
export class ScanExporter implements TableExporter {
  constructor(
    private readonly stores: Stores,
    private readonly blobs: BlobStore,
    /** Items per data file (DynamoDB writes files of its own choosing; small ones here give the scoring Maps several items). */
    private readonly itemsPerFile = 1000,
  ) {}

  async start(table: ExportedTable, _at: Date, prefix: string, token: string): Promise<string> {
    const id = `${token.replace(/[^A-Za-z0-9-]/g, '-')}`;
    const base = `${prefix}/AWSDynamoDB/${id}`;
    const manifest = `${base}/manifest-summary.json`;
    if ((await this.blobs.get(manifest)) !== undefined) return manifest;
    const files: Array<{ dataFileS3Key: string; itemCount: number }> = [];
    let items: Array<Record<string, AttributeValue>> = [];
    const flush = async () => {
      if (items.length === 0) return;
      const key = `${base}/data/${String(files.length).padStart(5, '0')}.json.gz`;
      await this.blobs.putBytes(key, gzipSync(items.map((Item) => JSON.stringify({ Item })).join('\n')));
      files.push({ dataFileS3Key: key, itemCount: items.length });
      items = [];
    };
    let cursor: string | undefined;
    do {
      const page = table === 'events' ? await this.stores.events.scan(cursor) : await this.stores.profiles.scan(cursor);
      const raw = 'events' in page ? page.events.map(eventItem) : page.profiles.map(profileItem);
      for (const item of raw) {
        items.push(item);
        if (items.length >= this.itemsPerFile) await flush();
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    await flush();
    await this.blobs.putBytes(`${base}/manifest-files.json`, Buffer.from(files.map((f) => JSON.stringify(f)).join('\n')));
    // The summary last: its presence says the export is whole.
    await this.blobs.put(manifest, { exportArn: id, manifestFilesS3Key: `${base}/manifest-files.json`, itemCount: files.reduce((n, f) => n + f.itemCount, 0), outputFormat: 'DYNAMODB_JSON' });
    return manifest;
  }

  async describe(id: string): Promise<ExportStatus> {
    return (await this.blobs.get(id)) === undefined ? { status: 'FAILED', failure: `no export ${id}` } : { status: 'COMPLETED', manifest: id };
  }
}

/** The data files of a completed export, from its manifest summary. */
export async function exportedFiles(blobs: BlobStore, manifest: string): Promise<string[]> {
  const summary = await blobs.get<{ manifestFilesS3Key?: string }>(manifest);
  if (summary?.manifestFilesS3Key === undefined) throw new Error(`no export manifest at ${manifest}`);
  const files = await blobs.getBytes(summary.manifestFilesS3Key);
  if (files === undefined) throw new Error(`no export file list at ${summary.manifestFilesS3Key}`);
  return Buffer.from(files)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { dataFileS3Key: string; itemCount?: number })
    // DynamoDB writes a file for every partition it reads, empty ones too.
    .filter((f) => f.itemCount !== 0)
    .map((f) => f.dataFileS3Key);
}

/** The items of one exported data file, as the document client reads them. */
export async function exportedItems(blobs: BlobStore, key: string): Promise<Array<Record<string, unknown>>> {
  const bytes = await blobs.getBytes(key);
  if (bytes === undefined) throw new Error(`no exported data file ${key}`);
  if (bytes.length === 0) return [];
  return gunzipSync(bytes)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => unmarshall((JSON.parse(line) as { Item: Record<string, AttributeValue> }).Item) as Record<string, unknown>);
}

/**
 * An events table item as lib/store/dynamo.ts writes it (`profileId`, `event` as JSON), or
 * undefined for one that is not an event.
 */
export function exportedEvent(item: Record<string, unknown>): StoredEvent | undefined {
  if (typeof item.profileId !== 'string' || typeof item.event !== 'string') return undefined;
  return { profileId: item.profileId, event: JSON.parse(item.event) as CollectedEvent };
}

/**
 * A profiles table item: its id and the profile it was merged into (a tombstone), or undefined for
 * an item holding only pending merges (no document: not a profile yet).
 */
export function exportedProfile(item: Record<string, unknown>): { profileId: string; mergedInto?: string } | undefined {
  if (typeof item.profileId !== 'string' || typeof item.doc !== 'string') return undefined;
  return { profileId: item.profileId, ...(typeof item.mergedInto === 'string' ? { mergedInto: item.mergedInto } : {}) };
}

/** The merges a profiles table item's document logged (who merged into it, and when), for the identity graph as it stood at a time. */
export function exportedMergeLog(item: Record<string, unknown>): Array<{ from: string; at: string }> {
  if (typeof item.doc !== 'string') return [];
  const log = (JSON.parse(item.doc) as { mergeLog?: unknown }).mergeLog;
  if (!Array.isArray(log)) return [];
  return log.filter((m): m is { from: string; at: string } => typeof m === 'object' && m !== null && typeof (m as { from?: unknown }).from === 'string' && typeof (m as { at?: unknown }).at === 'string').map((m) => ({ from: m.from, at: m.at }));
}

/** The products a profiles table item's document researched (its signals), for the identity weights. */
export function exportedProducts(item: Record<string, unknown>): string[] {
  if (typeof item.doc !== 'string') return [];
  const products = (JSON.parse(item.doc) as { signals?: { products?: Record<string, string> } }).signals?.products;
  return products && typeof products === 'object' ? Object.keys(products) : [];
}

/** The items ScanExporter writes: the attributes the readers above use, named as lib/store/dynamo.ts names them. */
const eventItem = (e: StoredEvent) => marshall({ messageId: e.event.messageId, profileId: e.profileId, ts: `${e.event.timestamp}#${e.event.messageId}`, event: JSON.stringify(e.event) });
const profileItem = (p: Profile) => marshall({ profileId: p.profileId, version: p.version, doc: profileDocument(p), ...(p.mergedInto === undefined ? {} : { mergedInto: p.mergedInto }) });
