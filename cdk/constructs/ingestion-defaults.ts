import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { ComparisonOperator, TreatMissingData, type AlarmProps } from 'aws-cdk-lib/aws-cloudwatch';
import { StreamEncryption, StreamMode, type StreamProps } from 'aws-cdk-lib/aws-kinesis';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { KinesisEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';

/**
 * The event stream: encrypted with the AWS managed KMS key, on-demand capacity (collector traffic is
 * bursty and nobody has to re-shard), records kept 24 hours (the ingest gives up on a record after
 * `maxRecordAge`, well within that).
 */
export function eventStreamDefaults(): StreamProps {
  return {
    encryption: StreamEncryption.MANAGED,
    streamMode: StreamMode.ON_DEMAND,
    retentionPeriod: Duration.hours(24),
    removalPolicy: RemovalPolicy.DESTROY,
  };
}

/** The on-failure destination of the event source mapping: encrypted, TLS only, kept the longest SQS allows. */
export function failureQueueDefaults(): QueueProps {
  return { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) };
}

/**
 * The safe defaults of the Kinesis -> ingest event source mapping: a failing batch is bisected, retries
 * and record age are bounded (a poison record cannot block its shard for the whole retention), partial
 * batch responses let the function report the first failed profile, one batch per shard at a time keeps
 * the per-identifier order, and whatever is given up on goes to the on-failure destination the
 * construct adds.
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

/** The ingest function's own limits: a batch of 100 records with DynamoDB retries fits well within a minute. */
export const INGEST_TIMEOUT = Duration.seconds(60);

/** Alarm thresholds: how far behind the stream the ingest may fall before someone is told. */
export const ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000;

/** The shape every "something was given up on" alarm shares: any occurrence alarms, no data is fine. */
export function anyOccurrenceAlarm(): Pick<AlarmProps, 'threshold' | 'evaluationPeriods' | 'comparisonOperator' | 'treatMissingData'> {
  return { threshold: 0, evaluationPeriods: 1, comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD, treatMissingData: TreatMissingData.NOT_BREACHING };
}
