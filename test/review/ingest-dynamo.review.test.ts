import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { deriveProfileId } from '../../lib/identity/resolver';
import { DynamoStores } from '../../lib/store/dynamo';
import { startEmulators, provision, type Emulators } from '../../local/emulators';
import { TABLES, type TableName } from '../../lib/store/tables';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * "Nothing one record carries fails its batch" (issue #13, defect 4), against a real DynamoDB API
 * (dynalite) through the real SDK client: the ingest validates records "from any other producer"
 * again, but writes what it dead-letters or stores without bounding its size (a Kinesis record may be
 * up to 1 MB; a DynamoDB item at most 400 KB).
 */
let emulators: Emulators;
let client: DynamoDBClient;
const tables = Object.fromEntries(Object.entries(TABLES).map(([k, t]) => [k, t.localName])) as Record<TableName, string>;

beforeAll(async () => {
  emulators = await startEmulators();
  await provision(emulators);
  client = new DynamoDBClient({ endpoint: emulators.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await emulators?.stop();
});

describe('review: one large record on the stream', () => {
  it('dead-letters a 350 KB schema-invalid record and fails nothing (its dead letter must fit in an item)', async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const big = toRecord({ type: 'bogus', anonymousId: 'big-1', messageId: 'big-1', properties: { blob: 'x'.repeat(350 * 1024) } }, seq.take());
    const ok = toRecord(segmentEvent({ anonymousId: 'small-1', messageId: 'small-1' }), seq.take());
    const result = await ingestBatch([big, ok], stores, ingestConfig());
    expect({ failed: result.failedSequenceNumbers, errors: result.errors.map((e) => e.message.slice(0, 120)) }).toEqual({ failed: [], errors: [] });
    expect((await stores.profiles.getMany([deriveProfileId('anonymousId:small-1')])).size).toBe(1);
  });

  it("folds and stores a schema-valid 450 KB record's batch without failing the other profiles' groups (events item over 400 KB)", async () => {
    const stores = new DynamoStores(client, tables);
    const seq = new SequenceFactory();
    const big = toRecord(segmentEvent({ anonymousId: 'big-2', messageId: 'big-2', properties: { blob: 'x'.repeat(450 * 1024) } }), seq.take());
    const ok = toRecord(segmentEvent({ anonymousId: 'small-2', messageId: 'small-2' }), seq.take());
    const result = await ingestBatch([ok, big], stores, ingestConfig());
    expect({ failed: result.failedSequenceNumbers, errors: result.errors.map((e) => e.message.slice(0, 120)) }).toEqual({ failed: [], errors: [] });
  });
});
