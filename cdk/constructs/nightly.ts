import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { DefinitionBody, LogLevel, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { NightlySettings } from '../../lib/learn/nightly-config';
import { NIGHTLY_TASKS, nightlyDefinition, type NightlyTask } from '../../lib/learn/state-machine';
import { EngineFunction } from './function';
import type { EngineTables } from './tables';

export interface NightlyJobProps {
  tables: EngineTables;
  /** Variables every function gets (table names); the bucket and the task are added here. */
  environment: Record<string, string>;
  settings: NightlySettings;
  /** What happens to the job's data (snapshots, reports, registry) when the stack is deleted; RETAIN by default. */
  removalPolicy?: RemovalPolicy;
}

/** The long tasks (the snapshot, training, customer value) get Lambda's longest time and more memory. */
const LONG: ReadonlySet<NightlyTask> = new Set(['Snapshot', 'Train', 'Value']);

/**
 * The nightly learning job: the state machine of lib/learn/state-machine.ts (the same definition the
 * local runner interprets), one function per task (functions/nightly/handler.ts), an encrypted
 * bucket for the job's data (snapshots, candidates, attributes, registry, reports; kept 90 days),
 * and an EventBridge Scheduler schedule that starts it nightly at config/nightly.json's time and
 * time zone. Each function is granted what its task touches and no more; the state machine only
 * invokes the seven functions; the schedule only starts the state machine.
 */
export class NightlyJob extends Construct {
  readonly bucket: Bucket;
  readonly functions: Record<NightlyTask, EngineFunction>;
  readonly stateMachine: StateMachine;
  readonly schedule: CfnSchedule;
  readonly scheduleRole: Role;

  constructor(scope: Construct, id: string, props: NightlyJobProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Data', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
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
    return new EngineFunction(this, task, {
      entry: 'functions/nightly/handler.ts',
      serviceName: `nightly-${task.toLowerCase()}`,
      timeout: LONG.has(task) ? Duration.minutes(15) : Duration.minutes(5),
      memorySize: LONG.has(task) ? 3008 : 1024,
      environment: { ...props.environment, NIGHTLY_TASK: task, NIGHTLY_BUCKET: this.bucket.bucketName },
    });
  }

  /** Objects of the job's bucket for every task; each table only to the tasks that use it. */
  private grantTasks(tables: EngineTables): void {
    const objects = new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject', 's3:PutObject'], resources: [this.bucket.arnForObjects('*')] });
    for (const fn of Object.values(this.functions)) fn.addToRolePolicy(objects);
    const { Snapshot, WriteAttributes, Train, Publish } = this.functions;
    tables.tables.events.grantReadData(Snapshot);
    tables.tables.profiles.grantReadData(Snapshot);
    tables.tables.profiles.grantReadWriteData(WriteAttributes);
    tables.tables.config.grantReadData(Train);
    tables.tables.config.grantReadWriteData(Publish);
  }

  private buildStateMachine(): StateMachine {
    const resources = Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, this.functions[t].functionArn])) as Record<NightlyTask, string>;
    const machine = new StateMachine(this, 'StateMachine', {
      definitionBody: DefinitionBody.fromString(Stack.of(this).toJsonString(nightlyDefinition({ resources }))),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: new LogGroup(this, 'StateMachineLogs', { retention: RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY }), level: LogLevel.ALL, includeExecutionData: false },
    });
    machine.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: Object.values(this.functions).map((f) => f.functionArn) }));
    return machine;
  }
}
