import { createHash } from 'node:crypto';
import type { CollectedEvent } from '../events/segment';
import { identifierTag, verifyDecisionToken } from '../decision/token';
import { asObject, own } from '../events/json';
import { ConflictError, type OfferCounts, type OfferStatKey, type OfferStatsStore } from '../store/ports';

/**
 * Offer statistics from feedback: the impressions, clicks, dismissals and conversions that client
 * apps report for the offers of a decision (Segment's `Promotion Viewed` / `Promotion Clicked`, and
 * `Promotion Dismissed` / `Promotion Converted`), with `properties.promotion_id` (the offer) and
 * `properties.decision_id`. Counted per offer, UTC day and variant (`properties.variant` as the
 * decision answered it: personalised or holdout; else unknown), exactly once per event.
 */
export const FEEDBACK_EVENTS = {
  'Promotion Viewed': 'impressions',
  'Promotion Clicked': 'clicks',
  'Promotion Dismissed': 'dismissals',
  'Promotion Converted': 'conversions',
} as const;
export type FeedbackKind = (typeof FEEDBACK_EVENTS)[keyof typeof FEEDBACK_EVENTS];
export const FEEDBACK_KINDS = Object.values(FEEDBACK_EVENTS);
export const VARIANTS = ['personalised', 'holdout', 'unknown'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface Feedback extends OfferStatKey {
  kind: FeedbackKind;
  variant: Variant;
}

const OFFER_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** The feedback an event carries, or undefined (not a feedback event, no decision id, no usable offer id). */
export function feedbackOf(event: CollectedEvent): Feedback | undefined {
  if (event.type !== 'track') return undefined;
  // An own entry only: `constructor` or `__proto__` is an event name like any other, not a kind.
  const kind = own<FeedbackKind>(FEEDBACK_EVENTS, event.event);
  if (kind === undefined) return undefined;
  const p = asObject(event.properties);
  if (typeof p?.decision_id !== 'string' || p.decision_id === '') return undefined;
  if (typeof p.promotion_id !== 'string' || !OFFER_ID.test(p.promotion_id)) return undefined;
  const day = new Date(event.timestamp);
  if (Number.isNaN(day.getTime())) return undefined;
  const variant: Variant = p.variant === 'personalised' || p.variant === 'holdout' ? p.variant : 'unknown';
  return { offerId: p.promotion_id, day: day.toISOString().slice(0, 10), kind, variant };
}

/** How long after its decision feedback is counted (by receipt), and how far before it (clocks differ). */
export const FEEDBACK_WINDOW_SECONDS = 7 * 86_400;
const FEEDBACK_EARLY_SECONDS = 300;

/** Who sent a feedback event: the profile it resolved to (and those merged into it) and its identifiers. */
export interface FeedbackSender {
  profileIds: ReadonlySet<string>;
  identifierKeys: string[];
}

/**
 * The feedback an event carries, if it may be counted: its `properties.decision_token` verifies
 * (lib/decision/token.ts), is for the `decision_id` it names, names the offer, was issued at most
 * seven days before the event was received, and was issued for this sender (her profile, one merged
 * into it, or an identifier the event carries). The variant is the token's. `refused` says why not;
 * an event that is not feedback at all gives neither.
 */
export function honestFeedback(event: CollectedEvent, sender: FeedbackSender, key: Buffer): { feedback?: Feedback; refused?: string } {
  const claimed = feedbackOf(event);
  if (claimed === undefined) return {};
  const p = asObject(event.properties);
  const claims = verifyDecisionToken(p?.decision_token, key);
  if (claims === undefined) return { refused: 'no valid decision token' };
  if (claims.d !== p?.decision_id) return { refused: 'the token is for another decision' };
  if (!claims.o.includes(claimed.offerId)) return { refused: 'the token does not name this offer' };
  const age = Date.parse(event.receivedAt) / 1000 - claims.t;
  if (!(age >= -FEEDBACK_EARLY_SECONDS && age <= FEEDBACK_WINDOW_SECONDS)) return { refused: 'the token is out of its time window' };
  const forSender =
    (claims.p !== null && sender.profileIds.has(claims.p)) || (claims.i !== null && sender.identifierKeys.some((k) => identifierTag(k, key) === claims.i));
  if (!forSender) return { refused: 'the token was issued to someone else' };
  return { feedback: { ...claimed, variant: claims.v } };
}

/** The key a piece of feedback is counted once by, across the deployment: its decision, offer and kind. */
export const feedbackKey = (decisionId: string, f: Feedback): string => createHash('sha256').update(`${decisionId}|${f.offerId}|${f.kind}`).digest('hex').slice(0, 16);

/** What a claim holds of the message that made it: a hash, so the offer statistics keep nothing of a person. */
export const claimant = (messageId: string): string => createHash('sha256').update(`claim|${messageId}`).digest('hex').slice(0, 16);

/** Sequence numbers as fixed-width strings, so the stored marks compare in order. */
export const markOf = (sequenceNumber: string): string => sequenceNumber.padStart(64, '0');

export interface FeedbackRecord {
  /** Whose records these are: a failure fails this group. */
  group: string;
  shardId: string;
  sequenceNumber: string;
  feedback: Feedback;
  /** What it is counted once by (feedbackKey), and the message that counts it. */
  claim: { key: string; message: string };
}

/**
 * Claims each record's feedback for its message, once across the whole deployment (a claim item per
 * decision, offer and kind), so a replay under another messageId, from any profile or device, is not
 * counted; a retry of the message that claimed it is (the counters' marks count it once). Two records of
 * one batch with one key: the first in sequence claims it. A claim that fails fails its group (retried).
 */
export async function claimFeedback(records: FeedbackRecord[], store: OfferStatsStore, now: Date): Promise<{ records: FeedbackRecord[]; replays: number; failedGroups: Set<string>; errors: Error[] }> {
  const first = new Map<string, string>();
  for (const r of [...records].sort((a, b) => (markOf(a.sequenceNumber) < markOf(b.sequenceNumber) ? -1 : 1))) if (!first.has(r.claim.key)) first.set(r.claim.key, r.claim.message);
  const expiresAt = Math.floor(now.getTime() / 1000) + FEEDBACK_WINDOW_SECONDS + 86_400;
  const outcome = new Map<string, boolean | Error>();
  await Promise.all(
    [...first].map(async ([key, message]) => {
      outcome.set(key, await store.claim(key, message, expiresAt).catch((e: unknown) => e as Error));
    }),
  );
  const out = { records: [] as FeedbackRecord[], replays: 0, failedGroups: new Set<string>(), errors: [] as Error[] };
  for (const r of records) {
    const o = outcome.get(r.claim.key);
    if (o instanceof Error) {
      out.failedGroups.add(r.group);
      if (!out.errors.includes(o)) out.errors.push(o);
    } else if (o === true && first.get(r.claim.key) === r.claim.message) out.records.push(r);
    else out.replays += 1;
  }
  return out;
}

/**
 * Which feedback can be counted now. A failed group's records come back from the lowest failed
 * record on, so an item's mark must not pass them: on an item that a failed group's record touches,
 * a written group's later records wait too (their group is failed, so its events stay unstored and come
 * back with the retry). Everything else counts.
 */
export function countableFeedback(records: FeedbackRecord[], written: ReadonlySet<string>): { countable: FeedbackRecord[]; deferredGroups: Set<string> } {
  const itemOf = (r: FeedbackRecord) => `${r.shardId}|${r.feedback.offerId}|${r.feedback.day}`;
  const lowestRetried = new Map<string, string>();
  for (const r of records) {
    if (written.has(r.group)) continue;
    const mark = markOf(r.sequenceNumber);
    const low = lowestRetried.get(itemOf(r));
    if (low === undefined || mark < low) lowestRetried.set(itemOf(r), mark);
  }
  const countable: FeedbackRecord[] = [];
  const deferredGroups = new Set<string>();
  for (const r of records) {
    if (!written.has(r.group)) continue;
    const low = lowestRetried.get(itemOf(r));
    if (low !== undefined && markOf(r.sequenceNumber) > low) deferredGroups.add(r.group);
    else countable.push(r);
  }
  return { countable, deferredGroups };
}

export interface FeedbackResult {
  /** Groups whose feedback could not be counted (their records must be retried). */
  failedGroups: Set<string>;
  errors: Error[];
  /** Conditional updates written. */
  updates: number;
}

/**
 * Counts the feedback of a batch: per shard, one read of the touched items' marks, then one
 * conditional update per (offer, day) adding only the records past its mark and moving the mark.
 * A retried batch (Lambda retries from the failed record, possibly with more records) therefore adds
 * each event once. A failed update fails the groups whose records it carried.
 */
export async function countFeedback(records: FeedbackRecord[], store: OfferStatsStore): Promise<FeedbackResult> {
  const result: FeedbackResult = { failedGroups: new Set(), errors: [], updates: 0 };
  const byShard = new Map<string, FeedbackRecord[]>();
  for (const r of records) byShard.set(r.shardId, [...(byShard.get(r.shardId) ?? []), r]);
  for (const [shardId, list] of byShard) {
    const items = new Map<string, { key: OfferStatKey; records: FeedbackRecord[] }>();
    for (const r of list) {
      const id = `${r.feedback.offerId}|${r.feedback.day}`;
      const item = items.get(id) ?? { key: { offerId: r.feedback.offerId, day: r.feedback.day }, records: [] };
      item.records.push(r);
      items.set(id, item);
    }
    let marks: Map<string, string>;
    try {
      marks = await store.marks([...items.values()].map((i) => i.key), shardId);
    } catch (e) {
      result.errors.push(e as Error);
      for (const r of list) result.failedGroups.add(r.group);
      continue;
    }
    await Promise.all(
      [...items].map(async ([id, item]) => {
        const previous = marks.get(id);
        const counts: OfferCounts = {};
        let mark = previous;
        for (const r of item.records) {
          const m = markOf(r.sequenceNumber);
          if (previous !== undefined && m <= previous) continue;
          const name = `${r.feedback.kind}_${r.feedback.variant}`;
          counts[name] = (counts[name] ?? 0) + 1;
          if (mark === undefined || m > mark) mark = m;
        }
        if (mark === undefined || mark === previous) return;
        try {
          await store.add(item.key, shardId, previous, mark, counts);
          result.updates += 1;
        } catch (e) {
          result.errors.push(e instanceof ConflictError ? e : (e as Error));
          for (const r of item.records) result.failedGroups.add(r.group);
        }
      }),
    );
  }
  return result;
}

export interface OfferRates {
  impressions: number;
  clicks: number;
  dismissals: number;
  conversions: number;
  /** clicks / impressions (null without impressions). */
  clickThroughRate: number | null;
  /** conversions / impressions (null without impressions). */
  conversionRate: number | null;
}

export function ratesOf(counts: Record<FeedbackKind, number>): OfferRates {
  const rate = (n: number) => (counts.impressions > 0 ? Math.round((n / counts.impressions) * 10_000) / 10_000 : null);
  return { ...counts, clickThroughRate: rate(counts.clicks), conversionRate: rate(counts.conversions) };
}

/** One offer's report over days: per variant and in total. */
export function offerReport(days: Array<{ counts: OfferCounts }>): { variants: Record<Variant, OfferRates>; total: OfferRates } {
  const zero = (): Record<FeedbackKind, number> => ({ impressions: 0, clicks: 0, dismissals: 0, conversions: 0 });
  const byVariant = Object.fromEntries(VARIANTS.map((v) => [v, zero()])) as Record<Variant, Record<FeedbackKind, number>>;
  const total = zero();
  for (const { counts } of days) {
    for (const kind of FEEDBACK_KINDS) {
      for (const v of VARIANTS) {
        const n = counts[`${kind}_${v}`] ?? 0;
        byVariant[v][kind] += n;
        total[kind] += n;
      }
    }
  }
  return { variants: Object.fromEntries(VARIANTS.map((v) => [v, ratesOf(byVariant[v])])) as Record<Variant, OfferRates>, total: ratesOf(total) };
}
