import { createHash } from 'node:crypto';
import type { CollectedEvent } from '../events/segment';
import { identifierTag, verifyDecisionToken } from '../decision/token';
import { asObject, own } from '../events/json';
import { ConflictError, type OfferCounts, type OfferStatKey, type OfferStatsStore } from '../store/ports';

/**
 * Offer statistics from feedback: the impressions, clicks, dismissals and conversions that client
 * apps report for the offers of a decision (Segment's `Promotion Viewed` / `Promotion Clicked`, and
 * `Promotion Dismissed` / `Promotion Converted`), with `properties.promotion_id` (the offer) and
 * `properties.decision_id`. Counted per offer, UTC day of the decision and variant (the decision
 * token's), at most once per decision, offer and kind; a click, dismissal or conversion only beside
 * the impression of the same decision and offer (countFeedback).
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
  /** The decision it is feedback on (`properties.decision_id`). */
  decisionId: string;
}

/** The kinds that count only beside the impression of the same decision and offer: what was not shown was not clicked. */
export const OUTCOME_KINDS: readonly FeedbackKind[] = ['clicks', 'dismissals', 'conversions'];

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
  return { offerId: p.promotion_id, day: day.toISOString().slice(0, 10), kind, variant, decisionId: p.decision_id };
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
 * into it, or an identifier the event carries). The variant and the day are the token's: the UTC day
 * the decision was made, whatever time the client stamps on the event. `refused` says why not; an
 * event that is not feedback at all gives neither.
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
  const decided = new Date(claims.t * 1000);
  if (Number.isNaN(decided.getTime())) return { refused: 'the token is out of its time window' };
  return { feedback: { ...claimed, variant: claims.v, day: decided.toISOString().slice(0, 10) } };
}

/** The key a piece of feedback is counted once by, across the deployment: its decision, offer and kind. */
export const feedbackKey = (decisionId: string, f: Pick<Feedback, 'offerId' | 'kind'>): string => createHash('sha256').update(`${decisionId}|${f.offerId}|${f.kind}`).digest('hex').slice(0, 16);

/** The key of the claim that settles who counts a click, dismissal or conversion: its own message, or its impression's (settleOutcomes). */
const settleKey = (key: string): string => createHash('sha256').update(`settle|${key}`).digest('hex').slice(0, 16);

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
 * one batch with one key: the first in sequence claims it. A claim that fails fails its group (retried),
 * and the later records on its item wait for the retry too, failing their groups: counting them now
 * would move the item's mark past the record that failed, and its retry would not count.
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
  const lowestFailed = new Map<string, string>();
  for (const r of records) {
    const low = lowestFailed.get(itemOf(r));
    if (outcome.get(r.claim.key) instanceof Error && (low === undefined || markOf(r.sequenceNumber) < low)) lowestFailed.set(itemOf(r), markOf(r.sequenceNumber));
  }
  const out = { records: [] as FeedbackRecord[], replays: 0, failedGroups: new Set<string>(), errors: [] as Error[] };
  for (const r of records) {
    const o = outcome.get(r.claim.key);
    const low = lowestFailed.get(itemOf(r));
    if (o instanceof Error) {
      out.failedGroups.add(r.group);
      if (!out.errors.includes(o)) out.errors.push(o);
    } else if (low !== undefined && markOf(r.sequenceNumber) > low) out.failedGroups.add(r.group);
    else if (o === true && first.get(r.claim.key) === r.claim.message) out.records.push(r);
    else out.replays += 1;
  }
  return out;
}

/** The statistics item a record counts on, per shard (each shard moves its own mark on it). */
const itemOf = (r: FeedbackRecord): string => `${r.shardId}|${r.feedback.offerId}|${r.feedback.day}`;

/**
 * Which feedback can be counted now. A failed group's records come back from the lowest failed
 * record on, so an item's mark must not pass them: on an item that a failed group's record touches,
 * a written group's later records wait too (their group is failed, so its events stay unstored and come
 * back with the retry). Everything else counts.
 */
export function countableFeedback(records: FeedbackRecord[], written: ReadonlySet<string>): { countable: FeedbackRecord[]; deferredGroups: Set<string> } {
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
 *
 * A click, dismissal or conversion counts only beside the impression of the same decision and offer
 * (settleOutcomes): one whose impression came first (in an earlier batch, or earlier in this one)
 * counts now; one whose impression has not come yet waits, and counts with its impression when that
 * arrives, on any shard, in the impression's update (the same item: feedback counts on its decision's
 * day). A holder of the decision key therefore adds no click without adding its impression.
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
    let counted: Map<FeedbackRecord, FeedbackKind[]>;
    try {
      marks = await store.marks([...items.values()].map((i) => i.key), shardId);
      // Only records past their item's mark settle anything: the others were counted, or waited, before.
      const past = list.filter((r) => {
        const previous = marks.get(`${r.feedback.offerId}|${r.feedback.day}`);
        return previous === undefined || markOf(r.sequenceNumber) > previous;
      });
      counted = await settleOutcomes(past, store);
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
          for (const kind of counted.get(r) ?? []) {
            const name = `${kind}_${r.feedback.variant}`;
            counts[name] = (counts[name] ?? 0) + 1;
          }
          if (mark === undefined || m > mark) mark = m;
        }
        // Nothing to add (clicks waiting for their impressions): no write; a redelivery settles nothing again.
        if (mark === undefined || mark === previous || Object.keys(counts).length === 0) return;
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

/**
 * What each record counts, for records about to be added past their item's mark: an impression counts
 * itself and each click, dismissal or conversion of its decision and offer that was claimed and is
 * not counted yet; a click, dismissal or conversion counts itself if its impression was claimed. Who
 * counts an outcome is settled by a claim of its own (the first of the outcome's message and its
 * impression's message to take it), so when both arrive together on two shards, each sees the other
 * (each claims before it reads) and exactly one counts it. The claims outlive the decision's window.
 */
async function settleOutcomes(records: FeedbackRecord[], store: OfferStatsStore): Promise<Map<FeedbackRecord, FeedbackKind[]>> {
  const impressionOf = (f: Feedback) => feedbackKey(f.decisionId, { offerId: f.offerId, kind: 'impressions' });
  const outcomesOf = (f: Feedback) => OUTCOME_KINDS.map((kind) => ({ kind, key: feedbackKey(f.decisionId, { offerId: f.offerId, kind }) }));
  const lookups = records.flatMap((r) => (r.feedback.kind === 'impressions' ? outcomesOf(r.feedback).map((o) => o.key) : [impressionOf(r.feedback)]));
  const claimed = lookups.length === 0 ? new Set<string>() : await store.claimed([...new Set(lookups)]);
  const counted = new Map<FeedbackRecord, FeedbackKind[]>();
  await Promise.all(
    records.map(async (r) => {
      // Claims last as long as feedback on the decision can come: to the end of the day after its window.
      const expiresAt = Date.parse(`${r.feedback.day}T00:00:00Z`) / 1000 + FEEDBACK_WINDOW_SECONDS + 2 * 86_400;
      if (r.feedback.kind === 'impressions') {
        const kinds: FeedbackKind[] = ['impressions'];
        for (const o of outcomesOf(r.feedback)) if (claimed.has(o.key) && (await store.claim(settleKey(o.key), r.claim.message, expiresAt))) kinds.push(o.kind);
        counted.set(r, kinds);
      } else {
        const shown = claimed.has(impressionOf(r.feedback)) && (await store.claim(settleKey(r.claim.key), r.claim.message, expiresAt));
        counted.set(r, shown ? [r.feedback.kind] : []);
      }
    }),
  );
  return counted;
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
