import { asObject, own } from '../events/json';
import { extractIdentifiers, identifierKey, type Identifier } from '../events/identifiers';
import { REDACTED_WITH, redactionSeal, redactPersonalData, redactRecordData } from '../events/personal';
import { MAX_MESSAGE_BYTES, MAX_STREAM_RECORD_BYTES, parseCollectedEvent, ValidationError, type CollectedEvent } from '../events/segment';
import { Neighbourhood, PublicNetworks } from '../identity/links';
import { clusterCheckedLately, listVisits, matchSignature, refreshClusterContext } from '../identity/matching';
import type { NetworkVisit } from '../identity/probabilistic';
import { countSightings } from '../identity/popularity';
import type { IdentityWeights } from '../identity/weights';
import { BatchResolution, deriveProfileId, type ResolutionCounters } from '../identity/resolver';
import { updateSegments } from '../profile/facts';
import { advanceMark, compareSeq, keepRecent, MARK_RETENTION_MS, messageKey, RedeliveryIndex } from '../profile/marks';
import { foldEvent, matchCardOf, profileDocument, type Profile } from '../profile/profile';
import { suppressionHash, suppressionsAmong } from '../privacy/holdings';
import { indexedLetter } from '../privacy/letters';
import { messageMoment, suppressionVerdict, withoutIdentifiers } from '../privacy/suppression';
import { fitBudget, PROFILE_BUDGET_BYTES } from '../profile/size';
import { attachAddresses, keepHeldAddresses } from '../profile/attached-addresses';
import { MAX_MERGE_HOPS } from '../profile/read';
import type { IndexedDeadLetter, OwnerLink, StoredEvent, Stores } from '../store/ports';
import type { EngineConfig } from './config';
import { claimant, claimFeedback, countableFeedback, countFeedback, feedbackKey, honestFeedback, type Feedback, type FeedbackRecord } from './feedback';
import { tokenKey } from '../decision/token';
import { changesOf, type ChangeBus } from './changes';
import { countContacts, mergeLedgers } from './contacts';

/** A stream record as the domain sees it (no Lambda types here). */
export interface StreamRecord {
  shardId: string;
  sequenceNumber: string;
  /** Base64 of the JSON event, as Kinesis delivers it. */
  data: string;
}

export interface IngestConfig extends EngineConfig {
  /** Salt for hashing e-mail and phone identifiers. */
  salt: string;
  /** How many profile groups are written at once. */
  concurrency?: number;
  now?: () => Date;
  /** Last night's product popularity, for the cluster context (lib/identity/weights.ts); none before the first night. */
  identityWeights?: IdentityWeights;
}

export interface IngestStats extends ResolutionCounters {
  records: number;
  deadLettered: number;
  duplicates: number;
  folded: number;
  profilesWritten: number;
  /** Profiles over their size budget that had their least useful state trimmed (hostile input). */
  profilesTrimmed: number;
  groupsFailed: number;
  /** Anonymous profiles whose cluster context was derived again (their evidence changed). */
  clusterContexts: number;
  /** Anonymous profiles whose cluster context was kept as it was: a read failed, or the batch's read budget was spent. */
  clusterContextsSkipped: number;
  /** Conditional updates of offer statistics. */
  offerStatUpdates: number;
  /** Feedback events not counted: no valid decision token, one for another offer, sender or time, or a replay. */
  feedbackRefused: number;
  /** Records carrying an identifier erased at the person's request: dead-lettered without their data. */
  erased: number;
  /** Records of someone else kept without an identifier of an erased person that they named (lib/privacy/suppression.ts). */
  withoutErased: number;
  /** Profile changes published for campaigns (lib/ingest/changes.ts). */
  changesAnnounced: number;
  /** Batches whose product popularity could not be counted (a statistic: nothing else failed; lib/identity/popularity.ts). */
  popularityNotCounted: number;
}

export interface IngestResult {
  /** Sequence numbers to report as `batchItemFailures` (the first record of each failed profile group). */
  failedSequenceNumbers: string[];
  stats: IngestStats;
  /** Errors behind failed groups, for logging. */
  errors: Error[];
  /** Errors that failed nothing (a statistic not counted), for logging. */
  warnings: Error[];
}

interface ParsedRecord {
  record: StreamRecord;
  event: CollectedEvent;
  ids: Identifier[];
}

/** The records of one batch that end in one profile, with what is written for them. */
interface Group {
  root: string;
  records: ParsedRecord[];
  /** The first record whose effect this group carries: a failed write is retried from it. */
  firstSeq: string;
  /** Events to store for the journey (new messageIds). */
  fresh: StoredEvent[];
  /** Feedback on offers these records carry (offer statistics). */
  feedback: FeedbackRecord[];
  /** The profile's matching signature, networks and products before this batch, to tell what changed (lib/identity/matching.ts, lib/identity/popularity.ts). */
  before: { signature: string; networks: Profile['signals']['networks']; products: Record<string, string> };
  /** Its segments before and after this batch's fold, and the profiles merged into it (campaign triggers). */
  segments?: { before: string[]; after: string[] };
  members?: string[];
}

/** One record made something throw while it was resolved or folded: it is dead-lettered, the batch goes on. */
class RecordFailure extends Error {
  constructor(
    readonly record: ParsedRecord,
    override readonly cause: unknown,
  ) {
    super(`record ${record.record.sequenceNumber}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

const minSeq = (a: string, b: string): string => (a === '' ? b : b === '' ? a : compareSeq(a, b) > 0 ? b : a);

async function inChunks<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await allDone(items.slice(i, i + size).map(fn));
}

/**
 * Waits for every call to finish, then throws the first failure: a batch never returns with a write
 * still in flight, which would land during its own retry (a frozen Lambda's requests can still).
 */
async function allDone(calls: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(calls)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** One batch in flight: its records, what failed, and the figures it reports. */
class BatchRun {
  readonly records: StreamRecord[];
  readonly stats: IngestStats;
  readonly failed = new Set<string>();
  readonly errors: Error[] = [];
  readonly warnings: Error[] = [];
  readonly letters: IndexedDeadLetter[] = [];
  /** Identifiers of an erased person this batch releases to another customer, with the erasure's time (lib/privacy/suppression.ts). */
  readonly released = new Map<string, string>();
  readonly now: () => Date;
  private readonly config: IngestConfig;
  /** Per shard, the first record of this batch: every record before it is done (the mapping's contract). */
  readonly firstOf = new Map<string, string>();

  constructor(input: StreamRecord[], config: IngestConfig) {
    this.config = config;
    this.now = config.now ?? (() => new Date());
    this.records = [...input].sort((a, b) => compareSeq(a.sequenceNumber, b.sequenceNumber));
    for (const r of this.records) if (!this.firstOf.has(r.shardId)) this.firstOf.set(r.shardId, r.sequenceNumber);
    this.stats = {
      records: input.length,
      deadLettered: 0,
      duplicates: 0,
      folded: 0,
      profilesWritten: 0,
      profilesTrimmed: 0,
      groupsFailed: 0,
      clusterContexts: 0,
      clusterContextsSkipped: 0,
      offerStatUpdates: 0,
      feedbackRefused: 0,
      erased: 0,
      withoutErased: 0,
      changesAnnounced: 0,
      popularityNotCounted: 0,
      merges: 0,
      limitReached: 0,
      conflicts: 0,
      moves: 0,
    };
  }

  /**
   * Dead-letters a record with its reason; the letter keeps the record without its personal data (or,
   * `withoutData`, nothing of it), indexed under the hashes of the identifiers it still carries (lib/privacy/letters.ts).
   */
  deadLetter(record: StreamRecord, reason: string, withoutData = false): void {
    const data = withoutData ? '' : redactRecordData(record.data, this.config.events.personalData, this.config.salt);
    this.letters.push(indexedLetter({ id: `${record.shardId}#${record.sequenceNumber}`, reason, source: 'ingest', data, at: this.now().toISOString() }, this.config.salt));
  }

  result(): IngestResult {
    return { failedSequenceNumbers: [...this.failed], stats: this.stats, errors: this.errors, warnings: this.warnings };
  }
}

/**
 * Ingests one Kinesis batch (one shard, in sequence order): validate, resolve identities for all
 * records, group them by resulting profile, fold each group, and write each touched profile once
 * (conditional on its version). Exactly-once effect under redelivery and retries: a record a loaded
 * profile's marks say was folded (lib/profile/marks.ts), or whose messageId is already stored, is not
 * folded again. Nothing one record carries fails the batch: a bad record, or one that makes resolution
 * or folding throw, goes to the dead-letter store with its reason. A failed write reports the first
 * record of that profile's group so the stream retries from there, losing and reordering nothing.
 */
export async function ingestBatch(input: StreamRecord[], stores: Stores, config: IngestConfig, ports: { changes?: ChangeBus } = {}): Promise<IngestResult> {
  const run = new BatchRun(input, config);
  const parsed = decodeRecords(run, config);
  if (parsed.length === 0) {
    await writeDeadLetters(run, stores);
    return run.result();
  }
  const loaded = await loadState(parsed, stores, run.now());
  const accepted = await withoutErased(run, parsed, loaded, stores, config);
  const { resolution, groups } = resolveAndFold(run, accepted, loaded, config);
  // Product popularity is counted while the batch goes on; the batch waits for it before it returns.
  const counting = countPopularity(run, groups, resolution, stores);
  try {
    await writeDeadLetters(run, stores);
    if (await indexNetworks(run, groups, resolution, stores, config)) {
      const written = await writeGroups(run, groups, resolution, loaded, stores, config);
      const counted = await countOfferFeedback(run, groups, await countLedgerContacts(run, written, stores, config), stores);
      const complete = await announceChanges(run, counted, ports.changes);
      await storeEvents(run, complete, stores);
    }
  } finally {
    await counting;
  }
  return run.result();
}

// ---- 1. Decode: bad records are dead-lettered and never block the shard ------------------------

/** The record's event, validated, its time trusted within limits and its personal data redacted. */
function decode(record: StreamRecord, config: IngestConfig): { event?: CollectedEvent; reason?: string } {
  const bytes = Buffer.from(record.data, 'base64');
  if (bytes.length > MAX_STREAM_RECORD_BYTES) return { reason: `record is ${bytes.length} bytes; the limit is ${MAX_STREAM_RECORD_BYTES} bytes (a message within the collector's ${MAX_MESSAGE_BYTES})` };
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { reason: 'invalid JSON' };
  }
  try {
    const event = parseCollectedEvent(json, config.events, config.now?.() ?? new Date());
    // The collector's records were redacted under this policy already (they carry its seal); anything else is redacted here.
    if ((event as Record<string, unknown>)[REDACTED_WITH] === redactionSeal(event.messageId, config.events.personalData, config.salt, config.rules)) return { event };
    return { event: redactPersonalData(event, config.events.personalData, config.salt, { trustHashed: true, identity: config.rules }) };
  } catch (e) {
    return { reason: e instanceof ValidationError ? `schema violation: ${e.message}` : `could not be read: ${String(e)}` };
  }
}

function decodeRecords(run: BatchRun, config: IngestConfig): ParsedRecord[] {
  const parsed: ParsedRecord[] = [];
  for (const record of run.records) {
    const { event, reason } = decode(record, config);
    let ids: Identifier[] = [];
    try {
      if (event !== undefined) ids = extractIdentifiers(event, config.rules, config.salt);
    } catch (e) {
      run.deadLetter(record, `identifiers could not be read: ${(e as Error).message}`);
      continue;
    }
    if (event === undefined || ids.length === 0) {
      run.deadLetter(record, reason ?? 'no usable identity: every identifier is empty or a junk value');
    } else parsed.push({ record, event, ids });
  }
  return parsed;
}

/** Writes the batch's dead letters; if that fails, their records are reported failed, so they come back. */
async function writeDeadLetters(run: BatchRun, stores: Stores): Promise<void> {
  if (run.letters.length === 0) return;
  try {
    await stores.deadLetters.put(run.letters);
    run.stats.deadLettered = run.letters.length;
  } catch (e) {
    run.errors.push(e as Error);
    for (const l of run.letters) run.failed.add(l.id.slice(l.id.indexOf('#') + 1));
  }
}

// ---- 2. Load what the batch refers to ----------------------------------------------------------

interface LoadedState {
  owners: Map<string, string>;
  /** The identifiers' links, with where each recently moved from. */
  links: Map<string, OwnerLink>;
  /** The profiles each identifier moved away from in the last days (what the redelivery check and the resolution need). */
  movedFrom: Map<string, string[]>;
  /** Profiles and tombstones by id (tombstones followed to their survivors). */
  profiles: Map<string, Profile>;
  /** Merges begun into a survivor whose write has not happened yet, by survivor id. */
  pending: Map<string, string[]>;
  /** Each loaded profile's stored document: a profile is written only if its document changed. */
  documents: Map<string, string>;
  /** How many merges each loaded item had marked pending into it (a tombstone write checks it). */
  marked: Map<string, number>;
  /** Every identifier the batch's records carry. */
  keys: string[];
  /** messageIds already stored (and so applied): producer retries. */
  stored: Set<string>;
}


/**
 * Loads what the batch refers to: each identifier's link, the profile it leads to and the chain of
 * tombstones after it; the tombstones of merges pending into a loaded profile (a merge whose survivor
 * write failed); and, for the redelivery check only, the profiles an identifier moved away from in
 * the last days (a record they folded may come back resolving elsewhere).
 */
async function loadState(parsed: ParsedRecord[], stores: Stores, now: Date): Promise<LoadedState> {
  const keys = [...new Set(parsed.flatMap((p) => p.ids.map(identifierKey)))];
  const [links, stored] = await Promise.all([stores.graph.links(keys), stores.events.existing([...new Set(parsed.map((p) => p.event.messageId))])]);
  const owners = new Map([...links].map(([k, l]) => [k, l.profileId]));
  const movedFrom = new Map(
    [...links]
      .map(([k, l]): [string, string[]] => [k, (l.movedFrom ?? []).filter((m) => now.getTime() - Date.parse(m.at) <= MARK_RETENTION_MS).map((m) => m.profileId)])
      .filter(([, from]) => from.length > 0),
  );
  const recentlyMoved = [...movedFrom.values()].flat();
  const profiles = new Map<string, Profile>();
  const pending = new Map<string, string[]>();
  const documents = new Map<string, string>();
  const marked = new Map<string, number>();
  const asked = new Set<string>();
  let wanted = [...new Set([...owners.values(), ...derivedIdsToLoad(parsed, owners), ...recentlyMoved])];
  for (let hop = 0; wanted.length > 0 && hop < MAX_MERGE_HOPS; hop++) {
    for (const id of wanted) asked.add(id);
    const loaded = await stores.profiles.load(wanted);
    for (const [id, p] of loaded.profiles) profiles.set(id, p);
    for (const [id, losers] of loaded.pending) pending.set(id, losers);
    for (const [id, document] of loaded.documents) documents.set(id, document);
    for (const [id, count] of loaded.marked) marked.set(id, count);
    const next = [...loaded.profiles.values()].map((p) => p.mergedInto).filter((id): id is string => id !== undefined);
    wanted = [...new Set([...next, ...[...loaded.pending.values()].flat()])].filter((id) => !asked.has(id));
  }
  return { owners, links, movedFrom, profiles, pending, documents, marked, stored, keys };
}

/**
 * The records as they may be applied, without what belongs to a person erased at her request
 * (lib/privacy/erase.ts): the rule is lib/privacy/suppression.ts's. A record carrying her userId, or
 * nothing but her identifiers, is dead-lettered keeping nothing of it; a record of someone else that
 * names one of her identifiers keeps its other identifiers (or, received after the erasure with that
 * customer's userId, takes the identifier over: its link then says which messages stay hers,
 * `heldBefore`). An erased identifier has no link, so only unlinked identifiers are looked up: a
 * returning visitor costs nothing more.
 */
async function withoutErased(run: BatchRun, parsed: ParsedRecord[], loaded: LoadedState, stores: Stores, config: IngestConfig): Promise<ParsedRecord[]> {
  const suppressedAt = await suppressionsAmong(stores.privacy, config.salt)(loaded.keys.filter((k) => !loaded.owners.has(k)));
  // A link to a profile that is gone may be one a batch wrote while she was being erased (its own
  // profile write then failed): its identifier is suppressed like hers, as of her erasure (first, so a
  // crash cannot lose it), and the link removed.
  const gone = [...new Set(loaded.owners.values())].filter((id) => !loaded.profiles.has(id) && !loaded.pending.has(id));
  for (const id of gone) {
    const erasure = await stores.privacy.erasure(id);
    if (erasure === undefined) continue;
    for (const [key, owner] of loaded.owners) {
      if (owner !== id) continue;
      await stores.privacy.suppress([suppressionHash(key, config.salt)], erasure.at);
      await stores.graph.removeOwner(key, id);
      suppressedAt.set(key, erasure.at);
      loaded.owners.delete(key);
      loaded.links.delete(key);
    }
  }
  const held = [...loaded.links].filter(([, l]) => l.heldBefore !== undefined);
  if (suppressedAt.size === 0 && held.length === 0) return parsed;
  const kept: ParsedRecord[] = [];
  for (const p of parsed) {
    const moment = messageMoment(p.event);
    // A released identifier's messages from before the erasure are still hers (a replay).
    const hers = new Map([...suppressedAt, ...held.filter(([, l]) => !(moment > Date.parse(l.heldBefore as string))).map(([k, l]): [string, string] => [k, l.heldBefore as string])]);
    const verdict = suppressionVerdict(p.ids, hers, moment);
    for (const key of verdict.release) run.released.set(key, hers.get(key) as string);
    if (verdict.drop) {
      run.deadLetter(p.record, 'erased: it carries an identifier of a person erased at her request (suppressed)', true);
      run.stats.erased += 1;
    } else if (verdict.strip.length > 0) {
      const strip = new Set(verdict.strip);
      kept.push({ ...p, event: withoutIdentifiers(p.event, strip, config.rules, config.salt), ids: p.ids.filter((id) => !strip.has(identifierKey(id))) });
      run.stats.withoutErased += 1;
    } else kept.push(p);
  }
  return kept;
}

/**
 * The profiles identifiers would have made, where the resolver may need them: an unlinked
 * identifier's (its profile's write may have landed when its link's did not, and it is adopted), and
 * every identifier's of a record that carries a userId (a profile listing her userId whose link was
 * lost is found so).
 */
function derivedIdsToLoad(parsed: ParsedRecord[], owners: Map<string, string>): string[] {
  const keys = parsed.flatMap((p) => {
    const all = p.ids.map(identifierKey);
    return p.ids.some((i) => i.ns === 'userId') ? all : all.filter((k) => !owners.has(k));
  });
  return [...new Set(keys)].map(deriveProfileId);
}

// ---- 3–5. Resolve, group and fold, in memory ---------------------------------------------------

/**
 * Resolves identities record by record, groups records by their final profile and folds each group.
 * If one record makes anything throw, it is dead-lettered and the three steps run again from the
 * loaded state without it (the loaded profiles are never mutated), so no half-folded state remains.
 */
function resolveAndFold(run: BatchRun, parsed: ParsedRecord[], loaded: LoadedState, config: IngestConfig) {
  let records = parsed;
  for (;;) {
    try {
      const resolution = new BatchResolution(config.rules, config.aggregates, loaded.owners, loaded.profiles, loaded.pending, loaded.movedFrom, loaded.keys);
      const groups = groupRecords(run, records, resolveRecords(records, resolution), resolution, config);
      const counters = foldGroups(run, groups, resolution, loaded, config);
      Object.assign(run.stats, resolution.counters, counters);
      return { resolution, groups };
    } catch (e) {
      if (!(e instanceof RecordFailure)) throw e;
      run.deadLetter(e.record.record, `could not be applied: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}`);
      records = records.filter((r) => r !== e.record);
    }
  }
}

function resolveRecords(records: ParsedRecord[], resolution: BatchResolution): string[] {
  return records.map((p) => {
    try {
      return resolution.resolve(p.ids, p.event.timestamp, p.record.sequenceNumber);
    } catch (e) {
      throw new RecordFailure(p, e);
    }
  });
}

function groupRecords(run: BatchRun, records: ParsedRecord[], targets: string[], resolution: BatchResolution, config: IngestConfig): Map<string, Group> {
  const groups = new Map<string, Group>();
  const group = (root: string): Group => {
    let g = groups.get(root);
    if (g === undefined) {
      const p = resolution.profile(root);
      groups.set(root, (g = { root, records: [], firstSeq: '', fresh: [], feedback: [], before: { signature: matchSignature(p, config.rules), networks: { ...p.signals.networks }, products: { ...p.signals.products } } }));
    }
    return g;
  };
  records.forEach((p, i) => {
    const g = group(resolution.root(targets[i] as string));
    g.records.push(p);
    g.firstSeq = minSeq(g.firstSeq, p.record.sequenceNumber);
  });
  for (const [id, by] of resolution.touchedBy) {
    const g = group(resolution.root(id));
    if (by !== '') g.firstSeq = minSeq(g.firstSeq, by);
  }
  const firstRecord = run.records[0]?.sequenceNumber ?? '';
  for (const g of groups.values()) if (g.firstSeq === '') g.firstSeq = firstRecord;
  return groups;
}

/**
 * Folds each group's records in sequence order. A record is skipped when its messageId was seen
 * (producer retry: in this batch, stored, or among a loaded profile's last folded messages) or a loaded
 * profile's marks say it was folded (redelivery); the engine's own events go to the journey only.
 * Each profile's marks then record what it folded.
 */
function foldGroups(run: BatchRun, groups: Map<string, Group>, resolution: BatchResolution, loaded: LoadedState, config: IngestConfig) {
  const counters = { duplicates: 0, folded: 0, feedbackRefused: 0 };
  const seenInBatch = new Set<string>();
  const recent = new Set([...loaded.profiles.values()].flatMap((p) => p.recent ?? []));
  const redelivery = new Map<string, RedeliveryIndex>();
  const indexOf = (shardId: string) => {
    let index = redelivery.get(shardId);
    if (index === undefined) redelivery.set(shardId, (index = new RedeliveryIndex(shardId, loaded.profiles.values())));
    return index;
  };
  const key = tokenKey(config.salt);
  for (const g of groups.values()) {
    const profile = resolution.profile(g.root);
    const sender = new Set([g.root, ...profile.members]);
    const folded = new Map<string, string[]>();
    const keys: string[] = [];
    const segmentsBefore = Object.keys(profile.segments ?? {});
    for (const r of g.records) {
      const { shardId, sequenceNumber } = r.record;
      const { messageId } = r.event;
      const duplicate = seenInBatch.has(messageId) || loaded.stored.has(messageId);
      seenInBatch.add(messageId);
      if (duplicate) {
        counters.duplicates += 1;
        continue;
      }
      const redelivered = indexOf(shardId).seen(sequenceNumber);
      if (!redelivered && recent.has(messageKey(messageId))) {
        // A copy of a message another record folded, whose event is not stored yet: that record's retry
        // stores it and counts its feedback; this copy is a duplicate.
        counters.duplicates += 1;
        continue;
      }
      g.fresh.push({ profileId: g.root, event: r.event });
      const f = countedFeedback(r, sender, key);
      if (f === 'refused') counters.feedbackRefused += 1;
      else if (f) g.feedback.push({ group: g.root, shardId, sequenceNumber, ...f });
      if (r.event.type === 'track' && config.aggregates.systemEvents.has(r.event.event)) continue;
      if (redelivered) continue;
      try {
        foldEvent(profile, r.event, config.aggregates, config.profileRules.consent);
        attachAddresses(profile, r.ids, r.event.receivedAt);
      } catch (e) {
        throw new RecordFailure(r, e);
      }
      folded.set(shardId, [...(folded.get(shardId) ?? []), sequenceNumber]);
      keys.push(messageKey(messageId));
      counters.folded += 1;
    }
    for (const [shardId, seqs] of folded) profile.marks = advanceMark(profile.marks, shardId, run.firstOf.get(shardId) as string, seqs, run.now());
    keepHeldAddresses(profile);
    if (keys.length > 0) profile.recent = keepRecent([...(profile.recent ?? []), ...keys]);
    updateSegments(profile, config.aggregates, config.profileRules);
    g.segments = { before: segmentsBefore, after: Object.keys(profile.segments ?? {}) };
    g.members = profile.members;
  }
  return counters;
}

/**
 * A record's feedback, if its token is honest (lib/ingest/feedback.ts honestFeedback), with the claim
 * it counts under: its decision, offer and kind, for its message (countOfferFeedback claims it).
 */
function countedFeedback(r: ParsedRecord, sender: ReadonlySet<string>, key: Buffer): { feedback: Feedback; claim: FeedbackRecord['claim'] } | 'refused' | undefined {
  const { feedback, refused } = honestFeedback(r.event, { profileIds: sender, identifierKeys: r.ids.map(identifierKey) }, key);
  if (feedback === undefined) return refused === undefined ? undefined : 'refused';
  return { feedback, claim: { key: feedbackKey(String(asObject(r.event.properties)?.decision_id), feedback), message: claimant(r.event.messageId) } };
}

/**
 * The products the batch's folds added to its profiles, counted in one write (lib/identity/popularity.ts)
 * and at once for this process's readers. Best effort: a failure is reported and fails nothing. Not
 * exactly-once: a group retried after this counted it counts again.
 */
async function countPopularity(run: BatchRun, groups: Map<string, Group>, resolution: BatchResolution, stores: Stores): Promise<void> {
  try {
    const research = [...groups.values()].map((g) => ({ before: g.before.products, after: resolution.profile(g.root).signals.products }));
    await countSightings(stores, run.records[0]?.shardId ?? '', run.now(), research);
  } catch (e) {
    run.stats.popularityNotCounted += 1;
    run.warnings.push(e as Error);
  }
}

// ---- 6. Network index and cluster context -------------------------------------------------------

/** Networks found public lately, per set of stores (a Lambda container keeps its stores between invocations). */
const publicNetworks = new WeakMap<object, PublicNetworks>();
function publicNetworksOf(stores: Stores): PublicNetworks {
  let known = publicNetworks.get(stores.graph);
  if (known === undefined) publicNetworks.set(stores.graph, (known = new PublicNetworks()));
  return known;
}

/** Store reads a batch may spend on cluster contexts: a hostile sender's devices on many full networks cannot make a batch read without end. */
const CLUSTER_READS_PER_RECORD = 2;
const MIN_CLUSTER_READS = 100;

/**
 * Lists each profile on the networks it is seen on for the first time (one batched write, before any
 * profile records that it listed them), and refreshes the cluster context of anonymous profiles
 * whose evidence changed (reads only). Probable links themselves are not stored: they are derived
 * from this evidence when read (lib/identity/links.ts). A failure here fails every group (nothing has
 * been written for them yet).
 */
async function indexNetworks(run: BatchRun, groups: Map<string, Group>, resolution: BatchResolution, stores: Stores, config: IngestConfig): Promise<boolean> {
  const onNetwork = new Map<string, string[]>();
  for (const g of groups.values()) {
    for (const network of Object.keys(resolution.profile(g.root).signals.networks)) {
      onNetwork.set(network, [...(onNetwork.get(network) ?? []), g.root]);
    }
  }
  // This batch's profiles as they are now (one merged away answers as its survivor), and its listings.
  const hood = new Neighbourhood(stores, config.rules, {
    overlay: {
      card: (id) => (groups.has(resolution.root(id)) ? matchCardOf(resolution.profile(id)) : undefined),
      listedOn: (network) => onNetwork.get(network) ?? [],
    },
    ...(config.identityWeights ? { weights: config.identityWeights } : {}),
    maxReads: Math.max(MIN_CLUSTER_READS, CLUSTER_READS_PER_RECORD * run.records.length),
    knownPublic: publicNetworksOf(stores),
    // Popularity as this ingest counts it: by processing time.
    at: run.now(),
  });
  // A merge's survivor is derived again whatever its signature says: it is now what both were.
  const survivors = new Set([...resolution.mergedAway].map((loser) => resolution.root(loser)));
  try {
    const visits: NetworkVisit[] = [];
    await inChunks([...groups.values()], config.concurrency ?? 8, async (g) => {
      const profile = resolution.profile(g.root);
      const listed = listVisits(profile, g.before.networks, config.rules);
      visits.push(...listed);
      if (listed.length === 0 && !survivors.has(g.root) && matchSignature(profile, config.rules) === g.before.signature) return;
      // A new network or a merge is derived at once; more of the same (a session's next products) at most hourly of event time.
      const urgent = survivors.has(g.root) || listed.some((v) => own(g.before.networks, v.network) === undefined);
      if (!urgent && clusterCheckedLately(profile)) return;
      // The context is a cache for decisions: if it cannot be derived now (a read failed, the batch's read
      // budget is spent), the last one stays and the batch goes on.
      try {
        if (await refreshClusterContext(profile, hood, run.now())) run.stats.clusterContexts += 1;
      } catch {
        run.stats.clusterContextsSkipped += 1;
      }
    });
    if (visits.length > 0) await stores.graph.putVisits(visits);
    return true;
  } catch (e) {
    run.errors.push(e as Error);
    for (const g of groups.values()) run.failed.add(g.firstSeq);
    run.stats.groupsFailed = groups.size;
    return false;
  }
}

// ---- 7. Write each group: tombstones, links, the profile once, then its userIds' links -----------

/** How many of an identifier's recent moves its link remembers (for the redelivery check). */
const MAX_MOVES_KEPT = 4;

/** An identifier's move history as its link keeps it: the moves made now first (the latest first), then the recent ones. */
function moveHistory(previous: OwnerLink['movedFrom'], movedFrom: string[] | undefined, now: Date): OwnerLink['movedFrom'] {
  const recent = (previous ?? []).filter((m) => now.getTime() - Date.parse(m.at) <= MARK_RETENTION_MS);
  const made = [...(movedFrom ?? [])].reverse().map((profileId) => ({ profileId, at: now.toISOString() }));
  return [...made, ...recent].slice(0, Math.max(MAX_MOVES_KEPT, made.length));
}

/**
 * Writes each group (see `writeGroup` for the order within one), in waves: a group waits for the
 * groups it depends on (`dependencies`) and is not written if one of them failed. Every write is
 * conditional on what this batch read, so a write another shard made meanwhile fails the group, and
 * a failure fails the group: the stream retries from its first record.
 */
async function writeGroups(
  run: BatchRun,
  groups: Map<string, Group>,
  resolution: BatchResolution,
  loaded: LoadedState,
  stores: Stores,
  config: IngestConfig,
): Promise<Group[]> {
  const ownersByRoot = new Map<string, Array<[string, string | undefined]>>();
  for (const [key, before] of resolution.changedOwners) {
    const owner = resolution.finalOwner(key);
    if (owner === undefined || (owner === before && !resolution.relinked.has(key))) continue;
    ownersByRoot.set(owner, [...(ownersByRoot.get(owner) ?? []), [key, before]]);
  }
  const written: Group[] = [];
  const failed = new Set<Group>();
  const after = dependencies(groups, resolution);
  const waiting = new Set(groups.values());
  while (waiting.size > 0) {
    // The groups whose dependencies are settled (or, should they wait on each other, the earliest).
    let ready = [...waiting].filter((g) => [...(after.get(g) ?? [])].every((h) => !waiting.has(h)));
    if (ready.length === 0) ready = [[...waiting].sort((a, b) => compareSeq(a.firstSeq, b.firstSeq))[0] as Group];
    for (const g of ready) waiting.delete(g);
    await inChunks(ready, config.concurrency ?? 8, async (g) => {
      try {
        if ([...(after.get(g) ?? [])].some((h) => failed.has(h))) throw new Error(`profile ${g.root} waits for a profile whose write failed`);
        await writeGroup({ run, g, resolution, loaded, stores, config }, ownersByRoot.get(g.root) ?? []);
        written.push(g);
      } catch (e) {
        failed.add(g);
        run.stats.groupsFailed += 1;
        run.errors.push(e as Error);
        run.failed.add(g.firstSeq);
      }
    });
  }
  return written;
}

/**
 * A group that moved an identifier out of a profile whose group has earlier records waits for that
 * group, and is not written if it fails: the retry resolves those earlier records again, and must
 * find the identifier where they left it (had the move been written, a customer's login earlier in
 * the batch would find her device with the customer who logged in on it after her).
 */
function dependencies(groups: Map<string, Group>, resolution: BatchResolution): Map<Group, Set<Group>> {
  const bySeq = new Map<string, Group>();
  for (const g of groups.values()) for (const r of g.records) bySeq.set(r.record.sequenceNumber, g);
  const after = new Map<Group, Set<Group>>();
  for (const { from, by } of resolution.moves) {
    const mover = bySeq.get(by);
    const left = groups.get(resolution.root(from));
    if (mover === undefined || left === undefined || left === mover) continue;
    if (!left.records.some((r) => compareSeq(r.record.sequenceNumber, by) < 0)) continue;
    after.set(mover, new Set([...(after.get(mover) ?? []), left]));
  }
  return after;
}

/**
 * One group's writes, in this order. First, for a merge, the merge marked pending on the survivor's
 * item, then the losers' tombstones, each conditional on the version its loser was loaded at and on
 * the pending marks this batch saw on it (two merges of the same profiles each way round would
 * otherwise leave each a tombstone of the other); a loser another shard wrote meanwhile fails the
 * group before any link has left it. Then the identifier links but userIds', each conditional on the
 * owner this batch read; then the profile, once, conditional on its version (the write clears the
 * pending mark); then the userIds' links, last, so a customer's userId never leads to a profile not
 * yet written. Each step waits for all its writes, so no write is left in flight when one fails.
 */
async function writeGroup(write: GroupWrite, owners: Array<[string, string | undefined]>): Promise<void> {
  const [userIds, others] = partition(owners, ([key]) => key.startsWith('userId:'));
  // The merged profiles' contact ledger days into hers first (lib/ingest/contacts.ts): a failure fails the merge, and its retry copies again.
  await mergeLedgers(write.g.root, losersOf(write), write.g.records.map((r) => r.event), write.stores.ledger, write.config.aggregates);
  await tombstoneLosers(write);
  await linkIdentifiers(write, others);
  await writeProfile(write);
  await linkIdentifiers(write, userIds);
}

const partition = <T>(items: T[], test: (item: T) => boolean): [T[], T[]] => [items.filter(test), items.filter((i) => !test(i))];

/** What one group's writes need. */
interface GroupWrite {
  run: BatchRun;
  g: Group;
  resolution: BatchResolution;
  loaded: LoadedState;
  stores: Stores;
  config: IngestConfig;
}

/** The identifiers that now belong to the group's profile, each conditional on its previous owner, with its move history. */
async function linkIdentifiers({ run, g, resolution, loaded, stores }: GroupWrite, owners: Array<[string, string | undefined]>): Promise<void> {
  await allDone(
    owners.map(([key, was]) =>
      stores.graph.putOwner(key, g.root, was, moveHistory(loaded.links.get(key)?.movedFrom, resolution.movedFrom.get(key), run.now()), loaded.links.get(key)?.heldBefore ?? run.released.get(key)),
    ),
  );
}

/** The profiles merged away into the group's profile (stored ones, or items holding only pending merges). */
const losersOf = ({ g, resolution }: GroupWrite): string[] => [...resolution.mergedAway].filter((id) => resolution.root(id) === g.root);

/** Pending merges finished in this batch that an item's mark lists, as that item's write settles them. */
const settledBy = ({ resolution }: GroupWrite, holder: string): string[] => [...(resolution.finishedPending.get(holder) ?? [])];

/**
 * The profiles merged into the group's: first marked pending on the survivor's item, then made
 * tombstones that keep the state each had when it lost (with the merges finished into it), each
 * settling the pending merges that state carries.
 */
async function tombstoneLosers(write: GroupWrite): Promise<void> {
  const { g, resolution, loaded, stores } = write;
  const losers = losersOf(write);
  if (losers.length === 0) return;
  await stores.profiles.markPendingMerge(g.root, losers);
  await allDone(
    losers.map((id) => {
      const state = resolution.loserStates.get(id) as Profile;
      const version = loaded.profiles.get(id)?.version ?? 0;
      return stores.profiles.put({ ...state, mergedInto: g.root, version: version + 1 }, version, { settled: settledBy(write, id), marked: loaded.marked.get(id) ?? 0 });
    }),
  );
}

/**
 * The profile, serialised once: kept within its budget, written only if its document changed; the
 * write settles the merges marked on it that its state now carries. Then the marks of tombstones whose
 * pending merges were finished into it are settled too.
 */
async function writeProfile(write: GroupWrite): Promise<void> {
  const { run, g, resolution, loaded, stores, config } = write;
  const profile = resolution.profile(g.root);
  const stored = loaded.profiles.get(g.root);
  const expected = stored?.version ?? 0;
  const settled = [...new Set([...settledBy(write, g.root), ...losersOf(write)])];
  let document = profileDocument(profile);
  if (Buffer.byteLength(document) > PROFILE_BUDGET_BYTES && fitBudget(profile, config.aggregates).length > 0) {
    run.stats.profilesTrimmed += 1;
    document = profileDocument(profile);
  }
  if (stored === undefined || document !== loaded.documents.get(g.root) || settled.length > 0) {
    await stores.profiles.put({ ...profile, version: expected + 1 }, expected, { document, settled });
    run.stats.profilesWritten += 1;
  }
  const written = new Set([g.root, ...losersOf(write)]);
  const elsewhere = [...resolution.finishedPending.keys()].filter((holder) => !written.has(holder) && resolution.root(holder) === g.root);
  await allDone(elsewhere.map((holder) => stores.profiles.settlePendingMerge(holder, settledBy(write, holder))));
}

// ---- 8. Her contact ledger and the offer statistics ---------------------------------------------

/**
 * The written groups' contacts into her contact ledger (lib/ingest/contacts.ts), before their events
 * are stored: a group whose contacts could not all be counted is retried from its first record (each
 * counts once, by its messageId). Returns the groups that are counted.
 */
async function countLedgerContacts(run: BatchRun, written: Group[], stores: Stores, config: IngestConfig): Promise<Group[]> {
  const { failed, errors } = await countContacts(written.map((g) => ({ profileId: g.root, events: g.fresh.map((f) => f.event) })), stores.ledger, config.aggregates);
  run.errors.push(...errors);
  for (const g of written) if (failed.has(g.root)) run.failed.add(g.firstSeq);
  run.stats.groupsFailed += failed.size;
  return written.filter((g) => !failed.has(g.root));
}

/**
 * Offer statistics from the written groups' feedback, before their events are stored: if this fails,
 * the events stay unstored and the retry counts them (once: each item keeps a mark). Returns the
 * groups that are complete.
 */
async function countOfferFeedback(run: BatchRun, groups: Map<string, Group>, written: Group[], stores: Stores): Promise<Group[]> {
  const feedback = [...groups.values()].flatMap((g) => g.feedback);
  const { countable, deferredGroups } = countableFeedback(feedback, new Set(written.map((g) => g.root)));
  const claimed = await claimFeedback(countable, stores.offerStats, run.now());
  run.stats.feedbackRefused += claimed.replays;
  run.errors.push(...claimed.errors);
  const counted = await countFeedback(claimed.records, stores.offerStats);
  run.stats.offerStatUpdates = counted.updates;
  run.errors.push(...counted.errors);
  const notCounted = new Set([...counted.failedGroups, ...deferredGroups, ...claimed.failedGroups]);
  for (const g of written) if (notCounted.has(g.root)) run.failed.add(g.firstSeq);
  run.stats.groupsFailed += notCounted.size;
  return written.filter((g) => !notCounted.has(g.root));
}

// ---- 9. Announce the changes campaigns react to ----------------------------------------------

/**
 * Announces each complete group's change (lib/ingest/changes.ts) before its events are stored: a
 * group whose change did not go out stays unstored and is retried from its first record, whose
 * events come again as fresh ones, so a change goes out at least once (the trigger function enters
 * an occurrence once). Segment moves are known only on the first attempt: a retry announces the events.
 */
async function announceChanges(run: BatchRun, complete: Group[], bus: ChangeBus | undefined): Promise<Group[]> {
  if (bus === undefined) return complete;
  const changes = complete.flatMap((g) => changesOf(g.root, g.fresh, g.segments ?? { before: [], after: [] }, g.members ?? []));
  if (changes.length === 0) return complete;
  let failed: Set<string>;
  try {
    failed = await bus.publish(changes);
  } catch (e) {
    run.errors.push(e as Error);
    failed = new Set(changes.map((c) => c.profileId));
  }
  for (const g of complete) if (failed.has(g.root)) run.failed.add(g.firstSeq);
  run.stats.groupsFailed += failed.size;
  run.stats.changesAnnounced += changes.filter((c) => !failed.has(c.profileId)).length;
  return complete.filter((g) => !failed.has(g.root));
}

// ---- 10. Store the batch's new events (journeys, training, dedupe) -------------------------------

async function storeEvents(run: BatchRun, complete: Group[], stores: Stores): Promise<void> {
  const events = complete.flatMap((g) => g.fresh);
  if (events.length === 0) return;
  try {
    await stores.events.put(events);
  } catch (e) {
    run.errors.push(e as Error);
    for (const g of complete) if (g.fresh.length > 0) run.failed.add(g.firstSeq);
  }
}
