import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { KinesisEventSource, SqsDlq, type KinesisEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_ENTRIES } from '../../functions/routes';
import type { DataTables } from './data';
import { EngineFunction } from './function';
import { ingestEventSourceDefaults } from './ingestion-defaults';
import type { EngineKeys } from './keys';

export interface IngestionProps {
  data: DataTables;
  keys: EngineKeys;
  /** Overrides of the event source mapping defaults. */
  eventSource?: Partial<Omit<KinesisEventSourceProps, 'onFailure'>>;
}

/**
 * The event stream (encrypted with the AWS managed key) and the ingest function it triggers, with a
 * safe event source mapping, an encrypted SQS on-failure destination, and alarms on iterator age, the
 * on-failure queue and records the ingest dead-letters.
 */
export class Ingestion extends Construct {
  readonly stream: Stream;
  readonly ingest: EngineFunction;
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: IngestionProps) {
    super(scope, id);
    this.stream = new Stream(this, 'Events', {
      encryption: StreamEncryption.MANAGED,
      streamMode: StreamMode.ON_DEMAND,
      retentionPeriod: Duration.hours(24),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.failures = new Queue(this, 'IngestFailures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.ingest = new EngineFunction(this, 'Ingest', {
      entry: FUNCTION_ENTRIES.ingest,
      serviceName: 'ingest',
      timeout: Duration.seconds(60),
      environment: { ...props.data.environment(), ...props.keys.environment() },
    });
    for (const name of ['profiles', 'graph', 'events', 'deadLetters'] as const) props.data.tables[name].grantReadWriteData(this.ingest);
    props.keys.grantRead(this.ingest);
    this.ingest.addEventSource(
      new KinesisEventSource(this.stream, { ...ingestEventSourceDefaults(), ...props.eventSource, onFailure: new SqsDlq(this.failures) }),
    );

    new Alarm(this, 'IteratorAgeAlarm', {
      alarmDescription: 'Ingest is falling behind the event stream (records older than 5 minutes waiting).',
      metric: this.ingest.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 5 * 60 * 1000,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    new Alarm(this, 'FailedBatchesAlarm', {
      alarmDescription: 'The event source mapping gave up on records: they are in the on-failure queue.',
      metric: this.failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    new Alarm(this, 'DeadLetteredAlarm', {
      alarmDescription: 'The ingest rejected records (invalid JSON, schema violations, no usable identity): see the dead-letter table.',
      metric: new Metric({ namespace: 'MomentEngine', metricName: 'DeadLettered', dimensionsMap: { service: 'ingest' }, statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
