import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { NetworkVisit, ProbableLink } from '../identity/probabilistic';
import { addPopularity, NO_POPULARITY, sumDays, WINDOW_DAYS, type PopularityCounts } from '../identity/popularity';
import { matchCardOf, profileDocument, type MatchCard, type Profile } from '../profile/profile';
import {
  ConflictError,
  type DeadLetter,
  type DeadLetterStore,
  type EventStore,
  type IdentityGraphStore,
  type LoadedProfiles,
  type OwnerLink,
  type OfferCounts,
  type OfferStatsStore,
  type ProductPopularityStore,
  type AuditEntry,
  type ErasureRecord,
  type PrivacyStore,
  type ProfileStore,
  type StoredEvent,
  type Stores,
} from './ports';
import { DynamoActivations, DynamoContacts } from './activations-dynamo';
import { DynamoContactLedger } from './ledger-dynamo';
import { batchGetItems, batchWriteItems } from './dynamo-batch';
import { DEAD_LETTER_RETENTION_DAYS, EVENT_RETENTION_DAYS, type TableName } from './tables';

/**
 * DynamoDB adapters. Profiles are stored as one item each with the document as a JSON string (fast
 * to marshal, one write per profile); conditional writes on `version` give optimistic locking.
 * Graph keys: `ID#<ns>:<value>` / `OWNER` (identifier owner), `NET#<network>` / `<profileId>`
 * (network visit), `LINK#<profileId>` / `<otherProfileId>` (probable link), `POPULARITY` / `<day>#<shardId>`
 * (product popularity counted at ingest).
 */

/** BatchWriteItem requests in flight at once for dead letters and their index entries, and queries of the index at once for a person's. */
const DEAD_LETTER_WRITES_IN_FLIGHT = 8;
const DEAD_LETTER_QUERIES_IN_FLIGHT = 8;

/** A dead letter as the port gives it: without its index hashes and expiry. */
function letterOf(item: Record<string, unknown>): DeadLetter {
  const { expiresAt: _e, identifierHashes: _h, ...letter } = item;
  return letter as unknown as DeadLetter;
}

/** BatchGetItem requests in flight at once when suppressions are looked up (100 keys each). */
const SUPPRESSION_READS_IN_FLIGHT = 8;

function ttl(days: number, now = Date.now()): number {
  return Math.floor(now / 1000) + days * 86_400;
}

export class DynamoStores implements Stores {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tables: Record<TableName, string>,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.activations = new DynamoActivations(this.doc, tables.activations);
    this.contacts = new DynamoContacts(this.doc, tables.contacts);
    this.ledger = new DynamoContactLedger(this.doc, tables.activations);
  }

  /** The contact ledger, in the activations table (lib/store/ledger-dynamo.ts). */
  readonly ledger: DynamoContactLedger;

  /** Sealed contact addresses (lib/store/activations-dynamo.ts). */
  readonly contacts: DynamoContacts;

  /** Campaign entries (lib/store/activations-dynamo.ts). */
  readonly activations: DynamoActivations;

  /** BatchGetItem with retry of unprocessed keys (lib/store/dynamo-batch.ts). */
  private batchGet(table: string, keys: Array<Record<string, string>>, projection?: string, consistent = false): Promise<Array<Record<string, unknown>>> {
    return batchGetItems(this.doc, table, keys, { ...(projection ? { projection } : {}), consistent });
  }

  /** Puts items (or, with `remove`, deletes the items with these keys), retrying what DynamoDB leaves unprocessed (lib/store/dynamo-batch.ts). */
  private batchWrite(table: string, items: Array<Record<string, unknown>>, remove = false): Promise<void> {
    return batchWriteItems(this.doc, table, items, remove);
  }

  /** A conditional write; a failed condition becomes a ConflictError (someone else wrote first). */
  private async conditional(command: PutCommand | UpdateCommand | DeleteCommand, what: string): Promise<void> {
    try {
      await this.doc.send(command as PutCommand);
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException') {
        throw new ConflictError(`${what} changed concurrently`);
      }
      throw e;
    }
  }

  private async queryAll(input: ConstructorParameters<typeof QueryCommand>[0], limit: number): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      out.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out.slice(0, limit);
  }

  readonly profiles: ProfileStore = {
    getMany: async (ids) => (await this.profiles.load(ids)).profiles,
    load: async (ids) => {
      const items = await this.batchGet(this.tables.profiles, ids.map((profileId) => ({ profileId })));
      const out: LoadedProfiles = { profiles: new Map(), pending: new Map(), documents: new Map(), marked: new Map() };
      for (const i of items) {
        // An item without a document holds only pending merges (a new survivor not written yet).
        if (typeof i.doc === 'string') {
          out.profiles.set(i.profileId as string, { ...(JSON.parse(i.doc) as Profile), version: Number(i.version) });
          out.documents.set(i.profileId as string, i.doc);
        }
        if (i.pending instanceof Set && i.pending.size > 0) out.pending.set(i.profileId as string, [...(i.pending as Set<string>)].sort());
        if (i.merges !== undefined) out.marked.set(i.profileId as string, Number(i.merges));
      }
      return out;
    },
    scan: async (cursor, pageSize = 1000) => {
      const res = await this.doc.send(
        new ScanCommand({ TableName: this.tables.profiles, Limit: pageSize, ...(cursor ? { ExclusiveStartKey: JSON.parse(cursor) as Record<string, unknown> } : {}) }),
      );
      // Items holding only pending merges (no document) are not profiles yet.
      const profiles = (res.Items ?? []).filter((i) => typeof i.doc === 'string').map((i) => ({ ...(JSON.parse(i.doc as string) as Profile), version: Number(i.version) }));
      return { profiles, ...(res.LastEvaluatedKey ? { cursor: JSON.stringify(res.LastEvaluatedKey) } : {}) };
    },
    markPendingMerge: async (survivorId, loserIds) => {
      await this.conditional(
        new UpdateCommand({
          TableName: this.tables.profiles,
          Key: { profileId: survivorId },
          // Counted, so a tombstone write of this item loaded before the mark is refused; never on a tombstone.
          UpdateExpression: 'ADD #pending :losers, merges :one',
          ConditionExpression: 'attribute_not_exists(mergedInto)',
          ExpressionAttributeNames: { '#pending': 'pending' },
          ExpressionAttributeValues: { ':losers': new Set(loserIds), ':one': 1 },
        }),
        `profile ${survivorId} (merged away)`,
      );
    },
    settlePendingMerge: async (holderId, loserIds) => {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tables.profiles,
            Key: { profileId: holderId },
            UpdateExpression: 'DELETE #pending :losers',
            ConditionExpression: 'attribute_exists(profileId)',
            ExpressionAttributeNames: { '#pending': 'pending' },
            ExpressionAttributeValues: { ':losers': new Set(loserIds) },
          }),
        );
      } catch (e) {
        // Nothing to settle on an item that is not there.
        if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
      }
    },
    getCards: async (ids) => {
      const items = await this.batchGet(this.tables.profiles, ids.map((profileId) => ({ profileId })), 'profileId, card');
      return new Map(items.filter((i) => i.card !== undefined).map((i) => [i.profileId as string, JSON.parse(i.card as string) as MatchCard]));
    },
    put: async (profile, expectedVersion, write = {}) => {
      const { settled, marked } = write;
      // An update, not a put: the item's pending merges stay, but for those this write settles.
      const values: Record<string, unknown> = {
        ':version': profile.version,
        ':updatedAt': profile.updatedAt,
        ':doc': write.document ?? profileDocument(profile),
        ':card': JSON.stringify(matchCardOf(profile)),
      };
      let expression = 'SET version = :version, updatedAt = :updatedAt, doc = :doc, card = :card';
      if (profile.mergedInto !== undefined) {
        expression += ', mergedInto = :mergedInto';
        values[':mergedInto'] = profile.mergedInto;
      } else expression += ' REMOVE mergedInto';
      if (settled !== undefined && settled.length > 0) {
        expression += ' DELETE #pending :settled';
        values[':settled'] = new Set(settled);
      }
      if (expectedVersion !== 0) values[':expected'] = expectedVersion;
      // A new profile's item may exist already, holding only merges pending into it (no version).
      let condition = expectedVersion === 0 ? 'attribute_not_exists(version)' : 'version = :expected';
      if (marked !== undefined) {
        // A tombstone: no merge into this profile marked since it was loaded.
        condition += marked === 0 ? ' AND attribute_not_exists(merges)' : ' AND merges = :marked';
        if (marked !== 0) values[':marked'] = marked;
      }
      await this.conditional(
        new UpdateCommand({
          TableName: this.tables.profiles,
          Key: { profileId: profile.profileId },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ...(settled !== undefined && settled.length > 0 ? { ExpressionAttributeNames: { '#pending': 'pending' } } : {}),
          ExpressionAttributeValues: values,
        }),
        `profile ${profile.profileId}`,
      );
    },
    remove: async (profileId, expectedVersion) => {
      await this.conditional(
        new DeleteCommand({
          TableName: this.tables.profiles,
          Key: { profileId },
          // A missing item stays missing; an item holding only pending merges has no version.
          ConditionExpression: 'attribute_not_exists(profileId) OR attribute_not_exists(version) OR version = :v',
          ExpressionAttributeValues: { ':v': expectedVersion },
        }),
        `profile ${profileId}`,
      );
    },
  };

  readonly graph: IdentityGraphStore = {
    getOwners: async (keys) => new Map([...(await this.graph.links(keys))].map(([k, link]) => [k, link.profileId])),
    links: async (keys) => {
      const items = await this.batchGet(this.tables.graph, keys.map((k) => ({ pk: `ID#${k}`, sk: 'OWNER' })));
      return new Map(
        items.map((i): [string, OwnerLink] => [
          (i.pk as string).slice(3),
          {
            profileId: i.profileId as string,
            ...(Array.isArray(i.movedFrom) && i.movedFrom.length > 0 ? { movedFrom: i.movedFrom as OwnerLink['movedFrom'] } : {}),
            ...(typeof i.heldBefore === 'string' ? { heldBefore: i.heldBefore } : {}),
          },
        ]),
      );
    },
    putOwner: async (key, profileId, expected, movedFrom, heldBefore) => {
      await this.conditional(
        new PutCommand({
          TableName: this.tables.graph,
          Item: { pk: `ID#${key}`, sk: 'OWNER', profileId, linkedAt: new Date().toISOString(), ...(movedFrom && movedFrom.length > 0 ? { movedFrom } : {}), ...(heldBefore ? { heldBefore } : {}) },
          // Exactly the owner it was loaded with: a batch creating the same profile at once (ids are derived) fails here.
          ConditionExpression: expected === undefined ? 'attribute_not_exists(pk)' : 'profileId = :e',
          ...(expected === undefined ? {} : { ExpressionAttributeValues: { ':e': expected } }),
        }),
        `identifier ${key}`,
      );
    },
    putVisits: async (visits) => {
      await this.batchWrite(
        this.tables.graph,
        visits.map((v) => ({ pk: `NET#${v.network}`, sk: v.profileId, lastSeen: v.lastSeen, ...(v.expiresAt !== undefined ? { expiresAt: v.expiresAt } : {}) })),
      );
    },
    visitsOn: async (network, limit) => {
      const items = await this.queryAll(
        {
          TableName: this.tables.graph,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `NET#${network}` },
          // Strongly consistent: two devices first seen in the same moment must see each other.
          ConsistentRead: true,
        },
        limit,
      );
      return items.map((i): NetworkVisit => ({ network, profileId: i.sk as string, lastSeen: i.lastSeen as string }));
    },
    linkedTo: async (profileIds) => {
      const keys: string[] = [];
      for (const profileId of new Set(profileIds)) {
        const items = await this.queryAll({ TableName: this.tables.graph, IndexName: 'byOwner', KeyConditionExpression: 'profileId = :p', ExpressionAttributeValues: { ':p': profileId } }, 10_000);
        keys.push(...items.map((i) => (i.pk as string).slice(3)));
      }
      return keys;
    },
    removeOwner: async (key, profileId) => {
      try {
        await this.doc.send(
          new DeleteCommand({ TableName: this.tables.graph, Key: { pk: `ID#${key}`, sk: 'OWNER' }, ConditionExpression: 'profileId = :p', ExpressionAttributeValues: { ':p': profileId } }),
        );
        return true;
      } catch (e) {
        // Linked to someone else by now, or gone: not this profile's to remove.
        if ((e as Error).name === 'ConditionalCheckFailedException') return false;
        throw e;
      }
    },
    removeVisits: async (visits) => {
      await this.batchWrite(this.tables.graph, visits.map((v) => ({ pk: `NET#${v.network}`, sk: v.profileId })), true);
    },
  };

  readonly events: EventStore = {
    existing: async (ids) => {
      // Strongly consistent: a producer retry arriving right after the original was stored must see it.
      const items = await this.batchGet(this.tables.events, ids.map((messageId) => ({ messageId })), 'messageId', true);
      return new Set(items.map((i) => i.messageId as string));
    },
    put: async (events) => {
      const expiresAt = ttl(EVENT_RETENTION_DAYS);
      await this.batchWrite(
        this.tables.events,
        events.map((e) => ({
          messageId: e.event.messageId,
          profileId: e.profileId,
          ts: `${e.event.timestamp}#${e.event.messageId}`,
          event: JSON.stringify(e.event),
          expiresAt,
        })),
      );
    },
    byProfiles: async (profileIds, limit) => {
      const lists = await Promise.all(
        profileIds.map((profileId) =>
          this.queryAll(
            {
              TableName: this.tables.events,
              IndexName: 'byProfile',
              KeyConditionExpression: 'profileId = :p',
              ExpressionAttributeValues: { ':p': profileId },
            },
            limit,
          ),
        ),
      );
      return lists
        .flat()
        .sort((a, b) => ((a.ts as string) < (b.ts as string) ? -1 : 1))
        .slice(0, limit)
        .map((i): StoredEvent => ({ profileId: i.profileId as string, event: JSON.parse(i.event as string) }));
    },
    scan: async (cursor, pageSize = 1000) => {
      const res = await this.doc.send(
        new ScanCommand({ TableName: this.tables.events, Limit: pageSize, ...(cursor ? { ExclusiveStartKey: JSON.parse(cursor) as Record<string, unknown> } : {}) }),
      );
      const events = (res.Items ?? []).map((i): StoredEvent => ({ profileId: i.profileId as string, event: JSON.parse(i.event as string) }));
      return { events, ...(res.LastEvaluatedKey ? { cursor: JSON.stringify(res.LastEvaluatedKey) } : {}) };
    },
    remove: async (messageIds) => {
      await this.batchWrite(this.tables.events, messageIds.map((messageId) => ({ messageId })), true);
    },
  };

  /**
   * Dead letters: `id` -> the letter, with its `identifierHashes`; `IDX#<hash>#<letter id>` -> an index
   * entry (`identifierHash`, `letterId`) per hash, in the `byIdentifier` index (keys only). Entries
   * expire with their letter.
   */
  readonly deadLetters: DeadLetterStore = {
    put: async (letters) => {
      const expiresAt = ttl(DEAD_LETTER_RETENTION_DAYS);
      const items = [...new Map(letters.map((l) => [l.id, l])).values()].flatMap(({ identifierHashes, ...l }) => [
        { ...l, ...(identifierHashes.length > 0 ? { identifierHashes } : {}), expiresAt },
        ...[...new Set(identifierHashes)].map((h) => ({ id: `IDX#${h}#${l.id}`, identifierHash: h, letterId: l.id, expiresAt })),
      ]);
      // A full batch of letters with their entries is thousands of items: several requests at once keep the collector's answer fast.
      await batchWriteItems(this.doc, this.tables.deadLetters, items, false, DEAD_LETTER_WRITES_IN_FLIGHT);
    },
    list: async (limit) => {
      const out: DeadLetter[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const res = await this.doc.send(new ScanCommand({ TableName: this.tables.deadLetters, FilterExpression: 'attribute_exists(reason)', ExclusiveStartKey: start }));
        out.push(...(res.Items ?? []).map(letterOf));
        start = res.LastEvaluatedKey;
      } while (start && out.length < limit);
      return out.slice(0, limit);
    },
    carrying: async (hashes, limit) => {
      const wanted = new Set(hashes);
      const found = new Map<string, DeadLetter>();
      const asked = new Set<string>();
      const lookUp = async (hash: string) => {
        let start: Record<string, unknown> | undefined;
        do {
          const res = await this.doc.send(
            new QueryCommand({ TableName: this.tables.deadLetters, IndexName: 'byIdentifier', KeyConditionExpression: 'identifierHash = :h', ExpressionAttributeValues: { ':h': hash }, ProjectionExpression: 'letterId', Limit: limit, ExclusiveStartKey: start }),
          );
          const ids = (res.Items ?? []).map((i) => i.letterId as string).filter((id) => !asked.has(id));
          for (const id of ids) asked.add(id);
          // The letter as it is now: one gone (removed, expired) or rewritten without the hashes asked for is not found by its old entries.
          for (const item of await this.batchGet(this.tables.deadLetters, ids.map((id) => ({ id })), undefined, true)) {
            const carries = Array.isArray(item.identifierHashes) && (item.identifierHashes as string[]).some((h) => wanted.has(h));
            if (carries && found.size < limit) found.set(item.id as string, letterOf(item));
          }
          start = res.LastEvaluatedKey;
        } while (start && found.size < limit);
      };
      // One query per hash (DynamoDB has no batched query), several at once.
      const queue = [...wanted];
      const worker = async () => {
        for (let hash = queue.shift(); hash !== undefined && found.size < limit; hash = queue.shift()) await lookUp(hash);
      };
      const settled = await Promise.allSettled(Array.from({ length: Math.min(DEAD_LETTER_QUERIES_IN_FLIGHT, queue.length) }, worker));
      const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
      return [...found.values()];
    },
    remove: async (ids) => {
      const unique = [...new Set(ids)];
      const letters = await this.batchGet(this.tables.deadLetters, unique.map((id) => ({ id })), 'id, identifierHashes', true);
      const entries = letters.flatMap((l) => ((l.identifierHashes as string[] | undefined) ?? []).map((h) => ({ id: `IDX#${h}#${l.id as string}` })));
      await batchWriteItems(this.doc, this.tables.deadLetters, [...unique.map((id) => ({ id })), ...entries], true, DEAD_LETTER_WRITES_IN_FLIGHT);
    },
  };

  /** The privacy table: `SUP#<hash>` / `ID` (suppressed identifier), `ERASED#<profileId>` / `ERASURE`, `AUDIT#<day>` / `<at>#<id>`. */
  readonly privacy: PrivacyStore = {
    suppressed: async (hashes) => {
      // One wave of reads: the collector asks about every address of a request (up to 5,000 keys) before it answers.
      const items = await batchGetItems(this.doc, this.tables.privacy, [...new Set(hashes)].map((h) => ({ pk: `SUP#${h}`, sk: 'ID' })), { consistent: true, inFlight: SUPPRESSION_READS_IN_FLIGHT });
      return new Map(items.map((i) => [(i.pk as string).slice(4), String(i.at)]));
    },
    suppress: async (hashes, at) => {
      await this.batchWrite(this.tables.privacy, [...new Set(hashes)].map((h) => ({ pk: `SUP#${h}`, sk: 'ID', at })));
    },
    erasure: async (profileId) => {
      const res = await this.doc.send(new GetCommand({ TableName: this.tables.privacy, Key: { pk: `ERASED#${profileId}`, sk: 'ERASURE' }, ConsistentRead: true }));
      if (!res.Item) return undefined;
      const letterHashes = res.Item.letterHashes as string[] | undefined;
      return { profileId, at: res.Item.at as string, profileIds: res.Item.profileIds as string[], ...(letterHashes ? { letterHashes } : {}) } satisfies ErasureRecord;
    },
    recordErasure: async (record) => {
      await this.doc.send(new PutCommand({ TableName: this.tables.privacy, Item: { pk: `ERASED#${record.profileId}`, sk: 'ERASURE', at: record.at, profileIds: record.profileIds, ...(record.letterHashes ? { letterHashes: record.letterHashes } : {}) } }));
    },
    audit: async (entry) => {
      await this.doc.send(new PutCommand({ TableName: this.tables.privacy, Item: { pk: `AUDIT#${entry.at.slice(0, 10)}`, sk: `${entry.at}#${entry.id}`, entry: JSON.stringify(entry) } }));
    },
    auditLog: async (day) => {
      const items = await this.queryAll({ TableName: this.tables.privacy, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `AUDIT#${day}` } }, 10_000);
      return items.map((i) => JSON.parse(i.entry as string) as AuditEntry);
    },
  };

  /**
   * Offer statistics: one item per offer and UTC day, counters as numbers (`clicks_holdout`), and per
   * shard a mark (`seq_<shardId>`) that the conditional `ADD` moves, so a retried batch counts once.
   */
  readonly offerStats: OfferStatsStore = {
    // A claim is an item of its own (`CLAIM#<key>` / `CLAIM`), beside the counters; it expires by TTL.
    claimed: async (keys) => {
      const items = await this.batchGet(this.tables.offerStats, keys.map((k) => ({ offerId: `CLAIM#${k}`, day: 'CLAIM' })), 'offerId', true);
      return new Set(items.map((i) => (i.offerId as string).slice(6)));
    },
    claim: async (key, message, expiresAt) => {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tables.offerStats,
            Item: { offerId: `CLAIM#${key}`, day: 'CLAIM', m: message, expiresAt },
            ConditionExpression: 'attribute_not_exists(offerId) OR m = :m',
            ExpressionAttributeValues: { ':m': message },
          }),
        );
        return true;
      } catch (e) {
        if ((e as Error).name === 'ConditionalCheckFailedException') return false;
        throw e;
      }
    },
    marks: async (keys, shardId) => {
      const items = await this.batchGet(
        this.tables.offerStats,
        keys.map((k) => ({ offerId: k.offerId, day: k.day })),
      );
      const out = new Map<string, string>();
      for (const item of items) {
        const mark = item[`seq_${shardId}`];
        if (typeof mark === 'string') out.set(`${item.offerId as string}|${item.day as string}`, mark);
      }
      return out;
    },
    add: async (key, shardId, previous, mark, counts) => {
      const names: Record<string, string> = { '#m': `seq_${shardId}` };
      const values: Record<string, unknown> = { ':mark': mark };
      const adds = Object.entries(counts).map(([name, n], i) => {
        names[`#c${i}`] = name;
        values[`:c${i}`] = n;
        return `#c${i} :c${i}`;
      });
      if (previous !== undefined) values[':prev'] = previous;
      await this.conditional(
        new UpdateCommand({
          TableName: this.tables.offerStats,
          Key: { offerId: key.offerId, day: key.day },
          UpdateExpression: `SET #m = :mark${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
          ConditionExpression: previous === undefined ? 'attribute_not_exists(#m)' : '#m = :prev',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
        `offer statistics ${key.offerId} ${key.day}`,
      );
    },
    range: async (offerId, from, to) => {
      const items = await this.queryAll(
        {
          TableName: this.tables.offerStats,
          KeyConditionExpression: 'offerId = :o AND #d BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#d': 'day' },
          ExpressionAttributeValues: { ':o': offerId, ':from': from, ':to': to },
        },
        400,
      );
      return items.map((item) => ({
        day: item.day as string,
        counts: Object.fromEntries(Object.entries(item).filter((e): e is [string, number] => typeof e[1] === 'number')) as OfferCounts,
      }));
    },
  };

  /**
   * Product popularity (lib/identity/popularity.ts) in the graph table: `POPULARITY` / `<day>#<shardId>`,
   * the counts as a number and a map, and a version. An add reads the item (consistent) and puts it
   * back merged and kept within its bound, on the condition that its version did not move (batches of
   * one shard rarely race; a lost race reads again, up to POPULARITY_TRIES). A read is one query of
   * the partition over the days asked (paged by 1 MB). Each item expires POPULARITY_KEPT_DAYS after
   * the window that reads it.
   */
  readonly popularity: ProductPopularityStore = {
    add: async (shardId, day, counts) => {
      const Key = { pk: POPULARITY_PK, sk: `${day}#${shardId}` };
      const expiresAt = Math.floor(Date.parse(`${day}T00:00:00.000Z`) / 1000) + (WINDOW_DAYS + POPULARITY_KEPT_DAYS) * 86_400;
      for (let attempt = 1; ; attempt++) {
        const item = (await this.doc.send(new GetCommand({ TableName: this.tables.graph, Key, ConsistentRead: true }))).Item;
        const version = typeof item?.version === 'number' ? item.version : 0;
        const merged = addPopularity(item === undefined ? NO_POPULARITY : storedPopularity(item), counts);
        try {
          await this.conditional(
            new PutCommand({
              TableName: this.tables.graph,
              Item: { ...Key, profiles: merged.profiles, products: merged.products, version: version + 1, expiresAt },
              ConditionExpression: item === undefined ? 'attribute_not_exists(pk)' : '#v = :v',
              ...(item === undefined ? {} : { ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': version } }),
            }),
            `product popularity ${Key.sk}`,
          );
          return;
        } catch (e) {
          if (!(e instanceof ConflictError) || attempt >= POPULARITY_TRIES) throw e;
        }
      }
    },
    read: async (days) => {
      const sorted = [...days].sort();
      const [first, last] = [sorted[0], sorted.at(-1)];
      if (first === undefined || last === undefined) return NO_POPULARITY;
      const items = await this.queryAll(
        {
          TableName: this.tables.graph,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ProjectionExpression: 'sk, #p, #c',
          ExpressionAttributeNames: { '#p': 'profiles', '#c': 'products' },
          ExpressionAttributeValues: { ':pk': POPULARITY_PK, ':from': `${first}#`, ':to': `${last}#\uffff` },
        },
        MAX_POPULARITY_ITEMS,
      );
      const wanted = new Set(days);
      return sumDays(
        items.map((i) => ({ day: String(i.sk).slice(0, String(i.sk).indexOf('#')), counts: storedPopularity(i) })).filter((i) => wanted.has(i.day)),
        last,
      );
    },
  };
}

const POPULARITY_PK = 'POPULARITY';
/** Reads of a popularity item before a batch's count is given up (each lost race is a batch of the same shard writing it). */
const POPULARITY_TRIES = 4;
/** How long a popularity item outlives the window that reads it. */
const POPULARITY_KEPT_DAYS = 3;
/** The most popularity items a read takes (days times shards). */
const MAX_POPULARITY_ITEMS = 10_000;

/** An item's counts as stored (what is not a number is left out when they are added up: lib/identity/popularity.ts). */
function storedPopularity(item: Record<string, unknown>): PopularityCounts {
  const products = item.products;
  return { profiles: typeof item.profiles === 'number' ? item.profiles : 0, products: typeof products === 'object' && products !== null ? (products as Record<string, number>) : {} };
}
