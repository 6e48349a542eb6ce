import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../cdk/app';
import type { MomentEngineStack } from '../../cdk/stack';

/**
 * The app as `cdk synth` builds it (stack and cdk-nag packs), synthesised once per test file without
 * bundling: the `aws:cdk:bundling-stacks` context set to no stacks makes NodejsFunction skip esbuild
 * (the bundle itself is covered by test/integration/lambda-bundle.test.ts), which keeps this fast.
 */
export function synthesize(context: Record<string, unknown> = {}): { app: App; stack: MomentEngineStack; template: Template } {
  const { app, stack } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } }));
  // Template.fromStack synthesises the whole app (aspects included) into the app's output directory.
  return { app, stack, template: Template.fromStack(stack) };
}
