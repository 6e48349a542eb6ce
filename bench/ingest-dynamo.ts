import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { ingestBatch, type IngestConfig, type StreamRecord } from '../lib/ingest/pipeline';
import { DynamoStores } from '../lib/store/dynamo';
import { TABLES, type TableName } from '../lib/store/tables';
import { provision, startEmulators } from '../local/emulators';
import { dynamoCounts, type Measure } from './ingest';
import { naiveIngest } from './naive';

const tables = Object.fromEntries(Object.entries(TABLES).map(([k, t]) => [k, t.localName])) as Record<TableName, string>;

/** The same input against DynamoDB (dynalite on loopback, real SDK client), each design on a fresh emulator. */
export async function runAgainstLocalStack(input: StreamRecord[], config: IngestConfig, measure: Measure): Promise<void> {
  console.log(`\nAgainst DynamoDB on the embedded stack (dynalite over HTTP), first ${input.length} events:`);
  for (const [label, run] of [
    ['local stack, grouped by profile', (b: StreamRecord[], s: DynamoStores) => ingestBatch(b, s, config).then(() => undefined)],
    ['local stack, naive (write per event)', (b: StreamRecord[], s: DynamoStores) => naiveIngest(b, s, config)],
  ] as const) {
    const emulators = await startEmulators({ inProcess: true });
    await provision(emulators);
    const client = new DynamoDBClient({
      endpoint: emulators.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) }),
    });
    const stores = new DynamoStores(client, tables);
    await measure(label, input, stores, dynamoCounts(client, tables.profiles), (b) => run(b, stores));
    client.destroy();
    await emulators.stop();
  }
  console.log('(CPU here includes the emulator, which runs in the same process.)');
}
