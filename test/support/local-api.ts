import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLES, type TableDefinition } from '../../lib/store/tables';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';

/** The development keys the embedded stack prints, as the headers a client sends them in. */
export const ADMIN = { 'x-api-key': 'dev-admin-key' };
export const READ = { 'x-api-key': 'dev-read-key' };
/** The public write key, as Segment SDKs send it (HTTP Basic, the key as user name). */
export const WRITE = { authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}` };

/** One item of a local table, with its text to search: each string also read as base64 (the ingest's dead letters keep base64 of JSON). */
export interface ScannedItem {
  table: string;
  item: Record<string, any>;
  text: string;
}

/** The embedded stack of one test file and the doors its tests use: HTTP as a client calls it, DynamoDB to look behind it. */
export interface LocalApi {
  /** The running stack (from the file's `beforeAll` on). */
  readonly stack: LocalStack;
  /** A DynamoDB client on the stack's emulator, made at first use and destroyed with the stack. */
  readonly dynamo: DynamoDBClient;
  /** The answer's JSON; anything but 2xx throws, naming the method, path, status and answer. Sent with the admin key unless `headers` say otherwise. */
  json(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any>;
  /** Status and JSON body of a call made with one API key (`x-api-key`), whatever the status. */
  withKey(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** One `/v1/batch` request with the public write key, as sent; it must be answered 200. Does not wait for the ingest. */
  postBatch(batch: Array<Record<string, unknown>>): Promise<{ accepted: number; rejected: unknown[] }>;
  /** Events stamped with the stack's clock (`track` unless they say otherwise), sent with the write key; waits until the ingest (and so the trigger function) has them. */
  sendNow(events: Array<Record<string, unknown>>): Promise<void>;
  /** Every item of one local table, page after page. */
  scanTable(tableName: string): Promise<Array<Record<string, any>>>;
  /** Every item of every table, with its text to search. */
  scanAll(): Promise<ScannedItem[]>;
}

/**
 * Starts the embedded stack (any free port, quiet) before the file's tests and stops it after, with
 * `env` set while it runs and put back as it was afterwards (e.g. `CATALOG_REFRESH_MS: '0'`, so a
 * published document serves at the next request). A `beforeAll` declared after this call runs once
 * the stack is up.
 */
export function useLocalStack(options: Omit<LocalStackOptions, 'port' | 'quiet'> = {}, env: Record<string, string> = {}): LocalApi {
  let stack: LocalStack | undefined;
  let dynamo: DynamoDBClient | undefined;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  beforeAll(async () => {
    Object.assign(process.env, env);
    stack = await startLocalStack({ port: 0, quiet: true, ...options });
  });
  afterAll(async () => {
    dynamo?.destroy();
    await stack?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const api: LocalApi = {
    get stack() {
      if (!stack) throw new Error('the embedded stack is not started: use it in a test or a beforeAll declared after useLocalStack');
      return stack;
    },
    get dynamo() {
      dynamo ??= new DynamoDBClient({ endpoint: api.stack.emulators.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      return dynamo;
    },
    async json(method, path, body, headers = ADMIN) {
      const res = await fetch(`${api.stack.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const json = await res.json();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    async withKey(method, path, key, body) {
      const res = await fetch(`${api.stack.url}${path}`, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, body: await res.json() };
    },
    async postBatch(batch) {
      const res = await fetch(`${api.stack.url}/v1/batch`, { method: 'POST', headers: { ...WRITE, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
      expect(res.status).toBe(200);
      return (await res.json()) as { accepted: number; rejected: unknown[] };
    },
    async sendNow(events) {
      const { now } = await api.json('GET', '/local/clock');
      await api.json('POST', '/v1/batch', { batch: events.map((e) => ({ type: 'track', timestamp: now, ...e })) }, WRITE);
      await api.stack.poller.idle();
    },
    async scanTable(tableName) {
      const out: Array<Record<string, any>> = [];
      let start: Record<string, any> | undefined;
      do {
        const res = await api.dynamo.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
        out.push(...(res.Items ?? []).map((raw) => unmarshall(raw)));
        start = res.LastEvaluatedKey;
      } while (start);
      return out;
    },
    async scanAll() {
      const out: ScannedItem[] = [];
      for (const def of Object.values(TABLES) as TableDefinition[]) {
        for (const item of await api.scanTable(def.localName)) {
          const strings = JSON.stringify(item, (_k, v: unknown) => (v instanceof Set ? [...v] : v));
          const decoded = Object.values(item).filter((v): v is string => typeof v === 'string').map((v) => Buffer.from(v, 'base64').toString('utf8'));
          out.push({ table: def.localName, item, text: [strings, ...decoded].join('\n') });
        }
      }
      return out;
    },
  };
  return api;
}
