import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing, type FunctionProps } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';

/** Where the project lives (entries and the lockfile are resolved from here). */
export const PROJECT_ROOT = join(__dirname, '..', '..');

/**
 * The defaults every function of the engine shares: a current Node.js runtime on ARM64, X-Ray
 * tracing, source maps, a log group with a retention, explicit memory and timeout, and esbuild
 * bundling on this machine (esbuild is a project dependency, so no Docker is needed).
 */
export function functionDefaults(serviceName: string): Partial<NodejsFunctionProps> & Pick<FunctionProps, 'runtime'> {
  return {
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: 1024,
    timeout: Duration.seconds(10),
    tracing: Tracing.ACTIVE,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    projectRoot: PROJECT_ROOT,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: serviceName,
      POWERTOOLS_METRICS_NAMESPACE: 'MomentEngine',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.CJS,
      target: 'node24',
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      // The SDK v3 clients the functions use are bundled (pinned versions), not taken from the runtime.
      externalModules: [],
    },
  };
}

export interface EngineFunctionProps extends Partial<NodejsFunctionProps> {
  /** Entry file relative to the project root, e.g. `functions/ingest/handler.ts`. */
  entry: string;
  serviceName: string;
}

/** A NodejsFunction with the engine's defaults and its own log group. */
export class EngineFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: EngineFunctionProps) {
    const defaults = functionDefaults(props.serviceName);
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    super(scope, id, {
      ...defaults,
      ...props,
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      logGroup,
      environment: { ...defaults.environment, ...props.environment },
      bundling: { ...defaults.bundling, ...props.bundling },
    });
  }
}
