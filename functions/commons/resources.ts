import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadIdentityRules } from '../../lib/identity/rules';
import { keysFromEnv, keysFromSecret, type Keys } from '../../lib/http/keys';
import { loadAggregates } from '../../lib/profile/aggregates';
import { dynamoClient, kinesisClient } from '../../lib/store/clients';
import { DynamoStores } from '../../lib/store/dynamo';
import { KinesisEventStream } from '../../lib/store/kinesis';
import { STREAM, tableNamesFromEnv } from '../../lib/store/tables';

/**
 * Process-wide resources, created on first use and reused across invocations (clients, validated
 * configuration, keys). Nothing here runs at import time, so a handler module loads fast.
 */
let stores: DynamoStores | undefined;
export const getStores = (): DynamoStores => (stores ??= new DynamoStores(dynamoClient(), tableNamesFromEnv()));

let stream: KinesisEventStream | undefined;
export const getStream = (): KinesisEventStream =>
  (stream ??= new KinesisEventStream(kinesisClient(), process.env[STREAM.envVar] ?? STREAM.localName));

export const identityRules = loadIdentityRules();
export const aggregateDefinitions = loadAggregates();

let keys: Promise<Keys> | undefined;
/** Keys from WRITE_KEYS/API_KEYS/IDENTITY_SALT (local) or from the Secrets Manager secret KEYS_SECRET_ARN (AWS). */
export function getKeys(): Promise<Keys> {
  keys ??= (async () => {
    const fromEnv = keysFromEnv();
    if (fromEnv) return fromEnv;
    const arn = process.env.KEYS_SECRET_ARN;
    if (!arn) throw new Error('no keys configured: set KEYS_SECRET_ARN, or WRITE_KEYS and API_KEYS');
    const res = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: arn }));
    return keysFromSecret(res.SecretString ?? '');
  })().catch((e) => {
    keys = undefined;
    throw e;
  });
  return keys;
}

/** Resets cached resources (tests that switch endpoints between suites). */
export function resetResources(): void {
  stores = undefined;
  stream = undefined;
  keys = undefined;
}
