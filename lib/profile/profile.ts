import type { CollectedEvent } from '../events/segment';
import type { Identifier } from '../events/identifiers';
import { NAMESPACES, type Namespace } from '../identity/rules';
import { foldAggregates, mergeAggregates, type AggregateModel, type Aggregates } from './aggregates';
import { asObject, own, setOwn } from '../events/json';
import { stampId } from './aggregates';
import { keepRecent, mergeMarks, type ShardMarks } from './marks';
import { localHour, resolveTimezone } from './time';
import { foldConsent, mergeConsent, shippedConsentConfig, type ConsentChange, type ConsentConfig, type ConsentState } from './consent';
import { mergeAttachedAddresses, type AttachedAddresses, type GivenLoggedIn } from './attached-addresses';

/** A value with the (event time, messageId) that set it: last writer by event time wins, in any order. */
export interface Stamped<T = unknown> {
  v: T;
  t: string;
  id: string;
}

export interface NetworkSighting {
  firstSeen: string;
  lastSeen: string;
  /** Days (since the epoch, UTC) the profile was seen there, the most recent MAX_NETWORK_DAYS: a home is come back to. */
  days?: number[];
  /** Hours of the day (local to the event's time zone, else UTC) it was seen there, as a 24-bit mask: a home is used in the evening. */
  hours?: number;
  /** Event time of the sighting written to the network index (a profile is listed once per network). */
  listedAt?: string;
}

/** Signals the probabilistic matcher compares between profiles. */
export interface Signals {
  locale?: Stamped<string>;
  timezone?: Stamped<string>;
  userAgent?: Stamped<string>;
  /** Every device kind (user-agent family) the profile was seen with, sorted: a few at most, since userAgentFamily knows eight. */
  kinds?: string[];
  /** Product categories viewed, with counts (bounded). */
  interests: Record<string, number>;
  /** Products viewed, carted or bought, with the last time (bounded, most recent kept). */
  products?: Record<string, string>;
  /** How often each product was viewed, carted or bought (bounded, the most viewed kept): what a person keeps coming back to, from every device. */
  views?: Record<string, number>;
  /** Networks (public IP) the profile was seen on, with times (bounded, most recent kept). */
  networks: Record<string, NetworkSighting>;
}

export interface MergeEntry {
  /** The profile merged into this one (now a tombstone). */
  from: string;
  at: string;
  /** The identifier whose arrival linked the two. */
  via: string;
}

/**
 * A unified customer profile. `version` is the optimistic-locking counter (0 = never stored); `marks`
 * say which stream records it has folded, per shard, so redelivery is a no-op (lib/profile/marks.ts).
 */
export interface Profile {
  profileId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  identities: Partial<Record<Namespace, string[]>>;
  traits: Record<string, Stamped>;
  aggregates: Aggregates;
  signals: Signals;
  members: string[];
  mergeLog: MergeEntry[];
  marks: ShardMarks;
  /** Keys of the messageIds folded last (lib/profile/marks.ts): producer copies on another shard. */
  recent?: string[];
  /** Segments the profile is in, since when. */
  segments?: Record<string, { enteredAt: string }>;
  /** Entering and leaving segments, oldest first (bounded). */
  segmentHistory?: SegmentChange[];
  /** Scores written by the nightly job (propensity, CLV, tier, cluster), each with its as-of time. */
  batch?: Record<string, BatchAttribute>;
  /**
   * An anonymous profile's person cluster, as of its last evidence: the member whose non-personal
   * context (interests, stage) its decisions may use (lib/identity/links.ts contextOf).
   */
  cluster?: { profileId: string; probability: number; at: string };
  /** The event time (`updatedAt`) of the evidence the cluster context was last derived from. */
  clusterCheckedAt?: string;
  /** Consent per category as last stated, with its time and source (lib/profile/consent.ts). */
  consent?: Record<string, ConsentState>;
  /** Changes of consent, oldest first (bounded). */
  consentHistory?: ConsentChange[];
  /** Profiles split apart from this one (lib/privacy/split.ts): identity resolution never merges them again (bounded). */
  keptApart?: string[];
  /** When each of her e-mail and phone identifiers became hers, and whether while logged in (lib/profile/attached-addresses.ts). */
  addresses?: AttachedAddresses;
  /** When she first gave an e-mail address (phone number) while logged in, hers now or not. */
  addressGivenLoggedIn?: GivenLoggedIn;
  /** Set on a tombstone: the profile this one was merged into. The tombstone keeps its state. */
  mergedInto?: string;
}

export interface SegmentChange {
  segment: string;
  change: 'entered' | 'left';
  at: string;
}

export interface BatchAttribute {
  value: unknown;
  asOf: string;
}

export const MAX_INTERESTS = 30;
export const MAX_NETWORKS = 10;
export const MAX_PRODUCTS = 20;
export const MAX_VIEWS = 20;
/** A view count stops here: a bot's millions say no more than this. */
const MAX_VIEW_COUNT = 1_000_000;
/** Distinct days kept per network sighting. */
export const MAX_NETWORK_DAYS = 14;
export const MAX_TRAITS = 50;
export const MAX_TRAIT_KEY_CHARS = 64;
export const MAX_TRAIT_BYTES = 512;
/** BCP 47 tags are at most 35 characters in practice; a time zone must be an IANA name. */
const MAX_LOCALE_CHARS = 35;
const MAX_TIMEZONE_CHARS = 64;
/** What a merge log entry keeps of the identifier that linked two profiles. */
const MAX_VIA_CHARS = 80;
export const MAX_SEGMENT_HISTORY = 50;
export const MAX_KEPT_APART = 20;

/** Profile ids kept apart, joined: sorted, the first MAX_KEPT_APART kept. */
export const keepApart = (...lists: string[][]): string[] => [...new Set(lists.flat())].sort().slice(0, MAX_KEPT_APART);


function mergeMax(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) setOwn(out, k, Math.max(own(out, k) ?? v, v));
  return out;
}
export const MAX_MERGE_LOG = 100;
/** Traits never stored in clear: they become hashed identifiers instead. */
const PII_TRAITS = new Set(['email', 'phone']);

export function newProfile(profileId: string): Profile {
  return {
    profileId,
    version: 0,
    createdAt: '',
    updatedAt: '',
    identities: {},
    traits: {},
    aggregates: {},
    signals: { interests: {}, networks: {} },
    members: [],
    mergeLog: [],
    marks: {},
  };
}

export const userIdOf = (p: Profile): string | undefined => p.identities.userId?.[0];

/**
 * A profile's stored document: its JSON without the version, which the item keeps beside it (the
 * conditional write tests it). So the ingest can tell whether a profile changed by comparing this
 * text with the one it loaded, and write the same text, serialising the profile once.
 */
export function profileDocument(p: Profile): string {
  const { version: _version, ...document } = p;
  return JSON.stringify(document);
}

/** What the probabilistic matcher reads of a candidate profile: a small part, stored beside the profile. */
export interface MatchCard {
  profileId: string;
  updatedAt: string;
  authenticated: boolean;
  /** How many devices the profile holds (its most anonymousIds or deviceIds): only a single device has one kind. */
  devices?: number;
  signals: Signals;
  mergedInto?: string;
}

export function matchCardOf(p: Profile): MatchCard {
  return {
    profileId: p.profileId,
    updatedAt: p.updatedAt,
    authenticated: userIdOf(p) !== undefined,
    devices: deviceCount(p),
    signals: p.signals,
    ...(p.mergedInto !== undefined ? { mergedInto: p.mergedInto } : {}),
  };
}

export const identityCount = (p: Profile, ns: Namespace): number => p.identities[ns]?.length ?? 0;

/** How many devices a profile holds: its most anonymousIds or deviceIds (an app's device has one of each). */
export const deviceCount = (p: Profile): number => Math.max(identityCount(p, 'anonymousId'), identityCount(p, 'deviceId'));

export function hasIdentifier(p: Profile, id: Identifier): boolean {
  return p.identities[id.ns]?.includes(id.value) ?? false;
}

/** Identities in namespace order with sorted values: the same set always serialises the same way. */
function canonical(identities: Profile['identities']): Profile['identities'] {
  const out: Profile['identities'] = {};
  for (const ns of NAMESPACES) {
    const values = identities[ns];
    if (values !== undefined && values.length > 0) out[ns] = [...new Set(values)].sort();
  }
  return out;
}

export function addIdentifier(p: Profile, id: Identifier): void {
  p.identities = canonical({ ...p.identities, [id.ns]: [...(p.identities[id.ns] ?? []), id.value] });
}

export function removeIdentifier(p: Profile, id: Identifier): void {
  p.identities = canonical({ ...p.identities, [id.ns]: (p.identities[id.ns] ?? []).filter((v) => v !== id.value) });
}

function newer(a: Stamped | undefined, b: Stamped | undefined): Stamped | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.t > a.t || (b.t === a.t && b.id > a.id) ? b : a;
}

const minTime = (a: string, b: string): string => (a === '' ? b : b === '' ? a : a < b ? a : b);
const maxTime = (a: string, b: string): string => (a > b ? a : b);


/** The sorted union of two lists of device kinds (user-agent families: a closed set, so bounded). */
const unionSorted = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])].sort();

/**
 * The device kinds a profile was seen with, as far as they are known: `signals.kinds`; for a profile
 * stored before kinds were kept, a single device's user-agent family; for such a profile merged from
 * several devices, unknown (its latest user agent is one device's).
 */
function kindsSeen(p: Profile): string[] | undefined {
  if (p.signals.kinds !== undefined) return p.signals.kinds;
  if (deviceCount(p) > 1) return undefined;
  return p.signals.userAgent === undefined ? [] : [p.signals.userAgent.v];
}

/**
 * The kinds of a merged profile: both sides', unknown when either side's is. Known even when empty (two
 * profiles merged in the batch that created them, before any of their events is folded): the merged
 * profile then counts the kinds of the events folded next.
 */
function mergedKinds(survivor: Profile, loser: Profile): { kinds?: string[] } {
  const a = kindsSeen(survivor);
  const b = kindsSeen(loser);
  return a === undefined || b === undefined ? {} : { kinds: unionSorted(a, b) };
}

/** A coarse user-agent family (device class and OS): enough to compare devices, nothing identifying. */
export function userAgentFamily(ua: string): string {
  const os = /iPhone/.test(ua)
    ? 'ios-phone'
    : /iPad/.test(ua)
      ? 'ios-tablet'
      : /Android/.test(ua)
        ? /Mobile/.test(ua)
          ? 'android-phone'
          : 'android-tablet'
        : /Windows/.test(ua)
          ? 'windows'
          : /Mac OS X|Macintosh/.test(ua)
            ? 'mac'
            : /Linux/.test(ua)
              ? 'linux'
              : 'other';
  return os;
}

export function boundedTop(counts: Record<string, number>, max: number): Record<string, number> {
  const entries = Object.entries(counts);
  if (entries.length <= max) return counts;
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, max));
}

function boundedNetworks(n: Record<string, NetworkSighting>): Record<string, NetworkSighting> {
  const entries = Object.entries(n);
  if (entries.length <= MAX_NETWORKS) return n;
  entries.sort((a, b) => (a[1].lastSeen < b[1].lastSeen ? 1 : a[1].lastSeen > b[1].lastSeen ? -1 : a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, MAX_NETWORKS));
}

/**
 * The network an event came from (its IP address, hashed by the time it gets here), unless it came
 * over a mobile carrier (carrier NAT is shared by strangers).
 */
export function networkOf(event: CollectedEvent): string | undefined {
  const context = asObject(event.context);
  if (context === undefined) return undefined;
  if (asObject(context.network)?.cellular === true) return undefined;
  const ip = context.ip;
  return typeof ip === 'string' && ip.length > 0 && ip.length <= 80 ? ip : undefined;
}

/** The products an event is about: the product viewed or carted, or the products of an order. */
function productsOf(event: CollectedEvent): string[] {
  if (event.type !== 'track') return [];
  const props = asObject(event.properties);
  const ids = [props?.product_id, ...(Array.isArray(props?.products) ? props.products.map((p) => asObject(p)?.product_id) : [])];
  return ids.filter((id): id is string => typeof id === 'string' && id !== '' && id.length <= 128);
}

function boundedRecent(times: Record<string, string>, max: number): Record<string, string> {
  const entries = Object.entries(times);
  if (entries.length <= max) return times;
  entries.sort((a, b) => (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, max));
}

/** The product category an event shows interest in, if any. */
function interestOf(event: CollectedEvent): string | undefined {
  if (event.type !== 'track' && event.type !== 'page') return undefined;
  const category = asObject((event as { properties?: unknown }).properties)?.category ?? (event.type === 'page' ? event.category : undefined);
  return typeof category === 'string' && category !== '' ? category.toLowerCase().slice(0, 64) : undefined;
}

/** Folds one event into the profile: consent, aggregates, traits (identify), signals, times. Mutates and returns `p`. */
export function foldEvent(p: Profile, event: CollectedEvent, defs: AggregateModel, consent: ConsentConfig = shippedConsentConfig()): Profile {
  const t = event.timestamp;
  const id = stampId(event.messageId);
  const stamp = <T>(v: T): Stamped<T> => ({ v, t, id });
  foldConsent(p, event, consent, id);
  p.createdAt = minTime(p.createdAt, t);
  p.updatedAt = maxTime(p.updatedAt, t);
  p.aggregates = foldAggregates(defs, p.aggregates, event);
  const context = asObject(event.context);
  const traits = { ...asObject(context?.traits), ...(event.type === 'identify' ? asObject(event.traits) : undefined) };
  for (const [k, v] of Object.entries(traits)) {
    if (PII_TRAITS.has(k) || v === undefined) continue;
    // Bounded: at most MAX_TRAITS traits, names up to MAX_TRAIT_KEY_CHARS, values up to MAX_TRAIT_BYTES; others are ignored.
    if (k.length > MAX_TRAIT_KEY_CHARS) continue;
    if (own(p.traits, k) === undefined && Object.keys(p.traits).length >= MAX_TRAITS) continue;
    if ((JSON.stringify(v)?.length ?? 0) > MAX_TRAIT_BYTES) continue;
    setOwn(p.traits, k, newer(own(p.traits, k), stamp(v)) as Stamped);
  }
  const s = p.signals;
  const locale = context?.locale;
  if (typeof locale === 'string' && locale !== '' && locale.length <= MAX_LOCALE_CHARS) s.locale = newer(s.locale, stamp(locale)) as Stamped<string>;
  const timezone = context?.timezone;
  if (typeof timezone === 'string' && timezone.length <= MAX_TIMEZONE_CHARS && resolveTimezone(timezone, '') !== '') {
    s.timezone = newer(s.timezone, stamp(timezone)) as Stamped<string>;
  }
  if (typeof context?.userAgent === 'string') {
    const known = kindsSeen(p);
    const family = userAgentFamily(context.userAgent);
    s.userAgent = newer(s.userAgent, stamp(family)) as Stamped<string>;
    if (known !== undefined) s.kinds = unionSorted(known, [family]);
  }
  const interest = interestOf(event);
  if (interest !== undefined) s.interests = boundedTop({ ...s.interests, [interest]: (own(s.interests, interest) ?? 0) + 1 }, MAX_INTERESTS);
  const products = productsOf(event);
  if (products.length > 0) {
    const next = { ...s.products };
    for (const id of products) setOwn(next, id, maxTime(own(next, id) ?? '', t));
    s.products = boundedRecent(next, MAX_PRODUCTS);
    const views = { ...s.views };
    for (const id of products) setOwn(views, id, Math.min(MAX_VIEW_COUNT, (own(views, id) ?? 0) + 1));
    s.views = boundedTop(views, MAX_VIEWS);
  }
  const network = networkOf(event);
  if (network !== undefined) {
    const seen = own(s.networks, network);
    const at = Date.parse(t);
    s.networks = boundedNetworks({
      ...s.networks,
      [network]: {
        ...seen,
        firstSeen: minTime(seen?.firstSeen ?? '', t),
        lastSeen: maxTime(seen?.lastSeen ?? '', t),
        ...(Number.isFinite(at) ? { days: recentDays(seen?.days ?? [], [Math.floor(at / 86_400_000)]), hours: (seen?.hours ?? 0) | (1 << hourAt(at, context?.timezone)) } : {}),
      },
    });
  }
  return p;
}

const unlisted = ({ listedAt: _listed, ...sighting }: NetworkSighting): NetworkSighting => sighting;

/** The most recent MAX_NETWORK_DAYS distinct days of both lists, ascending (the same whatever order they came in). */
function recentDays(a: number[], b: number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y).slice(-MAX_NETWORK_DAYS);
}

/** The hour of the day at `at` in the event's own time zone (UTC when it names none or an unknown one). */
const hourAt = (at: number, timezone: unknown): number =>
  localHour(new Date(at), typeof timezone === 'string' && timezone.length <= MAX_TIMEZONE_CHARS ? resolveTimezone(timezone, 'UTC') : 'UTC');

/**
 * Merges `loser` into `survivor`: every aggregate by its own merge, identities and members unioned,
 * traits and signals by event time, processing marks by union. Returns the survivor's new state.
 */
export function mergeProfiles(survivor: Profile, loser: Profile, defs: AggregateModel, via: string, at: string): Profile {
  const identities: Profile['identities'] = { ...survivor.identities };
  for (const [ns, values] of Object.entries(loser.identities) as Array<[Namespace, string[]]>) {
    identities[ns] = [...(identities[ns] ?? []), ...values];
  }
  const traits: Profile['traits'] = { ...survivor.traits };
  for (const [k, v] of Object.entries(loser.traits)) setOwn(traits, k, newer(own(traits, k), v) as Stamped);
  const interests = { ...survivor.signals.interests };
  for (const [k, v] of Object.entries(loser.signals.interests)) setOwn(interests, k, (own(interests, k) ?? 0) + v);
  const products = { ...survivor.signals.products };
  for (const [k, v] of Object.entries(loser.signals.products ?? {})) setOwn(products, k, maxTime(own(products, k) ?? '', v));
  const views = { ...survivor.signals.views };
  for (const [k, v] of Object.entries(loser.signals.views ?? {})) setOwn(views, k, Math.min(MAX_VIEW_COUNT, (own(views, k) ?? 0) + v));
  const networks = { ...survivor.signals.networks };
  for (const [k, v] of Object.entries(loser.signals.networks)) {
    const mine = own(networks, k);
    // A network only the loser was seen on is listed again under the survivor (its own entry, not a chain through the tombstone).
    setOwn(networks, k, mine
      ? {
          firstSeen: minTime(mine.firstSeen, v.firstSeen),
          lastSeen: maxTime(mine.lastSeen, v.lastSeen),
          ...(mine.days || v.days ? { days: recentDays(mine.days ?? [], v.days ?? []) } : {}),
          ...(mine.hours || v.hours ? { hours: (mine.hours ?? 0) | (v.hours ?? 0) } : {}),
          ...(mine.listedAt !== undefined ? { listedAt: mine.listedAt } : {}),
        }
      : unlisted(v));
  }
  const mergeLog = [...survivor.mergeLog, ...loser.mergeLog, { from: loser.profileId, at, via: via.slice(0, MAX_VIA_CHARS) }]
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.from < b.from ? -1 : 1))
    .slice(-MAX_MERGE_LOG);
  return {
    ...survivor,
    createdAt: minTime(survivor.createdAt, loser.createdAt),
    updatedAt: maxTime(survivor.updatedAt, loser.updatedAt),
    identities: canonical(identities),
    traits,
    aggregates: mergeAggregates(defs, survivor.aggregates, loser.aggregates),
    signals: {
      locale: newer(survivor.signals.locale, loser.signals.locale) as Stamped<string> | undefined,
      timezone: newer(survivor.signals.timezone, loser.signals.timezone) as Stamped<string> | undefined,
      userAgent: newer(survivor.signals.userAgent, loser.signals.userAgent) as Stamped<string> | undefined,
      ...mergedKinds(survivor, loser),
      interests: boundedTop(interests, MAX_INTERESTS),
      ...(Object.keys(products).length > 0 ? { products: boundedRecent(products, MAX_PRODUCTS) } : {}),
      ...(Object.keys(views).length > 0 ? { views: boundedTop(views, MAX_VIEWS) } : {}),
      networks: boundedNetworks(networks),
    },
    members: [...new Set([...survivor.members, ...loser.members, loser.profileId])].sort(),
    mergeLog,
    marks: mergeMarks(survivor.marks ?? {}, loser.marks ?? {}),
    ...(survivor.recent || loser.recent ? { recent: keepRecent([...(loser.recent ?? []), ...(survivor.recent ?? [])]) } : {}),
    ...mergeSegments(survivor, loser),
    ...(survivor.batch || loser.batch ? { batch: mergeBatch(survivor.batch ?? {}, loser.batch ?? {}) } : {}),
    ...mergeConsent(survivor, loser),
    ...(survivor.keptApart || loser.keptApart ? { keptApart: keepApart(survivor.keptApart ?? [], loser.keptApart ?? []) } : {}),
    ...mergeAttachedAddresses(survivor, loser),
  };
}

function mergeSegments(a: Profile, b: Profile): Pick<Profile, 'segments' | 'segmentHistory'> {
  const out: Pick<Profile, 'segments' | 'segmentHistory'> = {};
  if (a.segments || b.segments) {
    const segments = { ...a.segments };
    for (const [k, v] of Object.entries(b.segments ?? {})) {
      const mine = segments[k];
      segments[k] = mine === undefined || v.enteredAt < mine.enteredAt ? v : mine;
    }
    out.segments = segments;
  }
  if (a.segmentHistory || b.segmentHistory) out.segmentHistory = boundHistory([...(a.segmentHistory ?? []), ...(b.segmentHistory ?? [])]);
  return out;
}

export function boundHistory(history: SegmentChange[]): SegmentChange[] {
  const key = (h: SegmentChange) => `${h.at}|${h.segment}|${h.change}`;
  const unique = new Map(history.map((h) => [key(h), h]));
  return [...unique.values()].sort((x, y) => (key(x) < key(y) ? -1 : 1)).slice(-MAX_SEGMENT_HISTORY);
}

/** Batch attributes merge by keeping the newer value of each (by its as-of time). */
export function mergeBatch(a: Record<string, BatchAttribute>, b: Record<string, BatchAttribute>): Record<string, BatchAttribute> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const mine = own(out, k);
    if (mine === undefined || v.asOf > mine.asOf) setOwn(out, k, v);
  }
  return out;
}

/** Writes the nightly job's attributes (propensity, CLV, tier, cluster) beside the live aggregates. */
export function applyBatchAttributes(p: Profile, attributes: Record<string, BatchAttribute>): Profile {
  p.batch = mergeBatch(p.batch ?? {}, attributes);
  return p;
}

/**
 * Which of two profiles survives a merge: the one with a userId, else the older (first event), else
 * the smaller id. Deterministic, so replays choose the same survivor.
 */
export function chooseSurvivor(a: Profile, b: Profile): [survivor: Profile, loser: Profile] {
  const au = userIdOf(a) !== undefined;
  const bu = userIdOf(b) !== undefined;
  if (au !== bu) return au ? [a, b] : [b, a];
  const ac = a.createdAt === '' ? '\uffff' : a.createdAt;
  const bc = b.createdAt === '' ? '\uffff' : b.createdAt;
  if (ac !== bc) return ac < bc ? [a, b] : [b, a];
  return a.profileId < b.profileId ? [a, b] : [b, a];
}

/** The readable view of a profile for the API. */
export function viewTraits(p: Profile): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p.traits).map(([k, v]) => [k, v.v]));
}
