import { timingSafeEqual } from 'node:crypto';
import { unauthorized } from './errors';

/**
 * Credentials: Segment write keys (Basic auth user name) for the collector, API keys (`x-api-key`)
 * for the read and decision APIs, and the salt for hashing PII identifiers.
 */
export interface Keys {
  writeKeys: string[];
  apiKeys: string[];
  identitySalt: string;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const isOneOf = (candidate: string, keys: string[]) => keys.some((k) => safeEqual(candidate, k));

/** The write key of a Segment request: Basic auth user name, or `writeKey` in the body (Segment allows both). */
export function writeKeyOf(headers: Record<string, string | undefined>, bodyWriteKey?: unknown): string | undefined {
  const auth = headers.authorization;
  if (auth !== undefined && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    if (user !== '') return user;
  }
  return typeof bodyWriteKey === 'string' && bodyWriteKey !== '' ? bodyWriteKey : undefined;
}

export function requireWriteKey(keys: Keys, headers: Record<string, string | undefined>, bodyWriteKey?: unknown): void {
  const key = writeKeyOf(headers, bodyWriteKey);
  if (key === undefined) throw unauthorized('missing write key: send it as the Basic auth user name');
  if (!isOneOf(key, keys.writeKeys)) throw unauthorized('invalid write key');
}

export function requireApiKey(keys: Keys, headers: Record<string, string | undefined>): void {
  const key = headers['x-api-key'];
  if (key === undefined || key === '') throw unauthorized('missing x-api-key header');
  if (!isOneOf(key, keys.apiKeys)) throw unauthorized('invalid API key');
}

const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** Keys from the environment (local stack, tests): WRITE_KEYS, API_KEYS (comma-separated), IDENTITY_SALT. */
export function keysFromEnv(env: NodeJS.ProcessEnv = process.env): Keys | undefined {
  if (env.WRITE_KEYS === undefined && env.API_KEYS === undefined) return undefined;
  return { writeKeys: list(env.WRITE_KEYS), apiKeys: list(env.API_KEYS), identitySalt: env.IDENTITY_SALT ?? '' };
}

/** Keys from the three secrets the CDK app creates: comma-separated write keys and API keys, and the salt. */
export function keysFromSecrets(writeKeys: string, apiKeys: string, identitySalt: string): Keys {
  if (identitySalt.trim() === '') throw new Error('the identity salt secret is empty');
  return { writeKeys: list(writeKeys), apiKeys: list(apiKeys), identitySalt: identitySalt.trim() };
}
