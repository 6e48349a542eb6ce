import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { join } from 'node:path';
import { STREAM, TABLES, tableNamesFromEnv, type TableDefinition } from '../lib/store/tables';
import { localDynamo, localKinesis, provision, startEmulators, type Emulators } from './emulators';
import { injectDynamoFaults, type DynamoFaults, type FaultKind } from './faults';
import { lambdaContext } from './http';
import { KinesisPoller, type PollerOptions } from './poller';

/**
 * The ingest side of the embedded stack: the AWS API emulators, the tables and stream provisioned
 * from the shared definitions, and the Lambda event source mapping that feeds the stream to the
 * ingest handler. It runs in a process of its own (local/ingest-process.ts), as the ingest Lambda
 * runs apart from the API's functions on AWS, so the local stack uses two cores.
 */
export interface IngestSideOptions {
  dataDir?: string;
  quiet?: boolean;
  mapping?: Partial<Pick<PollerOptions, 'batchSize' | 'maxBatchingWindowMs' | 'maximumRetryAttempts' | 'maximumRecordAgeSeconds' | 'bisectBatchOnFunctionError'>>;
  /** Use emulators already running (and provisioned) instead of starting them here. */
  attach?: Pick<Emulators, 'dynamodbEndpoint' | 'kinesisEndpoint'>;
  /** Where the mapping keeps its checkpoints (default: checkpoints.json in dataDir; none in memory). */
  checkpointFile?: string;
  /** Faults injected into the ingest's DynamoDB client (reliability runs). */
  faults?: DynamoFaults;
}

/** Sets what the handlers read from the environment, without overriding what the user set. */
export function configureEnvironment(endpoints: Pick<Emulators, 'dynamodbEndpoint' | 'kinesisEndpoint'>): void {
  const defaults: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // The client key browsers and apps ship, and a server-side key whose messages' context.ip is believed (lib/collect/network.ts).
    WRITE_KEYS: 'dev-write-key,server:dev-server-key',
    DECIDE_KEYS: 'dev-api-key',
    READ_KEYS: 'dev-read-key',
    ADMIN_KEYS: 'dev-admin-key',
    IDENTITY_SALT: 'dev-salt',
    WEBHOOK_SECRET: 'dev-webhook-secret',
    // A development key for sealed contact addresses (never for production data: on AWS it is a KMS key).
    CONTACT_MASTER_KEY: '6d6f6d656e742d656e67696e652d6465762d636f6e746163742d6b65792d3031',
    POWERTOOLS_SERVICE_NAME: 'moment-engine-local',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
    [STREAM.envVar]: STREAM.localName,
    ...Object.fromEntries((Object.values(TABLES) as TableDefinition[]).map((t) => [t.envVar, t.localName])),
  };
  // Endpoints always follow the emulators just started.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodbEndpoint;
  process.env.AWS_ENDPOINT_URL_KINESIS = endpoints.kinesisEndpoint;
  for (const [k, v] of Object.entries(defaults)) process.env[k] ??= v;
}

export async function startIngestSide(
  options: IngestSideOptions,
  onFault: (kind: FaultKind, command: string) => void = () => undefined,
): Promise<{ emulators: Emulators; poller: KinesisPoller }> {
  const log = options.quiet ? undefined : (line: string) => console.log(line);
  const emulators: Emulators = options.attach
    ? { ...options.attach, stop: async () => undefined }
    : await startEmulators({ dataDir: options.dataDir, inProcess: true });
  try {
    if (!options.attach) await provision(emulators);
    configureEnvironment(emulators);
    // Imported only now, so their clients and configuration see the environment above.
    const [ingest, { DynamoStores }, { redactRecordData }, { defaultEventPolicy }, { indexedLetter }, resources] = await Promise.all([
      import('../functions/ingest/handler.js'),
      import('../lib/store/dynamo.js'),
      import('../lib/events/personal.js'),
      import('../lib/events/policy.js'),
      import('../lib/privacy/letters.js'),
      import('../functions/commons/resources.js'),
    ]);
    if (options.faults) injectDynamoFaults(resources.getDynamoClient(), options.faults, onFault);
    const salt = process.env.IDENTITY_SALT ?? '';
    const redact = (data: string) => redactRecordData(data, defaultEventPolicy().personalData, salt);
    const deadLetters = new DynamoStores(localDynamo(emulators.dynamodbEndpoint), tableNamesFromEnv()).deadLetters;
    const poller = new KinesisPoller({
      kinesis: localKinesis(emulators.kinesisEndpoint),
      streamName: STREAM.localName,
      handler: (event: KinesisStreamEvent) => ingest.handler(event, lambdaContext('ingest')) as Promise<KinesisStreamBatchResponse | void>,
      // The on-failure destination: what the mapping gives up on lands in the dead-letter table.
      onFailure: async ({ shardId, reason, records }) => {
        const at = new Date().toISOString();
        await deadLetters.put(
          records.map((r) => indexedLetter({ id: `${shardId}#${r.kinesis.sequenceNumber}`, reason: `event source mapping: ${reason}`, source: 'ingest-mapping', data: redact(r.kinesis.data), at }, salt)),
        );
        log?.(`dead-lettered ${records.length} record(s) from ${shardId}: ${reason}`);
      },
      batchSize: 100,
      maxBatchingWindowMs: 100,
      bisectBatchOnFunctionError: true,
      // As the deployed mapping: never give up on a record (the ingest dead-letters what cannot be applied).
      maximumRetryAttempts: -1,
      ...options.mapping,
      checkpointFile: options.checkpointFile ?? (options.dataDir ? join(options.dataDir, 'checkpoints.json') : undefined),
      log,
    });
    await poller.start();
    return { emulators, poller };
  } catch (e) {
    await emulators.stop();
    throw e;
  }
}
