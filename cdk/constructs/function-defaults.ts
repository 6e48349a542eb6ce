import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { RetentionDays, type LogGroupProps } from 'aws-cdk-lib/aws-logs';
import { join } from 'node:path';

/** Where the project lives: entries, config/ and the lockfile are resolved from here. */
export const PROJECT_ROOT = join(__dirname, '..', '..');

/**
 * The Lambda runtime of every function, and the esbuild target that matches it. Node.js 24 is the
 * newest Node.js runtime aws-cdk-lib knows, so cdk-nag's "latest runtime" rules (AwsSolutions-L1,
 * Serverless-LambdaLatestVersion) pass without a suppression, and it is supported well past
 * nodejs22.x (whose Lambda deprecation follows Node.js 22's end of life in April 2027).
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;
export const BUNDLE_TARGET = 'node24';

/** The namespace of the engine's custom metrics (Powertools Metrics); alarms read it too. */
export const METRICS_NAMESPACE = 'MomentEngine';

/**
 * The defaults every function of the engine shares: the current Node.js runtime on ARM64 (cheaper
 * per GB-second than x86), X-Ray tracing, source maps in stack traces, explicit memory and timeout
 * (cdk-nag rejects the 128 MB / 3 s platform defaults), Powertools service name and metrics
 * namespace, and esbuild bundling on this machine: esbuild is a project dependency, so no Docker.
 */
export function functionDefaults(serviceName: string): NodejsFunctionProps {
  return {
    runtime: FUNCTION_RUNTIME,
    architecture: Architecture.ARM_64,
    memorySize: 1024,
    timeout: Duration.seconds(10),
    tracing: Tracing.ACTIVE,
    handler: 'handler',
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    projectRoot: PROJECT_ROOT,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.CJS,
      target: BUNDLE_TARGET,
      minify: true,
      sourceMap: true,
      // Stack traces need the mappings, not the sources: keeps the bundles (and the code) smaller.
      sourcesContent: false,
      // The AWS SDK v3 clients are bundled at the versions the lockfile pins, not taken from the runtime.
      externalModules: [],
    },
  };
}

/** A function's own log group: a retention (logs are not kept forever), removed with the stack. */
export function functionLogGroupDefaults(): LogGroupProps {
  return { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY };
}
