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
import { dynamoClient, kinesisClient } from '../../lib/store/clients';
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

/** Resets cached resources (tests that switch endpoints between suites). */
export function resetResources(): void {
  dynamo = undefined;
  catalogSource = undefined;
  modelSource = undefined;
  weightsSource = undefined;
  stores = undefined;
  stream = undefined;
  keys = undefined;
}
