import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../cdk/app';
import { ROUTES } from '../../functions/routes';
import { TABLES } from '../../lib/store/tables';

/** Synthesises once without bundling (the `aws:cdk:bundling-stacks` context), so the tests stay fast. */
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const { stack } = buildApp(app);
app.synth();
const template = Template.fromStack(stack);

describe('the CDK stack', () => {
  it('encrypts the event stream with the AWS managed key', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
    });
  });

  it('maps the stream to the ingest function with safe defaults and an SQS on-failure destination', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 21600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 100,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('IngestFailures'), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('builds every table of the shared definitions, encrypted, with point-in-time recovery and TTL where defined', () => {
    const tables = template.findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables)).toHaveLength(Object.keys(TABLES).length);
    for (const def of Object.values(TABLES)) {
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        KeySchema: Match.arrayWith([{ AttributeName: def.partitionKey, KeyType: 'HASH' }]),
        SSESpecification: { SSEEnabled: true },
        Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
        ...('ttlAttribute' in def ? { TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true } } : {}),
      });
    }
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });

  it('exposes every route of the shared route table, throttled, with access logs', () => {
    for (const route of ROUTES) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `${route.method} ${route.path}` });
    }
    template.resourceCountIs('AWS::ApiGatewayV2::Route', ROUTES.length);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 2000, ThrottlingBurstLimit: 5000 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('runs the functions on Node.js 24 on ARM64 with tracing, and tells them where everything is', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(4);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
      expect(Object.keys(fn.Properties.Environment.Variables)).toEqual(
        expect.arrayContaining(['PROFILES_TABLE', 'GRAPH_TABLE', 'EVENTS_TABLE', 'DEAD_LETTER_TABLE', 'WRITE_KEYS_SECRET_ARN', 'IDENTITY_SALT_SECRET_ARN']),
      );
    }
  });

  it('lets only the collector and the decision function (decision events) write to the stream', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy'));
    const writers = policies.filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('kinesis:PutRecords')).map(([id]) => id);
    expect(writers.sort()).toEqual([expect.stringMatching(/^HttpCollect/), expect.stringMatching(/^HttpDecide/)]);
  });

  it('alarms on iterator age, the on-failure queue and dead-lettered records', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DeadLettered', Namespace: 'MomentEngine' });
  });

  it('passes cdk-nag AwsSolutions and Serverless checks with no unacknowledged finding', () => {
    const findings = [
      ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('(AwsSolutions|Serverless)-.*')),
      ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('(AwsSolutions|Serverless)-.*')),
    ].map((f) => `${f.id}: ${String(f.entry.data).split(':')[0]}`);
    expect(findings).toEqual([]);
  });
});

describe('configuration validated at synth', () => {
  it('fails synth with a message naming the aggregate and the field', async () => {
    jest.resetModules();
    jest.doMock('../../config/aggregates.json', () => ({ version: 2, defaultTimezone: 'Europe/London', aggregates: [{ name: 'revenue', op: 'sum' }] }));
    const { buildApp: build } = await import('../../cdk/app.js');
    expect(() => build(new App({ context: { 'aws:cdk:bundling-stacks': [] } }))).toThrow(
      'Invalid aggregate definitions: aggregate "revenue" field: is required for op "sum"',
    );
    jest.dontMock('../../config/aggregates.json');
  });
});
