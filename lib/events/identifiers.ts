import { createHash } from 'node:crypto';
import type { IdentityRules, Namespace } from '../identity/rules';
import type { CollectedEvent } from './segment';
import { asObject } from './json';
import { canonicalKey } from './policy';

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
 * An e-mail address inside other text: in a sentence, a URL (`?email=ann%40example.com`, the `@`
 * percent-encoded), a list. Each part is bounded (64 characters before the `@`, as RFC 5321 allows;
 * labels of 63), so a long string without an address costs a linear scan, never a quadratic one.
 */
const EMAIL_IN_TEXT_SOURCE = "[\\p{L}\\p{N}._%+'-]{1,64}(?:@|%40)[\\p{L}\\p{N}-]{1,63}(?:\\.[\\p{L}\\p{N}-]{1,63}){1,8}";
const EMAIL_IN_TEXT = new RegExp(EMAIL_IN_TEXT_SOURCE, 'iu');
/** The same, to replace every address in a text. */
export const EMAIL_ADDRESSES = new RegExp(EMAIL_IN_TEXT_SOURCE, 'giu');

/** Whether a text holds an e-mail address anywhere (a cheap test for `@` first). */
export function containsEmailAddress(text: string): boolean {
  return (text.includes('@') || /%40/i.test(text)) && EMAIL_IN_TEXT.test(text);
}

/** One digit repeated, or a run like 1234567 or 9876543: digits typed to get past a form. */
const junkDigits = (digits: string): boolean => /^(\d)\1*$/.test(digits) || '01234567890'.includes(digits) || '9876543210'.includes(digits);

/**
 * The national parts a number written internationally (`+` or `00`) may have: what follows a country
 * code of one, two or three digits (`+1 000 000 0000`, `+44 0000 000000`, `+33 0 00 00 00 00`).
 */
function nationalParts(normalised: string): string[] {
  const international = normalised.startsWith('+') ? normalised.slice(1) : normalised.startsWith('00') ? normalised.slice(2) : undefined;
  if (international === undefined) return [];
  const digits = international.replace(/\D/g, '');
  return [1, 2, 3].map((cc) => digits.slice(cc)).filter((national) => national.length > 0);
}

/**
 * Whether a value can identify a person at all: an e-mail address with a local part and a dotted
 * domain; a phone number with 7 to 15 digits (E.164), not one digit repeated nor a run like
 * 1234567890, also after its country code. Placeholders typed into forms ("N/A", "-", "tbd", "not
 * given", "+1 000 000 0000") are not, also after normalisation, which strips everything but digits
 * and "+" from a phone number.
 */
export function plausible(ns: 'email' | 'phone', raw: string): boolean {
  const value = normalise(ns, raw);
  if (ns === 'email') return value.length <= 254 && EMAIL.test(value);
  const digits = value.replace(/\D/g, '');
  if (digits.length < 7 || digits.length > 15 || junkDigits(digits)) return false;
  return !nationalParts(value).some(junkDigits);
}

/**
 * A placeholder e-mail address: its local part is one the rules list (`noemail@…`, `no@email.com`),
 * or the first label of its domain (`test@test.com`, `none@none.com`, `na@na.com`). The domain rule
 * also catches a real vanity address like `sam@sam.dev`; that person is still known by a userId.
 */
function placeholderEmail(normalised: string, rules: IdentityRules): boolean {
  const at = normalised.lastIndexOf('@');
  const local = normalised.slice(0, at);
  const firstLabel = normalised.slice(at + 1).split('.')[0];
  return local === firstLabel || rules.placeholders.emailLocalParts.includes(local);
}

/** The blocklist as the e-mail and phone values it refuses (normalised as they are hashed), per set of rules. */
const blockedPersonal = new WeakMap<IdentityRules, { email: Set<string>; phone: Set<string> }>();
function blockedValues(rules: IdentityRules): { email: Set<string>; phone: Set<string> } {
  let blocked = blockedPersonal.get(rules);
  if (blocked === undefined) {
    blocked = { email: new Set(rules.blocklist.map((b) => normalise('email', b))), phone: new Set(rules.blocklist.map((b) => normalise('phone', b)).filter((b) => b !== '')) };
    blockedPersonal.set(rules, blocked);
  }
  return blocked;
}

/**
 * Whether an e-mail address or phone number (in clear) identifies a person: plausible, not a
 * placeholder, and not in the blocklist. The blocklist is compared with the normalised clear value
 * (`+1 000 000 0000` is blocked by `+10000000000`), since only the clear value can be compared with
 * what an operator writes there. The collector decides this while it still has the clear value, so
 * a placeholder never reaches the stream, not even hashed.
 */
export function identifies(ns: 'email' | 'phone', raw: string, rules: IdentityRules): boolean {
  if (!plausible(ns, raw)) return false;
  const value = normalise(ns, raw);
  if (ns === 'email' && placeholderEmail(value, rules)) return false;
  return !blockedValues(rules)[ns].has(value);
}

/** Identifier values longer than this are kept as a hash (`h:<hex>`): a profile holds dozens of them. */
export const MAX_IDENTIFIER_CHARS = 128;

export interface IdentifierOptions {
  /** Keep a value already in the hashed form (`sha256:<hex>`): only the ingest, for records the collector hashed. */
  trustHashed?: boolean;
}

/**
 * The form in which a userId, anonymousId, previousId or device id is kept: as sent, unless it holds
 * an e-mail address (`ann@example.com`, `auth0|ann@example.com`), which is hashed with the identity
 * salt and the e-mail normalisation (`sha256:<hex>`: for a plain address, the hash of its e-mail
 * identifier). A value already in that form is kept only when trusted; from a client it is hashed
 * again, so nobody claims an identity by sending its hash.
 */
export function protectedIdValue(raw: string, salt: string, options: IdentifierOptions = {}): string {
  if (HASHED.test(raw)) return options.trustHashed === true ? raw : `sha256:${createHash('sha256').update(`${salt}:id:${raw}`).digest('hex')}`;
  return containsEmailAddress(raw) ? `sha256:${hashPii('email', raw, salt)}` : raw;
}

/**
 * The stored form of an identifier value: e-mail and phone hashed (salted), an id holding an e-mail
 * address hashed, a very long id hashed, others as given. The collector, the ingest, the read API and
 * the decision API all key identities this way, so the same userId sent in clear finds the same
 * profile everywhere; look-ups (read and decision API) take the value as a client would send it.
 */
export function storedIdentifier(ns: Namespace, raw: string, salt: string, options: IdentifierOptions = {}): Identifier {
  if (ns === 'email' || ns === 'phone') return { ns, value: hashPii(ns, raw, salt) };
  const value = protectedIdValue(raw, salt, options);
  return { ns, value: value.length > MAX_IDENTIFIER_CHARS ? `h:${createHash('sha256').update(value).digest('hex')}` : value };
}

/**
 * The identifier an e-mail or phone trait stands for: its hash, whether the value is in clear
 * (hashed here) or already hashed by the collector (`sha256:<hex>`); undefined when it identifies
 * nobody (implausible, a placeholder, or in the blocklist, as clear value or as hash).
 */
function personalIdentifier(ns: 'email' | 'phone', raw: string, salt: string, rules: IdentityRules): Identifier | undefined {
  const hashed = HASHED.exec(raw);
  const id = hashed ? { ns, value: hashed[1] as string } : identifies(ns, raw, rules) ? { ns, value: hashPii(ns, raw, salt) } : undefined;
  return id !== undefined && !rules.blocklist.includes(id.value) ? id : undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' ? v : undefined;
}

/**
 * The e-mail and phone values the sender gave about themselves: the keys of `context.traits` and of an
 * `identify` call's traits spelled `email` or `phone` in any case or with any separator (`Email`,
 * `e_mail`), traits winning over context.traits. A `group` call's traits describe the group (its
 * billing address, its switchboard), not the person sending it, so they identify nobody.
 */
function personalTraits(event: CollectedEvent): Array<['email' | 'phone', string]> {
  const sources = [asObject(asObject(event.context)?.traits), event.type === 'identify' ? asObject(event.traits) : undefined];
  const found = new Map<'email' | 'phone', string[]>();
  for (const traits of sources) {
    const here = new Map<'email' | 'phone', string[]>();
    for (const [key, value] of Object.entries(traits ?? {})) {
      const ns = canonicalKey(key);
      const raw = str(value);
      if ((ns === 'email' || ns === 'phone') && raw !== undefined && raw.length <= 512) here.set(ns, [...(here.get(ns) ?? []), raw.trim()]);
    }
    for (const [ns, values] of here) found.set(ns, values);
  }
  return [...found].flatMap(([ns, values]) => values.map((v): ['email' | 'phone', string] => [ns, v]));
}

/**
 * The identifiers an event carries: anonymousId, userId, context.device.id, e-mail and phone from
 * the sender's traits (hashed), and for `alias` the previousId (an earlier anonymous id). Junk values
 * from misconfigured SDKs (`null`, `undefined`, `anonymous`, `0`, `-1`, empty) are dropped, and an
 * e-mail or phone number only counts when it identifies somebody (placeholders typed into forms
 * identify nobody). Runs in the ingest on redacted events, so hashed values are trusted.
 */
export function extractIdentifiers(event: CollectedEvent, rules: IdentityRules, salt: string): Identifier[] {
  const blocked = new Set(rules.blocklist.map((b) => b.toLowerCase()));
  const out = new Map<string, Identifier>();
  const add = (ns: Namespace, raw: string | undefined) => {
    if (raw === undefined) return;
    const trimmed = raw.trim();
    if (blocked.has(trimmed.toLowerCase())) return;
    const id = storedIdentifier(ns, trimmed, salt, { trustHashed: true });
    out.set(identifierKey(id), id);
  };
  add('userId', str(event.userId));
  add('anonymousId', str(event.anonymousId));
  if (event.type === 'alias') add('anonymousId', str(event.previousId));
  add('deviceId', str(asObject(asObject(event.context)?.device)?.id));
  for (const [ns, raw] of personalTraits(event)) {
    const id = personalIdentifier(ns, raw, salt, rules);
    if (id !== undefined) out.set(identifierKey(id), id);
  }
  return [...out.values()];
}

/**
 * The contact addresses a message gives about its sender (the e-mail and phone traits that identify
 * someone), each with the identifier key its hash is stored under and its value normalised as it is
 * hashed: what the collector seals for the channels that need an address (lib/campaign/addresses.ts),
 * while it still has them in clear. Values already hashed by a client give none.
 */
export function contactAddresses(event: CollectedEvent, rules: IdentityRules, salt: string): Array<{ key: string; kind: 'email' | 'phone'; value: string }> {
  const out = new Map<string, { key: string; kind: 'email' | 'phone'; value: string }>();
  for (const [ns, raw] of personalTraits(event)) {
    if (HASHED.test(raw)) continue;
    const id = personalIdentifier(ns, raw, salt, rules);
    // As it is hashed: an e-mail address lower-cased, a phone number its digits and "+" (E.164 as sent).
    if (id !== undefined) out.set(identifierKey(id), { key: identifierKey(id), kind: ns, value: normalise(ns, raw) });
  }
  return [...out.values()];
}
