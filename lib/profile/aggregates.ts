import { z } from 'zod';
import { describeIssues } from '../config/issues';
import defaults from '../../config/aggregates.json';
import type { CollectedEvent } from '../events/segment';
import { localDay, localWeek, resolveTimezone, shiftDay } from './time';
import { asObject, own, setOwn } from '../events/json';

/**
 * The aggregate language. Each aggregate, declared as data, names the events it listens to (by type,
 * event name and an optional condition on the event), an operation, a field and a window:
 *
 * - operations: count, sum, min, max, average, first, last, distinct (count and sample of values),
 *   topk (most frequent values with counts), lastN (most recent distinct values), set (items added,
 *   removed and reset by events — a cart), since (when the first event happened after the last reset
 *   — a cart opened at);
 * - windows: lifetime, a calendar day or week in the customer's time zone, or rolling N days kept as
 *   daily buckets; all on event time, so late and out-of-order events land in the right bucket.
 *
 * Every state is a function of the set of events folded, whatever their order ("first"/"last" are
 * decided by event time, then messageId), and every operation has a merge, so redelivery is exact
 * and two profiles merge exactly.
 */
export const OPERATIONS = ['count', 'sum', 'min', 'max', 'average', 'first', 'last', 'distinct', 'topk', 'lastN', 'set', 'since'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Fields computed from the event rather than read from it. */
export const DERIVED_FIELDS = ['$session', '$device', '$channel', '$location'] as const;

const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'alias', 'group'] as const;

/** A condition on an event's field (aggregate selectors, campaign triggers). */
export const eventConditionSchema = z.strictObject({
  field: z.string().min(1),
  op: z.enum(['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'exists']),
  value: z.unknown().optional(),
});

const condition = eventConditionSchema;

const selector = z.strictObject({
  type: z.array(z.enum(EVENT_TYPES)).min(1).optional(),
  event: z.array(z.string().min(1)).min(1).optional(),
  where: z.array(condition).optional(),
});

const window = z.union([
  z.literal('lifetime'),
  z.strictObject({ calendar: z.enum(['day', 'week']) }),
  z.strictObject({ rollingDays: z.number().int().min(1).max(400) }),
]);

const aggregateSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)'),
    description: z.string().optional(),
    on: selector.optional(),
    op: z.enum(OPERATIONS),
    field: z.string().min(1).optional(),
    window: window.optional(),
    /** topk: how many values to show; lastN: how many to keep. */
    size: z.number().int().min(1).max(50).optional(),
    removeOn: selector.optional(),
    resetOn: selector.optional(),
  })
  .superRefine((a, ctx) => {
    const needsField = !['count', 'since'].includes(a.op);
    if (needsField && a.field === undefined) ctx.addIssue({ code: 'custom', path: ['field'], message: `is required for op "${a.op}"` });
    if ((a.removeOn !== undefined && a.op !== 'set') || (a.resetOn !== undefined && a.op !== 'set' && a.op !== 'since')) {
      ctx.addIssue({ code: 'custom', path: [a.removeOn ? 'removeOn' : 'resetOn'], message: `is not used by op "${a.op}"` });
    }
    if (a.field?.startsWith('$') && !(DERIVED_FIELDS as readonly string[]).includes(a.field)) {
      ctx.addIssue({ code: 'custom', path: ['field'], message: `unknown derived field; use one of ${DERIVED_FIELDS.join(', ')}` });
    }
    if (a.field?.includes('[]') && !['distinct', 'topk', 'lastN', 'set'].includes(a.op)) {
      ctx.addIssue({ code: 'custom', path: ['field'], message: 'a list path ([]) works with distinct, topk, lastN and set' });
    }
    if ((a.op === 'set' || a.op === 'since' || a.op === 'lastN') && a.window !== undefined && a.window !== 'lifetime') {
      ctx.addIssue({ code: 'custom', path: ['window'], message: `op "${a.op}" keeps its own history; use the lifetime window` });
    }
  });

export const aggregateConfigSchema = z.strictObject({
  $comment: z.string().optional(),
  version: z.number().int().min(1),
  /** Time zone for calendar windows when an event carries no `context.timezone`. */
  defaultTimezone: z.string().min(1),
  /**
   * Track events the engine writes itself (the decision log): stored in the journey of the
   * customer's profile, but not folded into it, since they are not the customer's activity; so they
   * change no aggregate and cost no profile write.
   */
  systemEvents: z.array(z.string().min(1)).default([]),
  aggregates: z.array(aggregateSchema),
});

export type AggregateDefinition = z.output<typeof aggregateSchema>;
export type AggregateConfig = z.output<typeof aggregateConfigSchema>;

/** The validated aggregate definitions with what folding needs precomputed. */
export interface AggregateModel {
  version: number;
  defaultTimezone: string;
  systemEvents: ReadonlySet<string>;
  definitions: AggregateDefinition[];
}

/** Bounds that keep every state small whatever the traffic. */
export const LIMITS = { distinct: 100, distinctPerBucket: 24, topkKeys: 50, topkKeysPerBucket: 20, set: 50, since: 20, calendarBuckets: 8 } as const;

const windowed = (def: AggregateDefinition): boolean => def.window !== undefined && def.window !== 'lifetime';
/** Windowed aggregates keep many buckets, so each bucket keeps less. */
const distinctBound = (def: AggregateDefinition): number => (windowed(def) ? LIMITS.distinctPerBucket : LIMITS.distinct);
const topkBound = (def: AggregateDefinition): number => (windowed(def) ? LIMITS.topkKeysPerBucket : LIMITS.topkKeys);

/** Validates aggregate definitions; errors name the aggregate and the field. */
export function loadAggregates(input: unknown = defaults): AggregateModel {
  const result = aggregateConfigSchema.safeParse(input);
  if (!result.success) {
    const detail = describeIssues(result.error.issues, input, [{ path: ['aggregates'], label: 'aggregate', nameKey: 'name' }]);
    throw new Error(`Invalid aggregate definitions: ${detail}`);
  }
  const names = new Set<string>();
  for (const a of result.data.aggregates) {
    if (names.has(a.name)) throw new Error(`Invalid aggregate definitions: aggregate "${a.name}" is declared twice`);
    names.add(a.name);
  }
  if (resolveTimezone(result.data.defaultTimezone, 'invalid') === 'invalid') {
    throw new Error(`Invalid aggregate definitions: defaultTimezone: "${result.data.defaultTimezone}" is not an IANA time zone`);
  }
  return {
    version: result.data.version,
    defaultTimezone: result.data.defaultTimezone,
    systemEvents: new Set(result.data.systemEvents),
    definitions: result.data.aggregates,
  };
}

const paths = new Map<string, string[]>();
/** Reads `a.b.c` from an event; undefined when any step is missing. */
export function readPath(event: unknown, path: string): unknown {
  let parts = paths.get(path);
  if (parts === undefined) paths.set(path, (parts = path.split('.')));
  let at: unknown = event;
  for (const part of parts) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = own(at as Record<string, unknown>, part);
  }
  return at;
}


function numeric(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** The channel an event came through, as the aggregates' `$channel` reads it (the contact ledger counts impressions per channel alike). */
export const eventChannel = (event: CollectedEvent): string | undefined => derived(event, '$channel') as string | undefined;

/** Values computed from an event: a session key, the device class, the channel, a coarse location. */
function derived(event: CollectedEvent, field: (typeof DERIVED_FIELDS)[number]): unknown {
  const context = asObject(event.context) ?? {};
  switch (field) {
    case '$session': {
      const explicit = context.sessionId ?? asObject(event as unknown as Record<string, unknown>)?.sessionId;
      if (typeof explicit === 'string' || typeof explicit === 'number') return `s:${explicit}`;
      // No session id from the SDK: a device's activity in one 30-minute slot counts as one session.
      const device = event.anonymousId ?? event.userId ?? '';
      return `${device}:${Math.floor(Date.parse(event.timestamp) / 1_800_000)}`;
    }
    case '$device': {
      const type = asObject(context.device)?.type;
      if (typeof type === 'string' && type !== '') return type.toLowerCase();
      const ua = typeof context.userAgent === 'string' ? context.userAgent : '';
      if (/iPad|Tablet/.test(ua)) return 'tablet';
      if (/iPhone|Android.*Mobile|Mobile/.test(ua)) return 'smartphone';
      return ua !== '' ? 'desktop' : undefined;
    }
    case '$channel': {
      if (typeof context.channel === 'string' && context.channel !== '') return context.channel.toLowerCase();
      const library = String(asObject(context.library)?.name ?? '');
      if (/ios|android|react-native|flutter/i.test(library)) return 'app';
      return typeof context.userAgent === 'string' ? 'web' : 'server';
    }
    case '$location': {
      const location = asObject(context.location);
      const lat = numeric(location?.latitude);
      const lon = numeric(location?.longitude);
      const city = typeof location?.city === 'string' ? location.city : undefined;
      const country = typeof location?.country === 'string' ? location.country : undefined;
      if (lat === undefined && city === undefined && country === undefined) return undefined;
      // Coarse: one decimal of a degree (about 11 km), never the exact position.
      return {
        ...(city !== undefined ? { city } : {}),
        ...(country !== undefined ? { country } : {}),
        ...(lat !== undefined && lon !== undefined ? { latitude: Math.round(lat * 10) / 10, longitude: Math.round(lon * 10) / 10 } : {}),
      };
    }
  }
}

function valueOf(event: CollectedEvent, field: string): unknown {
  return field.startsWith('$') ? derived(event, field as (typeof DERIVED_FIELDS)[number]) : readPath(event, field);
}

/** Whether an event meets a condition on one of its fields. */
export function holds(c: z.output<typeof condition>, event: CollectedEvent): boolean {
  const v = valueOf(event, c.field);
  switch (c.op) {
    case 'exists':
      return v !== undefined && v !== null;
    case 'eq':
      return v === c.value;
    case 'ne':
      return v !== c.value;
    case 'in':
      return Array.isArray(c.value) && c.value.includes(v);
    default: {
      const x = numeric(v);
      const y = numeric(c.value);
      if (x === undefined || y === undefined) return false;
      return c.op === 'gt' ? x > y : c.op === 'gte' ? x >= y : c.op === 'lt' ? x < y : x <= y;
    }
  }
}

function selects(s: z.output<typeof selector> | undefined, event: CollectedEvent): boolean {
  if (s === undefined) return true;
  if (s.type && !s.type.includes(event.type)) return false;
  if (s.event && !(event.type === 'track' && s.event.includes(event.event))) return false;
  return (s.where ?? []).every((c) => holds(c, event));
}

// ---- States ----------------------------------------------------------------------------------

/** An ordering key: event time, then messageId. */
export interface Stamp {
  t: string;
  id: string;
}
const before = (a: Stamp, b: Stamp): boolean => a.t < b.t || (a.t === b.t && a.id < b.id);
const later = (a: Stamp | undefined, b: Stamp | undefined): Stamp | undefined => (a === undefined ? b : b === undefined ? a : before(a, b) ? b : a);

type Stamped = Stamp & { v: unknown };
interface SetState {
  items: Record<string, { a?: Stamp; r?: Stamp }>;
  reset?: Stamp;
}
interface SinceState {
  reset?: Stamp;
  starts: Stamp[];
}

/** The state of one aggregate over one window bucket. */
export type State = number | [number, number] | Stamped | string[] | Record<string, number> | Stamped[] | SetState | SinceState;
/** Windowed aggregates keep one state per bucket (local date or week start). */
export interface Buckets {
  b: Record<string, State>;
}
export type Aggregates = Record<string, State | Buckets>;

/** Adds sums in integer micro-units, so the result does not depend on the order of additions. */
const MICRO = 1_000_000;
const addExact = (a: number, b: number): number => Math.round(a * MICRO + b * MICRO) / MICRO;

/** FNV-1a, 32 bits, as 8 hex digits: a fast, stable hash for the distinct-count sketch (not for security). */
function hash32(v: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < v.length; i++) {
    h ^= v.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
/** Distinct values are stored prefixed with their hash, so sorting the strings sorts by hash. */
const HASHED = 8;
const hashed = (v: string): string => `${hash32(v)}${v}`;

function canonicalValue(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, 128) : JSON.stringify(v).slice(0, 128);
}

/** The longest string a first/last/lastN aggregate keeps (longer ones are cut), and the largest other value. */
export const MAX_VALUE_CHARS = 256;
const MAX_VALUE_JSON = 512;

/** A value as an aggregate keeps it: strings cut to MAX_VALUE_CHARS; a larger object or list is not kept. */
function boundedValue(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_VALUE_CHARS ? v.slice(0, MAX_VALUE_CHARS) : v;
  if (typeof v !== 'object' || v === null) return v;
  return (JSON.stringify(v)?.length ?? 0) <= MAX_VALUE_JSON ? v : undefined;
}

/**
 * What a stamp keeps of a messageId (it only orders events of the same instant): the id itself when
 * short, else a hash of it, so a 200-character id does not weigh on every stamp of a profile.
 */
export function stampId(messageId: string): string {
  return messageId.length <= 40 ? messageId : `#${hash32(messageId)}${hash32(`${messageId}#`)}${hash32(`#${messageId}`)}`;
}

/**
 * Keeps the topk map bounded: past twice the bound it is cut back to the most frequent keys (ties by
 * key). Below the bound counts are exact; above it, as any bounded top-k, they are approximate.
 */
function boundCounts(counts: Record<string, number>, bound: number): Record<string, number> {
  const entries = Object.entries(counts);
  if (entries.length <= 2 * bound) return counts;
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, bound));
}

/** Distinct values as a KMV sketch: the values with the smallest hashes, exact below the bound. */
function mergeDistinct(a: string[], b: string[], bound: number): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (out.length < bound && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    const next = y === undefined || (x !== undefined && x <= y) ? (i++, x) : (j++, y);
    if (x !== undefined && y !== undefined && x === y) j++;
    if (next !== undefined && out[out.length - 1] !== next) out.push(next);
  }
  return out;
}

function boundLastN(list: Stamped[], n: number): Stamped[] {
  const best = new Map<string, Stamped>();
  for (const x of list) {
    const key = canonicalValue(x.v);
    const seen = best.get(key);
    if (seen === undefined || before(seen, x)) best.set(key, x);
  }
  // Newest first; values of one event (a list field) in value order, so any fold order agrees.
  const newest = (a: Stamped, b: Stamped) => (before(a, b) ? 1 : before(b, a) ? -1 : canonicalValue(a.v) < canonicalValue(b.v) ? -1 : 1);
  return [...best.values()].sort(newest).slice(0, n);
}

function boundSet(s: SetState): SetState {
  // Nothing at or before the last reset can matter again: drop those stamps field by field, so the
  // state is canonical whatever the order of folds and merges.
  const fresh = (x: Stamp | undefined) => (x !== undefined && (s.reset === undefined || before(s.reset, x)) ? x : undefined);
  const items: SetState['items'] = {};
  for (const [k, v] of Object.entries(s.items)) {
    const a = fresh(v.a);
    const r = fresh(v.r);
    if (a !== undefined || r !== undefined) setOwn(items, k, { ...(a ? { a } : {}), ...(r ? { r } : {}) });
  }
  const entries = Object.entries(items);
  if (entries.length > LIMITS.set) {
    const latest = (x: { a?: Stamp; r?: Stamp }) => later(x.a, x.r) as Stamp;
    entries.sort((a, b) => (before(latest(a[1]), latest(b[1])) ? 1 : -1));
    return { ...(s.reset ? { reset: s.reset } : {}), items: Object.fromEntries(entries.slice(0, LIMITS.set)) };
  }
  return { ...(s.reset ? { reset: s.reset } : {}), items };
}

function boundSince(s: SinceState): SinceState {
  const starts = s.starts
    .filter((x) => s.reset === undefined || before(s.reset, x))
    .sort((a, b) => (before(a, b) ? -1 : 1))
    .filter((x, i, all) => i === 0 || all[i - 1]!.id !== x.id || all[i - 1]!.t !== x.t)
    .slice(0, LIMITS.since);
  return { ...(s.reset ? { reset: s.reset } : {}), starts };
}

/** Merges two states of one operation (both may be undefined). */
function combine(def: AggregateDefinition, a: State | undefined, b: State | undefined): State | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  switch (def.op) {
    case 'count':
    case 'sum':
      return addExact(a as number, b as number);
    case 'min':
      return Math.min(a as number, b as number);
    case 'max':
      return Math.max(a as number, b as number);
    case 'average': {
      const [s1, n1] = a as [number, number];
      const [s2, n2] = b as [number, number];
      return [addExact(s1, s2), n1 + n2];
    }
    case 'first':
      return before(b as Stamped, a as Stamped) ? b : a;
    case 'last':
      return before(a as Stamped, b as Stamped) ? b : a;
    case 'distinct': {
      const x = a as string[];
      const y = b as string[];
      const bound = distinctBound(def);
      // The common case, one new value: nothing to do if it is known or hashes past a full sketch.
      if (y.length === 1) {
        const v = y[0] as string;
        if ((x.length >= bound && v > (x[x.length - 1] as string)) || x.includes(v)) return x;
      }
      return mergeDistinct(x, y, bound);
    }
    case 'topk': {
      const out = { ...(a as Record<string, number>) };
      for (const [k, n] of Object.entries(b as Record<string, number>)) setOwn(out, k, (own(out, k) ?? 0) + n);
      return boundCounts(out, topkBound(def));
    }
    case 'lastN':
      return boundLastN([...(a as Stamped[]), ...(b as Stamped[])], def.size ?? 10);
    case 'set': {
      const x = a as SetState;
      const y = b as SetState;
      const items: SetState['items'] = { ...x.items };
      for (const [k, v] of Object.entries(y.items)) {
        const mine = own(items, k);
        const added = later(mine?.a, v.a);
        const removed = later(mine?.r, v.r);
        setOwn(items, k, { ...(added ? { a: added } : {}), ...(removed ? { r: removed } : {}) });
      }
      const reset = later(x.reset, y.reset);
      return boundSet({ items, ...(reset ? { reset } : {}) });
    }
    case 'since': {
      const x = a as SinceState;
      const y = b as SinceState;
      const reset = later(x.reset, y.reset);
      return boundSince({ starts: [...x.starts, ...y.starts], ...(reset ? { reset } : {}) });
    }
  }
}

/** The contribution of one event to one aggregate (a state of one event), or undefined. */
function contribution(def: AggregateDefinition, event: CollectedEvent): State | undefined {
  if (def.field === undefined || !def.field.includes('[]')) return contributionOf(def, event, def.field ? valueOf(event, def.field) : undefined);
  // `products[].product_id`: every element counts, as if each came in an event of its own.
  let out: State | undefined;
  for (const value of readEach(event, def.field)) out = combine(def, out, contributionOf(def, event, value));
  return out;
}

/** Reads `a.list[].b`: the `b` of every element of `a.list`. */
function readEach(event: CollectedEvent, field: string): unknown[] {
  const [head, tail] = field.split('[]') as [string, string];
  const list = readPath(event, head);
  if (!Array.isArray(list)) return [];
  return list.map((x) => (tail === '' ? x : readPath(x, tail.slice(1)))).filter((v) => v !== undefined && v !== null && v !== '');
}

function contributionOf(def: AggregateDefinition, event: CollectedEvent, value: unknown): State | undefined {
  const stamp: Stamp = { t: event.timestamp, id: stampId(event.messageId) };
  if (def.op === 'set' || def.op === 'since') {
    if (def.resetOn && selects(def.resetOn, event)) return def.op === 'set' ? { items: {}, reset: stamp } : { starts: [], reset: stamp };
    const key = value;
    if (def.op === 'set' && def.removeOn && selects(def.removeOn, event)) {
      return key === undefined || key === null ? undefined : { items: { [canonicalValue(key)]: { r: stamp } } };
    }
    if (!selects(def.on, event)) return undefined;
    if (def.op === 'since') return { starts: [stamp] };
    return key === undefined || key === null ? undefined : { items: { [canonicalValue(key)]: { a: stamp } } };
  }
  if (!selects(def.on, event)) return undefined;
  if (def.op === 'count') return 1;
  const raw = boundedValue(value);
  if (raw === undefined || raw === null || raw === '') return undefined; // unknown (or too large) field: the aggregate stays as it was
  switch (def.op) {
    case 'sum':
    case 'min':
    case 'max':
      return numeric(raw);
    case 'average': {
      const n = numeric(raw);
      return n === undefined ? undefined : [n, 1];
    }
    case 'first':
    case 'last':
      return { v: raw, ...stamp };
    case 'distinct':
      return [hashed(canonicalValue(raw))];
    case 'topk':
      return { [canonicalValue(raw).toLowerCase()]: 1 };
    case 'lastN':
      return [{ v: raw, ...stamp }];
  }
}

function isBuckets(s: State | Buckets | undefined): s is Buckets {
  return typeof s === 'object' && s !== null && !Array.isArray(s) && 'b' in s && Object.keys(s).length === 1;
}

/** The bucket an event falls in, for a windowed aggregate (computed once per event and kind). */
function bucketOf(def: AggregateDefinition, keys: { day?: string; week?: string; at: Date; timezone: string }): string {
  const w = def.window;
  if (w !== undefined && w !== 'lifetime' && 'calendar' in w && w.calendar === 'week') return (keys.week ??= localWeek(keys.at, keys.timezone));
  return (keys.day ??= localDay(keys.at, keys.timezone));
}

/** Drops buckets that no window can read again, relative to the newest bucket (a function of the state). */
function prune(def: AggregateDefinition, buckets: Record<string, State>): Record<string, State> {
  const w = def.window;
  if (w === undefined || w === 'lifetime') return buckets;
  const keys = Object.keys(buckets).sort();
  const newest = keys[keys.length - 1];
  if (newest === undefined) return buckets;
  const keep =
    'rollingDays' in w ? keys.filter((k) => k > shiftDay(newest, -w.rollingDays)) : keys.slice(-LIMITS.calendarBuckets);
  return Object.fromEntries(keep.map((k) => [k, buckets[k] as State]));
}

function mergeOne(def: AggregateDefinition, a: State | Buckets | undefined, b: State | Buckets | undefined): State | Buckets | undefined {
  if (def.window === undefined || def.window === 'lifetime') return combine(def, a as State | undefined, b as State | undefined);
  if (a === undefined && b === undefined) return undefined;
  const x = isBuckets(a) ? a.b : {};
  const y = isBuckets(b) ? b.b : {};
  const out: Record<string, State> = { ...x };
  for (const [k, v] of Object.entries(y)) out[k] = combine(def, out[k], v) as State;
  return { b: prune(def, out) };
}

/** The time zone an event's calendar buckets use: its `context.timezone`, else the configured default. */
export function eventTimezone(event: CollectedEvent, model: AggregateModel): string {
  const tz = asObject(event.context)?.timezone;
  return typeof tz === 'string' ? resolveTimezone(tz, model.defaultTimezone) : model.defaultTimezone;
}

/** Folds one event into the aggregates (returns a new object). */
/** Adds one event's contribution to a state in place where the operation allows it (the hot path). */
function addInPlace(def: AggregateDefinition, s: State | undefined, c: State): State | undefined {
  if (s !== undefined && def.op === 'topk') {
    const counts = s as Record<string, number>;
    for (const [k, n] of Object.entries(c as Record<string, number>)) setOwn(counts, k, (own(counts, k) ?? 0) + n);
    return boundCounts(counts, topkBound(def));
  }
  return combine(def, s, c);
}

/**
 * Folds one event into the aggregates, updating `state` in place (the caller owns it: the ingest
 * works on its own copy of each profile) and returning it.
 */
export function foldAggregates(model: AggregateModel, state: Aggregates, event: CollectedEvent): Aggregates {
  let keys: Parameters<typeof bucketOf>[1] | undefined;
  for (const def of model.definitions) {
    const c = contribution(def, event);
    if (c === undefined) continue;
    if (def.window === undefined || def.window === 'lifetime') {
      state[def.name] = addInPlace(def, state[def.name] as State | undefined, c) as State;
    } else {
      keys ??= { at: new Date(event.timestamp), timezone: eventTimezone(event, model) };
      const key = bucketOf(def, keys);
      let holder = state[def.name];
      if (!isBuckets(holder)) state[def.name] = holder = { b: {} };
      const existing = holder.b[key];
      holder.b[key] = addInPlace(def, existing, c) as State;
      // Only a new bucket can push an old one out of the window.
      if (existing === undefined) holder.b = prune(def, holder.b);
    }
  }
  return state;
}

/** Merges two profiles' aggregates, each by its own merge function. */
export function mergeAggregates(model: AggregateModel, a: Aggregates, b: Aggregates): Aggregates {
  const out: Aggregates = {};
  for (const def of model.definitions) {
    const merged = mergeOne(def, a[def.name], b[def.name]);
    if (merged !== undefined) out[def.name] = merged;
  }
  // A merged state may share parts with its inputs; folding updates states in place, so copy.
  return structuredClone(out);
}

// ---- Trimming (a profile over its size budget) --------------------------------------------------

const half = (n: number): number => Math.floor(n / 2);

/** Halves one state: the least useful half goes (lowest counts, oldest items, the tail of a long value). */
function halveOne(def: AggregateDefinition, s: State): State | undefined {
  switch (def.op) {
    case 'topk': {
      const entries = Object.entries(s as Record<string, number>);
      if (entries.length <= 1) return undefined;
      entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      return Object.fromEntries(entries.slice(0, half(entries.length)));
    }
    case 'distinct':
      return (s as string[]).length <= 1 ? undefined : (s as string[]).slice(0, half((s as string[]).length));
    case 'lastN':
      return (s as Stamped[]).length <= 1 ? undefined : (s as Stamped[]).slice(0, half((s as Stamped[]).length));
    case 'since': {
      const x = s as SinceState;
      return x.starts.length <= 1 ? undefined : { ...x, starts: x.starts.slice(0, half(x.starts.length)) };
    }
    case 'set': {
      const x = s as SetState;
      const entries = Object.entries(x.items);
      if (entries.length <= 1) return undefined;
      const latest = (i: { a?: Stamp; r?: Stamp }) => later(i.a, i.r) as Stamp;
      entries.sort((a, b) => (before(latest(a[1]), latest(b[1])) ? 1 : -1));
      return { ...(x.reset ? { reset: x.reset } : {}), items: Object.fromEntries(entries.slice(0, half(entries.length))) };
    }
    case 'first':
    case 'last': {
      // Only long text is cut (a time stamp, an id or a name stays whole: cut, it would mean something else).
      const x = s as Stamped;
      const text = typeof x.v === 'string' ? x.v : undefined;
      return text !== undefined && text.length > 64 ? { ...x, v: text.slice(0, Math.max(64, half(text.length))) } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Halves an aggregate's state, for a profile over its size budget: each bucket's state first, then
 * the older half of the buckets. Undefined when there is nothing left to halve. Past this point the
 * aggregate is approximate (as any bounded sketch), which is the price of an item that always fits.
 */
export function halveAggregate(def: AggregateDefinition, s: State | Buckets): State | Buckets | undefined {
  if (!isBuckets(s)) return halveOne(def, s as State);
  let changed = false;
  const b: Record<string, State> = {};
  for (const [k, v] of Object.entries(s.b)) {
    const smaller = halveOne(def, v);
    changed ||= smaller !== undefined;
    b[k] = smaller ?? v;
  }
  if (changed) return { b };
  const keys = Object.keys(s.b).sort();
  if (keys.length <= 1) return undefined;
  return { b: Object.fromEntries(keys.slice(half(keys.length)).map((k) => [k, s.b[k] as State])) };
}

// ---- Reading ---------------------------------------------------------------------------------

const EMPTY: Partial<Record<Operation, unknown>> = { count: 0, sum: 0, distinct: { count: 0, values: [] }, topk: [], lastN: [], set: [] };

function read(def: AggregateDefinition, s: State | undefined): unknown {
  if (s === undefined) return EMPTY[def.op] ?? null;
  switch (def.op) {
    case 'count':
    case 'sum':
    case 'min':
    case 'max':
      return s;
    case 'average': {
      const [sum, n] = s as [number, number];
      return n === 0 ? null : Math.round((sum / n) * 100) / 100;
    }
    case 'first':
    case 'last':
      return (s as Stamped).v;
    case 'distinct': {
      const stored = s as string[];
      const values = stored.map((v) => v.slice(HASHED)).sort();
      const k = distinctBound(def);
      if (stored.length < k) return { count: stored.length, values };
      // KMV estimate from the k-th smallest hash.
      const kth = parseInt((stored[k - 1] as string).slice(0, HASHED), 16) / 0xffffffff;
      return { count: Math.round((k - 1) / kth), values, estimated: true };
    }
    case 'topk':
      return Object.entries(s as Record<string, number>)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, def.size ?? 5)
        .map(([value, count]) => ({ value, count }));
    case 'lastN':
      return (s as Stamped[]).map((x) => x.v);
    case 'set': {
      const { items, reset } = s as SetState;
      return Object.entries(items)
        .filter(([, v]) => v.a !== undefined && (v.r === undefined || before(v.r, v.a)) && (reset === undefined || before(reset, v.a)))
        .sort((a, b) => (before(a[1].a as Stamp, b[1].a as Stamp) ? -1 : 1))
        .map(([k, v]) => ({ item: k, addedAt: (v.a as Stamp).t }));
    }
    case 'since':
      return (s as SinceState).starts[0]?.t ?? null;
  }
}

/**
 * The readable value of every aggregate at `now` in the customer's time zone: calendar windows read
 * today's (this week's) bucket, rolling windows the buckets of the last N days.
 */
export function viewAggregates(state: Aggregates, model: AggregateModel = defaultModel(), now: Date = new Date(), timezone?: string): Record<string, unknown> {
  const tz = timezone !== undefined ? resolveTimezone(timezone, model.defaultTimezone) : model.defaultTimezone;
  const out: Record<string, unknown> = {};
  for (const def of model.definitions) {
    const s = state[def.name];
    const w = def.window;
    if (w === undefined || w === 'lifetime') {
      out[def.name] = read(def, s as State | undefined);
      continue;
    }
    const buckets = isBuckets(s) ? s.b : {};
    if ('calendar' in w) {
      out[def.name] = read(def, buckets[w.calendar === 'week' ? localWeek(now, tz) : localDay(now, tz)]);
    } else {
      const today = localDay(now, tz);
      const from = shiftDay(today, -w.rollingDays);
      const inWindow = Object.entries(buckets).filter(([k]) => k > from && k <= today).map(([, v]) => v);
      out[def.name] = read(def, inWindow.reduce<State | undefined>((acc, v) => combine(def, acc, v), undefined));
    }
  }
  return out;
}

let cached: AggregateModel | undefined;
/** The shipped definitions (config/aggregates.json), validated once. */
export function defaultModel(): AggregateModel {
  return (cached ??= loadAggregates());
}
