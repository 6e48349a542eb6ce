import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { loadCatalog } from '../lib/decision/catalog';
import { loadModel } from '../lib/decision/model';
import { loadNightlyConfig } from '../lib/learn/nightly-config';
import { loadEventPolicy } from '../lib/events/policy';
import { loadIdentityRules } from '../lib/identity/rules';
import { loadAggregates } from '../lib/profile/aggregates';
import { loadProfileRules } from '../lib/profile/segments';
import { MomentEngineStack } from './stack';

/**
 * Validates the configuration the functions bundle (config/*.json, imported by lib/ and bundled by
 * esbuild), with the same loaders the functions use, so a bad identity rule, event policy, aggregate,
 * segment, offer or model artifact fails `cdk synth` with a message that names the file and the field, before anything deploys.
 */
export function validateConfiguration(): void {
  const check = <T>(file: string, load: () => T): T => {
    try {
      return load();
    } catch (e) {
      throw new Error(`config/${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  check('identity.json', () => loadIdentityRules());
  check('events.json', () => loadEventPolicy());
  const aggregates = check('aggregates.json', () => loadAggregates());
  check('profile.json', () => loadProfileRules(aggregates));
  check('catalog.json', () => loadCatalog());
  check('model.json', () => loadModel());
  check('nightly.json', () => loadNightlyConfig());
}

/**
 * The CDK app: configuration validated first, then the stack, then the cdk-nag AwsSolutions and
 * Serverless packs over everything (findings are errors and warnings on the stack; acknowledged ones
 * are in nag-suppressions.ts). Context: `stackName` (default MomentEngine), `sagemakerEndpoint`.
 */
export function buildApp(app = new App()): { app: App; stack: MomentEngineStack } {
  validateConfiguration();
  const stack = new MomentEngineStack(app, app.node.tryGetContext('stackName') ?? 'MomentEngine', {
    description: 'Moment Engine: real-time marketing decision engine (collector, identity stitching, profiles, decisions)',
    sagemakerEndpoint: app.node.tryGetContext('sagemakerEndpoint'),
  });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  Aspects.of(app).add(new ServerlessChecks({ verbose: true }));
  return { app, stack };
}

if (require.main === module) {
  buildApp().app.synth();
}
