import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { KinesisPoller } from '../../local/poller';
import { localKinesis, startEmulators, type Emulators } from '../../local/emulators';
import { CreateStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';

/**
 * The local event source mapping against kinesalite: AWS's contract for partial batch responses,
 * function errors (bisect, bounded retries) and the on-failure destination.
 */
let emulators: Emulators;
let kinesis: KinesisClient;
let streams = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  kinesis = localKinesis(emulators.kinesisEndpoint);
});
afterAll(async () => {
  kinesis?.destroy();
  await emulators?.stop();
});

async function stream(records: string[]): Promise<string> {
  const name = `poller-test-${++streams}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  for (let i = 0; i < 50; i++) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await kinesis.send(
    new PutRecordsCommand({ StreamName: name, Records: records.map((r) => ({ Data: Buffer.from(r), PartitionKey: 'same-shard' })) }),
  );
  return name;
}

const text = (r: KinesisStreamRecord) => Buffer.from(r.kinesis.data, 'base64').toString('utf8');

function poller(
  name: string,
  handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void>,
  failures: Array<{ reason: string; records: string[] }>,
  batchSize = 10,
): KinesisPoller {
  return new KinesisPoller({
    kinesis,
    streamName: name,
    handler,
    onFailure: async ({ reason, records }) => void failures.push({ reason, records: records.map(text) }),
    batchSize,
    maxBatchingWindowMs: 20,
    pollIntervalMs: 20,
    maximumRetryAttempts: 2,
  });
}

describe('local Kinesis event source mapping', () => {
  it('delivers the records of a shard in order, in real KinesisStreamEvents', async () => {
    const name = await stream(['r0', 'r1', 'r2', 'r3', 'r4']);
    const seen: string[] = [];
    const events: KinesisStreamEvent[] = [];
    const p = poller(name, async (event) => {
      events.push(event);
      seen.push(...event.Records.map(text));
    }, []);
    await p.start();
    await p.idle();
    await p.stop();
    expect(seen).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    const record = events[0]!.Records[0]!;
    expect(record).toMatchObject({ eventSource: 'aws:kinesis', eventName: 'aws:kinesis:record', kinesis: { partitionKey: 'same-shard' } });
    expect(record.eventID).toBe(`shardId-000000000000:${record.kinesis.sequenceNumber}`);
  });

  it('retries from the first reported batch item failure, not before', async () => {
    const name = await stream(['a', 'b', 'c', 'd']);
    const deliveries: string[][] = [];
    let failedOnce = false;
    const p = poller(name, async (event) => {
      deliveries.push(event.Records.map(text));
      const c = event.Records.find((r) => text(r) === 'c');
      if (c && !failedOnce) {
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: c.kinesis.sequenceNumber }] };
      }
      return { batchItemFailures: [] };
    }, []);
    await p.start();
    await p.idle();
    await p.stop();
    expect(deliveries).toEqual([['a', 'b', 'c', 'd'], ['c', 'd']]);
  });

  it('treats an unknown item identifier as a failure of the whole batch', async () => {
    const name = await stream(['x', 'y']);
    const deliveries: string[][] = [];
    const p = poller(name, async (event) => {
      deliveries.push(event.Records.map(text));
      return deliveries.length === 1 ? { batchItemFailures: [{ itemIdentifier: '' }] } : undefined;
    }, []);
    await p.start();
    await p.idle();
    await p.stop();
    expect(deliveries).toEqual([['x', 'y'], ['x', 'y']]);
  });

  it('bisects on a function error, sends the poison record to the on-failure destination, and delivers the rest', async () => {
    const name = await stream(['ok-1', 'ok-2', 'poison', 'ok-3', 'ok-4']);
    const delivered = new Set<string>();
    const failures: Array<{ reason: string; records: string[] }> = [];
    const p = poller(name, async (event) => {
      if (event.Records.some((r) => text(r) === 'poison')) throw new Error('cannot digest');
      for (const r of event.Records) delivered.add(text(r));
    }, failures);
    await p.start();
    await p.idle();
    await p.stop();
    expect([...delivered].sort()).toEqual(['ok-1', 'ok-2', 'ok-3', 'ok-4']);
    expect(failures).toEqual([{ reason: 'function error: cannot digest', records: ['poison'] }]);
    expect(p.stats.deadLettered).toBe(1);
  });
});
