import { createHash } from 'node:crypto';
import type { IdentityRules, Namespace } from '../identity/rules';
import type { CollectedEvent } from './segment';
import { asObject, own } from './json';

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

const normalise = (ns: 'email' | 'phone', raw: string): string => (ns === 'email' ? raw.trim().toLowerCase() : raw.replace(/[^0-9+]/g, ''));

/** Salted SHA-256 of a normalised e-mail address or phone number: PII is never stored in clear. */
export function hashPii(ns: 'email' | 'phone', raw: string, salt: string): string {
  return createHash('sha256').update(`${salt}:${ns}:${normalise(ns, raw)}`).digest('hex');
}

/** How a hashed personal value is written in events (`sha256:<hex>`): recognisable, and never a valid address. */
export const HASHED = /^sha256:([0-9a-f]{64})$/;

const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/**
 * Whether a value can identify a person at all: an e-mail address with a local part and a dotted
 * domain; a phone number with 7 to 15 digits (E.164), not one digit repeated nor a run like
 * 1234567890. Placeholders typed into forms ("N/A", "-", "tbd", "not given") are not, also after
 * normalisation, which strips everything but digits and "+" from a phone number.
 */
export function plausible(ns: 'email' | 'phone', raw: string): boolean {
  const value = normalise(ns, raw);
  if (ns === 'email') return value.length <= 254 && EMAIL.test(value);
  const digits = value.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 15 || /^(\d)\1*$/.test(digits)) return false;
  return !'01234567890'.includes(digits) && !'9876543210'.includes(digits);
}

/** Identifier values longer than this are kept as a hash (`h:<hex>`): a profile holds dozens of them. */
export const MAX_IDENTIFIER_CHARS = 128;

/** The stored form of an identifier value: e-mail and phone hashed (salted), a very long id hashed, others as given. */
export function storedIdentifier(ns: Namespace, raw: string, salt: string): Identifier {
  if (ns === 'email' || ns === 'phone') return { ns, value: hashPii(ns, raw, salt) };
  return { ns, value: raw.length > MAX_IDENTIFIER_CHARS ? `h:${createHash('sha256').update(raw).digest('hex')}` : raw };
}

/**
 * The identifier an e-mail or phone trait stands for: its hash, whether the value is in clear
 * (hashed here) or already hashed by the collector (`sha256:<hex>`); undefined when it identifies nobody.
 */
function personalIdentifier(ns: 'email' | 'phone', raw: string, salt: string): Identifier | undefined {
  const hashed = HASHED.exec(raw);
  if (hashed) return { ns, value: hashed[1] as string };
  return plausible(ns, raw) ? { ns, value: hashPii(ns, raw, salt) } : undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' ? v : undefined;
}


/**
 * The identifiers an event carries: anonymousId, userId, context.device.id, e-mail and phone from
 * traits (hashed), and for `alias` the previousId (an earlier anonymous id). Junk values from
 * misconfigured SDKs (`null`, `undefined`, `anonymous`, `0`, `-1`, empty) are dropped, and an e-mail
 * or phone number only counts when it is plausible (placeholders typed into forms identify nobody).
 */
export function extractIdentifiers(event: CollectedEvent, rules: IdentityRules, salt: string): Identifier[] {
  const blocked = new Set(rules.blocklist.map((b) => b.toLowerCase()));
  const out = new Map<string, Identifier>();
  const add = (ns: Namespace, raw: string | undefined) => {
    if (raw === undefined) return;
    const trimmed = raw.trim();
    if (blocked.has(trimmed.toLowerCase())) return;
    const id = storedIdentifier(ns, trimmed, salt);
    out.set(identifierKey(id), id);
  };
  add('userId', str(event.userId));
  add('anonymousId', str(event.anonymousId));
  if (event.type === 'alias') add('anonymousId', str(event.previousId));
  const context = asObject(event.context);
  add('deviceId', str(asObject(context?.device)?.id));
  const traits = { ...asObject(context?.traits), ...('traits' in event ? asObject(event.traits) : undefined) };
  for (const ns of ['email', 'phone'] as const) {
    const raw = str(own(traits, ns));
    const id = raw === undefined || raw.length > 512 ? undefined : personalIdentifier(ns, raw.trim(), salt);
    if (id !== undefined && !blocked.has(id.value)) out.set(identifierKey(id), id);
  }
  return [...out.values()];
}
