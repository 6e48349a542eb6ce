import { Duration, Stack } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Stream } from 'aws-cdk-lib/aws-kinesis';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_ENTRIES, keyKindsOf, ROUTES, type FunctionName } from '../../functions/routes';
import { EngineFunction, type EngineFunctionProps } from './function';
import { accessLogFormat, accessLogGroupDefaults, corsDefaults, stageThrottleDefaults } from './http-api-defaults';
import type { EngineKeys } from './keys';
import type { EngineTables } from './tables';

const capitalized = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

export interface EngineHttpApiProps {
  tables: EngineTables;
  keys: EngineKeys;
  stream: Stream;
  /** Variables every function gets (table names, stream name, secret ARNs). */
  environment: Record<string, string>;
  /** A SageMaker endpoint that scores offers (optional; the in-process scores are the fallback). */
  sagemakerEndpoint?: string;
  /** Overrides of the default stage's throttling. */
  throttle?: ThrottleSettings;
  /** Web origins that may call the API from a browser (lib/http/cors.ts); none by default. */
  corsOrigins?: string[];
}

/**
 * The HTTP API (API Gateway v2): one route per entry of ROUTES (lib/http/routes.ts: collector, profile
 * API, decisions), each integrated with the function its `fn` names; a `$default` stage with throttling
 * and JSON access logs. The handlers check the credentials themselves (Segment write keys by Basic auth
 * as the SDKs send them, API keys by `x-api-key`), so the routes carry no API Gateway authorizer.
 *
 * Least privilege: the collector only puts records on the stream and writes dead letters (BatchWriteItem
 * on that table alone, for the invalid messages of a batch); the profile API only reads the profile,
 * graph, events and dead-letter tables; decisions read profiles, the graph and offer statistics, read
 * and write the published catalog and model (config table) and put decision events on the stream.
 */
export class EngineHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly functions: Record<FunctionName, EngineFunction>;

  constructor(scope: Construct, id: string, props: EngineHttpApiProps) {
    super(scope, id);
    const { tables } = props.tables;
    const fn = (name: FunctionName, extra: Partial<EngineFunctionProps> = {}) =>
      new EngineFunction(this, capitalized(name), {
        entry: FUNCTION_ENTRIES[name],
        serviceName: name,
        ...extra,
        environment: { ...props.environment, ...extra.environment },
      });

    const collect = fn('collect');
    props.stream.grantWrite(collect);
    // DynamoStores writes dead letters (and their index entries) with BatchWriteItem only, on the table
    // and not its indexes; with a customer managed key (a table override), the key actions that grantWriteData would give.
    collect.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:BatchWriteItem'], resources: [tables.deadLetters.tableArn] }));
    tables.deadLetters.encryptionKey?.grant(collect, 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*');

    const profiles = fn('profiles');
    for (const name of ['profiles', 'graph', 'events', 'deadLetters', 'config'] as const) tables[name].grantReadData(profiles);

    const endpoint = props.sagemakerEndpoint;
    const decide = fn('decide', {
      timeout: Duration.seconds(5),
      environment: endpoint ? { SAGEMAKER_ENDPOINT: endpoint, SAGEMAKER_BUDGET_MS: '30' } : {},
    });
    for (const name of ['profiles', 'graph', 'offerStats'] as const) tables[name].grantReadData(decide);
    // Her contact ledger's day in force (lib/decision/contact-ledger.ts ledgerDayAt): one Query of her
    // partition's three days around today (GetItem for a day by name), and nothing else of the campaigns' table.
    decide.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [tables.activations.tableArn] }));
    tables.activations.encryptionKey?.grant(decide, 'kms:Decrypt', 'kms:DescribeKey');
    tables.config.grantReadWriteData(decide);
    props.stream.grantWrite(decide);
    if (endpoint) {
      decide.addToRolePolicy(
        new PolicyStatement({
          actions: ['sagemaker:InvokeEndpoint'],
          // SageMaker endpoint ARNs are lower case whatever the case of the name.
          resources: [Stack.of(this).formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: endpoint.toLowerCase() })],
        }),
      );
    }

    // The privacy API (admin keys): reads everything held about a person and removes it; writes the privacy table.
    const privacy = fn('privacy', { timeout: Duration.seconds(29) });
    for (const name of ['profiles', 'graph', 'events', 'deadLetters', 'privacy', 'activations'] as const) tables[name].grantReadWriteData(privacy);

    // Campaigns: lists and publishes them (config table), reads their entries and the profiles they are about.
    const campaigns = fn('campaigns');
    for (const name of ['profiles', 'activations'] as const) tables[name].grantReadData(campaigns);
    tables.config.grantReadWriteData(campaigns);

    this.functions = { collect, profiles, decide, privacy, campaigns };
    // Each function reads the salt and the secrets of the kinds of keys its routes take, and no others.
    for (const [name, f] of Object.entries(this.functions) as Array<[FunctionName, EngineFunction]>) props.keys.grantRead(f, keyKindsOf(name));

    const cors = corsDefaults(props.corsOrigins ?? []);
    this.api = new HttpApi(this, 'Api', { createDefaultStage: false, description: 'Moment Engine: Segment collector, profile and decision API', ...(cors ? { corsPreflight: cors } : {}) });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { ...stageThrottleDefaults(), ...props.throttle },
      accessLogSettings: {
        // Without client IP addresses (see accessLogFormat): personal data is never at rest in clear.
        destination: new LogGroupLogDestination(new LogGroup(this, 'AccessLogs', accessLogGroupDefaults())),
        format: accessLogFormat(),
      },
    });
    const integrations = Object.fromEntries(
      (Object.keys(this.functions) as FunctionName[]).map((name) => [
        name,
        new HttpLambdaIntegration(`${capitalized(name)}Integration`, this.functions[name]),
      ]),
    ) as Record<FunctionName, HttpLambdaIntegration>;
    for (const route of ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration: integrations[route.fn] });
    }
    // What no route takes: 405 with Allow, or 404, in the API's own error shape (not API Gateway's bare {"message":"Not Found"}).
    new HttpRoute(this.api, 'DefaultRoute', { httpApi: this.api, routeKey: HttpRouteKey.DEFAULT, integration: integrations.profiles });
  }

  /** The URL clients use (Segment SDKs take it as their host). */
  get url(): string {
    return this.stage.url;
  }
}
