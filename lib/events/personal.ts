import { createHash, createHmac } from 'node:crypto';
import { defaultIdentityRules, type IdentityRules } from '../identity/rules';
import { EMAIL_ADDRESSES, hashPii, HASHED, identifies, protectedIdValue } from './identifiers';
import { cutText } from './letters';
import { asObject, own, setOwn } from './json';
import { canonicalKey, type EventPolicy, type PersonalField, type PersonalPlace } from './policy';

/**
 * Personal data never at rest in clear. The fields the policy names (config/events.json: e-mail,
 * phone, names, birthday, street address, and the IP address once it has served network matching)
 * are hashed or removed from a message before anything is written: the collector does it before the
 * stream, the ingest again for records from any other producer, and dead letters keep only the
 * redacted form.
 *
 * A field is found by its name or an alias in any case and with any separator (`E-mail`, `first_name`),
 * at any depth of the places it is looked for in, through objects and lists. What no field names can
 * still hold an e-mail address (a newsletter link `?email=…`, a note): every address inside other text
 * of those places and of the page context is masked. A userId or other id that holds an e-mail
 * address is hashed (lib/events/identifiers.ts `protectedIdValue`).
 *
 * Hashing uses the identity salt, with the same normalisation as the e-mail and phone identifiers,
 * so a hashed e-mail still links the same person and a hashed IP still names one network. A hashed
 * value is written `sha256:<hex>`; only the ingest trusts that form (`trustHashed`): the collector
 * hashes whatever a client sends, so nobody can claim an identity by sending someone's hash. The
 * input is never changed: the redacted message is a new object.
 */
export interface RedactOptions {
  /** Keep values already in the hashed form (records the collector redacted). */
  trustHashed?: boolean;
  /** Which e-mail and phone values identify nobody (placeholders, blocklist): they are removed, not hashed. The shipped rules by default. */
  identity?: IdentityRules;
}

/**
 * The deepest nesting the redaction walks inside one place. The collector refuses JSON deeper than 32
 * levels, so its messages never reach it; a deeper value from another producer is replaced by a note
 * rather than kept unread. The walk keeps its own stack, so no depth can overflow the call stack.
 */
export const MAX_REDACTION_DEPTH = 32;
const TOO_DEEP = `[removed: nested deeper than ${MAX_REDACTION_DEPTH} levels]`;

/** Places where only e-mail addresses are looked for: URLs, titles, referrers and campaign tags carry them. */
const TEXT_PLACES = ['page', 'campaign', 'referrer'] as const;

/** Root ids that may be an e-mail address (and then are hashed). */
const ID_FIELDS = ['userId', 'anonymousId', 'previousId', 'groupId'] as const;

const hashed = (hex: string): string => `sha256:${hex}`;

/** A field of the policy ready to be matched: its name's canonical segments and what it hashes as. */
interface Matcher {
  field: PersonalField;
  /** Canonical keys that must lead to the key (`address` for `address.line1`), nearest last. */
  parents: string[];
  /** What a hashed value is hashed as: the field's own name (`email` for `emailAddress` too). */
  hashAs: string;
}

/** Matchers by the canonical form of the key they end with. */
type FieldIndex = Map<string, Matcher[]>;

/** How one walk treats what it finds. */
interface Walk {
  fields: FieldIndex;
  /** Text that is not a personal field's value, masked. */
  mask: (text: string) => string;
  /**
   * Text that no key labels (the place itself is text, or a list of texts) where an object belongs:
   * it cannot be told what it is, so only its length is kept.
   */
  dropUnlabelledText: boolean;
  hash: (hashAs: string, raw: string) => string | undefined;
}

/** What a field's values are hashed as: `email` and `phone` however the field is spelled (their hash is the identifier's), else its last name segment as written. */
function hashNameOf(field: PersonalField): string {
  const last = field.name.split('.').pop() as string;
  const canonical = canonicalKey(last);
  return canonical === 'email' || canonical === 'phone' ? canonical : last;
}

function indexFields(fields: PersonalField[]): FieldIndex {
  const index: FieldIndex = new Map();
  for (const field of fields) {
    for (const name of [field.name, ...(field.aliases ?? [])]) {
      const path = name.split('.').map(canonicalKey);
      const key = path[path.length - 1] as string;
      index.set(key, [...(index.get(key) ?? []), { field, parents: path.slice(0, -1), hashAs: hashNameOf(field) }]);
    }
  }
  return index;
}

function matchField(index: FieldIndex, ancestors: string[], key: string): Matcher | undefined {
  return index.get(canonicalKey(key))?.find((m) => m.parents.every((p, i) => ancestors[ancestors.length - m.parents.length + i] === p));
}

/** The fields of a policy, by place and for anywhere (dead letters), compiled once per policy. */
interface CompiledPolicy {
  byPlace: Record<PersonalPlace, FieldIndex>;
  anywhere: FieldIndex;
}
const compiled = new WeakMap<EventPolicy['personalData'], CompiledPolicy>();
function compile(policy: EventPolicy['personalData']): CompiledPolicy {
  let c = compiled.get(policy);
  if (c === undefined) {
    const forPlace = (place: PersonalPlace) => indexFields(policy.fields.filter((f) => f.in.includes(place)));
    // Anywhere, the IP address is a field like the others (its `in` is not used there).
    const ip: PersonalField = { name: 'ip', in: ['traits'], action: policy.ip === 'hash' ? 'hash' : 'remove' };
    c = { byPlace: { traits: forPlace('traits'), 'context.traits': forPlace('context.traits'), properties: forPlace('properties') }, anywhere: indexFields([...policy.fields, ip]) };
    compiled.set(policy, c);
  }
  return c;
}

/** Every e-mail address inside a text, masked. */
export const maskEmailAddresses = (text: string): string => (text.includes('@') || text.includes('%40') ? text.replace(EMAIL_ADDRESSES, '[e-mail]') : text);

/** Text that may hold personal data in forms no field names: e-mail addresses, IP addresses, phone and other long numbers. */
function maskAll(text: string): string {
  return maskEmailAddresses(text)
    .replace(/\b\d{1,3}(\.\d{1,3}){3}\b/g, '[ip]')
    .replace(/[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}/gi, (m) => (m.length > 6 ? '[ip]' : m))
    .replace(/\+?\d[\d\s().-]{5,}\d/g, '[number]');
}

/** A value that is not an e-mail or phone number, hashed: the same text (trimmed, in any case) gives the same hash. */
const hashText = (name: string, raw: string, salt: string): string => hashed(createHash('sha256').update(`${salt}:${name}:${raw.trim().toLowerCase()}`).digest('hex'));

/** A value hashed as its field; an e-mail or phone number that identifies nobody (a placeholder) is undefined: removed, not hashed. */
function hashValue(hashAs: string, raw: string, salt: string, identity: IdentityRules): string | undefined {
  if (hashAs === 'email' || hashAs === 'phone') return identifies(hashAs, raw, identity) ? hashed(hashPii(hashAs, raw, salt)) : undefined;
  return hashText(hashAs, raw, salt);
}

/** The network an IP address stands for once hashed: what the network index, links and reasons show. */
export const hashedNetwork = (ip: string, salt: string): string => hashText('ip', ip, salt);

// ---- The walk: one value of a place, copied with its personal data hashed, removed or masked ------

const DROP = Symbol('drop');
type Container = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;
const emptyLike = (v: Container): Container => (Array.isArray(v) ? [] : {});
const entriesOf = (v: Container): Array<[string | undefined, unknown]> => (Array.isArray(v) ? v.map((x): [undefined, unknown] => [undefined, x]) : Object.entries(v));

/** An object or list being copied: where it comes from, its copy, the canonical keys leading to it, its depth, and whether everything under it is hashed. */
interface Frame {
  from: Container;
  to: Container;
  ancestors: string[];
  depth: number;
  hashAs?: string;
}

/** What text no key labels keeps: its length (the reason of a dead letter may be about it). */
const textNote = (text: string): string => `[text: ${text.length} characters]`;

/**
 * A value redacted: copied with an explicit stack (no recursion), each key checked against the
 * fields, each object or list below MAX_REDACTION_DEPTH walked the same way.
 */
function walkValue(value: unknown, walk: Walk): unknown {
  if (!isContainer(value)) return typeof value === 'string' ? (walk.dropUnlabelledText ? textNote(value) : walk.mask(value)) : value;
  const root = emptyLike(value);
  const stack: Frame[] = [{ from: value, to: root, ancestors: [], depth: 1 }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    for (const [key, child] of entriesOf(frame.from)) {
      const kept = visit(frame, key, child, walk, stack);
      if (kept === DROP) continue;
      if (Array.isArray(frame.to)) frame.to.push(kept);
      else setOwn(frame.to, walk.mask(key as string), kept);
    }
  }
  return root;
}

/** One entry of an object or list: dropped, hashed, masked, kept, or (an object or list) copied empty and queued. */
function visit(frame: Frame, key: string | undefined, child: unknown, walk: Walk, stack: Frame[]): unknown {
  let hashAs = frame.hashAs;
  if (key !== undefined && hashAs === undefined) {
    const matched = matchField(walk.fields, frame.ancestors, key);
    const text = typeof child === 'string' || typeof child === 'number';
    if (matched?.field.action === 'remove' || (matched?.field.action === 'removeText' && text)) return DROP;
    if (matched?.field.action === 'hash') hashAs = matched.hashAs;
  }
  if (isContainer(child)) {
    if (frame.depth >= MAX_REDACTION_DEPTH) return TOO_DEEP;
    const copy = emptyLike(child);
    const ancestors = key === undefined ? frame.ancestors : [...frame.ancestors, canonicalKey(key)];
    stack.push({ from: child, to: copy, ancestors, depth: frame.depth + 1, hashAs });
    return copy;
  }
  if (hashAs !== undefined) return typeof child === 'string' || (typeof child === 'number' && Number.isFinite(child)) ? (walk.hash(hashAs, String(child)) ?? DROP) : child;
  if (typeof child !== 'string') return child;
  return key === undefined && frame.ancestors.length === 0 && walk.dropUnlabelledText ? textNote(child) : walk.mask(child);
}

// ---- A message: its ids, its places, its context --------------------------------------------------

/** The walks of one redaction: per place, text places, and anywhere (what has not the shape the spec gives it). */
interface Redaction {
  salt: string;
  options: RedactOptions;
  places: Record<PersonalPlace, Walk>;
  textOnly: Walk;
  anywhere: Walk;
  ip: 'hash' | 'remove';
}

function redactionOf(policy: EventPolicy['personalData'], salt: string, options: RedactOptions): Redaction {
  const identity = options.identity ?? defaultIdentityRules();
  const hash = (hashAs: string, raw: string) => (options.trustHashed === true && HASHED.test(raw) ? raw : hashValue(hashAs, raw.slice(0, 512), salt, identity));
  const { byPlace, anywhere } = compile(policy);
  const inPlace = (fields: FieldIndex): Walk => ({ fields, mask: maskEmailAddresses, dropUnlabelledText: false, hash });
  return {
    salt,
    options,
    places: { traits: inPlace(byPlace.traits), 'context.traits': inPlace(byPlace['context.traits']), properties: inPlace(byPlace.properties) },
    textOnly: inPlace(new Map()),
    anywhere: { fields: anywhere, mask: maskAll, dropUnlabelledText: true, hash },
    ip: policy.ip,
  };
}

/**
 * A place as the spec shapes it (an object) is redacted by its fields; in any other shape (a list, a
 * text: only a rejected message has one) nothing tells what it holds, so every field is looked for
 * anywhere in it, the IP address too, and every text is masked.
 */
const redactPlace = (value: unknown, place: PersonalPlace, r: Redaction): unknown => walkValue(value, asObject(value) ? r.places[place] : r.anywhere);

function redactIp(ip: unknown, r: Redaction): unknown {
  if (typeof ip === 'string' && r.options.trustHashed === true && HASHED.test(ip)) return ip;
  return r.ip === 'hash' && typeof ip === 'string' && ip.length <= 64 ? hashedNetwork(ip, r.salt) : undefined;
}

/** The context: its traits, its page, campaign and referrer texts, its device id and its IP address; a context that is not an object, redacted anywhere. */
function redactContext(value: unknown, r: Redaction): unknown {
  const context = asObject(value);
  if (context === undefined) return walkValue(value, r.anywhere);
  const out: Record<string, unknown> = { ...context };
  if (Object.hasOwn(out, 'traits')) out.traits = redactPlace(out.traits, 'context.traits', r);
  for (const place of TEXT_PLACES) if (Object.hasOwn(out, place)) out[place] = walkValue(out[place], asObject(out[place]) ? r.textOnly : r.anywhere);
  const device = asObject(own(out, 'device'));
  const deviceId = device === undefined ? undefined : own(device, 'id');
  if (typeof deviceId === 'string') out.device = { ...device, id: protectedIdValue(deviceId, r.salt, r.options) };
  if (Object.hasOwn(out, 'ip')) {
    const ip = redactIp(out.ip, r);
    if (ip === undefined) delete out.ip;
    else out.ip = ip;
  }
  return out;
}

/**
 * What the collector writes on each message it redacted (`redactedWith`): a seal, keyed with the
 * identity salt, over the message's id and a fingerprint of the policy and of the identity rules that
 * tell placeholders. The ingest redacts again every record without a valid seal (another producer's,
 * or one redacted under another policy). Only what holds the salt can seal, a client cannot set it
 * (the collector replaces it), and a seal is good for its own message only; so the second pass costs
 * nothing for the collector's own records and cannot be skipped by anyone else.
 */
export const REDACTED_WITH = 'redactedWith';
const fingerprints = new WeakMap<EventPolicy['personalData'], Map<IdentityRules, string>>();
export function redactionFingerprint(policy: EventPolicy['personalData'], identity: IdentityRules = defaultIdentityRules()): string {
  const byRules = fingerprints.get(policy) ?? new Map<IdentityRules, string>();
  fingerprints.set(policy, byRules);
  let fingerprint = byRules.get(identity);
  if (fingerprint === undefined) {
    const basis = JSON.stringify([policy, identity.blocklist, identity.placeholders]);
    fingerprint = `policy:${createHash('sha256').update(basis).digest('hex').slice(0, 16)}`;
    byRules.set(identity, fingerprint);
  }
  return fingerprint;
}

/** The seal of one redacted message (see REDACTED_WITH). */
export function redactionSeal(messageId: string, policy: EventPolicy['personalData'], salt: string, identity: IdentityRules = defaultIdentityRules()): string {
  return `seal:${createHmac('sha256', salt).update(`${redactionFingerprint(policy, identity)}\n${messageId}`).digest('hex').slice(0, 32)}`;
}

/** The message with every personal field of the policy hashed or removed (a new object; the input is not changed). */
export function redactPersonalData<T>(message: T, policy: EventPolicy['personalData'], salt: string, options: RedactOptions = {}): T {
  const source = asObject(message);
  if (source === undefined) return message;
  const r = redactionOf(policy, salt, options);
  const out: Record<string, unknown> = { ...source };
  for (const field of ID_FIELDS) {
    const id = own(out, field);
    if (typeof id === 'string') out[field] = protectedIdValue(id, salt, options);
  }
  for (const place of ['traits', 'properties'] as const) if (Object.hasOwn(out, place)) out[place] = redactPlace(out[place], place, r);
  if (Object.hasOwn(out, 'context')) out.context = redactContext(out.context, r);
  return out as T;
}

// ---- Dead letters --------------------------------------------------------------------------------

/**
 * A rejected message as a dead letter keeps it: redacted as any message when it is an object (its
 * places redacted whatever shape they have); anything else (a text, a list) redacted anywhere, since
 * nothing says what its parts are.
 */
export function redactForDeadLetter(value: unknown, policy: EventPolicy['personalData'], salt: string, options: RedactOptions = {}): unknown {
  if (asObject(value) !== undefined) return redactPersonalData(value, policy, salt, options);
  return { notAnObject: true, value: walkValue(value, redactionOf(policy, salt, options).anywhere) };
}

/**
 * Text that is not JSON, as a preview: its first 300 characters with every string that is not an
 * object key replaced by "…" (a name is text like any other, and only keys tell what is what), then
 * masked (e-mail and IP addresses, long numbers).
 */
function previewOf(text: string): string {
  const head = text.slice(0, 300).replace(/"(?:[^"\\]|\\.)*("?)(\s*:)?/g, (m: string, closed: string, colon?: string) => (closed !== '' && colon !== undefined ? m : '"…"'));
  return maskAll(head);
}

/**
 * A stream record's data as a dead letter keeps it (base64): the redacted message when the data is a
 * JSON object (its JSON cut at 8 KB), other JSON redacted anywhere; otherwise a note of its size and
 * a preview that keeps only its keys and punctuation, since what cannot be parsed cannot be redacted
 * field by field.
 */
export function redactRecordData(base64: string, policy: EventPolicy['personalData'], salt: string): string {
  const text = Buffer.from(base64, 'base64').toString('utf8');
  let json: { value: unknown } | undefined;
  try {
    json = { value: JSON.parse(text) };
  } catch {
    json = undefined;
  }
  const kept =
    json === undefined
      ? { undecodable: true, bytes: Buffer.byteLength(text), preview: previewOf(text) }
      : asObject(json.value) !== undefined
        ? redactPersonalData(json.value, policy, salt, { trustHashed: true })
        : redactForDeadLetter(json.value, policy, salt, { trustHashed: true });
  return Buffer.from(cutText(JSON.stringify(kept))).toString('base64');
}
