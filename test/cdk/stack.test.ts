import { Match } from 'aws-cdk-lib/assertions';
import { FUNCTION_ENTRIES, ROUTES } from '../../functions/routes';
import { STREAM, TABLES, type TableDefinition } from '../../lib/store/tables';
import { synthesize } from './synth';
import { loadNightlyConfig } from '../../lib/learn/nightly-config';
import { NIGHTLY_TASKS } from '../../lib/learn/state-machine';

/** asl-validator (no type declarations of its own): the Amazon States Language checked against its JSON schemas and paths. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

// Prepare: the app as `cdk synth` builds it, once for the file.
const { stack, template } = synthesize();

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
const resources = (type: string) => template.findResources(type) as Record<string, Resource>;
const statementsOf = (policy: Resource) => policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>;
const actionsOf = (policy: Resource) => statementsOf(policy).flatMap((s) => [s.Action].flat());

/** The logical id of each function by the name FUNCTION_ENTRIES gives it. */
const functionIds = {
  ingest: stack.getLogicalId(stack.ingestion.ingest.node.defaultChild as any),
  collect: stack.getLogicalId(stack.http.functions.collect.node.defaultChild as any),
  profiles: stack.getLogicalId(stack.http.functions.profiles.node.defaultChild as any),
  decide: stack.getLogicalId(stack.http.functions.decide.node.defaultChild as any),
  privacy: stack.getLogicalId(stack.http.functions.privacy.node.defaultChild as any),
  campaigns: stack.getLogicalId(stack.http.functions.campaigns.node.defaultChild as any),
  trigger: stack.getLogicalId(stack.activation.trigger.node.defaultChild as any),
  send: stack.getLogicalId(stack.activation.send.node.defaultChild as any),
} satisfies Record<keyof typeof FUNCTION_ENTRIES, string>;

/** The inline policy of a function's role: the whole of what the function may do. */
function policyOf(fn: keyof typeof functionIds): Resource {
  const role = (resources('AWS::Lambda::Function')[functionIds[fn]]!.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.values(resources('AWS::IAM::Policy')).filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === role));
  expect(policies).toHaveLength(1);
  return policies[0]!;
}

describe('the event stream and the ingest', () => {
  it('encrypts the stream with the AWS managed KMS key and scales it on demand', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      RetentionPeriodHours: 24,
    });
  });

  it('maps the stream to the ingest function with bisection, bounded retries and age, partial batch responses and an SQS on-failure destination', () => {
    // One from the stream (the others are the campaign send queues').
    expect(Object.values(resources('AWS::Lambda::EventSourceMapping')).filter((m) => JSON.stringify(m.Properties.EventSourceArn).includes('IngestionEvents'))).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionIds.ingest },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestionEvents'), 'Arn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: -1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestionIngestFailures'), 'Arn'] } } },
    });
  });

  it('keeps what the ingest gives up on in an encrypted queue that refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('alarms when the ingest falls behind, gives up on records, or dead-letters records', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionIds.ingest } }],
      ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'MomentEngine',
      MetricName: 'DeadLettered',
      Dimensions: [{ Name: 'service', Value: 'ingest' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});

describe('the tables', () => {
  const defs = Object.values(TABLES) as TableDefinition[];

  it('builds exactly one table per shared definition', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', defs.length);
  });

  it.each(defs.map((def) => [def.id, def] as const))('%s: keys, indexes and TTL as defined; on demand, encrypted, point-in-time recovery, retained', (_id, def) => {
    const key = (pk: string, sk?: string) => [{ AttributeName: pk, KeyType: 'HASH' }, ...(sk ? [{ AttributeName: sk, KeyType: 'RANGE' }] : [])];
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: key(def.partitionKey, def.sortKey),
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
        TimeToLiveSpecification: def.ttlAttribute ? { AttributeName: def.ttlAttribute, Enabled: true } : Match.absent(),
        GlobalSecondaryIndexes: def.indexes
          ? def.indexes.map((index) => Match.objectLike({ IndexName: index.name, KeySchema: key(index.partitionKey, index.sortKey) }))
          : Match.absent(),
      }),
    });
  });

  it("DeadLetters: an index on the salted hashes of the identifiers a letter carries, projecting only keys (a person's letters are found without a scan)", () => {
    const table = Object.entries(resources('AWS::DynamoDB::GlobalTable')).find(([id]) => id.startsWith('DataDeadLetters'))?.[1];
    expect(table?.Properties.GlobalSecondaryIndexes).toEqual([
      { IndexName: 'byIdentifier', KeySchema: [{ AttributeName: 'identifierHash', KeyType: 'HASH' }, { AttributeName: 'letterId', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
    ]);
    expect(table?.Properties.AttributeDefinitions).toEqual(expect.arrayContaining([{ AttributeName: 'identifierHash', AttributeType: 'S' }, { AttributeName: 'letterId', AttributeType: 'S' }]));
  });

  it('Graph: an index of links by the profile they name, projecting only keys (an erasure sweeps every link to her, also one a batch in flight wrote)', () => {
    const table = Object.entries(resources('AWS::DynamoDB::GlobalTable')).find(([id]) => id.startsWith('DataGraph'))?.[1];
    expect(table?.Properties.GlobalSecondaryIndexes).toEqual([
      { IndexName: 'byOwner', KeySchema: [{ AttributeName: 'profileId', KeyType: 'HASH' }, { AttributeName: 'pk', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
    ]);
  });

  it('keeps the logical ids of the stateful resources (a new id would replace the table, stream or secret)', () => {
    // Renaming a construct on their paths changes these ids: CloudFormation would create an empty
    // table (the old one is retained, orphaned), a new stream, or a new salt that orphans every hash.
    const ids = (type: string) => Object.keys(resources(type)).map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort();
    expect(ids('AWS::DynamoDB::GlobalTable')).toEqual(['DataActivations', 'DataConfig', 'DataContacts', 'DataDeadLetters', 'DataEvents', 'DataGraph', 'DataOfferStats', 'DataPrivacy', 'DataProfiles']);
    expect(ids('AWS::Kinesis::Stream')).toEqual(['IngestionEvents']);
    expect(ids('AWS::SecretsManager::Secret')).toEqual(['ActivationWebhookSecret', 'KeysAdminKeys', 'KeysApiKeys', 'KeysIdentitySalt', 'KeysReadKeys', 'KeysWriteKeys']);
  });
});

describe('the functions', () => {
  // The real-time functions; the nightly job's are below.
  const functions = () => Object.entries(resources('AWS::Lambda::Function')).filter(([id]) => !id.startsWith('Nightly'));

  it('builds one function per entry, on Node.js 24, ARM64, traced, with explicit memory and timeout and its own log group', () => {
    expect(functions()).toHaveLength(Object.keys(FUNCTION_ENTRIES).length);
    for (const [, fn] of functions()) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        MemorySize: 1024,
        LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/Logs/) } },
      });
      expect(fn.Properties.Timeout).toBeLessThanOrEqual(60);
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
  });

  it('tells every function where everything is and how to report', () => {
    for (const [id, fn] of functions()) {
      const env = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining([
          ...Object.values(TABLES).map((t) => t.envVar),
          STREAM.envVar,
          'WRITE_KEYS_SECRET_ARN',
          'DECIDE_KEYS_SECRET_ARN',
          'READ_KEYS_SECRET_ARN',
          'ADMIN_KEYS_SECRET_ARN',
          'IDENTITY_SALT_SECRET_ARN',
        ]),
      );
      expect(env).toMatchObject({ POWERTOOLS_METRICS_NAMESPACE: 'MomentEngine', NODE_OPTIONS: '--enable-source-maps' });
      const service = Object.entries(functionIds).find(([, logicalId]) => logicalId === id)![0];
      expect(env.POWERTOOLS_SERVICE_NAME).toBe(service);
    }
  });

  it('gives each function a role of its own with no managed policies', () => {
    for (const role of Object.values(resources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('grants nothing on "*" but the X-Ray actions and the send function\'s SMS (neither has resource-level permissions)', () => {
    const sendRole = (resources('AWS::Lambda::Function')[functionIds.send]!.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    for (const [id, policy] of Object.entries(resources('AWS::IAM::Policy'))) {
      if (id.startsWith('NightlyStateMachineRole')) continue; // below: a state machine's logs delivery too
      for (const statement of statementsOf(policy).filter((s) => s.Resource === '*')) {
        const actions = [statement.Action].flat().sort();
        if (actions[0] === 'sns:Publish') expect((policy.Properties.Roles as Array<{ Ref: string }>).map((r) => r.Ref)).toEqual([sendRole]);
        else expect(actions).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      }
    }
  });

  it('grants no wildcard action on data: no dynamodb:*, s3:*, kinesis:*, sqs:*, kms:* or secretsmanager:*, and no action pattern on a table', () => {
    const all = Object.values(resources('AWS::IAM::Policy')).flatMap((p) => statementsOf(p));
    const actions = [...new Set(all.flatMap((s) => [s.Action].flat()))];
    expect(actions.filter((a) => a === '*' || /^(dynamodb|s3|kinesis|sqs|kms|secretsmanager):\*$/.test(a))).toEqual([]);
    // Patterned actions (`kms:ReEncrypt*`, `s3:GetObject*`) are CDK grants' own; none is on a DynamoDB table.
    const onTables = all.filter((s) => JSON.stringify(s.Resource).includes('Data') && JSON.stringify(s.Resource).match(/Data(Profiles|Graph|Events|DeadLetters|Config|OfferStats|Privacy)/));
    expect(onTables.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('dynamodb:') && a.includes('*'))).toEqual([]);
  });

  it('lets the collector only put records on the stream, write dead letters and sealed addresses, read suppressions, generate address data keys and read the keys', () => {
    const actions = actionsOf(policyOf('collect'));
    expect(actions).toEqual(expect.arrayContaining(['kinesis:PutRecords', 'secretsmanager:GetSecretValue']));
    expect(actions.filter((a) => a === 'kinesis:GetRecords' || a === 'kms:Decrypt')).toEqual([]);
    const dynamo = statementsOf(policyOf('collect')).filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      expect.objectContaining({ Action: 'dynamodb:BatchWriteItem', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DataDeadLetters/), 'Arn'] } }),
      expect.objectContaining({ Action: 'dynamodb:BatchWriteItem', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DataContacts/), 'Arn'] } }),
      { Action: 'dynamodb:BatchGetItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DataPrivacy/), 'Arn'] }, Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SUP#*'] } } },
    ]);
  });

  it('lets only the collector generate address data keys and only the send function decrypt them, under the contact key and its purpose', () => {
    const keyId = stack.getLogicalId(stack.activation.contactKey.node.defaultChild as any);
    const onKey = (fn: keyof typeof functionIds) => statementsOf(policyOf(fn)).filter((s) => JSON.stringify(s.Resource).includes(keyId));
    const users = (Object.keys(functionIds) as Array<keyof typeof functionIds>).filter((fn) => onKey(fn).length > 0);
    expect(users.sort()).toEqual(['collect', 'send']);
    expect(onKey('collect')).toEqual([expect.objectContaining({ Action: 'kms:GenerateDataKey', Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'contact-address' } } })]);
    expect(onKey('send')).toEqual([expect.objectContaining({ Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'contact-address' } } })]);
    const contacts = (fn: keyof typeof functionIds) => statementsOf(policyOf(fn)).filter((s) => JSON.stringify(s.Resource).includes('DataContacts')).flatMap((s) => [s.Action].flat());
    expect(contacts('send')).toEqual(['dynamodb:GetItem']);
    expect(contacts('privacy')).toEqual(expect.arrayContaining(['dynamodb:BatchWriteItem', 'dynamodb:GetItem']));
    // The campaigns API reads the masks kept beside sealed addresses (which address is used); it has no use of the contact key.
    expect(contacts('campaigns')).toEqual(['dynamodb:GetItem']);
    for (const fn of ['ingest', 'profiles', 'decide', 'trigger'] as const) expect(contacts(fn)).toEqual([]);
  });

  it('lets the send function send e-mail only from the configured sender with its template', () => {
    const ses = statementsOf(policyOf('send')).filter((s) => [s.Action].flat().includes('ses:SendEmail'));
    expect(ses).toHaveLength(1);
    const arns = JSON.stringify(ses[0]!.Resource);
    for (const part of ['identity/offers@example.com', 'identity/example.com', 'template/moment-offer']) expect(arns).toContain(part);
    expect(arns).not.toContain('*');
  });

  /** The actions a function may take on the config table (the published catalog, model and identity weights). */
  const configActions = (fn: keyof typeof functionIds) =>
    statementsOf(policyOf(fn))
      .filter((s) => JSON.stringify(s.Resource).includes('DataConfig'))
      .flatMap((s) => [s.Action].flat());

  it('lets the profile API read, and never write, the profile, graph, events and dead-letter tables, and read the published identity weights', () => {
    const actions = actionsOf(policyOf('profiles'));
    expect(actions).toContain('dynamodb:Query');
    expect(actions.filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a) || a.startsWith('kinesis:'))).toEqual([]);
    expect(configActions('profiles')).toContain('dynamodb:GetItem');
  });

  it('lets the ingest read and write its tables and read the stream, but not write to the stream, and only read the config table', () => {
    const actions = actionsOf(policyOf('ingest'));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Query', 'kinesis:GetRecords', 'sqs:SendMessage']));
    expect(actions.filter((a) => a.startsWith('kinesis:Put'))).toEqual([]);
    expect(configActions('ingest')).toContain('dynamodb:GetItem');
    expect(configActions('ingest').filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a))).toEqual([]);
  });

  it('lets the ingest write offer statistics, and the decision function read them but not write them', () => {
    const statementsOn = (fn: keyof typeof functionIds) =>
      statementsOf(policyOf(fn)).filter((s) => JSON.stringify(s.Resource).includes('DataOfferStats'));
    expect(statementsOn('ingest').flatMap((s) => [s.Action].flat())).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:BatchGetItem']));
    const decide = statementsOn('decide').flatMap((s) => [s.Action].flat());
    expect(decide).toContain('dynamodb:Query');
    expect(decide.filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a))).toEqual([]);
    expect(JSON.stringify(policyOf('profiles'))).not.toMatch(/DataOfferStats/);
  });

  it("lets the ingest only count contacts in the activations table's contact ledger (UpdateItem, GetItem, Query), and the decision function only read the days of it around today", () => {
    const actionsOn = (fn: keyof typeof functionIds) =>
      statementsOf(policyOf(fn))
        .filter((s) => JSON.stringify(s.Resource).includes('DataActivations'))
        .flatMap((s) => [s.Action].flat())
        .sort();
    expect(actionsOn('ingest')).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(actionsOn('decide')).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
  });

  it('lets each function read the salt and only the secrets of the kinds of keys it checks (the privacy function every kind, to name a refused key in its audit log)', () => {
    const secretsOf = (fn: keyof typeof functionIds) =>
      [...new Set(statementsOf(policyOf(fn)).flatMap((s) => [s.Resource].flat()).map((r) => JSON.stringify(r).match(/"(Keys[A-Za-z]+?)[0-9A-F]{8}"/)?.[1]).filter(Boolean))].sort();
    expect(secretsOf('collect')).toEqual(['KeysIdentitySalt', 'KeysWriteKeys']);
    expect(secretsOf('profiles')).toEqual(['KeysAdminKeys', 'KeysIdentitySalt', 'KeysReadKeys']);
    expect(secretsOf('decide')).toEqual(['KeysAdminKeys', 'KeysApiKeys', 'KeysIdentitySalt', 'KeysReadKeys']);
    expect(secretsOf('ingest')).toEqual(['KeysIdentitySalt']);
    expect(secretsOf('privacy')).toEqual(['KeysAdminKeys', 'KeysApiKeys', 'KeysIdentitySalt', 'KeysReadKeys', 'KeysWriteKeys']);
    const kinds = (fn: keyof typeof functionIds) => (resources('AWS::Lambda::Function')[functionIds[fn]]!.Properties.Environment.Variables as Record<string, unknown>).KEY_KINDS;
    expect({ collect: kinds('collect'), profiles: kinds('profiles'), decide: kinds('decide'), privacy: kinds('privacy'), ingest: kinds('ingest') }).toEqual({
      collect: 'write',
      profiles: 'admin,read',
      decide: 'admin,decide,read',
      privacy: 'admin,decide,read,write',
      ingest: '',
    });
  });

  it("lets no API function but the privacy function delete a person's data, and the ingest only read the privacy table and add suppressions", () => {
    const personal = /Data(Profiles|Graph|Events|DeadLetters)/;
    const deletesPersonalData = (fn: keyof typeof functionIds) =>
      statementsOf(policyOf(fn)).some((s) => personal.test(JSON.stringify(s.Resource)) && [s.Action].flat().some((a) => /^dynamodb:(DeleteItem|BatchWriteItem)$/.test(a)));
    // The collector writes dead letters with BatchWriteItem (puts only); the ingest writes its tables.
    expect((['profiles', 'decide', 'privacy'] as const).filter(deletesPersonalData)).toEqual(['privacy']);
    const privacyTable = (fn: keyof typeof functionIds) =>
      statementsOf(policyOf(fn))
        .filter((s) => JSON.stringify(s.Resource).includes('DataPrivacy'))
        .flatMap((s) => [s.Action].flat());
    expect(privacyTable('privacy')).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query']));
    expect(privacyTable('ingest')).toContain('dynamodb:BatchGetItem');
    // The ingest may add suppressions (`SUP#` items), and write nothing else there.
    const ingestWrites = statementsOf(policyOf('ingest')).filter((s) => JSON.stringify(s.Resource).includes('DataPrivacy') && [s.Action].flat().some((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a)));
    expect(ingestWrites).toEqual([expect.objectContaining({ Action: 'dynamodb:BatchWriteItem', Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SUP#*'] } } })]);
    for (const fn of ['profiles', 'decide'] as const) expect(privacyTable(fn)).toEqual([]);
    // The collector reads suppressions only (an erased person's address is not kept again).
    expect(privacyTable('collect')).toEqual(['dynamodb:BatchGetItem']);
  });

  it('lets only the collector, the decision function (decision events) and the send function (contacts) write to the stream', () => {
    const writers = (Object.keys(functionIds) as Array<keyof typeof functionIds>).filter((fn) => actionsOf(policyOf(fn)).includes('kinesis:PutRecords'));
    expect(writers.sort()).toEqual(['collect', 'decide', 'send']);
  });

  it('grants SageMaker only when an endpoint is configured, and only that endpoint', () => {
    expect(JSON.stringify(template.toJSON())).not.toMatch(/sagemaker:InvokeEndpoint/);
    const configured = synthesize({ sagemakerEndpoint: 'Propensity-Prod' });
    configured.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sagemaker:InvokeEndpoint', Resource: { 'Fn::Join': ['', Match.arrayWith([':endpoint/propensity-prod'])] } }),
        ]),
      },
    });
    configured.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SAGEMAKER_ENDPOINT: 'Propensity-Prod', POWERTOOLS_SERVICE_NAME: 'decide' }) },
    });
  });
});

describe('encryption at rest', () => {
  it('uses AWS managed keys by default, and one customer managed key with rotation for the tables, stream, failure queue and secrets with -c encryptionKey=customer', () => {
    // The contact key (sealed addresses) is there either way; nothing else has a key of its own by default.
    expect(Object.keys(resources('AWS::KMS::Key')).map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(['ActivationContactKey']);
    expect(() => synthesize({ encryptionKey: 'customer' })).toThrow(/binds the stack to a region/);
    process.env.CDK_DEFAULT_REGION = 'eu-west-2';
    const keyed = synthesize({ encryptionKey: 'customer' });
    delete process.env.CDK_DEFAULT_REGION;
    const keys = Object.fromEntries(Object.entries(keyed.template.findResources('AWS::KMS::Key') as Record<string, Resource>).filter(([id]) => !id.startsWith('ActivationContactKey')));
    expect(Object.keys(keys)).toHaveLength(1);
    const [keyId, key] = Object.entries(keys)[0] as [string, Resource];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    const ref = { 'Fn::GetAtt': [keyId, 'Arn'] };
    const tables = Object.values(keyed.template.findResources('AWS::DynamoDB::GlobalTable') as Record<string, Resource>);
    expect(tables).toHaveLength(Object.keys(TABLES).length);
    for (const t of tables) expect(t.Properties.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
    for (const t of tables) expect(JSON.stringify(t.Properties.Replicas)).toContain(keyId);
    keyed.template.hasResourceProperties('AWS::Kinesis::Stream', { StreamEncryption: { EncryptionType: 'KMS', KeyId: ref } });
    keyed.template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: ref });
    const secrets = Object.values(keyed.template.findResources('AWS::SecretsManager::Secret') as Record<string, Resource>);
    for (const secret of secrets) expect(secret.Properties.KmsKeyId).toEqual(ref);
    // The functions that read a table or a secret may use the key, through their grants.
    const policies = Object.entries(keyed.template.findResources('AWS::IAM::Policy') as Record<string, Resource>);
    for (const fn of ['HttpCollectRole', 'HttpProfilesRole', 'HttpDecideRole', 'HttpPrivacyRole', 'IngestionIngestRole', 'NightlySnapshotRole']) {
      const policy = policies.find(([id]) => id.startsWith(fn))?.[1] as Resource;
      const onKey = statementsOf(policy).filter((s) => JSON.stringify(s.Resource).includes(keyId));
      expect({ fn, decrypt: onKey.some((s) => [s.Action].flat().includes('kms:Decrypt')) }).toEqual({ fn, decrypt: true });
    }
    expect(() => synthesize({ encryptionKey: 'mine' })).toThrow(/"mine" is not aws or customer/);
  });
});

describe('the HTTP API', () => {
  it('allows no browser origin by default, and only the configured ones with corsOrigins', () => {
    expect(resources('AWS::ApiGatewayV2::Api')[Object.keys(resources('AWS::ApiGatewayV2::Api'))[0] as string]?.Properties.CorsConfiguration).toBeUndefined();
    const configured = synthesize({ corsOrigins: 'https://shop.example.com,https://m.shop.example.com' });
    configured.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://shop.example.com', 'https://m.shop.example.com'], AllowHeaders: Match.arrayWith(['authorization', 'x-api-key']) }),
    });
    expect(() => synthesize({ corsOrigins: '*' })).toThrow(/"\*" is not allowed/);
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r.fn] as const))('routes %s to the %s function', (routeKey, fn) => {
    const [, route] = Object.entries(resources('AWS::ApiGatewayV2::Route')).find(([, r]) => r.Properties.RouteKey === routeKey) ?? [];
    expect(route).toBeDefined();
    expect(route!.Properties.AuthorizationType).toBe('NONE');
    const integrationId = (route!.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
    const integration = resources('AWS::ApiGatewayV2::Integration')[integrationId.Ref]!;
    expect(integration.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [functionIds[fn], 'Arn'] });
  });

  it('has no route but those of the shared route table', () => {
    // One route per entry, and $default for what none takes (404, 405 in the API's error shape).
    template.resourceCountIs('AWS::ApiGatewayV2::Route', ROUTES.length + 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
  });

  it('throttles the default stage and writes access logs with HTTP API variables only', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 2000, ThrottlingBurstLimit: 5000 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^HttpAccessLogs'), 'Arn'] }, Format: Match.anyValue() },
    });
    const [stage] = Object.values(resources('AWS::ApiGatewayV2::Stage'));
    const format = stage!.Properties.AccessLogSettings.Format as string;
    expect(() => JSON.parse(format)).not.toThrow();
    expect(format).toContain('$context.requestId');
    // REST-only variables make API Gateway refuse an HTTP API stage.
    expect(format).not.toMatch(/\$context\.(resourcePath|identity\.caller|identity\.user\b)/);
  });

  it('keeps no client IP address in the access logs (kept three months; personal data is never at rest in clear)', () => {
    const formats = Object.values(resources('AWS::ApiGatewayV2::Stage')).map((stage) => stage.Properties.AccessLogSettings.Format as string);
    expect(formats).not.toHaveLength(0);
    for (const format of formats) expect(format).not.toMatch(/sourceIp|X-Forwarded-For/i);
  });
});

describe('the outputs', () => {
  it('name the API URL, the stream, every table and the secrets', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'StreamName',
        ...Object.keys(TABLES).map((name) => `${name}Table`),
        'WriteKeysSecretArn',
        'ApiKeysSecretArn',
        'IdentitySaltSecretArn',
      ]),
    );
  });
});

describe('the nightly job', () => {
  const settings = loadNightlyConfig();
  const nightly = Object.entries(resources('AWS::Lambda::Function')).filter(([id]) => id.startsWith('Nightly'));
  const policyFor = (task: string) => {
    const [, fn] = nightly.find(([id]) => id.startsWith(`Nightly${task}`))!;
    const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return Object.values(resources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles).includes(role))!;
  };
  const dynamoActionsOn = (task: string, table: string) =>
    statementsOf(policyFor(task))
      .filter((s) => JSON.stringify(s.Resource).includes(table))
      .flatMap((s) => [s.Action].flat())
      .filter((a) => a.startsWith('dynamodb:'));

  it('starts the state machine nightly at the configured time and time zone, with the night in its input', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: settings.schedule.cron,
      ScheduleExpressionTimezone: settings.schedule.timezone,
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: Match.objectLike({ Input: JSON.stringify({ night: '<aws.scheduler.scheduled-time>' }), Arn: { Ref: Match.stringLikeRegexp('^NightlyStateMachine') } }),
    });
    const scheduleRole = Object.entries(resources('AWS::IAM::Policy')).find(([id]) => id.startsWith('NightlyScheduleRole'))![1];
    expect(statementsOf(scheduleRole)).toEqual([expect.objectContaining({ Action: 'states:StartExecution', Resource: { Ref: expect.stringMatching(/^NightlyStateMachine/) } })]);
  });

  it('runs the shared definition: every task retried with backoff, every step up to Publish caught into KeepChampion', () => {
    const machine = Object.values(resources('AWS::StepFunctions::StateMachine'))[0]!;
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    for (const state of ['Snapshot', 'ExportStatus', 'WaitForExport', 'Merges', 'Roots', 'Partition', 'Group', 'Learn', 'Score', 'Publish', 'Report', 'KeepChampion', 'AlreadyRan', 'NightFailed']) expect(definition).toContain(`\\"${state}\\"`);
    expect(definition).toContain('\\"Mode\\":\\"DISTRIBUTED\\"');
    expect(definition).toContain('\\"BackoffRate\\":2');
    expect(machine.Properties).toMatchObject({ TracingConfiguration: { Enabled: true }, LoggingConfiguration: { Level: 'ALL' } });
  });

  it('synthesizes a definition that asl-validator accepts (with its function ARNs filled in), and a broken one it refuses', () => {
    const machine = Object.values(resources('AWS::StepFunctions::StateMachine'))[0]!;
    const [, parts] = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    const text = parts.map((p) => (typeof p === 'string' ? p : `arn:aws:lambda:eu-west-1:123456789012:function:${(p as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]}`)).join('');
    const definition = JSON.parse(text);
    const result = aslValidator(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
    expect(aslValidator({ ...definition, States: { ...definition.States, Group: { ...definition.States.Group, Next: 'Nowhere' } } }).isValid).toBe(false);
  });

  it('has one function per task, each with the time its task needs', () => {
    expect(nightly.map(([id]) => id.replace(/^Nightly|[0-9A-F]{8}$/g, '')).sort()).toEqual([...NIGHTLY_TASKS].sort());
    for (const [id, fn] of nightly) expect(fn.Properties.Timeout).toBe(/^Nightly(ReadProfiles|Roots|SplitEvents|GroupShard|Train|Value|WriteAttributes)/.test(id) ? 900 : 300);
  });

  it('exports the tables instead of scanning them: point-in-time recovery on, the export started and watched by two tasks only', () => {
    for (const table of ['DataEvents', 'DataProfiles']) {
      const [, t] = Object.entries(resources('AWS::DynamoDB::GlobalTable')).find(([id]) => id.startsWith(table))!;
      expect(JSON.stringify(t.Properties.Replicas)).toContain('"PointInTimeRecoveryEnabled":true');
    }
    const actionsOf = (task: string) => statementsOf(policyFor(task)).flatMap((s) => [s.Action].flat());
    expect(actionsOf('Snapshot')).toContain('dynamodb:ExportTableToPointInTime');
    expect(actionsOf('ExportStatus')).toContain('dynamodb:DescribeExport');
    for (const task of NIGHTLY_TASKS) {
      expect(actionsOf(task).filter((a) => /dynamodb:(Scan|Query)$/.test(a) && !['WriteAttributes', 'Train', 'Publish'].includes(task))).toEqual([]);
      if (!['Snapshot'].includes(task)) expect(actionsOf(task)).not.toContain('dynamodb:ExportTableToPointInTime');
    }
    const env = (task: string) => (nightly.find(([id]) => id.startsWith(`Nightly${task}`))![1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env('Snapshot'))).toEqual(expect.arrayContaining(['EVENTS_TABLE_ARN', 'PROFILES_TABLE_ARN']));
    expect(Object.keys(env('Train'))).not.toContain('EVENTS_TABLE_ARN');
  });

  it('grants each task only the tables it uses, and the state machine only the invocation of its tasks and its own child executions', () => {
    expect(dynamoActionsOn('Snapshot', 'DataEvents')).toEqual(['dynamodb:ExportTableToPointInTime']);
    expect(dynamoActionsOn('WriteAttributes', 'DataProfiles')).toContain('dynamodb:PutItem');
    expect(dynamoActionsOn('Publish', 'DataConfig')).toContain('dynamodb:PutItem');
    expect(dynamoActionsOn('Train', 'DataConfig').filter((a) => /Put|Update|Delete|Write/.test(a))).toEqual([]);
    expect(statementsOf(policyFor('Report')).flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    const machineRole = Object.entries(resources('AWS::IAM::Policy')).find(([id]) => id.startsWith('NightlyStateMachineRole'))![1];
    for (const statement of statementsOf(machineRole)) {
      const actions = [statement.Action].flat();
      if (statement.Resource === '*') expect(actions.every((a) => a.startsWith('xray:') || a.startsWith('logs:'))).toBe(true);
      else if (actions.some((a) => a.startsWith('states:'))) expect(JSON.stringify(statement.Resource)).toMatch(/:(stateMachine|execution):MomentEngine-nightly/);
      else expect(actions).toEqual(['lambda:InvokeFunction']);
    }
  });

  it('keeps its data in an encrypted bucket, private, reached over TLS only: working data a week, reports 90 days, the registry for good', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ Prefix: 'work/', ExpirationInDays: 7, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'reports/', ExpirationInDays: 90 }),
          Match.objectLike({ Prefix: 'executions/', ExpirationInDays: 90 }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ],
      },
    });
    const bucket = Object.values(resources('AWS::S3::Bucket')).find((b) => JSON.stringify(b.Properties.LifecycleConfiguration ?? '').includes('work/'))!;
    expect(JSON.stringify(bucket.Properties.LifecycleConfiguration)).not.toContain('registry/');
    // Every task may list the bucket (a missing piece is then a 404, not a 403).
    for (const task of NIGHTLY_TASKS) expect(statementsOf(policyFor(task)).some((st) => [st.Action].flat().includes('s3:ListBucket'))).toBe(true);
  });

  it('lets each task read and write only its own prefixes of the bucket: only Publish the registry, only the reporting tasks the reports', () => {
    const prefixes = (task: string, action: string) =>
      statementsOf(policyFor(task))
        .filter((st) => [st.Action].flat().includes(action))
        .flatMap((st) => [st.Resource].flat())
        .map((r) => JSON.stringify(r).match(/\/([a-z]+)\/\*/)?.[1])
        .filter((p): p is string => p !== undefined)
        .sort();
    expect(prefixes('Publish', 's3:PutObject')).toEqual(['registry']);
    expect(prefixes('Report', 's3:PutObject')).toEqual(['reports']);
    expect(prefixes('WriteAttributes', 's3:PutObject')).toEqual([]);
    expect(prefixes('Snapshot', 's3:PutObject')).toEqual(['executions', 'work']);
    for (const task of NIGHTLY_TASKS) {
      if (task !== 'Publish') expect(prefixes(task, 's3:PutObject')).not.toContain('registry');
      // No statement grants the whole bucket's objects.
      expect(JSON.stringify(statementsOf(policyFor(task)).map((st) => st.Resource))).not.toMatch(/Arn"\]\},"\/\*"/);
    }
    template.hasResourceProperties('AWS::S3::BucketPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } });
  });
});

describe('campaigns (activation)', () => {
  const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId((construct.node.defaultChild ?? construct) as any);
  const sendQueues = Object.values(stack.activation.queues).map(idOf);

  it('hands profile changes from the bus to the trigger function, retried for a day into a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: idOf(stack.activation.bus) },
      EventPattern: { source: ['moment.ingest'], 'detail-type': ['Profile Changed'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionIds.trigger, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [idOf(stack.activation.triggerFailures), 'Arn'] } } })],
    });
  });

  it('has a send queue per channel of config/campaigns.json, each with a dead-letter queue and its delivery speed', () => {
    expect(Object.keys(stack.activation.queues).sort()).toEqual(['email', 'events', 'push', 'sms']);
    for (const id of sendQueues) {
      expect(resources('AWS::SQS::Queue')[id]!.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [idOf(stack.activation.sendFailures), 'Arn'] }, maxReceiveCount: 5 });
    }
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionName: { Ref: functionIds.send }, EventSourceArn: { 'Fn::GetAtt': [idOf(stack.activation.queues.push!), 'Arn'] }, ScalingConfig: { MaximumConcurrency: 10 }, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionName: { Ref: functionIds.send }, EventSourceArn: { 'Fn::GetAtt': [idOf(stack.activation.queues.email!), 'Arn'] }, ScalingConfig: { MaximumConcurrency: 5 } });
  });

  it('lets the scheduler only send to the send queues, and the trigger and send functions only make schedules in their group', () => {
    const role = idOf(stack.activation.schedulerRole);
    const policy = Object.values(resources('AWS::IAM::Policy')).find((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === role))!;
    expect([...new Set(statementsOf(policy).flatMap((s) => [s.Action].flat()))].sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    expect(statementsOf(policy).map((s) => s.Resource).flat().map((r) => (r as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]).sort()).toEqual([...sendQueues].sort());
    for (const fn of ['trigger', 'send'] as const) {
      const schedules = statementsOf(policyOf(fn)).filter((s) => [s.Action].flat().some((a) => a.startsWith('scheduler:')));
      expect(schedules).toHaveLength(1);
      expect(JSON.stringify(schedules[0]!.Resource)).toContain(idOf(stack.activation.scheduleGroup).replace(/[0-9A-F]{8}$/, ''));
    }
  });

  it('lets only the send function read the webhook secret, and only the ingest and the send function put events on the bus', () => {
    const secret = stack.getLogicalId(stack.activation.webhookSecret.node.defaultChild as any);
    const readers = (Object.keys(functionIds) as Array<keyof typeof functionIds>).filter((fn) => JSON.stringify(policyOf(fn).Properties.PolicyDocument).includes(secret));
    expect(readers).toEqual(['send']);
    const publishers = (Object.keys(functionIds) as Array<keyof typeof functionIds>).filter((fn) => actionsOf(policyOf(fn)).includes('events:PutEvents'));
    expect(publishers.sort()).toEqual(['ingest', 'send']);
  });

  it('tells the ingest the bus, and the send function the webhook secret, without a webhook URL unless one is given', () => {
    const env = (fn: keyof typeof functionIds) => resources('AWS::Lambda::Function')[functionIds[fn]]!.Properties.Environment.Variables as Record<string, unknown>;
    expect(env('ingest').ACTIVATION_BUS_NAME).toEqual({ Ref: idOf(stack.activation.bus) });
    expect(Object.keys(env('send'))).toEqual(expect.arrayContaining(['WEBHOOK_SECRET_ARN', 'SCHEDULE_GROUP', 'SCHEDULER_ROLE_ARN', 'SEND_QUEUE_ARNS', 'ACTIVATION_BUS_NAME']));
    expect(Object.keys(env('send')).filter((k) => k.startsWith('WEBHOOK_URL_'))).toEqual([]);
    const withUrl = synthesize({ webhookUrls: '{"push":"https://push.example.com/hook"}' });
    const sendId = withUrl.stack.getLogicalId(withUrl.stack.activation.send.node.defaultChild as any);
    expect((withUrl.template.findResources('AWS::Lambda::Function')[sendId] as Resource).Properties.Environment.Variables.WEBHOOK_URL_PUSH).toBe('https://push.example.com/hook');
    expect(() => synthesize({ webhookUrls: '{"push":"http://insecure.example.com"}' })).toThrow('webhookUrls.push: must be an https:// URL');
  });
});
