/**
 * Processing marks: how a profile proves which stream records it has already folded, so that a
 * redelivered record is not counted twice and a retried record is not skipped, whatever failed,
 * retried or merged in between.
 *
 * The event source mapping delivers one shard's records in order, one batch at a time, and a batch
 * starts at or after the checkpoint: every record before a batch's first record is done (folded
 * somewhere, or given up on and dead-lettered). So a profile written from a batch keeps, per shard:
 * - `below`: the batch's first sequence number. Every record of the shard below it is done. This is
 *   a fact about the shard, not about this profile, so it stays true when profiles merge (the larger
 *   one wins).
 * - `applied`: the records at or above `below` that were folded into this profile (exact). A merge
 *   takes the union, so the survivor knows every record folded into either side.
 * A record is a redelivery if it is below any loaded profile's mark for its shard, or listed as
 * applied by one of them. (A per-profile high-water mark, the earlier design, is not enough: a
 * profile whose write succeeded moves past a record of another profile whose write failed, and a
 * merge of the two then skipped the retried record.)
 *
 * Bounds: `applied` holds the records of the profile's last batch from each shard and of an
 * overlapping retry, so with the mapping's batches of 100 records it stays small. A shard's mark is
 * dropped once it is older than MARK_RETENTION_MS (`at`, when it was last written): its records can no
 * longer be delivered again (the stream keeps records 24 hours and the mapping gives up after 6), and a
 * replay of older records is still caught by their stored messageIds. At most MAX_APPLIED records are
 * kept in all, the most recently written shards first: exactly-once holds while one customer has at
 * most that many records in flight (ten shards' batches of 100 at once); past it, a redelivery of the
 * oldest ones could count them again. (About 60 bytes a record: 60 KB of the profile's budget at most.)
 */
export interface ShardMark {
  below: string;
  applied: string[];
  /** When the mark was last moved (ingest clock, ISO 8601). */
  at: string;
}

export type ShardMarks = Record<string, ShardMark>;

export const MAX_APPLIED = 1024;
export const MARK_RETENTION_MS = 7 * 86_400_000;

/**
 * The messageIds a profile folded last (as short keys), so that a copy of a message sent again by its
 * producer is recognised even when it travels on another shard and the first copy's event was not
 * stored yet (the events table is the usual check). The collector puts every copy of a message on
 * one shard (the partition key comes from the message), so this matters for other producers.
 */
export const MAX_RECENT_MESSAGES = 16;

/** A 48-bit key of a messageId (two 32-bit FNV-1a hashes with different seeds, 12 hex digits): a collision among 16 is a chance in 10^13. */
export function messageKey(messageId: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ messageId.length;
  for (let i = 0; i < messageId.length; i++) {
    const c = messageId.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return `${(a >>> 0).toString(16).padStart(8, '0')}${((b >>> 0) & 0xffff).toString(16).padStart(4, '0')}`;
}

/** The keys kept: the newest last, each once, at most MAX_RECENT_MESSAGES. */
export function keepRecent(keys: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = keys.length - 1; i >= 0 && out.length < MAX_RECENT_MESSAGES; i--) {
    const k = keys[i] as string;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(k);
    }
  }
  return out.reverse();
}

/** Compares Kinesis sequence numbers (decimal strings without leading zeros, up to 128 bits). */
export function compareSeq(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

const maxSeq = (a: string, b: string): string => (compareSeq(a, b) >= 0 ? a : b);

function bounded(below: string, applied: Iterable<string>, at: string): ShardMark {
  const kept = [...new Set(applied)].filter((s) => compareSeq(s, below) >= 0).sort(compareSeq);
  return { below, applied: kept, at };
}

/** Drops marks past their retention, and keeps at most MAX_APPLIED records, the most recently written shards first. */
function boundedShards(marks: ShardMarks, now: number): ShardMarks {
  const entries = Object.entries(marks)
    .filter(([, m]) => now - Date.parse(m.at) <= MARK_RETENTION_MS)
    .sort((x, y) => (x[1].at > y[1].at ? -1 : x[1].at < y[1].at ? 1 : x[0] < y[0] ? -1 : 1));
  const out: ShardMarks = {};
  let room = MAX_APPLIED;
  for (const [shardId, m] of entries) {
    const kept = m.applied.length <= room ? m.applied : room > 0 ? m.applied.slice(m.applied.length - room) : [];
    out[shardId] = kept === m.applied ? m : { ...m, applied: kept };
    room -= kept.length;
  }
  return out;
}

/** Records that `records` (sequence numbers of one shard, from a batch starting at `batchFirst`) were folded, at `now`. */
export function advanceMark(marks: ShardMarks, shardId: string, batchFirst: string, records: string[], now: Date): ShardMarks {
  const mine = Object.hasOwn(marks, shardId) ? marks[shardId] : undefined;
  const below = mine === undefined ? batchFirst : maxSeq(mine.below, batchFirst);
  return boundedShards({ ...marks, [shardId]: bounded(below, [...(mine?.applied ?? []), ...records], now.toISOString()) }, now.getTime());
}

/** The marks of a merged profile: per shard the larger `below`, the union of what was applied, the later time. */
export function mergeMarks(a: ShardMarks, b: ShardMarks): ShardMarks {
  const out: ShardMarks = { ...a };
  for (const [shardId, theirs] of Object.entries(b)) {
    const mine = Object.hasOwn(out, shardId) ? out[shardId] : undefined;
    out[shardId] = mine === undefined ? theirs : bounded(maxSeq(mine.below, theirs.below), [...mine.applied, ...theirs.applied], mine.at > theirs.at ? mine.at : theirs.at);
  }
  return out;
}

/**
 * What the profiles loaded for a batch know about one shard: a record is a redelivery when it is
 * below the largest mark or applied by any of them (tombstones included: they keep their marks).
 */
export class RedeliveryIndex {
  private below = '';
  private readonly applied = new Set<string>();

  constructor(
    readonly shardId: string,
    profiles: Iterable<{ marks?: ShardMarks }>,
  ) {
    for (const p of profiles) {
      if (p.marks === undefined) continue;
      const mark = p.marks !== undefined && Object.hasOwn(p.marks, shardId) ? p.marks[shardId] : undefined;
      if (mark === undefined) continue;
      if (this.below === '' || compareSeq(mark.below, this.below) > 0) this.below = mark.below;
      for (const s of mark.applied) this.applied.add(s);
    }
  }

  /** True if the record was already folded (or is below a point every record of the shard passed). */
  seen(sequenceNumber: string): boolean {
    return (this.below !== '' && compareSeq(sequenceNumber, this.below) < 0) || this.applied.has(sequenceNumber);
  }
}
