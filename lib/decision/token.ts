import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed decision tokens: what a decision said, signed with a key derived from the deployment's
 * identity salt (a secret only the engine's functions read). Feedback counts towards offer statistics
 * only with a token that verifies and names its offer, so a client holding the public write key can
 * neither invent decisions nor inflate an offer's rates or a variant's counts. The variant comes from
 * the token, never from the client.
 *
 * Format: `v1.<base64url JSON claims>.<base64url HMAC-SHA256 of the first two parts>`.
 */
export interface DecisionClaims {
  /** Decision id. */
  d: string;
  /** The profile the decision was for (null: a visitor never seen). */
  p: string | null;
  /** A tag of the identifier the decision was asked for (identifierTag), so feedback carrying it matches even after merges. */
  i: string | null;
  /** The offers it answered, in order. */
  o: string[];
  /** Its variant. */
  v: 'personalised' | 'holdout';
  /** When it was made, in seconds since the epoch. */
  t: number;
}

/** The longest token looked at (ten offers with long ids fit well within it). */
export const MAX_TOKEN_CHARS = 2048;

const cache = new Map<string, Buffer>();
/** The signing key: derived from the salt, so no secret is added, and never the salt itself. */
export function tokenKey(salt: string): Buffer {
  let key = cache.get(salt);
  if (key === undefined) {
    key = createHmac('sha256', salt).update('moment-engine/decision-token/v1').digest();
    if (cache.size > 8) cache.clear();
    cache.set(salt, key);
  }
  return key;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

export function signDecision(claims: DecisionClaims, key: Buffer): string {
  const body = `v1.${b64url(JSON.stringify(claims))}`;
  return `${body}.${b64url(mac(key, body))}`;
}

/** The claims of a token that verifies, else undefined (anything else a client may send: wrong type, too long, forged, altered). */
export function verifyDecisionToken(token: unknown, key: Buffer): DecisionClaims | undefined {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== 'v1') return undefined;
  const expected = mac(key, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2] as string, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const c = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as DecisionClaims;
    const valid =
      typeof c.d === 'string' &&
      (c.p === null || typeof c.p === 'string') &&
      (c.i === null || typeof c.i === 'string') &&
      Array.isArray(c.o) &&
      c.o.every((o) => typeof o === 'string') &&
      (c.v === 'personalised' || c.v === 'holdout') &&
      Number.isFinite(c.t);
    return valid ? c : undefined;
  } catch {
    return undefined;
  }
}

/** A short keyed tag of an identifier key (`anonymousId:…`): binds a token to who asked, without putting the identifier in it. */
export function identifierTag(identifierKey: string, key: Buffer): string {
  return mac(key, `id:${identifierKey}`).toString('hex').slice(0, 16);
}
