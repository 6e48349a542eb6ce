import type { Stack } from 'aws-cdk-lib';
import { NagSuppressions } from 'cdk-nag';

/**
 * Every cdk-nag finding the stack acknowledges, in one place, each with the reason it is acceptable.
 * Anything not listed here fails the nag test.
 */
export function applySuppressions(stack: Stack): void {
  const functions = ['/Ingestion/Ingest', '/Http/Collect', '/Http/Profiles', '/Http/Decide'].map((p) => `/${stack.stackName}${p}`);
  for (const fn of functions) {
    NagSuppressions.addResourceSuppressionsByPath(stack, `${fn}/ServiceRole/Resource`, [
      {
        id: 'AwsSolutions-IAM4',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        reason: 'AWSLambdaBasicExecutionRole only grants writing the function its own CloudWatch Logs; the data access is least-privilege grants.',
      },
    ]);
    NagSuppressions.addResourceSuppressionsByPath(stack, `${fn}/ServiceRole/DefaultPolicy/Resource`, [
      {
        id: 'AwsSolutions-IAM5',
        appliesTo: ['Resource::*'],
        reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions (AWS X-Ray tracing).',
      },
    ]);
    NagSuppressions.addResourceSuppressionsByPath(stack, `${fn}/Resource`, [
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Never invoked asynchronously: the API functions are invoked synchronously by API Gateway, and the ingest function by a Kinesis event source mapping whose on-failure destination is an SQS queue.',
      },
    ]);
  }
  for (const fn of ['/Ingestion/Ingest', '/Http/Profiles'].map((p) => `/${stack.stackName}${p}`)) {
    NagSuppressions.addResourceSuppressionsByPath(stack, `${fn}/ServiceRole/DefaultPolicy/Resource`, [
      {
        id: 'AwsSolutions-IAM5',
        appliesTo: [{ regex: '/^Resource::<DataEvents[A-Z0-9]+\\.Arn>\\/index\\/\\*$/g' }],
        reason: 'Reads of the events table\'s own byProfile index (journeys); the wildcard is limited to that table\'s indexes.',
      },
    ]);
  }
  NagSuppressions.addResourceSuppressionsByPath(
    stack,
    ['WriteKeys', 'ApiKeys', 'IdentitySalt'].map((s) => `/${stack.stackName}/Keys/${s}/Resource`),
    [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Write keys are embedded in client apps and the salt keys every hashed identifier: rotation is a coordinated change (the key secrets accept a comma-separated list so old and new keys overlap), not an automatic one.',
      },
    ],
  );
  NagSuppressions.addResourceSuppressionsByPath(stack, `/${stack.stackName}/Ingestion/IngestFailures/Resource`, [
    { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter (on-failure) destination of the ingest event source mapping.' },
    { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself the dead-letter (on-failure) destination of the ingest event source mapping.' },
  ]);
  NagSuppressions.addResourceSuppressionsByPath(stack, `/${stack.stackName}/Http/Api`, [
    {
      id: 'AwsSolutions-APIG4',
      reason:
        'The handlers authenticate every route but /health: Segment write keys by Basic auth (as Segment SDKs send them, which no API Gateway authorizer type accepts unchanged) and API keys by x-api-key, compared in constant time.',
    },
  ], true);
}
