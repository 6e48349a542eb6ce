import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadCatalog } from '../../lib/decision/catalog';
import { CatalogSource, ModelSource } from '../../lib/decision/catalog-source';
import { IdentityWeightsSource } from '../../lib/identity/weights';
import { loadModel } from '../../lib/decision/model';
import { logger } from './powertools';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { keysFromEnv, keysFromSecrets, type Keys } from '../../lib/http/keys';
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

let keys: Promise<Keys> | undefined;
/**
 * Keys from WRITE_KEYS / API_KEYS / IDENTITY_SALT (local stack, tests), or on AWS from the three
 * Secrets Manager secrets the stack creates (each may hold a comma-separated list, so a new key can
 * be added beside the old one before the old one is retired).
 */
export function getKeys(): Promise<Keys> {
  keys ??= (async () => {
    const fromEnv = keysFromEnv();
    if (fromEnv) return fromEnv;
    const arns = [process.env.WRITE_KEYS_SECRET_ARN, process.env.API_KEYS_SECRET_ARN, process.env.IDENTITY_SALT_SECRET_ARN];
    if (arns.some((a) => !a)) throw new Error('no keys configured: set WRITE_KEYS/API_KEYS/IDENTITY_SALT or the *_SECRET_ARN variables');
    const client = new SecretsManagerClient({});
    const [writeKeys, apiKeys, identitySalt] = await Promise.all(
      arns.map(async (SecretId) => (await client.send(new GetSecretValueCommand({ SecretId }))).SecretString ?? ''),
    );
    return keysFromSecrets(writeKeys as string, apiKeys as string, identitySalt as string);
  })().catch((e) => {
    keys = undefined;
    throw e;
  });
  return keys;
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
