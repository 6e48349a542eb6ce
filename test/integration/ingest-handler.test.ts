import type { Context, KinesisStreamBatchResponse } from 'aws-lambda';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { deriveProfileId } from '../../lib/identity/resolver';
import { viewAggregates } from '../../lib/profile/aggregates';
import { kinesisEvent, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * The ingest Lambda handler itself (middy, Powertools, the real DynamoDB client from its module
 * scope) on the local stack's DynamoDB, with a throttle injected into that client mid-batch.
 */
let stack: LocalStack;
let handler: (event: unknown, context: Context) => Promise<KinesisStreamBatchResponse>;
let resources: typeof import('../../functions/commons/resources');

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, quiet: true });
  handler = (await import('../../functions/ingest/handler.js')).handler as never;
  resources = await import('../../functions/commons/resources.js');
});
afterAll(async () => {
  await stack?.stop();
});

const context = { functionName: 'ingest', awsRequestId: 'test', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

it('reports the first record of the throttled profile as the batch item failure, and the retry is exact', async () => {
  // Prepare
  const seq = new SequenceFactory();
  const who = ['h-a', 'h-b', 'h-a', 'h-b', 'h-c'];
  const records = who.map((w, i) => toRecord(segmentEvent({ anonymousId: w, event: 'Order Completed', properties: { total: 10 * (i + 1) } }), seq.take()));
  const victim = deriveProfileId('anonymousId:h-b');
  let thrown = 0;
  resources.getDynamoClient().middlewareStack.add(
    (next, ctx) => async (args) => {
      const item = (args.input as { Item?: { profileId?: string } }).Item;
      if (thrown === 0 && ctx.commandName === 'PutItemCommand' && item?.profileId === victim) {
        thrown += 1;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'throttleOnce' },
  );
  // Act
  const first = await handler(kinesisEvent(records), context);
  const retry = await handler(kinesisEvent(records.slice(1)), context);
  // Assess
  expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.sequenceNumber }] });
  expect(retry).toEqual({ batchItemFailures: [] });
  const stores = resources.getStores();
  const revenue = async (w: string) => viewAggregates((await stores.profiles.getMany([deriveProfileId(`anonymousId:${w}`)])).get(deriveProfileId(`anonymousId:${w}`))!.aggregates).revenue;
  expect(await Promise.all(['h-a', 'h-b', 'h-c'].map(revenue))).toEqual([10 + 30, 20 + 40, 50]);
});
