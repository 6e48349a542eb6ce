import { Duration } from 'aws-cdk-lib';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { KinesisEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';

/**
 * The safe defaults of the Kinesis -> ingest event source mapping: a failing batch is bisected, retries
 * and record age are bounded (a poison record cannot block its shard for the 24 h retention), partial
 * batch responses let the function report the first failed profile, and whatever is given up on goes
 * to the on-failure destination the construct adds.
 */
export function ingestEventSourceDefaults(): Omit<KinesisEventSourceProps, 'onFailure'> {
  return {
    startingPosition: StartingPosition.TRIM_HORIZON,
    batchSize: 100,
    maxBatchingWindow: Duration.seconds(1),
    bisectBatchOnError: true,
    retryAttempts: 5,
    maxRecordAge: Duration.hours(6),
    reportBatchItemFailures: true,
    parallelizationFactor: 1,
  };
}
