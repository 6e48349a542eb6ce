import type { NetworkVisit, ProbableLink } from '../identity/probabilistic';
import { addPopularity, NO_POPULARITY, sumDays, type PopularityCounts } from '../identity/popularity';
import { matchCardOf, profileDocument, type MatchCard, type Profile } from '../profile/profile';
import {
  ConflictError,
  type OwnerLink,
  type DeadLetter,
  type DeadLetterStore,
  type EventStore,
  type OfferCounts,
  type OfferStatsStore,
  type ProductPopularityStore,
  type IdentityGraphStore,
  type AuditEntry,
  type ErasureRecord,
  type PrivacyStore,
  type ProfileStore,
  type StoredEvent,
  type Stores,
} from './ports';
import { MemoryActivations, MemoryContacts } from './activations-memory';
import { MemoryContactLedger } from './ledger-memory';

/** DynamoDB's item size limit: an item (names and values) over it is refused. */
export const DYNAMODB_ITEM_LIMIT = 400 * 1024;

/** Counts storage calls the way DynamoDB bills requests: one per call, whatever it carries. */
export interface CallCounts {
  reads: number;
  writes: number;
  itemWrites: number;
}

/**
 * In-memory stores with the same semantics as the DynamoDB adapters (conditional writes, copies on
 * read and write). For unit tests and the in-memory benchmark, not for production.
 */
export class MemoryStores implements Stores {
  /**
   * `checkItemSize`: refuse items over 400 KB as DynamoDB does (default). Benchmarks turn it off:
   * DynamoDB checks on its side, so the check would only add the in-memory store's own cost.
   */
  constructor(private readonly options: { checkItemSize?: boolean } = {}) {}

  readonly counts: CallCounts = { reads: 0, writes: 0, itemWrites: 0 };
  /** Write requests by operation, for benchmarks. */
  readonly writesBy: Record<string, number> = {};
  readonly profileItems = new Map<string, Profile>();
  /** Each profile's stored document, as the DynamoDB adapter keeps it. */
  private readonly documents = new Map<string, string>();
  readonly owners = new Map<string, string>();
  readonly moves = new Map<string, NonNullable<OwnerLink['movedFrom']>>();
  /** Links released after an erasure: messages from before it never use them (OwnerLink.heldBefore). */
  readonly heldBefore = new Map<string, string>();
  /** Merges begun into a survivor whose write has not happened yet, by survivor id. */
  readonly pendingMerges = new Map<string, Set<string>>();
  /** How many merges were ever marked pending on each item. */
  readonly mergeMarks = new Map<string, number>();
  readonly visits = new Map<string, Map<string, NetworkVisit>>();
  readonly eventItems = new Map<string, StoredEvent>();
  readonly letters = new Map<string, DeadLetter>();
  /** Each letter's identifier hashes, and the index: letter ids by identifier hash (an entry outlives a rewritten letter that no longer carries it, as in DynamoDB). */
  readonly letterHashes = new Map<string, string[]>();
  readonly letterIndex = new Map<string, Set<string>>();
  /** Offer statistics by `offerId|day`: counters and each shard's mark. */
  readonly statItems = new Map<string, { counts: OfferCounts; marks: Record<string, string> }>();
  /** The privacy table: suppression hashes with when, erasure records, audit entries. */
  readonly suppressions = new Map<string, string>();
  readonly erasures = new Map<string, ErasureRecord>();
  readonly auditEntries: AuditEntry[] = [];

  /** One page of a scan (one read), copies of the items, and the cursor of the next page if any. */
  private page<T>(items: Map<string, T>, cursor: string | undefined, pageSize: number): { items: T[]; next: { cursor?: string } } {
    this.counts.reads += 1;
    const from = Number(cursor ?? 0);
    return { items: [...items.values()].slice(from, from + pageSize).map((i) => structuredClone(i)), next: from + pageSize < items.size ? { cursor: String(from + pageSize) } : {} };
  }

  private write(items = 1, operation = 'other'): void {
    this.writesBy[operation] = (this.writesBy[operation] ?? 0) + 1;
    this.counts.writes += 1;
    this.counts.itemWrites += items;
  }

  private settle(holderId: string, loserIds: string[]): void {
    const pending = this.pendingMerges.get(holderId);
    if (pending === undefined) return;
    for (const id of loserIds) pending.delete(id);
    if (pending.size === 0) this.pendingMerges.delete(holderId);
  }

  /** Refuses an item over DynamoDB's 400 KB, as DynamoDB does (the whole request fails). */
  private fits(items: unknown[]): void {
    if (this.options.checkItemSize === false) return;
    for (const item of items) {
      if (Buffer.byteLength(JSON.stringify(item)) > DYNAMODB_ITEM_LIMIT) throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' });
    }
  }

  /** A batch write: one request per 25 items, and no two items with one key, as DynamoDB's BatchWriteItem. */
  private batchWrite(keys: string[], operation: string): void {
    if (new Set(keys).size !== keys.length) throw new Error(`ValidationException: ${operation}: provided list of item keys contains duplicates`);
    for (let i = 0; i < keys.length; i += 25) this.write(Math.min(25, keys.length - i), operation);
  }

  readonly profiles: ProfileStore = {
    getMany: async (ids) => (await this.profiles.load(ids)).profiles,
    load: async (ids) => {
      this.counts.reads += 1;
      const profiles = new Map<string, Profile>();
      const pending = new Map<string, string[]>();
      const documents = new Map<string, string>();
      const marked = new Map<string, number>();
      for (const id of ids) {
        const p = this.profileItems.get(id);
        if (p) profiles.set(id, structuredClone(p));
        const document = p === undefined ? undefined : (this.documents.get(id) ?? profileDocument(p));
        if (document !== undefined) documents.set(id, document);
        const merging = this.pendingMerges.get(id);
        if (merging && merging.size > 0) pending.set(id, [...merging].sort());
        const count = this.mergeMarks.get(id);
        if (count !== undefined) marked.set(id, count);
      }
      return { profiles, pending, documents, marked };
    },
    scan: async (cursor, pageSize = 1000) => {
      const { items: profiles, next } = this.page(this.profileItems, cursor, pageSize);
      return { profiles, ...next };
    },
    markPendingMerge: async (survivorId, loserIds) => {
      if (this.profileItems.get(survivorId)?.mergedInto !== undefined) throw new ConflictError(`profile ${survivorId} was merged away`);
      this.write(1, 'pending merge');
      this.mergeMarks.set(survivorId, (this.mergeMarks.get(survivorId) ?? 0) + 1);
      this.pendingMerges.set(survivorId, new Set([...(this.pendingMerges.get(survivorId) ?? []), ...loserIds]));
    },
    settlePendingMerge: async (holderId, loserIds) => {
      this.write(1, 'pending merge');
      this.settle(holderId, loserIds);
    },
    getCards: async (ids) => {
      this.counts.reads += 1;
      const out = new Map<string, MatchCard>();
      for (const id of ids) {
        const p = this.profileItems.get(id);
        if (p) out.set(id, structuredClone(matchCardOf(p)));
      }
      return out;
    },
    put: async (profile, expectedVersion, write = {}) => {
      // The item the DynamoDB adapter writes: the document and the match card, each as JSON.
      const doc = write.document ?? profileDocument(profile);
      if (this.options.checkItemSize !== false) {
        const bytes = Buffer.byteLength(doc) + Buffer.byteLength(JSON.stringify(matchCardOf(profile))) + 200;
        if (bytes > DYNAMODB_ITEM_LIMIT) throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' });
      }
      const current = this.profileItems.get(profile.profileId);
      if ((current?.version ?? 0) !== expectedVersion) {
        throw new ConflictError(`profile ${profile.profileId} changed (expected version ${expectedVersion})`);
      }
      if (write.marked !== undefined && (this.mergeMarks.get(profile.profileId) ?? 0) !== write.marked) {
        throw new ConflictError(`profile ${profile.profileId} became the survivor of another merge`);
      }
      this.write(1, 'profile');
      this.profileItems.set(profile.profileId, structuredClone(profile));
      this.documents.set(profile.profileId, doc);
      this.settle(profile.profileId, write.settled ?? []);
    },
    remove: async (profileId, expectedVersion) => {
      const current = this.profileItems.get(profileId);
      if (current === undefined) return;
      if (current.version !== expectedVersion) throw new ConflictError(`profile ${profileId} changed (expected version ${expectedVersion})`);
      this.write(1, 'erasure');
      this.profileItems.delete(profileId);
      this.documents.delete(profileId);
      this.pendingMerges.delete(profileId);
      this.mergeMarks.delete(profileId);
    },
  };

  readonly graph: IdentityGraphStore = {
    getOwners: async (keys) => {
      this.counts.reads += 1;
      const out = new Map<string, string>();
      for (const k of keys) {
        const owner = this.owners.get(k);
        if (owner !== undefined) out.set(k, owner);
      }
      return out;
    },
    links: async (keys) => {
      this.counts.reads += 1;
      const out = new Map<string, OwnerLink>();
      for (const k of keys) {
        const owner = this.owners.get(k);
        const moves = this.moves.get(k);
        const held = this.heldBefore.get(k);
        if (owner !== undefined) out.set(k, { profileId: owner, ...(moves ? { movedFrom: structuredClone(moves) } : {}), ...(held ? { heldBefore: held } : {}) });
      }
      return out;
    },
    putOwner: async (key, profileId, expected, movedFrom, heldBefore) => {
      const current = this.owners.get(key);
      if (current !== expected) {
        throw new ConflictError(`identifier ${key} is linked to ${current}`);
      }
      this.write(1, 'identifier');
      this.owners.set(key, profileId);
      // A put replaces the link item: its move history is what the caller passes.
      if (movedFrom !== undefined && movedFrom.length > 0) this.moves.set(key, structuredClone(movedFrom));
      else this.moves.delete(key);
      if (heldBefore !== undefined) this.heldBefore.set(key, heldBefore);
      else this.heldBefore.delete(key);
    },
    putVisits: async (visits) => {
      this.batchWrite(visits.map((v) => `${v.network}|${v.profileId}`), 'network visits');
      for (const v of visits) {
        const on = this.visits.get(v.network) ?? new Map<string, NetworkVisit>();
        on.set(v.profileId, { ...v });
        this.visits.set(v.network, on);
      }
    },
    visitsOn: async (network, limit) => {
      this.counts.reads += 1;
      return [...(this.visits.get(network)?.values() ?? [])].slice(0, limit).map((v) => ({ ...v }));
    },
    linkedTo: async (profileIds) => {
      this.counts.reads += 1;
      const wanted = new Set(profileIds);
      return [...this.owners].filter(([, owner]) => wanted.has(owner)).map(([key]) => key);
    },
    removeOwner: async (key, profileId) => {
      if (this.owners.get(key) !== profileId) return false;
      this.write(1, 'erasure');
      this.owners.delete(key);
      this.moves.delete(key);
      this.heldBefore.delete(key);
      return true;
    },
    removeVisits: async (visits) => {
      this.batchWrite(visits.map((v) => `${v.network}|${v.profileId}`), 'erasure');
      for (const v of visits) {
        const on = this.visits.get(v.network);
        on?.delete(v.profileId);
        if (on?.size === 0) this.visits.delete(v.network);
      }
    },
  };

  readonly events: EventStore = {
    existing: async (ids) => {
      this.counts.reads += 1;
      return new Set(ids.filter((id) => this.eventItems.has(id)));
    },
    put: async (events) => {
      this.fits(events);
      this.batchWrite(events.map((e) => e.event.messageId), 'events');
      for (const e of events) this.eventItems.set(e.event.messageId, structuredClone(e));
    },
    byProfiles: async (profileIds, limit) => {
      this.counts.reads += profileIds.length;
      const wanted = new Set(profileIds);
      return [...this.eventItems.values()]
        .filter((e) => wanted.has(e.profileId))
        .sort((a, b) => (a.event.timestamp < b.event.timestamp ? -1 : a.event.timestamp > b.event.timestamp ? 1 : 0))
        .slice(0, limit)
        .map((e) => structuredClone(e));
    },
    scan: async (cursor, pageSize = 1000) => {
      const { items: events, next } = this.page(this.eventItems, cursor, pageSize);
      return { events, ...next };
    },
    remove: async (messageIds) => {
      this.batchWrite(messageIds, 'erasure');
      for (const id of messageIds) this.eventItems.delete(id);
    },
  };

  readonly deadLetters: DeadLetterStore = {
    put: async (letters) => {
      this.fits(letters);
      this.batchWrite([...letters.map((l) => l.id), ...letters.flatMap((l) => l.identifierHashes.map((h) => `IDX#${h}#${l.id}`))], 'dead letters');
      for (const { identifierHashes, ...l } of letters) {
        this.letters.set(l.id, { ...l });
        this.letterHashes.set(l.id, [...identifierHashes]);
        for (const h of identifierHashes) this.letterIndex.set(h, (this.letterIndex.get(h) ?? new Set()).add(l.id));
      }
    },
    list: async (limit) => [...this.letters.values()].slice(0, limit),
    carrying: async (hashes, limit) => {
      this.counts.reads += hashes.length;
      const ids = new Set(hashes.flatMap((h) => [...(this.letterIndex.get(h) ?? [])].filter((id) => this.letterHashes.get(id)?.includes(h))));
      return [...ids].slice(0, limit).map((id) => structuredClone(this.letters.get(id) as DeadLetter));
    },
    remove: async (ids) => {
      const entries = ids.flatMap((id) => (this.letterHashes.get(id) ?? []).map((h) => ({ id, h })));
      this.batchWrite([...ids, ...entries.map((e) => `IDX#${e.h}#${e.id}`)], 'erasure');
      for (const { id, h } of entries) {
        this.letterIndex.get(h)?.delete(id);
        if (this.letterIndex.get(h)?.size === 0) this.letterIndex.delete(h);
      }
      for (const id of ids) {
        this.letters.delete(id);
        this.letterHashes.delete(id);
      }
    },
  };

  /** The contact ledger (lib/store/ledger-memory.ts): caps per person and day, counted as contacts happen. */
  readonly ledger = new MemoryContactLedger();
  /** Campaign entries (lib/store/activations-memory.ts); erasing a profile's erases its ledger days too, as in the DynamoDB table they share. */
  readonly activations = new MemoryActivations(this.ledger);
  /** Sealed contact addresses. */
  readonly contacts = new MemoryContacts();

  readonly privacy: PrivacyStore = {
    suppressed: async (hashes) => {
      this.counts.reads += 1;
      return new Map(hashes.flatMap((h): Array<[string, string]> => (this.suppressions.has(h) ? [[h, this.suppressions.get(h) as string]] : [])));
    },
    suppress: async (hashes, at) => {
      this.batchWrite([...new Set(hashes)], 'suppressions');
      for (const h of hashes) if (!this.suppressions.has(h)) this.suppressions.set(h, at);
    },
    erasure: async (profileId) => {
      this.counts.reads += 1;
      const record = this.erasures.get(profileId);
      return record && structuredClone(record);
    },
    recordErasure: async (record) => {
      this.write(1, 'erasure record');
      this.erasures.set(record.profileId, structuredClone(record));
    },
    audit: async (entry) => {
      this.write(1, 'audit');
      // As DynamoDB's put under the same key (the day, `at` and id): an entry with the same id and time replaces it.
      const same = this.auditEntries.findIndex((e) => e.id === entry.id && e.at === entry.at);
      if (same >= 0) this.auditEntries[same] = structuredClone(entry);
      else this.auditEntries.push(structuredClone(entry));
    },
    auditLog: async (day) => {
      this.counts.reads += 1;
      return this.auditEntries.filter((e) => e.at.startsWith(day)).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).map((e) => structuredClone(e));
    },
  };

  /** Feedback claims by key: the message that claimed it. */
  readonly claims = new Map<string, string>();

  readonly offerStats: OfferStatsStore = {
    claimed: async (keys) => {
      this.counts.reads += 1;
      return new Set(keys.filter((k) => this.claims.has(k)));
    },
    claim: async (key, message) => {
      const current = this.claims.get(key);
      if (current !== undefined && current !== message) return false;
      this.write(1, 'feedback claims');
      this.claims.set(key, message);
      return true;
    },
    marks: async (keys, shardId) => {
      this.counts.reads += 1;
      const out = new Map<string, string>();
      for (const k of keys) {
        const mark = this.statItems.get(`${k.offerId}|${k.day}`)?.marks[shardId];
        if (mark !== undefined) out.set(`${k.offerId}|${k.day}`, mark);
      }
      return out;
    },
    add: async (key, shardId, previous, mark, counts) => {
      const id = `${key.offerId}|${key.day}`;
      const item = this.statItems.get(id) ?? { counts: {}, marks: {} };
      if (item.marks[shardId] !== previous) throw new ConflictError(`offer statistics ${id} changed concurrently`);
      this.write(1, 'offer statistics');
      for (const [name, n] of Object.entries(counts)) item.counts[name] = (item.counts[name] ?? 0) + n;
      item.marks[shardId] = mark;
      this.statItems.set(id, item);
    },
    range: async (offerId, from, to) => {
      this.counts.reads += 1;
      return [...this.statItems.entries()]
        .map(([id, item]) => ({ offerId: id.slice(0, id.lastIndexOf('|')), day: id.slice(id.lastIndexOf('|') + 1), counts: { ...item.counts } }))
        .filter((x) => x.offerId === offerId && x.day >= from && x.day <= to)
        .sort((a, b) => (a.day < b.day ? -1 : 1))
        .map(({ day, counts }) => ({ day, counts }));
    },
  };

  /** Product popularity items by `<day>#<shardId>`, as the DynamoDB adapter keeps them. */
  readonly popularityItems = new Map<string, PopularityCounts>();

  /** One read and one write per add, as the DynamoDB adapter's read-modify-write; one read (a query) per window read. */
  readonly popularity: ProductPopularityStore = {
    add: async (shardId, day, counts) => {
      const key = `${day}#${shardId}`;
      this.counts.reads += 1;
      this.write(1, 'popularity');
      this.popularityItems.set(key, addPopularity(this.popularityItems.get(key) ?? NO_POPULARITY, counts));
    },
    read: async (days) => {
      this.counts.reads += 1;
      const wanted = new Set(days);
      const items = [...this.popularityItems].map(([key, counts]) => ({ day: key.slice(0, key.indexOf('#')), counts })).filter((i) => wanted.has(i.day));
      return sumDays(items, [...days].sort().at(-1) ?? '');
    },
  };
}
