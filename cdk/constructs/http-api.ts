import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Stream } from 'aws-cdk-lib/aws-kinesis';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_ENTRIES, ROUTES, type FunctionName } from '../../functions/routes';
import type { DataTables } from './data';
import { EngineFunction } from './function';
import type { EngineKeys } from './keys';

export interface HttpApiProps {
  data: DataTables;
  keys: EngineKeys;
  stream: Stream;
  /** A SageMaker endpoint that scores offers (optional; the in-process scores are the fallback). */
  sagemakerEndpoint?: string;
  /** Requests per second across the API, and the burst above it. */
  throttle?: { rateLimit: number; burstLimit: number };
}

/**
 * The HTTP API (API Gateway v2): one route per entry of functions/routes.ts (collector, profile API,
 * decisions), each to the function
 * that serves it; a default stage with throttling and JSON access logs. The handlers check the
 * credentials themselves (Segment write keys by Basic auth, as the SDKs send them; API keys by
 * `x-api-key`), so the routes carry no API Gateway authorizer.
 */
export class EngineHttpApi extends Construct {
  readonly api: HttpApi;
  readonly functions: Record<FunctionName, EngineFunction>;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    const env = { ...props.data.environment(), ...props.keys.environment(), EVENT_STREAM_NAME: props.stream.streamName };
    const collect = new EngineFunction(this, 'Collect', { entry: FUNCTION_ENTRIES.collect, serviceName: 'collect', environment: env });
    props.stream.grantWrite(collect);
    const profiles = new EngineFunction(this, 'Profiles', { entry: FUNCTION_ENTRIES.profiles, serviceName: 'profiles', environment: env });
    for (const name of ['profiles', 'graph', 'events', 'deadLetters'] as const) props.data.tables[name].grantReadData(profiles);
    const decide = new EngineFunction(this, 'Decide', {
      entry: FUNCTION_ENTRIES.decide,
      serviceName: 'decide',
      timeout: Duration.seconds(5),
      environment: { ...env, ...(props.sagemakerEndpoint ? { SAGEMAKER_ENDPOINT: props.sagemakerEndpoint, SAGEMAKER_BUDGET_MS: '30' } : {}) },
    });
    for (const name of ['profiles', 'graph'] as const) props.data.tables[name].grantReadData(decide);
    props.data.tables.config.grantReadWriteData(decide);
    props.stream.grantWrite(decide);
    if (props.sagemakerEndpoint) {
      decide.addToRolePolicy(
        new PolicyStatement({
          actions: ['sagemaker:InvokeEndpoint'],
          resources: [Stack.of(this).formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: props.sagemakerEndpoint.toLowerCase() })],
        }),
      );
    }
    for (const fn of [collect, profiles, decide]) props.keys.grantRead(fn);
    this.functions = { collect, profiles, decide };

    this.api = new HttpApi(this, 'Api', { createDefaultStage: false, description: 'Moment Engine: Segment collector and profile API' });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
    new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 2000, burstLimit: 5000 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.jsonWithStandardFields(),
      },
    });
    const integrations = {
      collect: new HttpLambdaIntegration('CollectIntegration', collect),
      profiles: new HttpLambdaIntegration('ProfilesIntegration', profiles),
      decide: new HttpLambdaIntegration('DecideIntegration', decide),
    };
    for (const route of ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration: integrations[route.fn] });
    }
  }
}
