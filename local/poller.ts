import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * A local Lambda event source mapping for Kinesis, with AWS's semantics: per shard, in order, batches
 * of up to `batchSize` records gathered for at most `maxBatchingWindowMs`; `ReportBatchItemFailures`
 * (checkpoint before the first failed record and retry from it; an unknown or empty identifier fails
 * the whole batch); on a function error, bisect the batch and retry the halves; bounded retries and
 * record age; records given up on go to the on-failure destination and the shard moves on.
 */
export interface PollerOptions {
  kinesis: KinesisClient;
  streamName: string;
  streamArn?: string;
  handler: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void>;
  onFailure: (failure: { shardId: string; reason: string; records: KinesisStreamRecord[] }) => Promise<void>;
  batchSize?: number;
  maxBatchingWindowMs?: number;
  pollIntervalMs?: number;
  bisectBatchOnFunctionError?: boolean;
  maximumRetryAttempts?: number;
  maximumRecordAgeSeconds?: number;
  /** Where checkpoints are kept so a restart resumes (optional). */
  checkpointFile?: string;
  log?: (message: string) => void;
}

export interface PollerStats {
  batches: number;
  records: number;
  retries: number;
  deadLettered: number;
  errors: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Stopped extends Error {}

export class KinesisPoller {
  readonly stats: PollerStats = { batches: 0, records: 0, retries: 0, deadLettered: 0, errors: 0 };
  private readonly checkpoints: Record<string, string>;
  private readonly loops: Promise<void>[] = [];
  private stopping = false;
  /** Per shard: when the last fetch that found nothing new started, and whether a batch is in flight. */
  private readonly shardState = new Map<string, { emptyFetchStartedAt: number; busy: boolean }>();
  private readonly o: Required<Omit<PollerOptions, 'checkpointFile' | 'streamArn' | 'log'>> & Pick<PollerOptions, 'checkpointFile' | 'streamArn' | 'log'>;

  constructor(options: PollerOptions) {
    this.o = {
      batchSize: 100,
      maxBatchingWindowMs: 100,
      pollIntervalMs: 100,
      bisectBatchOnFunctionError: true,
      // AWS's default: -1, no limit (the shard waits; nothing accepted is given up on).
      maximumRetryAttempts: -1,
      // AWS's default: -1, no limit on record age.
      maximumRecordAgeSeconds: -1,
      ...options,
    };
    this.checkpoints =
      options.checkpointFile && existsSync(options.checkpointFile)
        ? (JSON.parse(readFileSync(options.checkpointFile, 'utf8')) as Record<string, string>)
        : {};
  }

  async start(): Promise<void> {
    const description = await this.o.kinesis.send(new DescribeStreamCommand({ StreamName: this.o.streamName }));
    const arn = this.o.streamArn ?? description.StreamDescription?.StreamARN ?? `arn:aws:kinesis:us-east-1:000000000000:stream/${this.o.streamName}`;
    for (const shard of description.StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId as string;
      this.shardState.set(shardId, { emptyFetchStartedAt: 0, busy: false });
      this.loops.push(
        this.runShard(shardId, arn).catch((e) => {
          if (!(e instanceof Stopped)) this.o.log?.(`shard ${shardId} stopped: ${(e as Error).message}`);
        }),
      );
    }
  }

  /** Resolves once every shard has been read to its end after this call and nothing is in flight. */
  async idle(timeoutMs = 30_000): Promise<void> {
    const since = Date.now();
    while (Date.now() - since < timeoutMs) {
      const states = [...this.shardState.values()];
      if (states.every((s) => !s.busy && s.emptyFetchStartedAt > since)) return;
      await sleep(20);
    }
    throw new Error('the poller did not catch up in time');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    this.saveCheckpoints();
  }

  /** Written whole or not at all (a process killed mid-write leaves the previous checkpoints). */
  private saveCheckpoints(): void {
    if (!this.o.checkpointFile) return;
    writeFileSync(`${this.o.checkpointFile}.tmp`, JSON.stringify(this.checkpoints));
    renameSync(`${this.o.checkpointFile}.tmp`, this.o.checkpointFile);
  }

  private async iterator(shardId: string): Promise<string> {
    const after = this.checkpoints[shardId];
    const res = await this.o.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.o.streamName,
        ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return res.ShardIterator as string;
  }

  private async runShard(shardId: string, arn: string): Promise<void> {
    const state = this.shardState.get(shardId)!;
    let iterator = await this.iterator(shardId);
    let buffer: KinesisRecord[] = [];
    let firstBufferedAt = 0;
    while (!this.stopping) {
      const fetchStarted = Date.now();
      let fetched: KinesisRecord[] = [];
      try {
        const res = await this.o.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.o.batchSize }));
        fetched = res.Records ?? [];
        iterator = res.NextShardIterator ?? iterator;
      } catch (e) {
        if (this.stopping) return;
        if ((e as Error).name === 'ExpiredIteratorException') {
          buffer = [];
          iterator = await this.iterator(shardId);
          continue;
        }
        this.o.log?.(`GetRecords on ${shardId} failed: ${(e as Error).message}`);
        await sleep(this.o.pollIntervalMs);
        continue;
      }
      if (fetched.length > 0 && buffer.length === 0) firstBufferedAt = Date.now();
      buffer.push(...fetched);
      if (buffer.length === 0) {
        state.emptyFetchStartedAt = fetchStarted;
        await sleep(this.o.pollIntervalMs);
        continue;
      }
      const windowOpen = Date.now() - firstBufferedAt < this.o.maxBatchingWindowMs;
      if (buffer.length < this.o.batchSize && windowOpen && fetched.length > 0) continue;
      if (buffer.length < this.o.batchSize && windowOpen) {
        await sleep(Math.min(this.o.pollIntervalMs, this.o.maxBatchingWindowMs));
        continue;
      }
      const batch = buffer.slice(0, this.o.batchSize);
      buffer = buffer.slice(batch.length);
      if (buffer.length > 0) firstBufferedAt = Date.now();
      state.busy = true;
      try {
        await this.deliver(shardId, arn, batch.map((r) => toLambdaRecord(r, shardId, arn)), 0);
      } finally {
        state.busy = false;
      }
    }
  }

  private checkpoint(shardId: string, record: KinesisStreamRecord | undefined): void {
    if (record === undefined) return;
    this.checkpoints[shardId] = record.kinesis.sequenceNumber;
    this.saveCheckpoints();
  }

  /** Delivers `records` until each has succeeded or gone to the on-failure destination. */
  private async deliver(shardId: string, arn: string, records: KinesisStreamRecord[], attemptsSoFar: number): Promise<void> {
    let pending = records;
    let attempts = attemptsSoFar;
    while (pending.length > 0) {
      if (this.stopping) throw new Stopped();
      const oldest = (pending[0] as KinesisStreamRecord).kinesis.approximateArrivalTimestamp * 1000;
      if (this.o.maximumRecordAgeSeconds > 0 && Date.now() - oldest > this.o.maximumRecordAgeSeconds * 1000) {
        await this.giveUp(shardId, pending, 'maximum record age exceeded');
        return;
      }
      this.stats.batches += 1;
      let failedFrom: number | undefined;
      let error: Error | undefined;
      try {
        const res = await this.o.handler({ Records: pending });
        const failures = (res && 'batchItemFailures' in res ? res.batchItemFailures : undefined) ?? [];
        if (failures.length > 0) {
          const seqs = new Map(pending.map((r, i) => [r.kinesis.sequenceNumber, i]));
          const indexes = failures.map((f) => (f.itemIdentifier ? seqs.get(f.itemIdentifier) : undefined));
          failedFrom = indexes.some((i) => i === undefined) ? 0 : Math.min(...(indexes as number[]));
        }
      } catch (e) {
        error = e as Error;
        this.stats.errors += 1;
      }
      if (failedFrom === undefined && error === undefined) {
        this.stats.records += pending.length;
        this.checkpoint(shardId, pending[pending.length - 1]);
        return;
      }
      if (error !== undefined && this.o.bisectBatchOnFunctionError && pending.length > 1) {
        const mid = Math.ceil(pending.length / 2);
        this.stats.retries += 1;
        await this.deliver(shardId, arn, pending.slice(0, mid), attempts + 1);
        await this.deliver(shardId, arn, pending.slice(mid), attempts + 1);
        return;
      }
      if (failedFrom !== undefined && failedFrom > 0) {
        this.stats.records += failedFrom;
        this.checkpoint(shardId, pending[failedFrom - 1]);
        pending = pending.slice(failedFrom);
      }
      attempts += 1;
      if (this.o.maximumRetryAttempts >= 0 && attempts > this.o.maximumRetryAttempts) {
        await this.giveUp(shardId, pending, error ? `function error: ${error.message}` : 'batch item failures persisted past the retries');
        return;
      }
      this.stats.retries += 1;
      await sleep(Math.min(1000, 50 * 2 ** attempts));
    }
  }

  private async giveUp(shardId: string, records: KinesisStreamRecord[], reason: string): Promise<void> {
    await this.o.onFailure({ shardId, reason, records });
    this.stats.deadLettered += records.length;
    this.checkpoint(shardId, records[records.length - 1]);
  }
}

function toLambdaRecord(r: KinesisRecord, shardId: string, arn: string): KinesisStreamRecord {
  return {
    eventID: `${shardId}:${r.SequenceNumber}`,
    eventName: 'aws:kinesis:record',
    eventSource: 'aws:kinesis',
    eventSourceARN: arn,
    eventVersion: '1.0',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/local-ingest',
    awsRegion: process.env.AWS_REGION ?? 'us-east-1',
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.PartitionKey as string,
      sequenceNumber: r.SequenceNumber as string,
      data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
    },
  };
}
