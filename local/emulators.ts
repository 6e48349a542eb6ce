import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { STREAM, TABLES, type TableDefinition } from '../lib/store/tables';

// Neither emulator ships type declarations; both return a node:http Server.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kinesalite = require('kinesalite') as (options: Record<string, unknown>) => Server;

/**
 * Real AWS API emulators on loopback: dynalite (DynamoDB) and kinesalite (Kinesis). With `dataDir`
 * they keep their data in LevelDB folders between runs; without it they run in memory. By default
 * they run in a child process (local/emulator-host.cjs), so the handlers and the emulators each get
 * a core; `inProcess` keeps them in this one.
 */
export interface Emulators {
  dynamodbEndpoint: string;
  kinesisEndpoint: string;
  /** The child process running them, when they run in one. */
  pid?: number;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  dataDir?: string;
  dynamodbPort?: number;
  kinesisPort?: number;
  inProcess?: boolean;
}

function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

export function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  return options.inProcess ? startInProcess(options) : startChild(options);
}

/** The emulators in a child process: endpoints over IPC; it exits on stop() or when this process goes. */
function startChild(options: EmulatorOptions): Promise<Emulators> {
  const { inProcess: _, ...childOptions } = options;
  const child = fork(join(__dirname, 'emulator-host.cjs'), [JSON.stringify(childOptions)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the emulator process exited (code ${code}) before it was ready`)));
    child.once('message', (m: { ready: boolean; dynamodbEndpoint?: string; kinesisEndpoint?: string; error?: string }) => {
      if (!m.ready) return reject(new Error(`the emulators could not start: ${m.error}`));
      child.on('error', () => child.kill('SIGKILL'));
      resolve({
        dynamodbEndpoint: m.dynamodbEndpoint as string,
        kinesisEndpoint: m.kinesisEndpoint as string,
        pid: child.pid,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.send('stop', (e) => e && child.kill('SIGKILL'));
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(timer);
          }
        },
      });
    });
  });
}

async function startInProcess(options: EmulatorOptions): Promise<Emulators> {
  const path = (name: string) => (options.dataDir ? { path: `${options.dataDir}/${name}` } : {});
  const ddb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...path('dynamodb') });
  const kin = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100, ...path('kinesis') });
  const [dynamodbEndpoint, kinesisEndpoint] = await Promise.all([listen(ddb, options.dynamodbPort ?? 0), listen(kin, options.kinesisPort ?? 0)]);
  return {
    dynamodbEndpoint,
    kinesisEndpoint,
    stop: async () => {
      await Promise.all([close(ddb), close(kin)]);
    },
  };
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export function localDynamo(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
}

export function localKinesis(endpoint: string): KinesisClient {
  // The Kinesis client needs an explicit Node HTTP handler against emulators.
  return new KinesisClient({ endpoint, region: 'us-east-1', credentials, requestHandler: new NodeHttpHandler() });
}

/** CreateTable input from the shared definition (the CDK app builds the same keys and indexes). */
export function createTableInput(def: TableDefinition, name = def.localName): CreateTableCommandInput {
  const attributes = new Set([def.partitionKey, ...(def.sortKey ? [def.sortKey] : [])]);
  for (const index of def.indexes ?? []) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: def.partitionKey, KeyType: 'HASH' },
      ...(def.sortKey ? [{ AttributeName: def.sortKey, KeyType: 'RANGE' as const }] : []),
    ],
    GlobalSecondaryIndexes: def.indexes?.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: index.projection ?? 'ALL' },
    })),
  };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not become active`);
}

/** Creates every table and the event stream if they are missing (idempotent, so a kept data folder is reused). */
export async function provision(emulators: Pick<Emulators, 'dynamodbEndpoint' | 'kinesisEndpoint'>): Promise<void> {
  const ddb = localDynamo(emulators.dynamodbEndpoint);
  const kinesis = localKinesis(emulators.kinesisEndpoint);
  try {
    for (const def of Object.values(TABLES) as TableDefinition[]) {
      try {
        await ddb.send(new CreateTableCommand(createTableInput(def)));
      } catch (e) {
        if ((e as Error).name !== 'ResourceInUseException') throw e;
      }
      await waitFor(
        async () => (await ddb.send(new DescribeTableCommand({ TableName: def.localName }))).Table?.TableStatus === 'ACTIVE',
        `table ${def.localName}`,
      );
      // A table kept in a data folder from an older version may lack an index added since (dynalite cannot add one to a table).
      const indexes = new Set(((await ddb.send(new DescribeTableCommand({ TableName: def.localName }))).Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
      const missing = (def.indexes ?? []).filter((i) => !indexes.has(i.name)).map((i) => i.name);
      if (missing.length > 0) throw new Error(`the local table ${def.localName} has no index ${missing.join(', ')} (added since the data folder was made): start with a fresh data folder (npm start -- --fresh wipes it)`);
    }
    try {
      await kinesis.send(new CreateStreamCommand({ StreamName: STREAM.localName, ShardCount: STREAM.localShardCount }));
    } catch (e) {
      if ((e as Error).name !== 'ResourceInUseException') throw e;
    }
    await waitFor(
      async () =>
        (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: STREAM.localName }))).StreamDescriptionSummary?.StreamStatus ===
        'ACTIVE',
      `stream ${STREAM.localName}`,
    );
  } finally {
    ddb.destroy();
    kinesis.destroy();
  }
}
