import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { EventStream } from '../collect/collector';

/** The Kinesis adapter of the collector's EventStream port. */
export class KinesisEventStream implements EventStream {
  constructor(
    private readonly client: KinesisClient,
    private readonly streamName: string,
  ) {}

  async putRecords(records: Array<{ data: string; partitionKey: string }>): Promise<number[]> {
    const res = await this.client.send(
      new PutRecordsCommand({
        StreamName: this.streamName,
        Records: records.map((r) => ({ Data: Buffer.from(r.data, 'utf8'), PartitionKey: r.partitionKey })),
      }),
    );
    if (!res.FailedRecordCount) return [];
    return (res.Records ?? []).flatMap((r, i) => (r.ErrorCode ? [i] : []));
  }
}
