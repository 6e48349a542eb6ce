import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadCatalog } from '../../lib/decision/catalog';
import { CatalogSource, ModelSource } from '../../lib/decision/catalog-source';
import { IdentityWeightsSource } from '../../lib/identity/weights';
import { loadModel } from '../../lib/decision/model';
import { logger } from './powertools';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KEY_SECRET_VARIABLES, KEY_VARIABLES, keysFromEnv, keysFromTexts, type KeyKind, type Keys } from '../../lib/http/keys';
import { loadEngineConfig } from '../../lib/ingest/config';
import { dynamoClient, eventBridgeClient, kinesisClient, schedulerClient } from '../../lib/store/clients';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { loadCampaigns, type Campaigns } from '../../lib/campaign/campaign';
import { EventBridgeChannel, WebhookChannel, type Channel } from '../../lib/campaign/channels';
import type { Wakeups } from '../../lib/campaign/journey';
import { CampaignSource } from '../../lib/campaign/source';
import type { ChangeBus } from '../../lib/ingest/changes';
import { busPut, EventBridgeChangeBus } from '../../lib/store/eventbridge';
import { SchedulerWakeups } from '../../lib/store/scheduler';
import { KMSClient } from '@aws-sdk/client-kms';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { AddressSealer, chooseAddress, LocalDataKeys } from '../../lib/campaign/addresses';
import { KmsDataKeys } from '../../lib/store/kms';
import { SesChannel, SnsSmsChannel } from '../../lib/store/messaging';
import type { Profile } from '../../lib/profile/profile';
import { DynamoStores } from '../../lib/store/dynamo';
import { KinesisEventStream } from '../../lib/store/kinesis';
import { STREAM, tableNamesFromEnv } from '../../lib/store/tables';

/**
 * Process-wide resources, created on first use and reused across invocations (clients, validated
 * configuration, keys). Nothing here runs at import time, so a handler module loads fast.
 */
let dynamo: DynamoDBClient | undefined;
/** The DynamoDB client the stores use (tests add fault-injecting middleware to it). */
export const getDynamoClient = (): DynamoDBClient => (dynamo ??= dynamoClient());

let stores: DynamoStores | undefined;
export const getStores = (): DynamoStores => (stores ??= new DynamoStores(getDynamoClient(), tableNamesFromEnv()));

let stream: KinesisEventStream | undefined;
export const getStream = (): KinesisEventStream =>
  (stream ??= new KinesisEventStream(kinesisClient(), process.env[STREAM.envVar] ?? STREAM.localName));

/** Identity rules, aggregates, stage and segments from config/, validated once per process. */
export const engineConfig = loadEngineConfig();

let keys: { value: Promise<Keys>; loadedAt: number } | undefined;
/** How long keys are kept before they are read again: a key removed from its secret stops working within this time. */
export const KEYS_TTL_MS = Number(process.env.KEYS_TTL_MS ?? 60_000);

/**
 * Keys from WRITE_KEYS / DECIDE_KEYS / READ_KEYS / ADMIN_KEYS / IDENTITY_SALT (local stack, tests), or
 * on AWS from the Secrets Manager secrets of the kinds this function checks (`KEY_KINDS`, set by the
 * CDK app, which grants it those secrets and no others) and the salt. Each key secret may hold a
 * comma-separated list, so a new key can serve beside the old one before the old one is removed.
 * Read again every KEYS_TTL_MS; if a refresh fails, the keys read last keep serving.
 */
export function getKeys(now = Date.now()): Promise<Keys> {
  if (keys !== undefined && now - keys.loadedAt < KEYS_TTL_MS) return keys.value;
  const previous = keys?.value;
  const value = readKeys().catch((e: Error) => {
    if (previous === undefined) {
      keys = undefined;
      throw e;
    }
    logger.warn('could not read the keys again; the ones read last keep serving', e);
    return previous;
  });
  keys = { value, loadedAt: now };
  return value;
}

async function readKeys(): Promise<Keys> {
  const fromEnv = keysFromEnv();
  if (fromEnv) return fromEnv;
  const kinds = (process.env.KEY_KINDS ?? '').split(',').filter(Boolean) as KeyKind[];
  const arnOf = (name: string) => {
    const arn = process.env[name];
    if (!arn) throw new Error(`no keys configured: set ${Object.values(KEY_VARIABLES).join('/')}/IDENTITY_SALT, or ${name}`);
    return arn;
  };
  const client = new SecretsManagerClient({});
  const read = async (arn: string) => (await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString ?? '';
  const [salt, ...texts] = await Promise.all([read(arnOf('IDENTITY_SALT_SECRET_ARN')), ...kinds.map((k) => read(arnOf(KEY_SECRET_VARIABLES[k])))]);
  if ((salt ?? '').trim() === '') throw new Error('the identity salt secret is empty');
  return keysFromTexts(Object.fromEntries(kinds.map((k, i) => [k, texts[i]])), salt as string);
}

let catalogSource: CatalogSource | undefined;
/** The offer catalog: published in the config table, else bundled; refreshed every CATALOG_REFRESH_MS (30 s). */
export const getCatalogSource = (): CatalogSource =>
  (catalogSource ??= new CatalogSource(
    DynamoDBDocumentClient.from(getDynamoClient()),
    tableNamesFromEnv().config,
    Number(process.env.CATALOG_REFRESH_MS ?? 30_000),
    () => loadCatalog(),
    (e) => logger.warn('could not read the published catalog; serving the last good one', e),
  ));

let modelSource: ModelSource | undefined;
/** The model artifact: published in the config table (by the nightly job), else bundled; refreshed like the catalog. */
export const getModelSource = (): ModelSource =>
  (modelSource ??= new ModelSource(
    DynamoDBDocumentClient.from(getDynamoClient()),
    tableNamesFromEnv().config,
    Number(process.env.CATALOG_REFRESH_MS ?? 30_000),
    () => loadModel(),
    (e) => logger.warn('could not read the published model; serving the last good one', e),
  ));

let weightsSource: IdentityWeightsSource | undefined;
/** Product popularity for probable links: published in the config table by the nightly job, else none; refreshed every 5 minutes. */
export const getIdentityWeightsSource = (): IdentityWeightsSource =>
  (weightsSource ??= new IdentityWeightsSource(DynamoDBDocumentClient.from(getDynamoClient()), tableNamesFromEnv().config, Number(process.env.IDENTITY_WEIGHTS_REFRESH_MS ?? 300_000), (e) =>
    logger.warn('could not read the published identity weights; using the last good ones', e),
  ));

let campaignSource: CampaignSource | undefined;
/** Triggered campaigns: published in the config table, else bundled; refreshed like the catalog. Segments are checked against config/profile.json. */
export const getCampaignSource = (): CampaignSource =>
  (campaignSource ??= new CampaignSource(
    DynamoDBDocumentClient.from(getDynamoClient()),
    tableNamesFromEnv().config,
    Number(process.env.CATALOG_REFRESH_MS ?? 30_000),
    (input) => deployedChannels(input === undefined ? loadCampaigns(undefined, segmentNames) : loadCampaigns(input, segmentNames)),
    (e) => logger.warn('could not read the published campaigns; serving the last good ones', e),
  ));
const segmentNames = engineConfig.profileRules.segments.map((s) => s.name);

/**
 * Campaigns may use only the channels this deployment has a send queue for (CAMPAIGN_CHANNELS, set by
 * the CDK app): a published document naming another is refused, as its sends would have nowhere to go.
 */
function deployedChannels(campaigns: Campaigns): Campaigns {
  const deployed = process.env.CAMPAIGN_CHANNELS?.split(',').filter(Boolean);
  if (deployed === undefined) return campaigns;
  for (const c of campaigns.campaigns) {
    if (!deployed.includes(c.action.channel)) throw new Error(`Invalid campaigns: campaign "${c.id}" action.channel: "${c.action.channel}" has no send queue in this deployment (it has ${deployed.join(', ')}); add the channel to config/campaigns.json and deploy`);
  }
  return campaigns;
}

let clock: () => Date = () => new Date();
/** The time the campaign functions go by: the real clock, or the local stack's manual one (LOCAL_CLOCK=manual). */
export const getClock = (): (() => Date) => clock;
export const setClock = (next: () => Date): void => void (clock = next);

let eventBridge: EventBridgeClient | undefined;
const getEventBridge = () => (eventBridge ??= eventBridgeClient());

/** Profile changes for campaigns go to the activation bus (ACTIVATION_BUS_NAME); without one, none are announced. */
export function getChangeBus(): ChangeBus | undefined {
  const bus = process.env.ACTIVATION_BUS_NAME;
  return bus ? new EventBridgeChangeBus(getEventBridge(), bus) : undefined;
}

let wakeups: Wakeups | undefined;
/**
 * Wake-ups: EventBridge Scheduler one-time schedules onto each channel's send queue on AWS
 * (SCHEDULE_GROUP, SCHEDULER_ROLE_ARN, SEND_QUEUE_ARNS as JSON {channel: arn}); without them (the
 * local stack) none are made: its scheduler reads the due index of the activations table.
 */
export function getWakeups(): Wakeups {
  if (wakeups) return wakeups;
  const group = process.env.SCHEDULE_GROUP;
  const roleArn = process.env.SCHEDULER_ROLE_ARN;
  const arns = JSON.parse(process.env.SEND_QUEUE_ARNS ?? '{}') as Record<string, string>;
  const urls = JSON.parse(process.env.SEND_QUEUE_URLS ?? '{}') as Record<string, string>;
  if (!group || !roleArn) return (wakeups = { schedule: async () => undefined, cancel: async () => undefined });
  const sqs = new SQSClient({ maxAttempts: 5 });
  return (wakeups = new SchedulerWakeups(schedulerClient(), {
    group,
    roleArn,
    queueOf: (i) => {
      const channel = campaignSource?.peek()?.byId.get(i.campaignId)?.action.channel;
      const arn = channel === undefined ? undefined : arns[channel];
      const url = channel === undefined ? undefined : urls[channel];
      return arn && url ? { arn, url } : undefined;
    },
    sendNow: async (QueueUrl, MessageBody, DelaySeconds) => void (await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody, DelaySeconds }))),
    now: () => getClock()(),
  }));
}

let webhookSecret: Promise<string> | undefined;
/** The webhooks' signing secret: WEBHOOK_SECRET (local stack), else the secret WEBHOOK_SECRET_ARN names (only the send function may read it). */
function getWebhookSecret(): Promise<string> {
  return (webhookSecret ??= (async () => {
    if (process.env.WEBHOOK_SECRET) return process.env.WEBHOOK_SECRET;
    const arn = process.env.WEBHOOK_SECRET_ARN;
    if (!arn) throw new Error('no webhook secret: set WEBHOOK_SECRET or WEBHOOK_SECRET_ARN');
    const value = (await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: arn }))).SecretString ?? '';
    if (value.trim() === '') throw new Error('the webhook secret is empty');
    return value;
  })().catch((e: Error) => {
    webhookSecret = undefined;
    throw e;
  }));
}

/**
 * The adapter of a campaign channel, as config/campaigns.json `channels` says: a webhook (its URL in
 * WEBHOOK_URL_<CHANNEL>, such as WEBHOOK_URL_PUSH) or the activation bus (ACTIVATION_BUS_NAME).
 */
export async function channelFor(channel: string, campaigns: Campaigns): Promise<Channel> {
  const adapter = campaigns.channels[channel]?.adapter;
  if (adapter === 'webhook') {
    const variable = `WEBHOOK_URL_${channel.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
    const url = process.env[variable];
    if (!url) throw new Error(`channel ${channel} sends to a webhook: set ${variable}`);
    return new WebhookChannel({ url, secret: await getWebhookSecret() });
  }
  if (adapter === 'eventbridge') {
    const bus = process.env.ACTIVATION_BUS_NAME;
    if (!bus) throw new Error(`channel ${channel} puts messages on the activation bus: set ACTIVATION_BUS_NAME`);
    return new EventBridgeChannel(busPut(getEventBridge(), bus));
  }
  const settings = campaigns.channels[channel];
  if (adapter === 'ses' && settings?.from && settings.template) {
    return new SesChannel((ses ??= new SESv2Client({ maxAttempts: 3 })), { from: settings.from, template: settings.template, ...(settings.configurationSet ? { configurationSet: settings.configurationSet } : {}) });
  }
  if (adapter === 'sns' && settings?.text) return new SnsSmsChannel((sns ??= new SNSClient({ maxAttempts: 3 })), { text: settings.text, ...(settings.senderId ? { senderId: settings.senderId } : {}) });
  throw new Error(`no adapter for channel ${channel}`);
}
let ses: SESv2Client | undefined;
let sns: SNSClient | undefined;

let sealer: AddressSealer | null | undefined;
/**
 * Seals and opens contact addresses (lib/campaign/addresses.ts): with the KMS key CONTACT_KEY_ARN on
 * AWS (the collector may only generate data keys, the send function only decrypt them), with the
 * development key CONTACT_MASTER_KEY (64 hex digits) in the local stack; without either, none.
 */
export function getAddressSealer(): AddressSealer | undefined {
  if (sealer !== undefined) return sealer ?? undefined;
  const arn = process.env.CONTACT_KEY_ARN;
  const local = process.env.CONTACT_MASTER_KEY;
  sealer = arn ? new AddressSealer(new KmsDataKeys(new KMSClient({ maxAttempts: 3 }), arn)) : local ? new AddressSealer(new LocalDataKeys(Buffer.from(local, 'hex'))) : null;
  return sealer ?? undefined;
}

/** Her address of a kind, opened: see `chooseAddress` (lib/campaign/addresses.ts). */
export async function addressOf(profile: Profile, kind: 'email' | 'phone'): Promise<string | undefined> {
  const opener = getAddressSealer();
  return opener === undefined ? undefined : chooseAddress(profile, kind, getStores().contacts, opener);
}

/** Resets cached resources (tests that switch endpoints between suites). */
export function resetResources(): void {
  campaignSource = undefined;
  eventBridge = undefined;
  sealer = undefined;
  ses = undefined;
  sns = undefined;
  wakeups = undefined;
  webhookSecret = undefined;
  dynamo = undefined;
  catalogSource = undefined;
  modelSource = undefined;
  weightsSource = undefined;
  stores = undefined;
  stream = undefined;
  keys = undefined;
}
