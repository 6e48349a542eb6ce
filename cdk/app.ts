import { App, Aspects } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { loadCatalog } from '../lib/decision/catalog';
import { loadModel } from '../lib/decision/model';
import { loadNightlyConfig } from '../lib/learn/nightly-config';
import { loadEventPolicy } from '../lib/events/policy';
import { loadIdentityRules } from '../lib/identity/rules';
import { loadAggregates } from '../lib/profile/aggregates';
import { loadProfileRules } from '../lib/profile/segments';
import { parseCorsOrigins } from '../lib/http/cors';
import { MomentEngineStack } from './stack';
import { checkCampaignsAgainst, loadCampaigns } from '../lib/campaign/campaign';

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
  const profile = check('profile.json', () => loadProfileRules(aggregates));
  const catalog = check('catalog.json', () => loadCatalog());
  check('campaigns.json', () => checkCampaignsAgainst(loadCampaigns(undefined, profile.segments.map((s) => s.name)), catalog));
  check('model.json', () => loadModel());
  check('nightly.json', () => loadNightlyConfig());
}

/**
 * The CDK app: configuration validated first, then the stack, then the cdk-nag AwsSolutions and
 * Serverless packs over everything (findings are errors and warnings on the stack; acknowledged ones
 * are in nag-suppressions.ts). Context: `stackName` (default MomentEngine), `sagemakerEndpoint`,
 * `corsOrigins` (comma-separated web origins allowed to call the API from a browser; none by default),
 * `encryptionKey` (`customer`: a customer managed KMS key for the data at rest), `webhookUrls` (JSON:
 * each webhook channel's URL).
 */
export function buildApp(app = new App()): { app: App; stack: MomentEngineStack } {
  validateConfiguration();
  const encryptionKey = encryptionKeyOf(app.node.tryGetContext('encryptionKey'));
  // A table encrypted with a customer managed key names the key per region: such a stack is bound to its region.
  const region = process.env.CDK_DEFAULT_REGION;
  if (encryptionKey === 'customer' && region === undefined) throw new Error('encryptionKey=customer binds the stack to a region: set AWS_REGION (or a profile with a region) for cdk, or CDK_DEFAULT_REGION');
  const stack = new MomentEngineStack(app, app.node.tryGetContext('stackName') ?? 'MomentEngine', {
    ...(encryptionKey === 'customer' ? { env: { region, account: process.env.CDK_DEFAULT_ACCOUNT } } : {}),
    description: 'Moment Engine: real-time marketing decision engine (collector, identity stitching, profiles, decisions)',
    sagemakerEndpoint: app.node.tryGetContext('sagemakerEndpoint'),
    corsOrigins: parseCorsOrigins(app.node.tryGetContext('corsOrigins')),
    encryptionKey,
    webhookUrls: webhookUrlsOf(app.node.tryGetContext('webhookUrls')),
  });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  Aspects.of(app).add(new ServerlessChecks({ verbose: true }));
  return { app, stack };
}

/** The `webhookUrls` context: JSON of HTTPS URLs by channel name (`{"push":"https://push.example.com/hook"}`). */
function webhookUrlsOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  if (typeof parsed !== 'object' || parsed === null) throw new Error('webhookUrls: must be JSON such as {"push":"https://push.example.com/hook"}');
  for (const [channel, url] of Object.entries(parsed)) {
    if (typeof url !== 'string' || !url.startsWith('https://')) throw new Error(`webhookUrls.${channel}: must be an https:// URL`);
  }
  return parsed as Record<string, string>;
}

/** The `encryptionKey` context: `aws` (AWS managed keys, the default) or `customer` (a customer managed KMS key). */
function encryptionKeyOf(value: unknown): 'aws' | 'customer' {
  if (value === undefined || value === 'aws' || value === 'customer') return value ?? 'aws';
  throw new Error(`encryptionKey: "${String(value)}" is not aws or customer`);
}

/**
 * One line on what cdk-nag found in a synthesized stack: its errors and warnings (the findings are
 * also printed in full above it), and how many findings are acknowledged with a reason.
 */
export function nagSummary(assembly: CloudAssembly): string {
  const counts = { error: 0, warning: 0, acknowledged: 0 };
  for (const stack of assembly.stacks) {
    for (const message of stack.messages) {
      if (!/^\[?(AwsSolutions|Serverless)-/.test(String(message.entry.data))) continue;
      if (message.level === 'error') counts.error += 1;
      else if (message.level === 'warning') counts.warning += 1;
    }
    for (const resource of Object.values((stack.template as { Resources?: Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress?: unknown[] } } }> }).Resources ?? {})) counts.acknowledged += resource.Metadata?.cdk_nag?.rules_to_suppress?.length ?? 0;
  }
  return `cdk-nag (AwsSolutions, Serverless): ${counts.error} errors, ${counts.warning} warnings; ${counts.acknowledged} acknowledgements with reasons on resources (cdk/nag-suppressions.ts)`;
}

if (require.main === module) {
  const assembly = buildApp().app.synth();
  console.error(nagSummary(assembly));
}
