import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROUTES } from '../../functions/routes';
import { nagSummary } from '../../cdk/app';
import { synthesize } from './synth';

// Prepare: the app with its AwsSolutionsChecks and ServerlessChecks aspects (cdk/app.ts), synthesised.
const { app, stack, template } = synthesize();
const annotations = Annotations.fromStack(stack);
const describeFinding = (f: { id: string; entry: { data?: unknown } }) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`;

describe.each(['AwsSolutions', 'Serverless'])('cdk-nag %s', (pack) => {
  it('reports no unacknowledged error', () => {
    expect(annotations.findError('*', Match.stringLikeRegexp(`${pack}-.*`)).map(describeFinding)).toEqual([]);
  });

  it('reports no unacknowledged warning', () => {
    expect(annotations.findWarning('*', Match.stringLikeRegexp(`${pack}-.*`)).map(describeFinding)).toEqual([]);
  });
});

it('sums up in one line at synth: no errors, no warnings, and how many findings are acknowledged', () => {
  const line = nagSummary(app.synth());
  expect(line).toMatch(/^cdk-nag \(AwsSolutions, Serverless\): 0 errors, 0 warnings; \d+ acknowledgements with reasons on resources/);
  // An unacknowledged finding is counted: the summary reads the same messages cdk-nag leaves.
  const fake = { stacks: [{ messages: [{ level: 'error', entry: { data: 'AwsSolutions-S1: no access logs' } }, { level: 'warning', entry: { data: 'Serverless-X: y' } }, { level: 'warning', entry: { data: 'other' } }], template: {} }] };
  expect(nagSummary(fake as never)).toMatch(/: 1 errors, 1 warnings; 0 acknowledgements/);
});

describe('acknowledged findings', () => {
  // The packs' CSV reports (written to the app's output directory) list every suppressed finding with
  // its reason; each synthesis of the app appends its rows again, hence the de-duplication.
  const parseCsvLine = (line: string) => [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"'));
  const suppressed = ['AwsSolutions', 'Serverless'].flatMap((pack) =>
    readFileSync(join(app.outdir, `${pack}-${stack.stackName}-NagReport.csv`), 'utf8')
      .split('\n')
      .slice(1)
      .filter((line, i, lines) => line !== '' && lines.indexOf(line) === i)
      .map(parseCsvLine)
      .filter(([, , compliance]) => compliance === 'Suppressed')
      .map(([rule, path, , reason]) => ({ rule: rule!, resource: path!.replace(`${stack.stackName}/`, ''), reason: reason! })),
  );
  const resourcesOf = (rule: string) => suppressed.filter((s) => s.rule === rule).map((s) => s.resource).sort();
  const NIGHTLY_TASKS = ['ExportStatus', 'GroupShard', 'KeepChampion', 'Publish', 'ReadProfiles', 'Report', 'Roots', 'Snapshot', 'SplitEvents', 'Train', 'Value', 'WriteAttributes'];
  const functionPolicies = [
    'Activation/SendRole/DefaultPolicy/Resource',
    'Activation/TriggerRole/DefaultPolicy/Resource',
    'Http/CampaignsRole/DefaultPolicy/Resource',
    'Http/CollectRole/DefaultPolicy/Resource',
    'Http/DecideRole/DefaultPolicy/Resource',
    'Http/PrivacyRole/DefaultPolicy/Resource',
    'Http/ProfilesRole/DefaultPolicy/Resource',
    'Ingestion/IngestRole/DefaultPolicy/Resource',
    ...NIGHTLY_TASKS.map((t) => `Nightly/${t}Role/DefaultPolicy/Resource`),
    'Nightly/StateMachine/Role/DefaultPolicy/Resource',
  ].sort();

  it('are exactly these rules (a new suppression is a reviewed change to this list)', () => {
    expect([...new Set(suppressed.map((s) => s.rule))].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
      'Serverless-LambdaDLQ',
      'Serverless-LambdaEventSourceMappingDestination',
      'Serverless-SQSRedrivePolicy',
    ]);
  });

  it('acknowledge the missing authorizer on the routes only (the handlers check write keys and API keys)', () => {
    expect(resourcesOf('AwsSolutions-APIG4')).toHaveLength(ROUTES.length + 1);
    for (const resource of resourcesOf('AwsSolutions-APIG4')) expect(resource).toMatch(/^Http\/Api\/[^/]+\/Resource$/);
  });

  it('acknowledge wildcard IAM resources only in the functions\' and the state machine\'s policies, for X-Ray and logs delivery, the events, dead-letter and identity graph tables\' indexes, the nightly job\'s bucket objects, its tables\' exports and its own child executions', () => {
    expect([...new Set(resourcesOf('AwsSolutions-IAM5'))]).toEqual(functionPolicies);
    const appliesTo = Object.values(template.toJSON().Resources as Record<string, { Metadata?: any }>).flatMap((r) =>
      ((r.Metadata?.cdk_nag?.rules_to_suppress ?? []) as Array<{ id: string; applies_to?: unknown[] }>)
        .filter((s) => s.id === 'AwsSolutions-IAM5')
        .flatMap((s) => s.applies_to ?? ['(every finding of the rule)']),
    );
    expect([...new Set(appliesTo)].sort()).toEqual([
      'Resource::*',
      expect.stringMatching(/^Resource::<DataActivations[0-9A-F]{8}\.Arn>\/index\/\*$/),
      expect.stringMatching(/^Resource::<DataDeadLetters[0-9A-F]{8}\.Arn>\/index\/\*$/),
      expect.stringMatching(/^Resource::<DataEvents[0-9A-F]{8}\.Arn>\/export\/\*$/),
      expect.stringMatching(/^Resource::<DataEvents[0-9A-F]{8}\.Arn>\/index\/\*$/),
      expect.stringMatching(/^Resource::<DataGraph[0-9A-F]{8}\.Arn>\/index\/\*$/),
      expect.stringMatching(/^Resource::<DataProfiles[0-9A-F]{8}\.Arn>\/export\/\*$/),
      expect.stringMatching(/^Resource::<NightlyData[0-9A-F]{8}\.Arn>\/executions\/\*$/),
      expect.stringMatching(/^Resource::<NightlyData[0-9A-F]{8}\.Arn>\/registry\/\*$/),
      expect.stringMatching(/^Resource::<NightlyData[0-9A-F]{8}\.Arn>\/reports\/\*$/),
      expect.stringMatching(/^Resource::<NightlyData[0-9A-F]{8}\.Arn>\/work\/\*$/),
      expect.stringMatching(/^Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\/<ActivationSchedules[0-9A-F]{8}>\/\*$/),
      'Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:MomentEngine-nightly/*',
    ]);
  });

  it('acknowledge the rest on the resources they are about', () => {
    expect(resourcesOf('AwsSolutions-SMG4')).toEqual(['Activation/WebhookSecret/Resource', 'Keys/AdminKeys/Resource', 'Keys/ApiKeys/Resource', 'Keys/IdentitySalt/Resource', 'Keys/ReadKeys/Resource', 'Keys/WriteKeys/Resource']);
    const deadLetterQueues = ['Activation/TriggerFailures/Resource', 'Ingestion/IngestFailures/Resource'];
    expect(resourcesOf('AwsSolutions-SQS3')).toEqual(deadLetterQueues);
    expect(resourcesOf('Serverless-SQSRedrivePolicy')).toEqual(['Activation/SendFailures/Resource', ...deadLetterQueues]);
    expect(resourcesOf('Serverless-LambdaEventSourceMappingDestination')).toEqual(['Email', 'Events', 'Push', 'Sms'].map((c) => expect.stringMatching(new RegExp(`^Activation/Send/SqsEventSource:MomentEngineActivationSend${c}[0-9A-F]{8}/Resource$`))));
    expect(resourcesOf('Serverless-LambdaDLQ')).toEqual(
      ['Activation/Send/Resource', 'Activation/Trigger/Resource', 'Http/Campaigns/Resource', 'Http/Collect/Resource', 'Http/Decide/Resource', 'Http/Privacy/Resource', 'Http/Profiles/Resource', 'Ingestion/Ingest/Resource', ...NIGHTLY_TASKS.map((t) => `Nightly/${t}/Resource`)].sort(),
    );
    expect(resourcesOf('AwsSolutions-S1')).toEqual(['Nightly/Data/Resource']);
  });

  it('each carry a specific written reason', () => {
    for (const { reason } of suppressed) expect(reason.length).toBeGreaterThanOrEqual(60);
  });
});

describe('with a customer managed key (-c encryptionKey=customer)', () => {
  process.env.CDK_DEFAULT_REGION = 'eu-west-2';
  const keyed = synthesize({ encryptionKey: 'customer' });
  delete process.env.CDK_DEFAULT_REGION;
  const found = Annotations.fromStack(keyed.stack);

  it('reports no unacknowledged error or warning either', () => {
    expect([...found.findError('*', Match.stringLikeRegexp('(AwsSolutions|Serverless)-.*')), ...found.findWarning('*', Match.stringLikeRegexp('(AwsSolutions|Serverless)-.*'))].map(describeFinding)).toEqual([]);
  });
});
