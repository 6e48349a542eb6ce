import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Stream, type StreamProps } from 'aws-cdk-lib/aws-kinesis';
import { KinesisEventSource, SqsDlq, type KinesisEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_ENTRIES } from '../../functions/routes';
import { STREAM } from '../../lib/store/tables';
import { EngineFunction } from './function';
import { METRICS_NAMESPACE } from './function-defaults';
import {
  INGEST_TIMEOUT,
  ITERATOR_AGE_ALARM_MS,
  anyOccurrenceAlarm,
  eventStreamDefaults,
  failureQueueDefaults,
  ingestEventSourceDefaults,
} from './ingestion-defaults';
import type { EngineKeys } from './keys';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { EngineTables } from './tables';

export interface IngestionProps {
  tables: EngineTables;
  keys: EngineKeys;
  /** A customer managed key for the stream and the failure queue (else AWS managed keys). */
  encryptionKey?: IKey;
  /** Variables every function gets (table names, secret ARNs); the stream's name is added here. */
  environment: Record<string, string>;
  /** Overrides of the stream defaults. */
  stream?: Partial<StreamProps>;
  /** Overrides of the event source mapping defaults. */
  eventSource?: Partial<Omit<KinesisEventSourceProps, 'onFailure'>>;
}

/**
 * The event stream (KMS-encrypted, on demand) and the ingest: functions/ingest/handler.ts triggered by
 * the stream through the safe event source mapping of ingestion-defaults.ts, with an encrypted SQS
 * queue as its on-failure destination, and alarms on iterator age (falling behind), on that queue
 * (records given up on) and on the `DeadLettered` metric (records the ingest itself rejected into the
 * dead-letter table). The ingest reads and writes the profile, graph, events, dead-letter and offer statistics tables.
 */
export class Ingestion extends Construct {
  readonly stream: Stream;
  readonly ingest: EngineFunction;
  readonly failures: Queue;
  readonly alarms: { iteratorAge: Alarm; failures: Alarm; deadLettered: Alarm };

  constructor(scope: Construct, id: string, props: IngestionProps) {
    super(scope, id);
    this.stream = new Stream(this, 'Events', { ...eventStreamDefaults(props.encryptionKey), ...props.stream });
    this.failures = new Queue(this, 'IngestFailures', failureQueueDefaults(props.encryptionKey));
    this.ingest = new EngineFunction(this, 'Ingest', {
      entry: FUNCTION_ENTRIES.ingest,
      serviceName: 'ingest',
      timeout: INGEST_TIMEOUT,
      environment: { ...props.environment, ...this.environment() },
    });
    for (const name of ['profiles', 'graph', 'events', 'deadLetters', 'offerStats'] as const) props.tables.tables[name].grantReadWriteData(this.ingest);
    // The identity weights the nightly job publishes (product popularity for the cluster context).
    props.tables.tables.config.grantReadData(this.ingest);
    // Identifiers erased at a person's request (suppressed): a record carrying one is dead-lettered. It
    // may add suppressions (a device linked to her while she was being erased), and nothing else there.
    const privacy = props.tables.tables.privacy;
    privacy.grantReadData(this.ingest);
    this.ingest.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:BatchWriteItem'],
        resources: [privacy.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SUP#*'] } },
      }),
    );
    privacy.encryptionKey?.grant(this.ingest, 'kms:Encrypt', 'kms:GenerateDataKey*');
    // In-app impressions into her contact ledger (lib/ingest/contacts.ts): the day in force (one Query of
    // her partition's days around it), one conditional UpdateItem each, and the read that says why one
    // did not count; nothing else of the campaigns' table.
    const activations = props.tables.tables.activations;
    this.ingest.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query'], resources: [activations.tableArn] }));
    activations.encryptionKey?.grant(this.ingest, 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*');
    // The salt only: the ingest checks no keys.
    props.keys.grantRead(this.ingest, []);
    // The event source grants the stream reads and the queue sends to the function's role.
    this.ingest.addEventSource(
      new KinesisEventSource(this.stream, { ...ingestEventSourceDefaults(), ...props.eventSource, onFailure: new SqsDlq(this.failures) }),
    );

    this.alarms = {
      iteratorAge: new Alarm(this, 'IteratorAgeAlarm', {
        alarmDescription: `Ingest is falling behind the event stream (records older than ${ITERATOR_AGE_ALARM_MS / 60000} minutes waiting).`,
        metric: this.ingest.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: ITERATOR_AGE_ALARM_MS,
        evaluationPeriods: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      failures: new Alarm(this, 'FailedBatchesAlarm', {
        alarmDescription: 'The event source mapping gave up on records (retries or record age exhausted): they are in the on-failure queue.',
        metric: this.failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        ...anyOccurrenceAlarm(),
      }),
      deadLettered: new Alarm(this, 'DeadLetteredAlarm', {
        alarmDescription: 'The ingest rejected records (invalid JSON, schema violations, no usable identity): see the dead-letter table.',
        // Powertools Metrics publishes with the `service` dimension set to the function's service name.
        metric: new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'DeadLettered',
          dimensionsMap: { service: this.ingest.serviceName },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        ...anyOccurrenceAlarm(),
      }),
    };
  }

  /** The variable that tells a function the stream's name (STREAM.envVar, lib/store/tables.ts). */
  environment(): Record<string, string> {
    return { [STREAM.envVar]: this.stream.streamName };
  }
}
