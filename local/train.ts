/**
 * `npm run train`: the nightly job's state machine on the local stack's data (.local-data/, the
 * same as `npm start`'s; stop that first, the emulators keep their files locked). It runs every
 * state with its progress, publishes the model to the config table if it is better (a decision
 * afterwards reports the new `modelVersion`), writes batch attributes onto the profiles, and keeps
 * the night's snapshot, report and lift charts in .local-data/nightly/.
 *
 *   npm run train                            tonight (UTC date), on the data there is
 *   npm run train -- --simulate 3000         first ingest 3,000 simulated shoppers
 *   npm run train -- --night 2026-11-27      that night
 *   npm run train -- --rollback demo-1       publish an earlier version from the registry again
 */
import './quiet';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ModelSource } from '../lib/decision/catalog-source';
import { ingestBatch } from '../lib/ingest/pipeline';
import { loadIngestConfig } from '../lib/ingest/config';
import { rollback, type BlobStore, type NightlyPorts } from '../lib/learn/nightly-job';
import { ScanExporter } from '../lib/store/exports';
import { nightlyPorts } from '../lib/learn/nightly-ports';
import { DynamoStores } from '../lib/store/dynamo';
import { TABLES, type TableName } from '../lib/store/tables';
import { localDynamo, provision, startEmulators } from './emulators';
import { runNightlyLocally, type LocalRun } from './nightly-runner';
import { simulateShoppers } from './simulate-shoppers';
import { runningStack } from './stack';

export interface TrainOptions {
  dataDir: string;
  night: string;
  simulate?: number;
  progress?: (line: string) => void;
}

/** Files under a directory, one JSON (or SVG text) per key. */
export function fileBlobs(dir: string): BlobStore {
  const path = (key: string) => join(dir, key);
  return {
    put: async (key, value) => {
      mkdirSync(dirname(path(key)), { recursive: true });
      writeFileSync(path(key), typeof value === 'string' ? value : JSON.stringify(value));
    },
    get: async <T>(key: string) => (existsSync(path(key)) ? (JSON.parse(readFileSync(path(key), 'utf8')) as T) : undefined),
    putBytes: async (key, bytes) => {
      mkdirSync(dirname(path(key)), { recursive: true });
      writeFileSync(path(key), bytes);
    },
    getBytes: async (key) => (existsSync(path(key)) ? new Uint8Array(readFileSync(path(key))) : undefined),
    claim: async (key, value) => {
      mkdirSync(dirname(path(key)), { recursive: true });
      try {
        writeFileSync(path(key), JSON.stringify(value), { flag: 'wx' });
        return true;
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST') return false;
        throw e;
      }
    },
  };
}

export async function trainLocally(options: TrainOptions): Promise<LocalRun> {
  const progress = options.progress ?? (() => undefined);
  return withLocalStack(options.dataDir, async ({ stores, ingest, ports }) => {
    if (options.simulate) await simulate(stores, options.simulate, new Date(`${options.night}T00:00:00Z`), ingest, progress);
    return runNightlyLocally(ports, options.night, progress);
  });
}

/** Publishes an earlier model version from the local registry again (`npm run train -- --rollback VERSION`). */
export function rollbackLocally(dataDir: string, version: string): Promise<{ version: string; replaced: string }> {
  return withLocalStack(dataDir, ({ ports }) => rollback(ports, version));
}

/** The local stack's emulators on the data directory (unless `npm start` holds it), and the nightly job's ports on them. */
async function withLocalStack<T>(dataDir: string, work: (parts: { stores: DynamoStores; ingest: ReturnType<typeof loadIngestConfig>; ports: NightlyPorts }) => Promise<T>): Promise<T> {
  const running = runningStack(dataDir);
  if (running !== undefined) throw new Error(`the local stack (npm start, process ${running}) is running on ${dataDir}; stop it first: its emulators hold the data files`);
  const emulators = await startEmulators({ dataDir });
  try {
    await provision(emulators);
    const tables = Object.fromEntries(Object.entries(TABLES).map(([k, t]) => [k, t.localName])) as Record<TableName, string>;
    const client = localDynamo(emulators.dynamodbEndpoint);
    const stores = new DynamoStores(client, tables);
    const ingest = loadIngestConfig(process.env.IDENTITY_SALT ?? 'local-salt');
    const doc = DynamoDBDocumentClient.from(client);
    const blobs = fileBlobs(join(dataDir, 'nightly'));
    // The emulator has no export to S3: the same files, written from a scan.
    const ports = nightlyPorts({ stores, blobs, exporter: new ScanExporter(stores, blobs), doc, configTable: tables.config, models: new ModelSource(doc, tables.config, 0), engine: ingest });
    return await work({ stores, ingest, ports });
  } finally {
    await emulators.stop();
  }
}

/** Simulated shoppers through the real ingest, in batches as a shard would deliver them. */
async function simulate(stores: DynamoStores, count: number, night: Date, config: ReturnType<typeof loadIngestConfig>, progress: (line: string) => void): Promise<void> {
  const messages = simulateShoppers(count, night).sort((a, b) => ((a.timestamp as string) < (b.timestamp as string) ? -1 : 1));
  let seq = 10n ** 20n + BigInt(Date.now()) * 10n ** 6n;
  for (let i = 0; i < messages.length; i += 500) {
    const records = messages.slice(i, i + 500).map((m) => ({ shardId: 'shardId-000000000000', sequenceNumber: (seq += 1n).toString(), data: Buffer.from(JSON.stringify({ ...m, receivedAt: m.timestamp })).toString('base64') }));
    const result = await ingestBatch(records, stores, { ...config, now: () => night });
    if (result.failedSequenceNumbers.length > 0) throw new Error(`the simulated shoppers could not be ingested: ${result.errors[0]?.message ?? 'unknown'}`);
    const done = Math.min(i + 500, messages.length);
    if (done === messages.length || Math.floor((done / messages.length) * 5) > Math.floor((i / messages.length) * 5)) progress(`  simulated ${done} of ${messages.length} events`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const dataDir = resolve(process.env.LOCAL_DATA_DIR ?? '.local-data');
  const back = value('--rollback');
  if (back !== undefined) {
    const done = await rollbackLocally(dataDir, back);
    console.log(`published ${done.version} again (it replaces ${done.replaced}); decisions serve it from their next refresh`);
    return;
  }
  const night = value('--night') ?? new Date().toISOString().slice(0, 10);
  const parsed = new Date(`${night}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(night) || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== night) throw new Error(`--night must be a date, YYYY-MM-DD, not "${night}"`);
  const simulate = value('--simulate') === undefined ? undefined : Number(value('--simulate'));
  if (simulate !== undefined && !(Number.isInteger(simulate) && simulate > 0 && simulate <= 100_000)) throw new Error('--simulate must be a whole number of shoppers from 1 to 100,000');
  console.log(`Nightly learning for ${night} on ${dataDir}${simulate ? `, after ${simulate} simulated shoppers` : ''}`);
  const run = await trainLocally({ dataDir, night, ...(simulate ? { simulate } : {}), progress: (line) => console.log(line) });
  console.log(`\n${run.name}: ${run.succeeded ? 'succeeded' : 'failed'}`);
  console.log(JSON.stringify(run.output, null, 2));
  console.log(`\nReport, registry and lift charts: ${join(dataDir, 'nightly')}`);
  process.exitCode = run.succeeded ? 0 : 1;
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`npm run train: ${e.message}`);
    process.exitCode = 1;
  });
}
