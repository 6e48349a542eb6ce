import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { ComparisonOperator, TreatMissingData, type AlarmProps } from 'aws-cdk-lib/aws-cloudwatch';
import { StreamEncryption, StreamMode, type StreamProps } from 'aws-cdk-lib/aws-kinesis';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import type { KinesisEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { IKey } from 'aws-cdk-lib/aws-kms';

/**
 * The event stream: encrypted with the AWS managed KMS key (or the customer managed `key`), on-demand capacity (collector traffic is
 * bursty and nobody has to re-shard), records kept 24 hours: the time the ingest has to get past a
 * failure (a DynamoDB outage, a bad deploy) before accepted events are lost; the iterator-age alarm
 * says so long before.
 */
export function eventStreamDefaults(key?: IKey): StreamProps {
  return {
    ...(key ? { encryption: StreamEncryption.KMS, encryptionKey: key } : { encryption: StreamEncryption.MANAGED }),
    streamMode: StreamMode.ON_DEMAND,
    retentionPeriod: Duration.hours(24),
    removalPolicy: RemovalPolicy.DESTROY,
  };
}

/** The on-failure destination of the event source mapping: encrypted, TLS only, kept the longest SQS allows. */
export function failureQueueDefaults(key?: IKey): QueueProps {
  return { ...(key ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key } : { encryption: QueueEncryption.SQS_MANAGED }), enforceSSL: true, retentionPeriod: Duration.days(14) };
}

/**
 * The safe defaults of the Kinesis -> ingest event source mapping: a failing batch is bisected, partial
 * batch responses let the function report the first failed profile, and one batch per shard at a time
 * keeps the per-identifier order. It never gives up on a record: the ingest itself dead-letters what a
 * record carries that cannot be applied (with the record and its reason), so what still fails is a
 * failure of the platform, and giving up on it would lose accepted events (the on-failure destination
 * receives only a pointer to a sequence range, which outlives the data). The shard waits instead, and
 * the iterator-age alarm calls for help. The on-failure queue the construct adds stays as a safety net.
 */
export function ingestEventSourceDefaults(): Omit<KinesisEventSourceProps, 'onFailure'> {
  return {
    startingPosition: StartingPosition.TRIM_HORIZON,
    batchSize: 100,
    maxBatchingWindow: Duration.seconds(1),
    bisectBatchOnError: true,
    retryAttempts: -1,
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
