import { createHash } from 'node:crypto';
import type { IdentityRules, Namespace } from '../identity/rules';
import type { CollectedEvent } from './segment';
import { asObject } from './json';

/** One identifier of a person in one namespace, for example `anonymousId:3f2a…` or `email:<sha256>`. */
export interface Identifier {
  ns: Namespace;
  value: string;
}

export const identifierKey = (id: Identifier): string => `${id.ns}:${id.value}`;

export function parseIdentifierKey(key: string): Identifier {
  const at = key.indexOf(':');
  return { ns: key.slice(0, at) as Namespace, value: key.slice(at + 1) };
}

/** Salted SHA-256 of a normalised e-mail address or phone number: PII is never stored in clear. */
export function hashPii(ns: 'email' | 'phone', raw: string, salt: string): string {
  const normalised = ns === 'email' ? raw.trim().toLowerCase() : raw.replace(/[^0-9+]/g, '');
  return createHash('sha256').update(`${salt}:${ns}:${normalised}`).digest('hex');
}

/** The stored form of an identifier value: e-mail and phone hashed (salted), others as given. */
export function storedIdentifier(ns: Namespace, raw: string, salt: string): Identifier {
  return { ns, value: ns === 'email' || ns === 'phone' ? hashPii(ns, raw, salt) : raw };
}

function str(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' ? v : undefined;
}


/**
 * The identifiers an event carries: anonymousId, userId, context.device.id, e-mail and phone from
 * traits (hashed), and for `alias` the previousId (an earlier anonymous id). Junk values from
 * misconfigured SDKs (`null`, `undefined`, `anonymous`, `0`, `-1`, empty) are dropped.
 */
export function extractIdentifiers(event: CollectedEvent, rules: IdentityRules, salt: string): Identifier[] {
  const blocked = new Set(rules.blocklist.map((b) => b.toLowerCase()));
  const out = new Map<string, Identifier>();
  const add = (ns: Namespace, raw: string | undefined) => {
    if (raw === undefined) return;
    const trimmed = raw.trim();
    if (blocked.has(trimmed.toLowerCase()) || trimmed.length > 512) return;
    const id = storedIdentifier(ns, trimmed, salt);
    out.set(identifierKey(id), id);
  };
  add('userId', str(event.userId));
  add('anonymousId', str(event.anonymousId));
  if (event.type === 'alias') add('anonymousId', str(event.previousId));
  const context = asObject(event.context);
  add('deviceId', str(asObject(context?.device)?.id));
  const traits = { ...asObject(context?.traits), ...('traits' in event ? asObject(event.traits) : undefined) };
  const email = str(traits.email);
  if (email !== undefined && email.includes('@')) add('email', email);
  add('phone', str(traits.phone));
  return [...out.values()];
}
