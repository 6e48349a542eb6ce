import type { CollectedEvent } from '../events/segment';
import type { NetworkVisit, ProbableLink } from '../identity/probabilistic';
import type { PopularityCounts } from '../identity/popularity';
import type { MatchCard, Profile } from '../profile/profile';

/**
 * Ports: what the domain needs from storage. The DynamoDB adapters implement them for AWS, LocalStack
 * and the embedded stack; the in-memory adapters implement them for unit tests and benchmarks.
 */

/** A conditional write lost a race (another writer changed the item first). Retryable. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/**
 * What the ingest loads of profiles: the profiles (and tombstones), and for each id the merges into
 * it that were begun but whose survivor write has not happened yet (see markPendingMerge). An id
 * may have pending merges without a profile: a new survivor whose first write failed.
 */
export interface LoadedProfiles {
  profiles: Map<string, Profile>;
  pending: Map<string, string[]>;
  /** Each profile's stored document (lib/profile/profile.ts profileDocument), to tell what changed. */
  documents: Map<string, string>;
  /** How many merges were ever marked pending on each item (absent: none); see put's `marked`. */
  marked: Map<string, number>;
}

/** What a profile write carries besides the profile. */
export interface ProfileWrite {
  /** The profile's stored document when the caller has it already, so it is not serialised twice. */
  document?: string;
  /** The pending merges on the item whose state this write carries: they are settled. */
  settled?: string[];
  /**
   * For a tombstone: the item's count of marked merges as loaded. The write is refused if a merge
   * into this profile was marked since (two batches merging two profiles each the other way round
   * would otherwise make them tombstones of each other).
   */
  marked?: number;
}

export interface ProfileStore {
  /** Loads profiles (and tombstones) by id; missing ids are absent from the map. */
  getMany(ids: string[]): Promise<Map<string, Profile>>;
  /** Loads profiles and the merges pending into them, in the same reads. */
  load(ids: string[]): Promise<LoadedProfiles>;
  /**
   * Records, on the survivor's own item, that these profiles are being merged into it: written
   * before their tombstones, and settled only by a write that carries their state (put's `settled`).
   * So a merge whose survivor write fails can always be finished from the survivor, even when nothing
   * else leads to the tombstones any more (their identifiers moved on in the same batch), and no
   * other writer of the survivor (another shard, the nightly scores) can lose it. Each mark counts
   * on the item (see put's `marked`); a mark on a tombstone is refused (ConflictError).
   */
  markPendingMerge(survivorId: string, loserIds: string[]): Promise<void>;
  /** Settles merges pending on an item whose state is not written in the batch (a tombstone's): their state went on further. */
  settlePendingMerge(holderId: string, loserIds: string[]): Promise<void>;
  /** The matcher's small part of each profile (no aggregates): cheap to read for many candidates. */
  getCards(ids: string[]): Promise<Map<string, MatchCard>>;
  /**
   * Writes a profile if its stored version is still `expectedVersion` (0: must not exist, or only as
   * pending merges), and for a tombstone if no merge into it was marked since it was loaded. The
   * item's pending merges are kept, but for those the write settles.
   */
  put(profile: Profile, expectedVersion: number, write?: ProfileWrite): Promise<void>;
  /** Every profile and tombstone, a page at a time (for exports; not on any request path). */
  scan(cursor?: string, pageSize?: number): Promise<{ profiles: Profile[]; cursor?: string }>;
  /** Deletes a profile or tombstone (erasure) if its version is still `expectedVersion`; ConflictError if it changed. A missing item is left missing. */
  remove(profileId: string, expectedVersion: number): Promise<void>;
}

/** An identifier's link: the profile it belongs to, and the profiles it recently moved away from (newest first). */
export interface OwnerLink {
  profileId: string;
  movedFrom?: Array<{ profileId: string; at: string }>;
  /**
   * The identifier was an erased person's, released to this customer (lib/privacy/suppression.ts):
   * messages from before this moment are hers, and never reach anyone through this link.
   */
  heldBefore?: string;
}

export interface IdentityGraphStore {
  /** identifier key (`ns:value`) -> profile id it was linked to. */
  getOwners(keys: string[]): Promise<Map<string, string>>;
  /** The same links, with where each identifier recently moved from (shared devices). */
  links(keys: string[]): Promise<Map<string, OwnerLink>>;
  /**
   * Links an identifier to a profile if it is still linked to exactly `expected` (undefined: unlinked);
   * else ConflictError, even when it is linked to `profileId` already (by another batch at once).
   * `movedFrom`: the link's move history to keep (a device that followed another customer's login).
   */
  putOwner(key: string, profileId: string, expected: string | undefined, movedFrom?: OwnerLink['movedFrom'], heldBefore?: string): Promise<void>;
  /** Records profiles seen on a network (the network index). */
  putVisits(visits: NetworkVisit[]): Promise<void>;
  /** Profiles seen on a network (strongly consistent). */
  visitsOn(network: string, limit: number): Promise<NetworkVisit[]>;
  /** The identifier keys linked to these profiles (an index by owner, eventually consistent): what an erasure sweeps. */
  linkedTo(profileIds: string[]): Promise<string[]>;
  /** Deletes an identifier's link if it still names `profileId` (erasure); whether it did. */
  removeOwner(key: string, profileId: string): Promise<boolean>;
  /** Deletes network index entries (erasure). */
  removeVisits(visits: Array<Pick<NetworkVisit, 'network' | 'profileId'>>): Promise<void>;
}

export interface StoredEvent {
  profileId: string;
  event: CollectedEvent;
}

export interface EventStore {
  /** Which of these messageIds are already stored (and so already applied). */
  existing(messageIds: string[]): Promise<Set<string>>;
  put(events: StoredEvent[]): Promise<void>;
  /** Events of these profiles, oldest first. */
  byProfiles(profileIds: string[], limit: number): Promise<StoredEvent[]>;
  /** Every stored event, a page at a time, in no particular order (the nightly job's snapshot); `cursor` continues where the last page ended. */
  scan(cursor?: string, pageSize?: number): Promise<{ events: StoredEvent[]; cursor?: string }>;
  /** Deletes events by messageId (erasure). */
  remove(messageIds: string[]): Promise<void>;
}

export interface DeadLetter {
  /** Stable id (for example `shardId#sequenceNumber`), so redelivery does not duplicate letters. */
  id: string;
  reason: string;
  source: string;
  /** The original record data (base64 for stream records). */
  data: string;
  at: string;
}

/**
 * A letter as it is written: with the salted hashes of the identifiers it carries
 * (lib/privacy/letters.ts indexedLetter, at most MAX_LETTER_IDENTIFIERS), under which it is found.
 */
export interface IndexedDeadLetter extends DeadLetter {
  identifierHashes: string[];
}

/**
 * Dead letters, each with an index entry per identifier hash it carries (expiring with it), so that
 * a person's letters are found without reading the table: anyone with the write key can fill it.
 */
export interface DeadLetterStore {
  /** Writes letters and their index entries (an entry left by an earlier version of a letter stays until it expires, and finds nothing). */
  put(letters: IndexedDeadLetter[]): Promise<void>;
  list(limit: number): Promise<DeadLetter[]>;
  /**
   * At most `limit` letters that carry one of these identifier hashes, found through the index (a
   * letter once, whatever the number of its hashes among them); never a scan of the table.
   */
  carrying(identifierHashes: string[], limit: number): Promise<DeadLetter[]>;
  /** Removes letters and their index entries. */
  remove(ids: string[]): Promise<void>;
}

/** One offer's statistics on one UTC day. */
export interface OfferStatKey {
  offerId: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
}

/** Counters by `<kind>_<variant>`, for example `clicks_holdout`. */
export type OfferCounts = Record<string, number>;

export interface OfferStatsStore {
  /** Each item's high-water mark for this shard (by `offerId|day`; absent: nothing counted from it yet). */
  marks(keys: OfferStatKey[], shardId: string): Promise<Map<string, string>>;
  /**
   * Adds the counts and moves the shard's mark from `previous` (undefined: none) to `mark`, in one
   * conditional write; ConflictError if the mark is no longer `previous`.
   */
  add(key: OfferStatKey, shardId: string, previous: string | undefined, mark: string, counts: OfferCounts): Promise<void>;
  /** One offer's counters per day, from `from` to `to` (inclusive). */
  range(offerId: string, from: string, to: string): Promise<Array<{ day: string; counts: OfferCounts }>>;
  /**
   * Claims a piece of feedback (lib/ingest/feedback.ts feedbackKey: decision, offer, kind) for one
   * message: true if it is unclaimed or already this message's (a retry), false if another message
   * claimed it (a replay). The claim expires at `expiresAt` (epoch seconds), after its token's window.
   */
  claim(key: string, message: string, expiresAt: number): Promise<boolean>;
  /** Which of these claims exist (strongly consistent: a claim written before this read is seen). */
  claimed(keys: string[]): Promise<Set<string>>;
}

/**
 * What an erasure leaves behind: the ids it erased, so that erasing again sweeps what a batch in flight
 * stored since, and the hashes her dead letters are indexed under, so that erasing again goes on
 * removing letters one call left (lib/privacy/letters.ts MAX_LETTERS_PER_ERASURE).
 */
export interface ErasureRecord {
  /** The profile id the erasure was asked for. */
  profileId: string;
  at: string;
  /** Every profile and tombstone id erased. */
  profileIds: string[];
  /**
   * The letter-index hashes of her identifiers (lib/privacy/letters.ts letterIndexHash: salted, never
   * the identifiers), one per identifier her profiles held. Absent in records written before letters
   * were removed in several calls (those erasures removed all of them).
   */
  letterHashes?: string[];
}

/**
 * One use of the privacy API: who (a key's fingerprint), when, what, and its outcome; never the data
 * itself. Writing an entry with the `id` and `at` of one already kept replaces it.
 */
export interface AuditEntry {
  id: string;
  at: string;
  who: string;
  action: 'export' | 'erase' | 'split' | 'read-audit-log';
  /** The profile id asked for; absent when the request named none in a profile id's shape, or was refused for its key. */
  profileId?: string;
  outcome: Record<string, unknown>;
}

/**
 * The privacy table, apart from the data it describes: suppressed identifiers (salted hashes only),
 * erasure records and the audit log of the privacy API.
 */
export interface PrivacyStore {
  /** Which of these suppression hashes are suppressed, each with when (lib/privacy/suppression.ts: what a suppression holds back depends on it). */
  suppressed(hashes: string[]): Promise<Map<string, string>>;
  suppress(hashes: string[], at: string): Promise<void>;
  erasure(profileId: string): Promise<ErasureRecord | undefined>;
  recordErasure(record: ErasureRecord): Promise<void>;
  audit(entry: AuditEntry): Promise<void>;
  /** One UTC day's audit entries (YYYY-MM-DD), oldest first. */
  auditLog(day: string): Promise<AuditEntry[]>;
}

export interface Stores {
  profiles: ProfileStore;
  graph: IdentityGraphStore;
  events: EventStore;
  deadLetters: DeadLetterStore;
  offerStats: OfferStatsStore;
  privacy: PrivacyStore;
  activations: ActivationStore;
  contacts: ContactStore;
  ledger: ContactLedgerStore;
  /** Product popularity counted at ingest (lib/identity/popularity.ts); absent, nothing is counted and only last night's weights are known. */
  popularity?: ProductPopularityStore;
}

/**
 * Product popularity as the ingest counts it (lib/identity/popularity.ts): one item per processing
 * day and shard, each batch's counts added into its shard's item of the day (counts relative to that
 * day), kept within MAX_COUNTED_PRODUCTS products. A statistic: not exactly-once.
 */
export interface ProductPopularityStore {
  /** Adds a batch's counts into the item of `day` (YYYY-MM-DD) and `shardId`, in one write. */
  add(shardId: string, day: string, counts: PopularityCounts): Promise<void>;
  /** The items of these days, every shard's, added up on the scale of the last day listed (lib/identity/popularity.ts sumDays). */
  read(days: string[]): Promise<PopularityCounts>;
}

/** What became of one trigger occurrence of a campaign for a profile (lib/campaign/instance.ts). */
export type ActivationStatus = 'planned' | 'waiting' | 'sending' | 'sent' | 'held-out' | 'cancelled' | 'failed';

/**
 * One campaign entry: a trigger occurrence for a profile, from planning to its end. Kept under the
 * profile it entered with; `rev` makes every change conditional (one writer wins).
 */
export interface ActivationInstance {
  profileId: string;
  campaignId: string;
  /** The trigger occurrence (a hash of the campaign and the triggering event's id): at most one instance each. */
  occurrence: string;
  triggerMessageId: string;
  group: 'treatment' | 'control';
  status: ActivationStatus;
  reason?: string;
  enteredAt: string;
  /** When it is next looked at (planned: the send; waiting: the timeout). */
  dueAt?: string;
  /** The place whose geofence triggered it (a store visit): the decision reads it as her location. */
  place?: { id: string; kind: string; latitude: number; longitude: number };
  deferrals: number;
  sentAt?: string;
  offerId?: string;
  decisionId?: string;
  /** Whether the send's contact is on the stream (it counts against caps like an in-app impression). */
  contactLogged?: boolean;
  convertedAt?: string;
  /** Changes, oldest first, at most 12. */
  history: Array<{ at: string; status: ActivationStatus; reason?: string }>;
  rev: number;
}

export interface ActivationStore {
  /**
   * Takes the profile's entry to a campaign for an occurrence: granted if she never entered, or only
   * with this occurrence (a retry), or (with `since`) last entered at or before `since`.
   */
  claimEntry(profileId: string, campaignId: string, occurrence: string, at: string, since: string | null): Promise<boolean>;
  /**
   * What these profiles (hers and those merged into it) hold for a campaign: whether one of them has
   * an instance of this occurrence, and their last entries (re-entry across a merge).
   */
  lookup(profileIds: string[], campaignId: string, occurrence: string): Promise<{ entered: boolean; entries: Array<{ profileId: string; occurrence: string; at: string }> }>;
  /** Stores a new instance unless its occurrence has one: false if it has. */
  create(instance: ActivationInstance): Promise<boolean>;
  get(profileId: string, campaignId: string, occurrence: string): Promise<ActivationInstance | undefined>;
  /** Replaces an instance if it is still at `rev` (ConflictError otherwise). */
  update(instance: ActivationInstance, rev: number): Promise<void>;
  ofProfile(profileId: string): Promise<ActivationInstance[]>;
  ofCampaign(campaignId: string): Promise<ActivationInstance[]>;
  /** Planned and waiting instances due at or before `at`, earliest first. */
  due(at: string, limit: number): Promise<ActivationInstance[]>;
  /** Every instance, latest entry first (the local outbox; not for production scale). */
  all(limit: number): Promise<ActivationInstance[]>;
  /** Removes a profile's instances and entries (erasure). */
  removeProfile(profileId: string): Promise<number>;
}

/**
 * Sealed contact addresses (lib/campaign/addresses.ts) by the identifier key they belong to
 * (`email:<salted hash>`, `phone:<salted hash>`): the only place an address is kept, and only sealed.
 */
export interface ContactStore {
  /**
   * Stores sealed addresses, each replacing the one kept under its key (the same identifier is the
   * same address), with its coarse mask (lib/campaign/addresses.ts maskAddress): the only part kept in
   * clear, for the read API to say which address is used without being able to open one.
   */
  put(entries: ContactEntry[]): Promise<void>;
  /** The kept addresses: sealed, the mask (absent for those kept before masks were), and when last sealed (first, for those kept before). */
  get(keys: string[]): Promise<Map<string, { sealed: string; mask?: string; at: string }>>;
  remove(keys: string[]): Promise<void>;
}

/** One sealed address to keep, under its identifier key, with its mask and when it was given. */
export interface ContactEntry {
  key: string;
  sealed: string;
  mask: string;
  at: string;
}

/**
 * One person's contacts on one local day (her profile's time zone), as the contact ledger counts them
 * (lib/decision/contact-ledger.ts): in all, per channel and per offer, and each contact counted (by
 * its id: a hash of the campaign message's or the impression's messageId) with what it counted under
 * and its place in the day's order (`seq`: 1 for the day's first contact counted, never reused), so
 * what was counted before any contact can be told.
 */
export interface LedgerDay {
  total: number;
  channels: Record<string, number>;
  offers: Record<string, number>;
  counted: Record<string, { channel?: string; offerId?: string; seq?: number }>;
  /** The day's span (UTC instants, start inclusive) in the time zone it was opened in: set by its first contact, never moved. */
  window?: LedgerWindow;
}

/** A local day as UTC instants (ISO), start inclusive, end exclusive. */
export interface LedgerWindow {
  start: string;
  end: string;
}

/** One contact to count: its id (the same for every retry of it), and the channel and offer it counts under (if any). */
export interface LedgerContact {
  id: string;
  channel?: string;
  offerId?: string;
}

/** The most each counter may hold before this contact: it is counted only if every counter it adds to is below its limit. */
export interface LedgerLimits {
  total: number;
  channel?: number;
  offer?: number;
}

/** What a reservation did: counted now, found counted already (a retry), or refused, with the day as it stood. */
export type LedgerOutcome = { reserved: true; already: boolean } | { reserved: false; day: LedgerDay };

/**
 * The contact ledger: per person (her live profile id) and local day, what she was contacted with.
 * A campaign send reserves its contact here before delivering, so caps hold however many sends run
 * at once; the ingest counts in-app impressions here as it folds them. Kept in the activations table
 * under her partition (so erasing her campaign entries erases it), each day's item expiring days after.
 */
export interface ContactLedgerStore {
  /** Her day's contacts (all zero for a day with none). */
  read(profileId: string, day: string): Promise<LedgerDay>;
  /** Her days from `first` to `last` (day labels, inclusive) that have an item, in one read. */
  around(profileId: string, first: string, last: string): Promise<Map<string, LedgerDay>>;
  /**
   * Counts the contact in one atomic conditional write, if it is not counted already and every
   * counter it adds to is below its limit; `expiresAt` (epoch seconds) is when the day's item may go;
   * `window` is the day's span, kept from the first contact on.
   */
  reserve(profileId: string, day: string, contact: LedgerContact, limits: LedgerLimits, expiresAt: number, window?: LedgerWindow): Promise<LedgerOutcome>;
  /** Takes a counted contact off again (a delivery refused for good); false if it was not counted. */
  release(profileId: string, day: string, id: string): Promise<boolean>;
}
