import { createHash, timingSafeEqual } from 'node:crypto';
import { forbidden, unauthorized } from './errors';

/**
 * Credentials, one kind per use, so a key that leaks does only what its kind does: Segment write keys
 * (Basic auth user name; public, shipped in apps) for the collector; and `x-api-key` keys for
 * deciding, for reading profiles and statistics, and for administering (catalog, model, dead
 * letters). Each kind is a list, so a new key can serve beside the old one before the old one is
 * removed. Keys are held as SHA-256 digests (a secret may hold `sha256:<hex>` entries, so the clear
 * key need be kept nowhere) and compared in constant time. A write key written `server:<key>` is
 * server-side: its messages' `context.ip` is believed (lib/collect/network.ts). The salt hashes e-mail and phone
 * identifiers.
 */
export const API_SCOPES = ['decide', 'read', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];
export type KeyKind = 'write' | ApiScope;

export interface Keys {
  /** SHA-256 digests of each kind's keys. */
  digests: Record<KeyKind, Buffer[]>;
  /**
   * The digests of the write keys marked server-side (`server:<key>` or `server:sha256:<hex>` in the
   * write keys; also among `digests.write`): only their messages' `context.ip` is believed
   * (lib/collect/network.ts). Every other write key is a client key, as the public key shipped in apps is.
   */
  serverWrite: Buffer[];
  identitySalt: string;
}

const WHAT: Record<KeyKind, string> = {
  write: 'a write key (it collects events)',
  decide: 'a decision key (it asks for decisions)',
  read: 'a read key (it reads profiles and statistics)',
  admin: 'an admin key (it publishes the catalog and the model, reads dead letters, and exports and erases people)',
};

const digestOf = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

const entriesOf = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const entryDigest = (entry: string): Buffer => (/^sha256:[0-9a-f]{64}$/i.test(entry) ? Buffer.from(entry.slice(7), 'hex') : digestOf(entry));

/** The kind of write key a request came with: `client` (browsers, apps) or `server` (marked `server:` in the write keys). */
export type WriteKeySource = 'client' | 'server';

/** The mark of a server-side write key in the write keys: `server:<key>` or `server:sha256:<hex>` (the key is what follows). */
export const SERVER_KEY_MARK = 'server:';

/**
 * A kind's keys from a comma-separated list: clear keys, or `sha256:<64 hex>` digests of them; a write
 * key marked server-side (`server:...`) is the key after the mark.
 */
export function parseKeyList(text: string | undefined): Buffer[] {
  return entriesOf(text).map((entry) => entryDigest(entry.startsWith(SERVER_KEY_MARK) ? entry.slice(SERVER_KEY_MARK.length) : entry));
}

/** The write keys marked server-side in a list (`server:<key>` or `server:sha256:<hex>`), as digests. */
export function parseServerKeys(text: string | undefined): Buffer[] {
  return entriesOf(text)
    .filter((entry) => entry.startsWith(SERVER_KEY_MARK))
    .map((entry) => entryDigest(entry.slice(SERVER_KEY_MARK.length)));
}

/** Which kind a key is, comparing its digest with every key in constant time (undefined: none). */
function kindOf(keys: Keys, key: string): KeyKind | undefined {
  const digest = digestOf(key);
  let found: KeyKind | undefined;
  for (const kind of ['write', ...API_SCOPES] as const) {
    for (const d of keys.digests[kind]) if (timingSafeEqual(d, digest) && found === undefined) found = kind;
  }
  return found;
}

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

/**
 * A request's write key: 401 for none or an unknown one, 403 for a key of another kind. Returns
 * whether it is a server-side key (its messages' `context.ip` is believed) or a client key (the
 * address the collector saw is used instead), compared in constant time like the kinds.
 */
export function requireWriteKey(keys: Keys, headers: Record<string, string | undefined>, bodyWriteKey?: unknown): WriteKeySource {
  const key = writeKeyOf(headers, bodyWriteKey);
  if (key === undefined) throw unauthorized('missing write key: send it as the Basic auth user name');
  const kind = kindOf(keys, key);
  if (kind === undefined) throw unauthorized('invalid write key');
  if (kind !== 'write') throw forbidden(`this is ${WHAT[kind]}, not a write key`);
  const digest = digestOf(key);
  let server = false;
  for (const d of keys.serverWrite) if (timingSafeEqual(d, digest)) server = true;
  return server ? 'server' : 'client';
}

/**
 * An `x-api-key` of the route's kind: 401 for none or an unknown one, 403 for a key of another kind.
 * Returns the key's fingerprint (`key:` and the first 12 hex digits of its SHA-256), which names it in
 * audit logs without revealing it: `printf %s "$KEY" | sha256sum` tells which key it was.
 */
export function requireApiKey(keys: Keys, headers: Record<string, string | undefined>, scope: ApiScope): string {
  const key = headers['x-api-key'];
  if (key === undefined || key === '') throw unauthorized('missing x-api-key header');
  const kind = kindOf(keys, key);
  if (kind === undefined) throw unauthorized('invalid API key');
  if (kind !== scope) throw forbidden(`this route needs ${WHAT[scope]}; this is ${WHAT[kind]}`);
  return fingerprintOf(key);
}

const fingerprintOf = (key: string): string => `key:${digestOf(key).toString('hex').slice(0, 12)}`;

/**
 * The `x-api-key` a request presents, if it is one of ours (of any kind): its kind and fingerprint.
 * Lets a route that refuses it (403) still say, in an audit log, which of our keys knocked.
 */
export function presentedApiKey(keys: Keys, headers: Record<string, string | undefined>): { kind: KeyKind; fingerprint: string } | undefined {
  const key = headers['x-api-key'];
  if (key === undefined || key === '') return undefined;
  const kind = kindOf(keys, key);
  return kind === undefined ? undefined : { kind, fingerprint: fingerprintOf(key) };
}

/** The environment variables each kind's keys come from locally (comma-separated lists). */
export const KEY_VARIABLES: Record<KeyKind, string> = { write: 'WRITE_KEYS', decide: 'DECIDE_KEYS', read: 'READ_KEYS', admin: 'ADMIN_KEYS' };

/** The environment variables holding each kind's secret ARN on AWS (cdk/constructs/keys.ts). */
export const KEY_SECRET_VARIABLES: Record<KeyKind, string> = {
  write: 'WRITE_KEYS_SECRET_ARN',
  decide: 'DECIDE_KEYS_SECRET_ARN',
  read: 'READ_KEYS_SECRET_ARN',
  admin: 'ADMIN_KEYS_SECRET_ARN',
};

/** Keys from the environment (local stack, tests): WRITE_KEYS, DECIDE_KEYS, READ_KEYS, ADMIN_KEYS, IDENTITY_SALT. */
export function keysFromEnv(env: NodeJS.ProcessEnv = process.env): Keys | undefined {
  if (Object.values(KEY_VARIABLES).every((v) => env[v] === undefined)) return undefined;
  return keysFromTexts(Object.fromEntries(Object.entries(KEY_VARIABLES).map(([kind, v]) => [kind, env[v]])) as Partial<Record<KeyKind, string>>, env.IDENTITY_SALT ?? '');
}

/** Keys from the secrets' texts (a function is given only the kinds it serves; the others accept nothing). */
export function keysFromTexts(texts: Partial<Record<KeyKind, string>>, identitySalt: string): Keys {
  return {
    digests: { write: parseKeyList(texts.write), decide: parseKeyList(texts.decide), read: parseKeyList(texts.read), admin: parseKeyList(texts.admin) },
    serverWrite: parseServerKeys(texts.write),
    identitySalt: identitySalt.trim(),
  };
}
