import { CfnOutput, Stack, type RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { TABLES, type TableName } from '../lib/store/tables';
import { EngineHttpApi } from './constructs/http-api';
import { Ingestion } from './constructs/ingestion';
import { EngineKeys } from './constructs/keys';
import { EngineTables } from './constructs/tables';
import { dataKeyDefaults } from './constructs/table-defaults';
import { NightlyJob } from './constructs/nightly';
import { loadNightlyConfig } from '../lib/learn/nightly-config';
import { acknowledgeFindings } from './nag-suppressions';
import { Activation } from './constructs/activation';
import { loadCampaigns } from '../lib/campaign/campaign';
import { loadEngineConfig } from '../lib/ingest/config';

export interface MomentEngineStackProps extends StackProps {
  /** RETAIN (default) keeps customer data when the stack is deleted; DESTROY is for throw-away stacks. */
  dataRemovalPolicy?: RemovalPolicy;
  /** A SageMaker endpoint the decision function may call (else in-process scoring only). */
  sagemakerEndpoint?: string;
  /** Web origins that may call the API from a browser (CORS); none by default. */
  corsOrigins?: string[];
  /** `customer`: a customer managed KMS key encrypts the tables, stream, failure queue and secrets; else AWS managed keys. */
  encryptionKey?: 'aws' | 'customer';
  /** Each webhook channel's URL, by channel name (config/campaigns.json `channels`). */
  webhookUrls?: Record<string, string>;
}

/**
 * The whole engine: tables, keys, the event stream and its ingest, the HTTP API. Environment-agnostic
 * (no account or region, no lookups), so `cdk synth` runs offline. The construct ids of the tables,
 * the stream and the secrets name their CloudFormation resources: renaming one would replace it.
 */
export class MomentEngineStack extends Stack {
  readonly tables: EngineTables;
  readonly keys: EngineKeys;
  readonly ingestion: Ingestion;
  readonly http: EngineHttpApi;
  readonly nightly: NightlyJob;
  readonly activation: Activation;
  /** The customer managed key, when the stack has one. */
  readonly dataKey?: Key;

  constructor(scope: Construct, id: string, props: MomentEngineStackProps = {}) {
    super(scope, id, props);
    this.dataKey = props.encryptionKey === 'customer' ? new Key(this, 'DataKey', dataKeyDefaults()) : undefined;
    this.tables = new EngineTables(this, 'Data', { removalPolicy: props.dataRemovalPolicy, encryptionKey: this.dataKey });
    this.keys = new EngineKeys(this, 'Keys', { encryptionKey: this.dataKey });
    const environment = { ...this.tables.environment(), ...this.keys.environment() };
    this.ingestion = new Ingestion(this, 'Ingestion', { tables: this.tables, keys: this.keys, environment, encryptionKey: this.dataKey });
    this.http = new EngineHttpApi(this, 'Http', {
      tables: this.tables,
      keys: this.keys,
      stream: this.ingestion.stream,
      environment: { ...environment, ...this.ingestion.environment() },
      sagemakerEndpoint: props.sagemakerEndpoint,
      corsOrigins: props.corsOrigins,
    });
    this.activation = new Activation(this, 'Activation', {
      tables: this.tables,
      stream: this.ingestion.stream,
      environment: { ...environment, ...this.ingestion.environment() },
      campaigns: loadCampaigns(undefined, loadEngineConfig().profileRules.segments.map((s) => s.name)),
      webhookUrls: props.webhookUrls,
      encryptionKey: this.dataKey,
      collector: this.http.functions.collect,
      privacy: this.http.functions.privacy,
      campaignsApi: this.http.functions.campaigns,
    });
    // The ingest announces profile changes on the activation bus.
    for (const [k, v] of Object.entries(this.activation.environment())) this.ingestion.ingest.addEnvironment(k, v);
    this.activation.bus.grantPutEventsTo(this.ingestion.ingest);
    this.nightly = new NightlyJob(this, 'Nightly', { tables: this.tables, environment: this.tables.environment(), settings: loadNightlyConfig(), removalPolicy: props.dataRemovalPolicy });
    acknowledgeFindings({ dataKey: this.dataKey, tables: this.tables, keys: this.keys, ingestion: this.ingestion, http: this.http, nightly: this.nightly, activation: this.activation });

    new CfnOutput(this, 'ApiUrl', { value: this.http.url, description: 'The HTTP API; point Segment SDKs here (as their host)' });
    new CfnOutput(this, 'StreamName', { value: this.ingestion.stream.streamName, description: 'The event stream (Kinesis)' });
    for (const [name, table] of Object.entries(this.tables.tables) as Array<[TableName, TableV2]>) {
      new CfnOutput(this, `${name}Table`, { value: table.tableName, description: TABLES[name].purpose });
    }
    new CfnOutput(this, 'WriteKeysSecretArn', { value: this.keys.writeKeys.secretArn, description: 'Segment write keys: aws secretsmanager get-secret-value --secret-id <arn>' });
    new CfnOutput(this, 'ApiKeysSecretArn', { value: this.keys.decideKeys.secretArn, description: 'Decision keys (x-api-key on POST /v1/decisions): aws secretsmanager get-secret-value --secret-id <arn>' });
    new CfnOutput(this, 'ReadKeysSecretArn', { value: this.keys.readKeys.secretArn, description: 'Read keys (x-api-key on the profile, identity and statistics routes)' });
    new CfnOutput(this, 'AdminKeysSecretArn', { value: this.keys.adminKeys.secretArn, description: 'Admin keys (x-api-key on the catalog, model and dead-letter routes)' });
    new CfnOutput(this, 'IdentitySaltSecretArn', { value: this.keys.identitySalt.secretArn, description: 'Salt of hashed identifiers (retained with the data)' });
    new CfnOutput(this, 'NightlyStateMachineArn', { value: this.nightly.stateMachine.stateMachineArn, description: 'The nightly learning job (started by its schedule; aws stepfunctions start-execution to run it now)' });
    new CfnOutput(this, 'NightlyBucketName', { value: this.nightly.bucket.bucketName, description: "The nightly job's snapshots, reports, lift charts and model registry" });
    if (this.dataKey) new CfnOutput(this, 'DataKeyArn', { value: this.dataKey.keyArn, description: 'The customer managed KMS key of the tables, stream, failure queue and secrets (retained with the data)' });
    new CfnOutput(this, 'ActivationBusName', { value: this.activation.bus.eventBusName, description: "Profile changes for campaigns, and the EventBridge channel's campaign messages (source moment.campaigns): add your own rules" });
    new CfnOutput(this, 'WebhookSecretArn', { value: this.activation.webhookSecret.secretArn, description: 'Signs campaign webhooks (x-moment-signature): give it to the receivers' });
    new CfnOutput(this, 'ContactKeyArn', { value: this.activation.contactKey.keyArn, description: 'The KMS key of sealed contact addresses (retained with the data)' });
    new CfnOutput(this, 'SendFailuresQueueUrl', { value: this.activation.sendFailures.queueUrl, description: 'Campaign wake-ups the send function gave up on (after 5 receives)' });
    new CfnOutput(this, 'IngestFailuresQueueUrl', { value: this.ingestion.failures.queueUrl, description: 'Records the ingest gave up on (event source mapping on-failure destination)' });
  }
}
