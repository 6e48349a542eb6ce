import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { DefinitionBody, LogLevel, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { NightlySettings } from '../../lib/learn/nightly-config';
import { NIGHTLY_PREFIXES } from '../../lib/learn/nightly-job';
import { NIGHTLY_TASKS, nightlyDefinition, type NightlyTask } from '../../lib/learn/state-machine';
import { EngineFunction } from './function';
import type { EngineTables } from './tables';

export interface NightlyJobProps {
  tables: EngineTables;
  /** Variables every function gets (table names); the bucket and the task are added here. */
  environment: Record<string, string>;
  settings: NightlySettings;
  /** What happens to the job's data (exports, shards, reports, registry) when the stack is deleted; RETAIN by default. */
  removalPolicy?: RemovalPolicy;
}

/**
 * Each task's time and memory: the tasks that go through a whole exported file or shard, or the
 * training sample, get Lambda's longest time; those that hold a shard's customers or the sample in
 * memory get the most memory (config/nightly.json's `shards` and `trainingSample` keep them within it).
 */
const SIZES: Record<NightlyTask, { minutes: number; memory: number }> = {
  Snapshot: { minutes: 5, memory: 512 },
  ExportStatus: { minutes: 5, memory: 512 },
  ReadProfiles: { minutes: 15, memory: 2048 },
  Roots: { minutes: 15, memory: 3008 },
  SplitEvents: { minutes: 15, memory: 3008 },
  GroupShard: { minutes: 15, memory: 10240 },
  Train: { minutes: 15, memory: 10240 },
  Value: { minutes: 15, memory: 10240 },
  WriteAttributes: { minutes: 15, memory: 3008 },
  Publish: { minutes: 5, memory: 1024 },
  Report: { minutes: 5, memory: 1024 },
  KeepChampion: { minutes: 5, memory: 1024 },
};

/**
 * The nightly learning job: the state machine of lib/learn/state-machine.ts (the same definition the
 * local runner interprets), one function per task (functions/nightly/handler.ts), an encrypted
 * bucket for the job's data (the tables' exports and their pieces kept a week, reports 90 days,
 * the model registry for good), and an EventBridge Scheduler schedule that starts it nightly at
 * config/nightly.json's time and time zone. Each function is granted what its task touches and no
 * more; the state machine only invokes its task functions and runs its own Distributed Maps' child
 * executions; the schedule only starts the state machine.
 */
export class NightlyJob extends Construct {
  readonly bucket: Bucket;
  readonly functions: Record<NightlyTask, EngineFunction>;
  readonly stateMachine: StateMachine;
  readonly schedule: CfnSchedule;
  readonly scheduleRole: Role;
  /** The state machine's name (its role runs its own Distributed Maps' child executions by it). */
  readonly stateMachineName: string;
  /** The tables the night exports. */
  readonly exportedTables: TableV2[];
  /** The bucket prefixes each task reads and writes (for the nag acknowledgements). */
  taskAccess!: Record<NightlyTask, { read: string[]; write: string[] }>;

  constructor(scope: Construct, id: string, props: NightlyJobProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Data', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Each kind of data kept as long as it is needed: a night's working data (the exports and their pieces) a few days,
      // the reports and execution markers 90 days (Step Functions refuses a night's name as long), the registry for good.
      lifecycleRules: [
        { prefix: NIGHTLY_PREFIXES.work, expiration: Duration.days(7) },
        { prefix: NIGHTLY_PREFIXES.reports, expiration: Duration.days(90) },
        { prefix: NIGHTLY_PREFIXES.executions, expiration: Duration.days(90) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.exportedTables = [props.tables.tables.events, props.tables.tables.profiles];
    // State machine names run to 80 characters; stack names to 128.
    this.stateMachineName = `${Stack.of(this).stackName.slice(0, 72)}-nightly`;
    this.functions = Object.fromEntries(NIGHTLY_TASKS.map((task) => [task, this.taskFunction(task, props)])) as Record<NightlyTask, EngineFunction>;
    this.grantTasks(props.tables);
    this.stateMachine = this.buildStateMachine();
    this.scheduleRole = new Role(this, 'ScheduleRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com'), description: 'Starts the nightly learning state machine' });
    this.scheduleRole.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] }));
    this.schedule = new CfnSchedule(this, 'Schedule', {
      description: 'Nightly learning: association rules, propensity models, customer value',
      scheduleExpression: props.settings.schedule.cron,
      scheduleExpressionTimezone: props.settings.schedule.timezone,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.stateMachine.stateMachineArn,
        roleArn: this.scheduleRole.roleArn,
        // The night is the scheduled time's date; Snapshot claims it, so a second start the same night stops there.
        input: JSON.stringify({ night: '<aws.scheduler.scheduled-time>' }),
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
      },
    });
  }

  private taskFunction(task: NightlyTask, props: NightlyJobProps): EngineFunction {
    // Only the task that starts the exports is told the tables' ARNs.
    const exports: Record<string, string> = task === 'Snapshot' ? { EVENTS_TABLE_ARN: props.tables.tables.events.tableArn, PROFILES_TABLE_ARN: props.tables.tables.profiles.tableArn } : {};
    return new EngineFunction(this, task, {
      entry: 'functions/nightly/handler.ts',
      serviceName: `nightly-${task.toLowerCase()}`,
      timeout: Duration.minutes(SIZES[task].minutes),
      memorySize: SIZES[task].memory,
      environment: { ...props.environment, ...exports, NIGHTLY_TASK: task, NIGHTLY_BUCKET: this.bucket.bucketName },
    });
  }

  /**
   * Each task the prefixes of the job's bucket it reads and writes, and no others (only Publish
   * touches the registry, only Report and KeepChampion write reports); the exports' start and status
   * to the two tasks that run them (DynamoDB writes an export with its caller's permissions, into the
   * night's working data); each table only to the tasks that use it: no task scans a table.
   */
  private grantTasks(tables: EngineTables): void {
    const { work, executions, registry, reports } = NIGHTLY_PREFIXES;
    const working = { read: [work], write: [work] };
    const access: Record<NightlyTask, { read: string[]; write: string[] }> = {
      Snapshot: { read: [executions], write: [executions, work] },
      ExportStatus: working,
      ReadProfiles: working,
      Roots: working,
      SplitEvents: working,
      GroupShard: working,
      Train: working,
      Value: working,
      WriteAttributes: { read: [work], write: [] },
      Publish: { read: [work, registry], write: [registry] },
      Report: { read: [work, executions], write: [reports] },
      KeepChampion: { read: [work, executions], write: [reports] },
    };
    const objects = (prefixes: string[]) => prefixes.map((p) => this.bucket.arnForObjects(`${p}*`));
    for (const task of NIGHTLY_TASKS) {
      const fn = this.functions[task];
      fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: objects(access[task].read) }));
      if (access[task].write.length > 0) fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:PutObject'], resources: objects(access[task].write) }));
      // Without ListBucket, S3 answers a missing key with 403, not 404: a task reading a piece not written yet could not tell.
      fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    }
    this.taskAccess = access;
    const { Snapshot, ExportStatus, WriteAttributes, Train, Publish } = this.functions;
    const exported = this.exportedTables;
    Snapshot.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['dynamodb:ExportTableToPointInTime'], resources: exported.map((t) => t.tableArn) }));
    // Exporting a table encrypted with a customer managed key reads it with that key.
    for (const key of new Set(exported.map((t) => t.encryptionKey).filter((k) => k !== undefined))) key.grant(Snapshot, 'kms:Decrypt', 'kms:DescribeKey');
    Snapshot.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:AbortMultipartUpload', 's3:PutObjectAcl'], resources: objects([work]) }));
    ExportStatus.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['dynamodb:DescribeExport'], resources: exported.map((t) => `${t.tableArn}/export/*`) }));
    tables.tables.profiles.grantReadWriteData(WriteAttributes);
    tables.tables.config.grantReadData(Train);
    tables.tables.config.grantReadWriteData(Publish);
  }

  /**
   * The state machine, named so that its role can be granted the starting of its own Distributed
   * Maps' child executions (an ARN from the machine itself would be a circular reference).
   */
  private buildStateMachine(): StateMachine {
    const resources = Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, this.functions[t].functionArn])) as Record<NightlyTask, string>;
    const stack = Stack.of(this);
    const name = this.stateMachineName;
    const machine = new StateMachine(this, 'StateMachine', {
      stateMachineName: name,
      definitionBody: DefinitionBody.fromString(stack.toJsonString(nightlyDefinition({ resources }))),
      // Longer than the exports' deadline (lib/learn/nightly-job.ts) and the Maps after it: a timed-out execution runs no Catch, so writes no report.
      timeout: Duration.hours(12),
      tracingEnabled: true,
      logs: { destination: new LogGroup(this, 'StateMachineLogs', { retention: RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY }), level: LogLevel.ALL, includeExecutionData: false },
    });
    machine.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: Object.values(this.functions).map((f) => f.functionArn) }));
    machine.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:StartExecution'], resources: [stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }));
    machine.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${name}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }),
    );
    return machine;
  }
}
