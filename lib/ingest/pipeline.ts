import { extractIdentifiers, identifierKey, type Identifier } from '../events/identifiers';
import { parseCollectedEvent, ValidationError, type CollectedEvent } from '../events/segment';
import { matchOnNetworks, matchSignature } from '../identity/matching';
import type { NetworkVisit, ProbableLink } from '../identity/probabilistic';
import { BatchResolution, deriveProfileId, type ResolutionCounters } from '../identity/resolver';
import { foldEvent, seqGreater, type Profile } from '../profile/profile';
import type { DeadLetter, StoredEvent, Stores } from '../store/ports';
import { updateSegments } from '../profile/facts';
import type { EngineConfig } from './config';
import { countableFeedback, countFeedback, feedbackOf, type FeedbackRecord } from './feedback';

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
}

export interface IngestStats extends ResolutionCounters {
  records: number;
  deadLettered: number;
  duplicates: number;
  folded: number;
  profilesWritten: number;
  groupsFailed: number;
  probableLinks: number;
  /** Conditional updates of offer statistics. */
  offerStatUpdates: number;
}

export interface IngestResult {
  /** Sequence numbers to report as `batchItemFailures` (the first record of each failed profile group). */
  failedSequenceNumbers: string[];
  stats: IngestStats;
  /** Errors behind failed groups, for logging. */
  errors: Error[];
}

interface ParsedRecord {
  record: StreamRecord;
  event: CollectedEvent;
  ids: Identifier[];
}

interface Group {
  root: string;
  records: ParsedRecord[];
  firstSeq: string;
}

const minSeq = (a: string, b: string): string => (a === '' ? b : b === '' ? a : seqGreater(a, b) ? b : a);

function decode(record: StreamRecord): { event?: CollectedEvent; reason?: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(record.data, 'base64').toString('utf8'));
  } catch {
    return { reason: 'invalid JSON' };
  }
  try {
    return { event: parseCollectedEvent(json) };
  } catch (e) {
    return { reason: e instanceof ValidationError ? `schema violation: ${e.message}` : String(e) };
  }
}

async function inChunks<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/**
 * Ingests one Kinesis batch (one shard, in sequence order): validate, resolve identities for all
 * records, group them by resulting profile, fold each group, and write each touched profile once
 * (conditional on its version). Exactly-once effect under redelivery: a record at or below the
 * profile's per-shard high-water mark, or whose messageId is already stored, is not folded again.
 * A bad record goes to the dead-letter store with its reason; a failed write reports the first record
 * of that profile's group so the stream retries from there, losing and reordering nothing.
 */
export async function ingestBatch(input: StreamRecord[], stores: Stores, config: IngestConfig): Promise<IngestResult> {
  const now = config.now ?? (() => new Date());
  const concurrency = config.concurrency ?? 8;
  const records = [...input].sort((a, b) => (seqGreater(a.sequenceNumber, b.sequenceNumber) ? 1 : -1));
  const stats: IngestStats = {
    records: records.length,
    deadLettered: 0,
    duplicates: 0,
    folded: 0,
    profilesWritten: 0,
    groupsFailed: 0,
    probableLinks: 0,
    offerStatUpdates: 0,
    merges: 0,
    limitReached: 0,
    conflicts: 0,
    moves: 0,
  };
  const failed = new Set<string>();
  const errors: Error[] = [];

  // 1. Validate. Bad records are dead-lettered and never block the shard.
  const letters: DeadLetter[] = [];
  const parsed: ParsedRecord[] = [];
  for (const record of records) {
    const { event, reason } = decode(record);
    const ids = event ? extractIdentifiers(event, config.rules, config.salt) : [];
    if (event === undefined || ids.length === 0) {
      letters.push({
        id: `${record.shardId}#${record.sequenceNumber}`,
        reason: reason ?? 'no usable identity: every identifier is empty or a junk value',
        source: 'ingest',
        data: record.data,
        at: now().toISOString(),
      });
    } else parsed.push({ record, event, ids });
  }
  if (letters.length > 0) {
    try {
      await stores.deadLetters.put(letters);
      stats.deadLettered = letters.length;
    } catch (e) {
      errors.push(e as Error);
      for (const l of letters) failed.add(l.id.slice(l.id.indexOf('#') + 1));
    }
  }
  if (parsed.length === 0) return { failedSequenceNumbers: [...failed], stats, errors };

  // 2. Load what the batch refers to: identifier owners, their profiles (following tombstones),
  //    and which messageIds were already stored (producer retries).
  const keys = [...new Set(parsed.flatMap((p) => p.ids.map(identifierKey)))];
  const [owners, stored] = await Promise.all([
    stores.graph.getOwners(keys),
    stores.events.existing([...new Set(parsed.map((p) => p.event.messageId))]),
  ]);
  const profiles = new Map<string, Profile>();
  let wanted = [...new Set([...owners.values(), ...keys.filter((k) => !owners.has(k)).map(deriveProfileId)])];
  for (let hop = 0; wanted.length > 0 && hop < 16; hop++) {
    const loaded = await stores.profiles.getMany(wanted);
    for (const [id, p] of loaded) profiles.set(id, p);
    wanted = [...loaded.values()]
      .map((p) => p.mergedInto)
      .filter((id): id is string => id !== undefined && !profiles.has(id));
  }

  // 3. Resolve identities record by record, in sequence order.
  const resolution = new BatchResolution(config.rules, config.aggregates, owners, profiles);
  const targets = parsed.map((p) => resolution.resolve(p.ids, p.event.timestamp, p.record.sequenceNumber));
  Object.assign(stats, resolution.counters);

  // 4. Group records by their final profile (after every merge in the batch).
  const groups = new Map<string, Group>();
  const group = (root: string): Group => {
    let g = groups.get(root);
    if (g === undefined) groups.set(root, (g = { root, records: [], firstSeq: '' }));
    return g;
  };
  parsed.forEach((p, i) => {
    const g = group(resolution.root(targets[i] as string));
    g.records.push(p);
    g.firstSeq = minSeq(g.firstSeq, p.record.sequenceNumber);
  });
  for (const [id, by] of resolution.touchedBy) {
    const g = group(resolution.root(id));
    if (by !== '') g.firstSeq = minSeq(g.firstSeq, by);
  }
  const firstRecord = records[0]?.sequenceNumber ?? '';
  for (const g of groups.values()) if (g.firstSeq === '') g.firstSeq = firstRecord;

  const ownersByRoot = new Map<string, Array<[string, string | undefined]>>();
  for (const [key, before] of resolution.changedOwners) {
    const owner = resolution.finalOwner(key);
    if (owner === undefined || owner === before) continue;
    const list = ownersByRoot.get(owner) ?? [];
    list.push([key, before]);
    ownersByRoot.set(owner, list);
  }

  // 5. Fold every group in memory (records in sequence order; duplicates and redeliveries skipped).
  const seenInBatch = new Set<string>();
  const fresh = new Map<string, StoredEvent[]>();
  const feedback: FeedbackRecord[] = [];
  const before = new Map<string, { signature: string; networks: Profile['signals']['networks'] }>();
  for (const g of groups.values()) {
    const profile = resolution.profile(g.root);
    before.set(g.root, { signature: matchSignature(profile), networks: { ...profile.signals.networks } });
    const list: StoredEvent[] = [];
    for (const r of g.records) {
      const { shardId, sequenceNumber } = r.record;
      const duplicate = seenInBatch.has(r.event.messageId) || stored.has(r.event.messageId);
      seenInBatch.add(r.event.messageId);
      if (duplicate) {
        stats.duplicates += 1;
        continue;
      }
      list.push({ profileId: g.root, event: r.event });
      const f = feedbackOf(r.event);
      if (f) feedback.push({ group: g.root, shardId, sequenceNumber, feedback: f });
      // The engine's own events (decisions) go to the journey only; stored implies applied for them.
      if (r.event.type === 'track' && config.aggregates.systemEvents.has(r.event.event)) continue;
      const mark = profile.seq[shardId];
      if (mark !== undefined && !seqGreater(sequenceNumber, mark)) continue;
      foldEvent(profile, r.event, config.aggregates);
      profile.seq[shardId] = sequenceNumber;
      stats.folded += 1;
    }
    updateSegments(profile, config.aggregates, config.profileRules);
    fresh.set(g.root, list);
  }
  const onNetwork = new Map<string, string[]>();
  for (const g of groups.values()) {
    for (const network of Object.keys(resolution.profile(g.root).signals.networks)) {
      onNetwork.set(network, [...(onNetwork.get(network) ?? []), g.root]);
    }
  }

  // 6. Probabilistic matching for every group (reads only), then one batched write of the network
  //    index entries and probable links, before any profile records that it listed or linked them.
  const graphItems = { visits: [] as NetworkVisit[], links: [] as ProbableLink[] };
  try {
    await inChunks([...groups.values()], concurrency, async (g) => {
      const { visits, links } = await matchOnNetworks(
        {
          profile: resolution.profile(g.root),
          before: before.get(g.root)!,
          inBatch: (id) => (groups.has(id) ? resolution.profile(id) : undefined),
          inBatchOn: (network) => onNetwork.get(network) ?? [],
        },
        stores.graph,
        stores.profiles,
        config.rules,
        now(),
      );
      graphItems.visits.push(...visits);
      graphItems.links.push(...links);
    });
    if (graphItems.visits.length > 0) await stores.graph.putVisits(graphItems.visits);
    // Two profiles of one batch may find each other: keep one copy of each link (the best score).
    const links = new Map<string, ProbableLink>();
    for (const l of graphItems.links) {
      const key = `${l.profileId}|${l.otherProfileId}`;
      if ((links.get(key)?.score ?? -Infinity) < l.score) links.set(key, l);
    }
    if (links.size > 0) await stores.graph.putLinks([...links.values()]);
    stats.probableLinks = links.size / 2;
  } catch (e) {
    errors.push(e as Error);
    for (const g of groups.values()) failed.add(g.firstSeq);
    stats.groupsFailed = groups.size;
    return { failedSequenceNumbers: [...failed], stats, errors };
  }

  // 7. Write each group: identifier links, tombstones, then the profile itself, once, conditional on
  //    its version.
  const written: Group[] = [];
  await inChunks([...groups.values()], concurrency, async (g) => {
    try {
      const profile = resolution.profile(g.root);
      const storedProfile = profiles.get(g.root);
      const expected = storedProfile?.version ?? 0;
      await Promise.all((ownersByRoot.get(g.root) ?? []).map(([key, was]) => stores.graph.putOwner(key, g.root, was)));
      const losers = [...resolution.mergedAway].filter((id) => resolution.root(id) === g.root);
      await Promise.all(
        losers.map((id) => {
          const tomb = profiles.get(id) as Profile;
          return stores.profiles.put({ ...tomb, mergedInto: g.root, version: tomb.version + 1 }, tomb.version);
        }),
      );
      if (storedProfile === undefined || JSON.stringify(profile) !== JSON.stringify(storedProfile)) {
        await stores.profiles.put({ ...profile, version: expected + 1 }, expected);
        stats.profilesWritten += 1;
      }
      written.push(g);
    } catch (e) {
      stats.groupsFailed += 1;
      errors.push(e as Error);
      failed.add(g.firstSeq);
    }
  });

  // 8. Offer statistics from the written groups' feedback, before their events are stored: if this
  //    fails, the events stay unstored and the retry counts them (once: each item keeps a mark).
  const { countable, deferredGroups } = countableFeedback(feedback, new Set(written.map((g) => g.root)));
  const counted = await countFeedback(countable, stores.offerStats);
  stats.offerStatUpdates = counted.updates;
  errors.push(...counted.errors);
  const notCounted = new Set([...counted.failedGroups, ...deferredGroups]);
  for (const g of written) if (notCounted.has(g.root)) failed.add(g.firstSeq);
  stats.groupsFailed += notCounted.size;
  const complete = written.filter((g) => !notCounted.has(g.root));

  // 9. Store the batch's new events (journeys, training, dedupe), in as few requests as possible.
  const events = complete.flatMap((g) => fresh.get(g.root) ?? []);
  if (events.length > 0) {
    try {
      await stores.events.put(events);
    } catch (e) {
      errors.push(e as Error);
      for (const g of complete) if ((fresh.get(g.root) ?? []).length > 0) failed.add(g.firstSeq);
    }
  }

  return { failedSequenceNumbers: [...failed], stats, errors };
}
