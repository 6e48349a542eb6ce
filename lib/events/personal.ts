import { createHash } from 'node:crypto';
import { hashPii, HASHED, plausible } from './identifiers';
import { cutText } from './letters';
import { asObject, own } from './json';
import type { EventPolicy, PersonalField, PersonalPlace } from './policy';

/**
 * Personal data never at rest in clear. The fields the policy names (config/events.json: e-mail,
 * phone, names, street address, and the IP address once it has served network matching) are hashed
 * or removed from a message before anything is written: the collector does it before the stream,
 * the ingest again for records from any other producer, and dead letters keep only the redacted form.
 *
 * Hashing uses the identity salt, with the same normalisation as the e-mail and phone identifiers,
 * so a hashed e-mail still links the same person and a hashed IP still names one network. A hashed
 * value is written `sha256:<hex>`; only the ingest trusts that form (`trustHashed`): the collector
 * hashes whatever a client sends, so nobody can claim an identity by sending someone's hash.
 */
export interface RedactOptions {
  /** Keep values already in the hashed form (records the collector redacted). */
  trustHashed?: boolean;
}

const hashed = (hex: string): string => `sha256:${hex}`;

function hashValue(name: string, raw: string, salt: string): string | undefined {
  if (name === 'email' || name === 'phone') return plausible(name, raw) ? hashed(hashPii(name, raw, salt)) : undefined;
  return hashed(createHash('sha256').update(`${salt}:${name}:${raw.trim().toLowerCase()}`).digest('hex'));
}

/** The network an IP address stands for once hashed: what the network index, links and reasons show. */
export const hashedNetwork = (ip: string, salt: string): string => hashValue('ip', ip, salt) as string;

/** The object at a place of a message (`context.traits`), if there is one. */
function placeOf(message: Record<string, unknown>, place: PersonalPlace): Record<string, unknown> | undefined {
  if (place === 'context.traits') return asObject(asObject(own(message, 'context'))?.traits);
  return asObject(own(message, place));
}

/** Copies the objects along a path, so the redaction never changes its input. */
function copyPath(message: Record<string, unknown>, place: PersonalPlace, path: string[]): Record<string, unknown> | undefined {
  let parent = message;
  for (const step of [...place.split('.'), ...path.slice(0, -1)]) {
    const child = asObject(own(parent, step));
    if (child === undefined) return undefined;
    const copy = { ...child };
    Object.defineProperty(parent, step, { value: copy, enumerable: true, writable: true, configurable: true });
    parent = copy;
  }
  return parent;
}

function redactField(message: Record<string, unknown>, field: PersonalField, salt: string, options: RedactOptions): Record<string, unknown> {
  const path = field.name.split('.');
  const last = path[path.length - 1] as string;
  let out = message;
  for (const place of field.in) {
    let at: unknown = placeOf(out, place);
    for (const step of path) at = at === undefined ? undefined : own(asObject(at) ?? {}, step);
    if (at === undefined) continue;
    if (out === message) out = { ...message };
    const holder = copyPath(out, place, path);
    if (holder === undefined) continue;
    const keep = field.action === 'hash' && typeof at === 'string' && options.trustHashed === true && HASHED.test(at);
    const value = keep ? at : field.action === 'hash' && (typeof at === 'string' || typeof at === 'number') ? hashValue(last, String(at).slice(0, 512), salt) : undefined;
    if (value === undefined) delete holder[last];
    else Object.defineProperty(holder, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function redactIp(message: Record<string, unknown>, action: 'hash' | 'remove', salt: string, options: RedactOptions): Record<string, unknown> {
  const context = asObject(own(message, 'context'));
  const ip = context === undefined ? undefined : own(context, 'ip');
  if (ip === undefined) return message;
  const keep = typeof ip === 'string' && options.trustHashed === true && HASHED.test(ip);
  const { ip: _clear, ...rest } = context as Record<string, unknown>;
  const value = keep ? ip : action === 'hash' && typeof ip === 'string' && ip.length <= 64 ? hashValue('ip', ip, salt) : undefined;
  return { ...message, context: value === undefined ? rest : { ...rest, ip: value } };
}

/** The message with every personal field of the policy hashed or removed (a new object; the input is not changed). */
export function redactPersonalData<T>(message: T, policy: EventPolicy['personalData'], salt: string, options: RedactOptions = {}): T {
  let out = asObject(message);
  if (out === undefined) return message;
  for (const field of policy.fields) out = redactField(out, field, salt, options);
  return redactIp(out, policy.ip, salt, options) as T;
}

/** Text that may hold personal data in forms the policy cannot name: e-mail addresses, phone numbers, IP addresses. */
function mask(text: string): string {
  return text
    .replace(/[^\s"'<>@]+@[^\s"'<>@]+/g, '[e-mail]')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}\b/g, '[ip]')
    .replace(/[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}/gi, (m) => (m.length > 6 ? '[ip]' : m))
    .replace(/\+?\d[\d\s().-]{5,}\d/g, '[number]');
}

/**
 * A rejected message as a dead letter keeps it: redacted when it is an object; anything else (a
 * string, a list) only as a masked preview, since it cannot be redacted field by field.
 */
export function redactForDeadLetter(value: unknown, policy: EventPolicy['personalData'], salt: string): unknown {
  if (asObject(value) !== undefined) return redactPersonalData(value, policy, salt);
  const text = JSON.stringify(value) ?? 'null';
  return { notAnObject: true, preview: mask(text.slice(0, 300)) };
}

/**
 * A stream record's data as a dead letter keeps it (base64): the redacted message when the data is a
 * JSON object (its JSON cut at 8 KB); otherwise a note of its size and a masked preview, since what
 * cannot be parsed cannot be redacted field by field.
 */
export function redactRecordData(base64: string, policy: EventPolicy['personalData'], salt: string): string {
  const text = Buffer.from(base64, 'base64').toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const kept = asObject(json) !== undefined ? redactPersonalData(json, policy, salt, { trustHashed: true }) : { undecodable: true, bytes: Buffer.byteLength(text), preview: mask(text.slice(0, 300)) };
  return Buffer.from(cutText(JSON.stringify(kept))).toString('base64');
}
