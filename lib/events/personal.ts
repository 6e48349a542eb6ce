import { createHash, createHmac } from 'node:crypto';
import { defaultIdentityRules, type IdentityRules } from '../identity/rules';
import { EMAIL_ADDRESSES, hashPii, HASHED, identifies, protectedIdValue } from './identifiers';
import { cutText } from './letters';
import { asObject, own, setOwn } from './json';
import { canonicalKey, keyWords, type EventPolicy, type PersonalField, type PersonalPlace } from './policy';

/**
 * Personal data never at rest in clear. The fields the policy names (config/events.json: e-mail,
 * phone, names, birthday, street address, and the IP address once it has served network matching)
 * are hashed or removed from a message before anything is written: the collector does it before the
 * stream, the ingest again for records from any other producer, and dead letters keep only the
 * redacted form.
 *
 * Every part of a message is redacted: its traits, properties, context and its own fields beyond the
 * spec's (the schema keeps unknown fields), all but the message's structure (its type, event name,
 * messageId, times and seal) and what the engine protects on its own terms (the ids, the context's IP
 * address and device id). A field is found by its name or an alias in any case and with any separator
 * (`E-mail`, `first_name`), or, where the policy says so, as the last words of a key (`homePhone`,
 * `billing_address`), at any depth of the places it is looked for in, through objects and lists. What
 * no field names can still hold an e-mail address (a newsletter link `?email=…`, a note): every
 * address inside other text is masked. A userId or other id that holds an e-mail address is hashed
 * (lib/events/identifiers.ts `protectedIdValue`).
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

/** Root ids that may be an e-mail address (and then are hashed). */
const ID_FIELDS = ['userId', 'anonymousId', 'previousId', 'groupId'] as const;

/** What the collector writes on each message it redacted (see `redactionSeal`). */
export const REDACTED_WITH = 'redactedWith';

/**
 * The message's structure: its type, event name, messageId, times, the engine's time correction,
 * the seal and the ids (an id holding an e-mail address is hashed, below). Kept as they are when they
 * have a scalar's shape; an object or list under one of them (only a rejected message, or another
 * producer's, has one) is redacted like the message's other fields.
 */
const STRUCTURE = new Set<string>(['type', 'event', 'messageId', 'timestamp', 'originalTimestamp', 'sentAt', 'receivedAt', 'timestampCorrection', REDACTED_WITH, ...ID_FIELDS]);
/** Places of the message redacted on their own: traits, properties and the context. */
const OWN_PLACES = new Set<string>(['traits', 'properties', 'context']);
const keptAtRoot = (key: string, child: unknown): boolean => OWN_PLACES.has(key) || (STRUCTURE.has(key) && !isContainer(child));
/**
 * A page or screen call's `name` and `category` are the spec's: the page's (`Welcome`, `Docs`), not a
 * person's, so the policy's `name` does not take them; their e-mail addresses are masked like any text's.
 */
const PAGE_TEXTS = ['name', 'category'] as const;
const keptAtRootOfPage = (key: string, child: unknown): boolean => keptAtRoot(key, child) || ((PAGE_TEXTS as readonly string[]).includes(key) && !isContainer(child));

/**
 * The context's keys with a treatment of their own: its `traits` (a place of the policy) and its IP
 * address (hashed for network matching, or removed). `device.id` is protected as an id after the
 * device is redacted like the rest. Everything else — page, campaign, referrer, app, device, os,
 * network, screen, location, library, locale, timezone, userAgent, channel, sessionId and any custom
 * key — is redacted by the fields of the `context` place and its texts' e-mail addresses masked. What
 * the engine reads there (locale, time zone, user agent, library, channel, session id, location
 * coordinates, city and country, network.cellular, device.type) comes through unchanged, as none of
 * those keys is a personal field's name and none of their values holds an e-mail address; a session
 * id or locale that does hold one is masked, as both end up in profiles.
 */
const keptInContext = (key: string): boolean => key === 'traits' || key === 'ip';

const hashed = (hex: string): string => `sha256:${hex}`;

/** A field of the policy ready to be matched: its name's canonical segments and what it hashes as. */
interface Matcher {
  field: PersonalField;
  /** Canonical keys that must lead to the key (`address` for `address.line1`), nearest last. */
  parents: string[];
  /** What a hashed value is hashed as: the field's own name (`email` for `emailAddress` too). */
  hashAs: string;
  /** Whether the name also matches as the last words of a longer key (`homePhone`). */
  ending: boolean;
}

/** The fields of one place, by key. */
interface FieldIndex {
  /** Matchers by the canonical form of the key they end with. */
  exact: Map<string, Matcher[]>;
  /** Whether any name matches as the last words of a key. */
  endings: boolean;
  /** Keys (canonical) never matched by their last words. */
  exceptions: Set<string>;
  /**
   * What each key sent may be (its exact and then its ending matchers, `null` for none), worked out
   * once per key: keys repeat from message to message, so a key costs one look-up. Bounded; started
   * again when full.
   */
  byKey: Map<string, Matcher[] | null>;
}
const MAX_REMEMBERED_KEYS = 10_000;

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

/** Whether a field's name (without dots) also matches as the last words of a key. */
function endsKeys(field: PersonalField, name: string): boolean {
  if (field.endings === true) return true;
  return Array.isArray(field.endings) && field.endings.some((ending) => canonicalKey(ending) === canonicalKey(name));
}

function indexFields(fields: PersonalField[], exceptions: string[]): FieldIndex {
  const exact = new Map<string, Matcher[]>();
  let endings = false;
  for (const field of fields) {
    for (const name of [field.name, ...(field.aliases ?? [])]) {
      const path = name.split('.').map(canonicalKey);
      const key = path[path.length - 1] as string;
      const ending = path.length === 1 && endsKeys(field, name);
      endings ||= ending;
      exact.set(key, [...(exact.get(key) ?? []), { field, parents: path.slice(0, -1), hashAs: hashNameOf(field), ending }]);
    }
  }
  return { exact, endings, exceptions: new Set(exceptions.map(canonicalKey)), byKey: new Map() };
}

/**
 * What a key may be: the fields it names exactly, then the field whose name its longest run of last
 * words is (`primaryHomePhone`: `homephone` is no name, `phone` is). One key's words are split once.
 */
function candidatesOf(index: FieldIndex, key: string): Matcher[] | null {
  const canonical = canonicalKey(key);
  const exact = index.exact.get(canonical) ?? [];
  if (!index.endings || index.exceptions.has(canonical)) return exact.length > 0 ? exact : null;
  const words = keyWords(key);
  for (let i = 1; i < words.length; i++) {
    const byEnding = index.exact.get(words.slice(i).join(''))?.filter((m) => m.ending);
    if (byEnding !== undefined && byEnding.length > 0) return [...exact, ...byEnding];
  }
  return exact.length > 0 ? exact : null;
}

/** The keys leading to a value, nearest first (a list adds none). */
interface Ancestry {
  key: string;
  up: Ancestry | undefined;
}

/** Whether the keys leading to a value end with a matcher's parents (`customer` for `customer.name`). */
function under(ancestors: Ancestry | undefined, parents: string[]): boolean {
  let at = ancestors;
  for (let i = parents.length - 1; i >= 0; i--, at = at.up) if (at === undefined || canonicalKey(at.key) !== parents[i]) return false;
  return true;
}

function matchField(index: FieldIndex, ancestors: Ancestry | undefined, key: string): Matcher | undefined {
  let candidates = index.byKey.get(key);
  if (candidates === undefined) {
    candidates = candidatesOf(index, key);
    if (key.length <= 64) {
      if (index.byKey.size >= MAX_REMEMBERED_KEYS) index.byKey.clear();
      index.byKey.set(key, candidates);
    }
  }
  if (candidates === null) return undefined;
  for (const m of candidates) if (m.parents.length === 0 || under(ancestors, m.parents)) return m;
  return undefined;
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
    const exceptions = policy.endingExceptions ?? [];
    const forPlace = (place: PersonalPlace) => indexFields(policy.fields.filter((f) => f.in.includes(place)), exceptions);
    // Anywhere, the IP address is a field like the others (its `in` is not used there).
    const ip: PersonalField = { name: 'ip', in: ['traits'], action: policy.ip === 'hash' ? 'hash' : 'remove' };
    c = {
      byPlace: { traits: forPlace('traits'), 'context.traits': forPlace('context.traits'), properties: forPlace('properties'), context: forPlace('context'), message: forPlace('message') },
      anywhere: indexFields([...policy.fields, ip], exceptions),
    };
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

/**
 * An object or list being copied: where it comes from, its copy, the keys leading to it, its depth,
 * whether everything under it is hashed, and (a list under a `removeText` key: addresses on one line
 * each) whether its texts go.
 */
interface Frame {
  from: Container;
  to: Container;
  ancestors: Ancestry | undefined;
  depth: number;
  hashAs?: string;
  textGoes?: boolean;
}

/** What text no key labels keeps: its length (the reason of a dead letter may be about it). */
const textNote = (text: string): string => `[text: ${text.length} characters]`;

/**
 * A value redacted: copied with an explicit stack (no recursion), each key checked against the
 * fields, each object or list below MAX_REDACTION_DEPTH walked the same way. `kept` names the keys
 * of the value itself that are copied as they are (their owner redacts them on its own terms).
 */
function walkValue(value: unknown, walk: Walk, kept?: (key: string, child: unknown) => boolean): unknown {
  if (!isContainer(value)) return typeof value === 'string' ? (walk.dropUnlabelledText ? textNote(value) : walk.mask(value)) : value;
  const root = emptyLike(value);
  const stack: Frame[] = [{ from: value, to: root, ancestors: undefined, depth: 1 }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const { from, to } = frame;
    if (Array.isArray(from)) {
      for (let i = 0; i < from.length; i++) {
        const copied = visit(frame, undefined, from[i], walk, stack);
        if (copied !== DROP) (to as unknown[]).push(copied);
      }
      continue;
    }
    const keep = to === root ? kept : undefined;
    const copy = to as Record<string, unknown>;
    for (const key in from) {
      if (!Object.hasOwn(from, key)) continue;
      const child = from[key];
      if (keep !== undefined && keep(key, child)) {
        setOwn(copy, key, child);
        continue;
      }
      const copied = visit(frame, key, child, walk, stack);
      if (copied === DROP) continue;
      const name = walk.mask(key);
      if (name === '__proto__') setOwn(copy, name, copied);
      else copy[name] = copied;
    }
  }
  return root;
}

/** One entry of an object or list: dropped, hashed, masked, kept, or (an object or list) copied empty and queued. */
function visit(frame: Frame, key: string | undefined, child: unknown, walk: Walk, stack: Frame[]): unknown {
  let hashAs = frame.hashAs;
  // An item of a list under a `removeText` key is what the key holds: one address per line goes.
  let textGoes = key === undefined && frame.textGoes === true;
  if (key !== undefined && hashAs === undefined) {
    const matched = matchField(walk.fields, frame.ancestors, key);
    if (matched?.field.action === 'remove') return DROP;
    if (matched?.field.action === 'removeText') textGoes = true;
    else if (matched?.field.action === 'hash') hashAs = matched.hashAs;
  }
  if (isContainer(child)) {
    if (frame.depth >= MAX_REDACTION_DEPTH) return TOO_DEEP;
    const copy = emptyLike(child);
    const ancestors = key === undefined ? frame.ancestors : { key, up: frame.ancestors };
    // An object's keys say what its values are; only a list carries on what its key said.
    stack.push({ from: child, to: copy, ancestors, depth: frame.depth + 1, hashAs, textGoes: textGoes && Array.isArray(child) });
    return copy;
  }
  if (textGoes && (typeof child === 'string' || typeof child === 'number')) return DROP;
  if (hashAs !== undefined) return typeof child === 'string' || (typeof child === 'number' && Number.isFinite(child)) ? (walk.hash(hashAs, String(child)) ?? DROP) : child;
  if (typeof child !== 'string') return child;
  return key === undefined && frame.ancestors === undefined && walk.dropUnlabelledText ? textNote(child) : walk.mask(child);
}

// ---- A message: its ids, its places, its context --------------------------------------------------

/** The walks of one redaction: per place, and anywhere (what has not the shape the spec gives it). */
interface Redaction {
  salt: string;
  options: RedactOptions;
  places: Record<PersonalPlace, Walk>;
  anywhere: Walk;
  ip: 'hash' | 'remove';
}

/**
 * The walks of a policy, salt, identity rules and trust, made once: the collector and the ingest
 * redact every message with the same few, so a message costs no set-up.
 */
const redactions = new WeakMap<EventPolicy['personalData'], WeakMap<IdentityRules, Map<string, Redaction>>>();
function redactionOf(policy: EventPolicy['personalData'], salt: string, options: RedactOptions): Redaction {
  const identity = options.identity ?? defaultIdentityRules();
  const trustHashed = options.trustHashed === true;
  let byRules = redactions.get(policy);
  if (byRules === undefined) redactions.set(policy, (byRules = new WeakMap()));
  let bySalt = byRules.get(identity);
  if (bySalt === undefined) byRules.set(identity, (bySalt = new Map()));
  const key = `${trustHashed ? 'trusted' : 'client'}:${salt}`;
  let r = bySalt.get(key);
  if (r === undefined) {
    // A few salts at most (one per deployment; tests use a handful): bounded all the same.
    if (bySalt.size >= 16) bySalt.clear();
    r = newRedaction(policy, salt, { trustHashed, identity });
    bySalt.set(key, r);
  }
  return r;
}

function newRedaction(policy: EventPolicy['personalData'], salt: string, options: { trustHashed: boolean; identity: IdentityRules }): Redaction {
  const { trustHashed, identity } = options;
  const hash = (hashAs: string, raw: string) => (trustHashed && HASHED.test(raw) ? raw : hashValue(hashAs, raw.slice(0, 512), salt, identity));
  const { byPlace, anywhere } = compile(policy);
  const inPlace = (fields: FieldIndex): Walk => ({ fields, mask: maskEmailAddresses, dropUnlabelledText: false, hash });
  return {
    salt,
    options,
    places: {
      traits: inPlace(byPlace.traits),
      'context.traits': inPlace(byPlace['context.traits']),
      properties: inPlace(byPlace.properties),
      context: inPlace(byPlace.context),
      message: inPlace(byPlace.message),
    },
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

/**
 * The context (see `keptInContext`): its traits as their place, its IP address hashed, its device id
 * protected, everything else by the fields of the `context` place; a context that is not an object,
 * redacted anywhere.
 */
function redactContext(value: unknown, r: Redaction): unknown {
  const context = asObject(value);
  if (context === undefined) return walkValue(value, r.anywhere);
  const out = walkValue(context, r.places.context, keptInContext) as Record<string, unknown>;
  if (Object.hasOwn(context, 'traits')) out.traits = redactPlace(context.traits, 'context.traits', r);
  const deviceId = own(asObject(own(context, 'device')) ?? {}, 'id');
  const device = asObject(own(out, 'device'));
  if (typeof deviceId === 'string' && device !== undefined) device.id = protectedIdValue(deviceId, r.salt, r.options);
  if (Object.hasOwn(context, 'ip')) {
    const ip = redactIp(context.ip, r);
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

/**
 * The message with every personal field of the policy hashed or removed (a new object; the input is
 * not changed): its traits, properties and context as their places, its ids protected, its structure
 * (`STRUCTURE`) kept, and every other field of it (the schema keeps unknown fields) by the fields of
 * the `message` place.
 */
export function redactPersonalData<T>(message: T, policy: EventPolicy['personalData'], salt: string, options: RedactOptions = {}): T {
  const source = asObject(message);
  if (source === undefined) return message;
  const r = redactionOf(policy, salt, options);
  const page = source.type === 'page' || source.type === 'screen';
  const out = walkValue(source, r.places.message, page ? keptAtRootOfPage : keptAtRoot) as Record<string, unknown>;
  for (const field of ID_FIELDS) {
    const id = own(source, field);
    if (typeof id === 'string') out[field] = protectedIdValue(id, salt, options);
  }
  if (page) {
    for (const field of PAGE_TEXTS) {
      const text = own(source, field);
      if (typeof text === 'string') out[field] = maskEmailAddresses(text);
    }
  }
  for (const place of ['traits', 'properties'] as const) if (Object.hasOwn(source, place)) out[place] = redactPlace(source[place], place, r);
  if (Object.hasOwn(source, 'context')) out.context = redactContext(source.context, r);
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
