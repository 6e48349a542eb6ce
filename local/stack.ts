import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { STREAM, TABLES, tableNamesFromEnv, type TableDefinition } from '../lib/store/tables';
import { localDynamo, localKinesis, provision, startEmulators, type Emulators } from './emulators';
import { lambdaContext, startHttpApi, type HttpFunction, type LocalHttpApi } from './http';
import { KinesisPoller, type PollerOptions } from './poller';

/**
 * The embedded local stack: AWS API emulators on loopback, the tables and stream provisioned from the
 * shared definitions, the Lambda event source mapping, and the HTTP API, running the same handlers
 * that Lambda runs, talking to the emulators through the real AWS SDK clients.
 */
export interface LocalStackOptions {
  /** HTTP port (0: any free port). Default: PORT or 3000. */
  port?: number;
  /** Keep data here between runs; in memory when undefined. */
  dataDir?: string;
  quiet?: boolean;
  /** Event source mapping settings (defaults as the CDK app sets them). */
  mapping?: Partial<Pick<PollerOptions, 'batchSize' | 'maxBatchingWindowMs' | 'maximumRetryAttempts' | 'maximumRecordAgeSeconds' | 'bisectBatchOnFunctionError'>>;
}

export interface LocalStack {
  url: string;
  emulators: Emulators;
  poller: KinesisPoller;
  stop(): Promise<void>;
}

/** Sets what the handlers read from the environment, without overriding what the user set. */
function configureEnvironment(emulators: Emulators): void {
  const defaults: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodbEndpoint,
    AWS_ENDPOINT_URL_KINESIS: emulators.kinesisEndpoint,
    WRITE_KEYS: 'dev-write-key',
    API_KEYS: 'dev-api-key',
    IDENTITY_SALT: 'dev-salt',
    POWERTOOLS_SERVICE_NAME: 'moment-engine-local',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
    [STREAM.envVar]: STREAM.localName,
    ...Object.fromEntries((Object.values(TABLES) as TableDefinition[]).map((t) => [t.envVar, t.localName])),
  };
  // Endpoints always follow the emulators just started.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = emulators.dynamodbEndpoint;
  process.env.AWS_ENDPOINT_URL_KINESIS = emulators.kinesisEndpoint;
  for (const [k, v] of Object.entries(defaults)) process.env[k] ??= v;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.quiet ? undefined : (line: string) => console.log(line);
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const emulators = await startEmulators({ dataDir: options.dataDir });
  let http: LocalHttpApi | undefined;
  let poller: KinesisPoller | undefined;
  try {
    await provision(emulators);
    configureEnvironment(emulators);
    // Imported only now, so their clients and configuration see the environment above.
    const [collect, profiles, decide, ingest, resources, { DynamoStores }] = await Promise.all([
      import('../functions/collect/handler.js'),
      import('../functions/profiles/handler.js'),
      import('../functions/decide/handler.js'),
      import('../functions/ingest/handler.js'),
      import('../functions/commons/resources.js'),
      import('../lib/store/dynamo.js'),
    ]);
    resources.resetResources();
    const deadLetters = new DynamoStores(localDynamo(emulators.dynamodbEndpoint), tableNamesFromEnv()).deadLetters;
    poller = new KinesisPoller({
      kinesis: localKinesis(emulators.kinesisEndpoint),
      streamName: STREAM.localName,
      handler: (event: KinesisStreamEvent) =>
        ingest.handler(event, lambdaContext('ingest')) as Promise<KinesisStreamBatchResponse | void>,
      // The on-failure destination: what the mapping gives up on lands in the dead-letter table.
      onFailure: async ({ shardId, reason, records }) => {
        const at = new Date().toISOString();
        await deadLetters.put(
          records.map((r) => ({ id: `${shardId}#${r.kinesis.sequenceNumber}`, reason: `event source mapping: ${reason}`, source: 'ingest-mapping', data: r.kinesis.data, at })),
        );
        log?.(`dead-lettered ${records.length} record(s) from ${shardId}: ${reason}`);
      },
      batchSize: 100,
      maxBatchingWindowMs: 100,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 5,
      ...options.mapping,
      checkpointFile: options.dataDir ? join(options.dataDir, 'checkpoints.json') : undefined,
      log,
    });
    await poller.start();
    const port = options.port ?? Number(process.env.PORT ?? 3000);
    http = await startHttpApi(
      {
        collect: collect.handler as unknown as HttpFunction,
        profiles: profiles.handler as unknown as HttpFunction,
        decide: decide.handler as unknown as HttpFunction,
      },
      { port },
    );
  } catch (e) {
    await poller?.stop();
    await http?.close();
    await emulators.stop();
    throw e;
  }
  const api = http;
  const mapping = poller;
  return {
    url: api.url,
    emulators,
    poller: mapping,
    stop: async () => {
      await api.close();
      await mapping.stop();
      await emulators.stop();
    },
  };
}
