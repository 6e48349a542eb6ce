import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { loadEngineConfig } from '../lib/ingest/config';
import { loadCatalog } from '../lib/decision/catalog';
import { MomentEngineStack } from './stack';

/**
 * The CDK app. The configuration the functions bundle is validated here first, so a bad identity
 * rule or aggregate fails `cdk synth` with a message that names the field, before anything deploys.
 */
export function buildApp(app = new App()): { app: App; stack: MomentEngineStack } {
  loadEngineConfig();
  loadCatalog();
  const stack = new MomentEngineStack(app, app.node.tryGetContext('stackName') ?? 'MomentEngine', {
    description: 'Moment Engine: real-time marketing decision engine (collector, identity stitching, profiles)',
  });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  Aspects.of(app).add(new ServerlessChecks({ verbose: true }));
  return { app, stack };
}

if (require.main === module) {
  buildApp().app.synth();
}
