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

/** Parses the JSON secret the CDK app creates: {"writeKeys":[...],"apiKeys":[...],"identitySalt":"..."}. */
export function keysFromSecret(secret: string): Keys {
  const raw = JSON.parse(secret) as Partial<Record<keyof Keys, unknown>>;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : typeof v === 'string' ? list(v) : []);
  if (typeof raw.identitySalt !== 'string' || raw.identitySalt === '') throw new Error('keys secret has no identitySalt');
  return { writeKeys: strings(raw.writeKeys), apiKeys: strings(raw.apiKeys), identitySalt: raw.identitySalt };
}
