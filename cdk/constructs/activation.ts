import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Stream } from 'aws-cdk-lib/aws-kinesis';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_ENTRIES } from '../../functions/routes';
import type { Campaigns } from '../../lib/campaign/campaign';
import { CHANGE_DETAIL_TYPE, CHANGE_SOURCE } from '../../lib/store/eventbridge';
import { SEND_TIMEOUT, sendEventSourceDefaults, sendQueueDefaults } from './activation-defaults';
import { EngineFunction } from './function';
import { failureQueueDefaults } from './ingestion-defaults';
import { generatedSecretDefaults } from './keys';
import type { EngineTables } from './tables';

export interface ActivationProps {
  tables: EngineTables;
  stream: Stream;
  /** Variables every function gets (table names, stream name, secret ARNs). */
  environment: Record<string, string>;
  /** The campaigns bundled with the code: their channels get a send queue each. */
  campaigns: Campaigns;
  /** Each webhook channel's URL (`-c webhookUrls='{"push":"https://..."}'`). */
  webhookUrls?: Record<string, string>;
  encryptionKey?: IKey;
  /** The campaigns API: it may publish campaigns only on the channels deployed. */
  campaignsApi: EngineFunction;
  /** The collector: it seals the contact addresses messages give (the contact key's data keys) and stores them. */
  collector: EngineFunction;
  /** The privacy function: an erasure removes her sealed addresses. */
  privacy: EngineFunction;
}

/**
 * Triggered campaigns on AWS (lib/campaign/): the activation bus (EventBridge) the ingest announces
 * profile changes on; a rule that hands them to the trigger function (retried for a day, then kept in
 * a dead-letter queue); an EventBridge Scheduler group whose one-time schedules put each due wake-up on
 * its channel's send queue; per channel, an SQS queue with its dead-letter queue, drained by the send
 * function at the channel's delivery speed (maximum concurrency); and the webhooks' signing secret,
 * readable by the send function alone.
 *
 * Least privilege: the trigger function reads profiles and the config table, reads and writes the
 * activations table, and creates and deletes schedules in its group only; the send function also puts
 * contacts on the stream, messages on the bus, and reads the webhook secret; the scheduler's role may
 * only send to the send queues.
 */
export class Activation extends Construct {
  readonly bus: EventBus;
  readonly trigger: EngineFunction;
  readonly send: EngineFunction;
  readonly queues: Record<string, Queue>;
  readonly sendFailures: Queue;
  readonly triggerFailures: Queue;
  readonly webhookSecret: Secret;
  readonly scheduleGroup: CfnScheduleGroup;
  readonly schedulerRole: Role;
  /** Wraps the data keys of sealed contact addresses: the collector may only generate them, the send function only decrypt them. */
  readonly contactKey: Key;

  constructor(scope: Construct, id: string, props: ActivationProps) {
    super(scope, id);
    const key = props.encryptionKey;
    const { tables } = props.tables;
    this.bus = new EventBus(this, 'Bus', { description: 'Profile changes for campaigns (moment.ingest) and campaign messages for any tool (moment.campaigns)' });
    this.webhookSecret = new Secret(this, 'WebhookSecret', generatedSecretDefaults('Signs campaign webhooks (HMAC-SHA256, x-moment-signature); share it with the receivers', key));
    this.sendFailures = new Queue(this, 'SendFailures', failureQueueDefaults(key));
    this.queues = Object.fromEntries(
      Object.keys(props.campaigns.channels).map((channel) => [channel, new Queue(this, `Send${channel.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`, sendQueueDefaults(this.sendFailures, key))]),
    );
    this.scheduleGroup = new CfnScheduleGroup(this, 'Schedules', {});
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: 'EventBridge Scheduler puts due campaign wake-ups on the send queues',
    });
    for (const q of Object.values(this.queues)) q.grantSendMessages(this.schedulerRole);

    const scheduling = {
      SCHEDULE_GROUP: this.scheduleGroup.ref,
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
      SEND_QUEUE_ARNS: Stack.of(this).toJsonString(Object.fromEntries(Object.entries(this.queues).map(([c, q]) => [c, q.queueArn]))),
      SEND_QUEUE_URLS: Stack.of(this).toJsonString(Object.fromEntries(Object.entries(this.queues).map(([c, q]) => [c, q.queueUrl]))),
      CAMPAIGN_CHANNELS: Object.keys(this.queues).sort().join(','),
    };
    this.trigger = new EngineFunction(this, 'Trigger', { entry: FUNCTION_ENTRIES.trigger, serviceName: 'trigger', environment: { ...props.environment, ...scheduling } });
    const webhooks = Object.fromEntries(Object.entries(props.webhookUrls ?? {}).map(([c, url]) => [`WEBHOOK_URL_${c.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, url]));
    this.send = new EngineFunction(this, 'Send', {
      entry: FUNCTION_ENTRIES.send,
      serviceName: 'send',
      timeout: SEND_TIMEOUT,
      environment: { ...props.environment, ...scheduling, ...webhooks, ACTIVATION_BUS_NAME: this.bus.eventBusName, WEBHOOK_SECRET_ARN: this.webhookSecret.secretArn },
    });

    for (const fn of [this.trigger, this.send]) {
      tables.activations.grantReadWriteData(fn);
      tables.profiles.grantReadData(fn);
      tables.config.grantReadData(fn);
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
          resources: [Stack.of(this).formatArn({ service: 'scheduler', region: Aws.REGION, account: Aws.ACCOUNT_ID, resource: 'schedule', resourceName: `${this.scheduleGroup.ref}/*` })],
        }),
      );
      this.schedulerRole.grantPassRole(fn.grantPrincipal);
      // A wake-up due within a minute goes straight on its queue.
      for (const q of Object.values(this.queues)) q.grantSendMessages(fn);
    }
    props.stream.grantWrite(this.send);
    this.bus.grantPutEventsTo(this.send);
    this.webhookSecret.grantRead(this.send);
    for (const [channel, queue] of Object.entries(this.queues)) {
      this.send.addEventSource(new SqsEventSource(queue, sendEventSourceDefaults(props.campaigns.channels[channel]?.maxConcurrency ?? 5)));
    }

    props.campaignsApi.addEnvironment('CAMPAIGN_CHANNELS', scheduling.CAMPAIGN_CHANNELS);
    this.contactKey = new Key(this, 'ContactKey', { description: 'Moment Engine: data keys of sealed contact addresses (envelope encryption)', enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    this.grantAddresses(props);
    this.grantMessaging(props.campaigns);

    this.triggerFailures = new Queue(this, 'TriggerFailures', failureQueueDefaults(key));
    new Rule(this, 'ChangesToTrigger', {
      eventBus: this.bus,
      description: 'Profile changes from the ingest to the campaign trigger function',
      eventPattern: { source: [CHANGE_SOURCE], detailType: [CHANGE_DETAIL_TYPE] },
      targets: [new LambdaFunction(this.trigger, { deadLetterQueue: this.triggerFailures, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
  }

  /**
   * Sealed addresses: the collector generates data keys (never decrypts them), stores sealed addresses
   * (BatchWriteItem) and reads suppressions (SUP# items only) so an erased person's address is not kept
   * again; the send function decrypts data keys and reads addresses; the campaigns API reads their
   * masks (GET /v1/profiles/{id}/campaigns), and cannot open one; the privacy function removes them.
   */
  private grantAddresses(props: ActivationProps): void {
    const { tables } = props.tables;
    const keyArn = { CONTACT_KEY_ARN: this.contactKey.keyArn };
    for (const fn of [props.collector, this.send]) for (const [k, v] of Object.entries(keyArn)) fn.addEnvironment(k, v);
    const context = { 'kms:EncryptionContext:purpose': 'contact-address' };
    props.collector.addToRolePolicy(new PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [this.contactKey.keyArn], conditions: { StringEquals: context } }));
    this.send.addToRolePolicy(new PolicyStatement({ actions: ['kms:Decrypt'], resources: [this.contactKey.keyArn], conditions: { StringEquals: context } }));
    tables.contacts.grant(props.collector, 'dynamodb:BatchWriteItem');
    tables.contacts.encryptionKey?.grant(props.collector, 'kms:Encrypt', 'kms:GenerateDataKey*');
    tables.contacts.grant(this.send, 'dynamodb:GetItem');
    tables.contacts.encryptionKey?.grant(this.send, 'kms:Decrypt', 'kms:DescribeKey');
    // The campaigns API says which address is used from the mask kept beside it: it reads items, never the contact key.
    tables.contacts.grant(props.campaignsApi, 'dynamodb:GetItem');
    tables.contacts.encryptionKey?.grant(props.campaignsApi, 'kms:Decrypt', 'kms:DescribeKey');
    tables.contacts.grantReadWriteData(props.privacy);
    props.collector.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:BatchGetItem'], resources: [tables.privacy.tableArn], conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SUP#*'] } } }),
    );
    tables.privacy.encryptionKey?.grant(props.collector, 'kms:Decrypt', 'kms:DescribeKey');
  }

  /** SES for e-mail channels (their sender's identity and template only) and SNS for SMS channels. */
  private grantMessaging(campaigns: Campaigns): void {
    const stack = Stack.of(this);
    const ses = (resource: string, name: string) => stack.formatArn({ service: 'ses', region: Aws.REGION, account: Aws.ACCOUNT_ID, resource, resourceName: name });
    const resources = new Set<string>();
    let sms = false;
    for (const channel of Object.values(campaigns.channels)) {
      if (channel.adapter === 'ses' && channel.from && channel.template) {
        resources.add(ses('identity', channel.from));
        resources.add(ses('identity', channel.from.slice(channel.from.indexOf('@') + 1)));
        resources.add(ses('template', channel.template));
        if (channel.configurationSet) resources.add(ses('configuration-set', channel.configurationSet));
      }
      if (channel.adapter === 'sns') sms = true;
    }
    if (resources.size > 0) this.send.addToRolePolicy(new PolicyStatement({ actions: ['ses:SendEmail'], resources: [...resources].sort() }));
    // Publishing an SMS to a phone number names no resource: SNS takes only "*" for it.
    if (sms) this.send.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: ['*'], conditions: { Bool: { 'aws:SecureTransport': 'true' } } }));
  }

  /** The variable that tells the ingest where to announce profile changes. */
  environment(): Record<string, string> {
    return { ACTIVATION_BUS_NAME: this.bus.eventBusName };
  }
}
