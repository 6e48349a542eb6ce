import { Stack, Token, type CfnResource } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { EngineFunction } from './constructs/function';
import type { EngineHttpApi } from './constructs/http-api';
import type { Ingestion } from './constructs/ingestion';
import type { EngineKeys } from './constructs/keys';
import type { EngineTables } from './constructs/tables';
import type { NightlyJob } from './constructs/nightly';
import type { Activation } from './constructs/activation';

export interface AcknowledgedParts {
  /** The customer managed key, when the stack has one. */
  dataKey?: IKey;
  tables: EngineTables;
  keys: EngineKeys;
  ingestion: Ingestion;
  http: EngineHttpApi;
  nightly: NightlyJob;
  activation: Activation;
}

/**
 * Every cdk-nag finding the stack acknowledges, in one place, each with the reason it is acceptable.
 * Suppressions name the constructs themselves (not path strings), so a rename cannot silently detach
 * one; anything not listed here fails `test/cdk/nag.test.ts`, which also lists the acknowledged rules.
 */
export function acknowledgeFindings({ dataKey, tables, keys, ingestion, http, nightly, activation }: AcknowledgedParts): void {
  const functions: EngineFunction[] = [ingestion.ingest, ...Object.values(http.functions), ...Object.values(nightly.functions), activation.trigger, activation.send];
  if (dataKey) acknowledgeDataKey(functions, ingestion, activation);
  for (const fn of functions) {
    NagSuppressions.addResourceSuppressions(
      fn.executionRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          appliesTo: ['Resource::*'],
          reason:
            fn === activation.send
              ? 'X-Ray tracing (Tracing.ACTIVE) needs xray:PutTraceSegments and xray:PutTelemetryRecords, and an SMS channel needs sns:Publish to a phone number: none of them supports resource-level permissions; test/cdk/stack.test.ts checks that no other action is granted on "*", and sns:Publish on it to the send function only.'
              : 'X-Ray tracing (Tracing.ACTIVE) needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions; test/cdk/stack.test.ts checks that no other action is granted on "*".',
        },
      ],
      true,
    );
  }

  NagSuppressions.addResourceSuppressions(ingestion.ingest, [
    {
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked only by the Kinesis event source mapping, never asynchronously: records it gives up on go to the mapping\'s SQS on-failure destination (IngestFailures); a function DLQ would never receive anything.',
    },
  ]);
  for (const fn of Object.values(http.functions)) {
    NagSuppressions.addResourceSuppressions(fn, [
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked only synchronously by API Gateway: a failure is the HTTP response (5xx, which Segment SDKs retry), never an asynchronous event a DLQ could keep.',
      },
    ]);
  }

  // Reading journeys queries the events table's byProfile index: grants on a TableV2 cover `<table arn>/index/*`.
  acknowledgeIndexQueries(
    tables.tables.events,
    [ingestion.ingest, http.functions.profiles, http.functions.privacy].map((fn) => fn.executionRole),
    'Queries of the events table\'s own byProfile index (journeys, and a person\'s events for export and erasure); the wildcard covers only that table\'s indexes.',
  );

  // A person's dead letters are found through the dead-letter table's byIdentifier index (privacy); the
  // ingest and the profile API are granted the table, which a TableV2 grant extends to `<table arn>/index/*`.
  acknowledgeIndexQueries(
    tables.tables.deadLetters,
    [ingestion.ingest, http.functions.profiles, http.functions.privacy].map((fn) => fn.executionRole),
    "Queries of the dead-letter table's own byIdentifier index (a person's letters for export and erasure, by the salted hashes of her identifiers); the wildcard covers only that table's indexes.",
  );

  // An erasure finds every link naming her profiles through the graph table's byOwner index (privacy);
  // the ingest, the decision function and the profile API are granted the table, which a TableV2 grant
  // extends to `<table arn>/index/*`.
  acknowledgeIndexQueries(
    tables.tables.graph,
    [ingestion.ingest, http.functions.decide, http.functions.profiles, http.functions.privacy].map((fn) => fn.executionRole),
    "Queries of the identity graph's own byOwner index (keys only: the links naming a profile, which an erasure sweeps); the wildcard covers only that table's indexes.",
  );

  acknowledgeNightly(nightly);
  acknowledgeActivation(activation, tables, [http.functions.campaigns.executionRole, http.functions.privacy.executionRole]);

  const rotation = 'AwsSolutions-SMG4';
  NagSuppressions.addResourceSuppressions(keys.writeKeys, [
    {
      id: rotation,
      reason:
        'Write keys are embedded in client apps and SDK configurations: replacing one is a coordinated release (add the new key beside the old in the comma-separated list, retire the old later), which automatic rotation would break.',
    },
  ]);
  for (const secret of [keys.decideKeys, keys.readKeys, keys.adminKeys]) {
    NagSuppressions.addResourceSuppressions(secret, [
      {
        id: rotation,
        reason:
          'API keys are held by the calling back-end services: rotation is an overlap of old and new key in the comma-separated list, coordinated with those callers, not an automatic swap that would lock them out.',
      },
    ]);
  }
  NagSuppressions.addResourceSuppressions(keys.identitySalt, [
    {
      id: rotation,
      reason:
        'The salt keys every hashed e-mail and phone identifier in the identity graph: rotating it would orphan every stored identifier, so it must never rotate automatically.',
    },
  ]);

  NagSuppressions.addResourceSuppressions(ingestion.failures, [
    { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter (on-failure) destination of the ingest event source mapping.' },
    { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself the dead-letter (on-failure) destination of the ingest event source mapping; nothing consumes it to redrive.' },
  ]);

  NagSuppressions.addResourceSuppressions(
    http.api,
    [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'The handlers authenticate every route except GET /health and GET /openapi.json (public by design) and $default (it answers 404 or 405 and reads nothing): Segment write keys as the Basic auth user name (as Segment SDKs send them, which no API Gateway authorizer accepts unchanged) and API keys in x-api-key, both compared in constant time against the Secrets Manager secrets.',
      },
    ],
    true,
  );
}

/** The nightly job's findings: its functions are invoked only by its state machine, its bucket holds only its own working data. */
function acknowledgeNightly(nightly: NightlyJob): void {
  const arnOf = (construct: IConstruct) => `<${Stack.of(nightly).getLogicalId(construct.node.defaultChild as CfnResource)}.Arn>`;
  const bucketArn = arnOf(nightly.bucket);
  for (const [task, fn] of Object.entries(nightly.functions) as Array<[keyof typeof nightly.functions, EngineFunction]>) {
    const { read, write } = nightly.taskAccess[task];
    NagSuppressions.addResourceSuppressions(
      fn.executionRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          appliesTo: [...new Set([...read, ...write])].map((prefix) => `Resource::${bucketArn}/${prefix}*`),
          reason: "s3:GetObject and s3:PutObject on the prefixes of the nightly job's own bucket this task reads and writes (its working data, execution markers, registry or reports), whose keys are made per night and per model version: no other prefix, no other bucket.",
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(fn, [
      { id: 'Serverless-LambdaDLQ', reason: "Invoked only synchronously by the nightly state machine, whose Retry and Catch handle a failure (the champion stays published and the night's report says why): a DLQ would never receive anything." },
    ]);
  }
  NagSuppressions.addResourceSuppressions(
    nightly.functions.Snapshot.executionRole,
    [
      {
        id: 'AwsSolutions-IAM5',
        appliesTo: [`Resource::${arnOf(nightly.bucket)}/work/*`],
        reason: "DynamoDB writes a table export with its caller's permissions, under a prefix of the export's own making inside the night's working data (work/): multipart upload aborts and object ACLs there, no other prefix.",
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(
    nightly.functions.ExportStatus.executionRole,
    [
      {
        id: 'AwsSolutions-IAM5',
        appliesTo: [...nightly.exportedTables.map((t) => `Resource::${arnOf(t)}/export/*`)],
        reason: 'dynamodb:DescribeExport on the exports of the events and profiles tables, whose ARNs DynamoDB makes per export: nothing else.',
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(
    nightly.stateMachine.role,
    [
      {
        id: 'AwsSolutions-IAM5',
        // The region is a token in an environment-agnostic stack, and a name in one bound to its region (a customer managed key).
        appliesTo: [`Resource::arn:<AWS::Partition>:states:${Token.isUnresolved(Stack.of(nightly).region) ? '<AWS::Region>' : Stack.of(nightly).region}:<AWS::AccountId>:execution:${nightly.stateMachineName}/*`],
        reason: "The Distributed Maps' child executions of this state machine (described and stopped by it), whose names Step Functions makes: no other state machine's executions.",
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(
    nightly.stateMachine.role,
    [
      {
        id: 'AwsSolutions-IAM5',
        appliesTo: ['Resource::*'],
        reason: "X-Ray tracing and CloudWatch Logs delivery of a state machine (xray:PutTraceSegments, logs:CreateLogDelivery and the like) support no resource-level permissions; its other grants are lambda:InvokeFunction on its task functions and the running of its own Distributed Maps' child executions.",
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(nightly.bucket, [
    {
      id: 'AwsSolutions-S1',
      reason: "The nightly job's working data (the tables' exports, shards, reports, model registry), read and written only by its own task functions' roles, kept 90 days; server access logs would log the job to itself. Enable CloudTrail data events on it where an audit trail of reads is required.",
    },
  ]);
}

/** With a customer managed key (-c encryptionKey=customer): the grants' KMS action families, and the stream's key. */
function acknowledgeDataKey(functions: EngineFunction[], ingestion: Ingestion, activation: Activation): void {
  for (const role of [...functions.map((fn) => fn.executionRole), activation.schedulerRole]) {
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          appliesTo: ['Action::kms:ReEncrypt*', 'Action::kms:GenerateDataKey*'],
          reason: "CDK's grants on a table, stream or queue encrypted with the stack's customer managed key: the KMS action families those grants need, on that one key only.",
        },
      ],
      true,
    );
  }
  NagSuppressions.addResourceSuppressions(ingestion.stream, [
    {
      id: 'AwsSolutions-KDS3',
      reason: 'The operator chose a customer managed key for all data at rest (-c encryptionKey=customer): the event stream holds personal data too, so it uses that key rather than aws/kinesis.',
    },
  ]);
}

/**
 * AwsSolutions-IAM5 acknowledged for `<table arn>/index/*` on each role: a grant on a TableV2 extends to
 * all of that table's indexes, and these readers query only its own; `reason` says which index and why.
 */
function acknowledgeIndexQueries(table: TableV2, roles: IConstruct[], reason: string): void {
  const indexes = `Resource::<${Stack.of(table).getLogicalId(table.node.defaultChild as CfnResource)}.Arn>/index/*`;
  for (const role of roles) NagSuppressions.addResourceSuppressions(role, [{ id: 'AwsSolutions-IAM5', appliesTo: [indexes], reason }], true);
}

/** Campaigns' findings: schedules are made by name in one group, queues are their own dead letters, the webhook secret is shared with receivers. */
function acknowledgeActivation(activation: Activation, tables: EngineTables, campaignReaders: IConstruct[]): void {
  const stack = Stack.of(activation);
  const schedules = `Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<${stack.getLogicalId(activation.scheduleGroup)}>/*`;
  for (const fn of [activation.trigger, activation.send]) {
    NagSuppressions.addResourceSuppressions(
      fn.executionRole,
      [{ id: 'AwsSolutions-IAM5', appliesTo: [schedules], reason: 'One-time schedules are created per campaign entry, by a name made from the entry and its due time, and deleted when it exits: the wildcard covers only the schedules of the campaign schedule group.' }],
      true,
    );
  }
  acknowledgeIndexQueries(
    tables.tables.activations,
    [activation.trigger.executionRole, activation.send.executionRole, ...campaignReaders],
    "Queries of the activations table's own indexes (a campaign's entries for its statistics, due entries); the wildcard covers only that table's indexes.",
  );
  NagSuppressions.addResourceSuppressions(
    activation.send,
    [{ id: 'Serverless-LambdaEventSourceMappingDestination', reason: 'SQS event sources take no on-failure destination: each send queue has a redrive policy instead, to SendFailures after 5 receives.' }],
    true,
  );
  NagSuppressions.addResourceSuppressions(activation.trigger, [
    { id: 'Serverless-LambdaDLQ', reason: 'Invoked by an EventBridge rule whose target has its own dead-letter queue (TriggerFailures) and retries for 24 hours; a function DLQ would receive nothing more.' },
  ]);
  NagSuppressions.addResourceSuppressions(activation.send, [
    { id: 'Serverless-LambdaDLQ', reason: 'Invoked only by the SQS event source mapping: a wake-up that keeps failing goes to the send queues\' dead-letter queue (SendFailures) after 5 receives.' },
  ]);
  NagSuppressions.addResourceSuppressions(activation.triggerFailures, [
    { id: 'AwsSolutions-SQS3', reason: "This queue is itself the dead-letter queue of the trigger rule's target (profile changes EventBridge could not deliver for 24 hours)." },
    { id: 'Serverless-SQSRedrivePolicy', reason: "This queue is itself the dead-letter queue of the trigger rule's target: an operator inspects it and sends the changes to the bus again." },
  ]);
  NagSuppressions.addResourceSuppressions(activation.sendFailures, [
    { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself the dead-letter queue of the send queues (wake-ups received 5 times): an operator inspects it and redrives it to its queue.' },
  ]);
  NagSuppressions.addResourceSuppressions(activation.webhookSecret, [
    { id: 'AwsSolutions-SMG4', reason: 'The webhook secret is shared with the receivers that verify signatures: rotating it is coordinated with them, not an automatic swap that would make them refuse every message.' },
  ]);
}
