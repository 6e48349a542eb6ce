/**
 * Training sets for purchase propensity, time-split from stored events: each customer's features
 * as of a cut-off (her events up to it folded into a fresh profile, then the model artifact's
 * features computed from its facts at the cut-off, exactly as a decision at that moment would see
 * them), and the label from the horizon after it (did the purchase happen). Nothing after the
 * cut-off reaches a feature, so a model is judged on what it could have known.
 *
 * An offer's target is response given exposure: its rows are only the customers the engine offered
 * it to in the horizon (treated), labelled by whether they converted after; a customer never offered
 * it is no row, not a 0. Beside it, for uplift, the same offer's treated and control customers (held
 * out from it by the decision holdout or a campaign's control) with an outcome both can have, an
 * order after the moment they were assigned (`assignmentOf`), each with the source that drew her arm:
 * a customer in both arms of one source is left out of it.
 */
import type { CollectedEvent } from '../events/segment';
import { featureVector, type FeatureConfig } from '../decision/model';
import type { AggregateModel } from '../profile/aggregates';
import { factsOf, updateSegments } from '../profile/facts';
import { foldEvent, newProfile } from '../profile/profile';
import type { Facts, ProfileRules } from '../profile/segments';
import type { Dataset } from './csv';
import { own } from '../events/json';

/** What the label says happened in the horizon. */
export type PropensityTarget =
  /** An order of anything. */
  | { kind: 'purchase' }
  /** An order holding a product of this category (`properties.products[].category`, or `properties.category`; case aside, as the aggregates count categories). */
  | { kind: 'category'; category: string }
  /**
   * A conversion of this offer (`Promotion Converted` with its `promotion_id`), so decisions learn from
   * their outcomes: among the customers offered it in the horizon only (response given exposure).
   * `outcome` is what its uplift counts in both arms (a control customer cannot convert an offer she
   * was never given): default an order of anything.
   */
  | { kind: 'offer'; offerId: string; outcome?: UpliftOutcome };

/** What an offer's uplift counts as a response, in the treated and the control arm alike. */
export type UpliftOutcome = { kind: 'purchase' } | { kind: 'category'; category: string };

export interface TrainingSetOptions {
  cutoff: Date;
  horizonDays: number;
  target: PropensityTarget;
  features: FeatureConfig[];
  aggregates: AggregateModel;
  profileRules: ProfileRules;
}

export interface CustomerHistory {
  profileId: string;
  /** Her events, in any order. */
  events: CollectedEvent[];
  /**
   * The profile an event belonged to at the training cut-off, by messageId, where that was not this
   * one: a device merged into her after the cut-off (she logged in at checkout) was someone else then.
   */
  atCutoff?: Record<string, string>;
}

export interface TrainingSet extends Dataset {
  /** The customer of each row. */
  profileIds: string[];
  /** Each row's facts at the cut-off (what another model, a champion, is scored with). */
  facts: Facts[];
  /** An offer's target only: its treated and control customers, for uplift. */
  uplift?: UpliftSet;
}

/**
 * An offer's customers in both arms: each row's features at the cut-off, `treated` (1: offered it
 * in the horizon; 0: held out from it), `y` the uplift outcome after the assignment, and the source
 * that assigned her (`sources`).
 */
export interface UpliftSet extends Dataset {
  profileIds: string[];
  facts: Facts[];
  treated: Uint8Array;
  /** Each row's source of assignment (a customer assigned by two sources is a row in each). */
  sources: AssignmentSource[];
}

/** A day in milliseconds, for cut-offs and horizons. */
export const DAY_MS = 86_400_000;

/** Whether an event is an order (Segment's `Order Completed`). */
export const isOrder = (e: CollectedEvent): boolean => e.type === 'track' && e.event === 'Order Completed';

/**
 * One row per profile as the identity graph stood at the cut-off (a customer whose devices merged
 * after it is a row per device then), with an event at or before it; columns named as the artifact's
 * features. The label follows the person: her orders from any device in the horizon.
 */
export function trainingSet(customers: readonly CustomerHistory[], options: TrainingSetOptions): TrainingSet {
  return trainingSets(customers, options, [options.target])[0] as TrainingSet;
}

/** The training sets of several targets: the features (each customer's events folded once) shared, a label per target. */
export function trainingSets(customers: readonly CustomerHistory[], options: Omit<TrainingSetOptions, 'target'>, targets: readonly PropensityTarget[]): TrainingSet[] {
  const vectorOf = featureVector(options.features);
  const until = options.cutoff.getTime();
  const horizonEnd = until + options.horizonDays * DAY_MS;
  const rows: Float64Array[] = [];
  const labels: number[][] = targets.map(() => []);
  // Per target and row: an offer's uplift entries (one per source that assigned her to one arm only).
  const entriesOf: UpliftEntry[][][] = targets.map(() => []);
  // Per target and row: whether the engine offered it to her in the horizon (an offer's response rows).
  const exposedOf: boolean[][] = targets.map(() => []);
  const profileIds: string[] = [];
  const facts: Facts[] = [];
  for (const customer of customers) {
    const sorted = [...customer.events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    const horizon = sorted.filter((e) => Date.parse(e.timestamp) > until && Date.parse(e.timestamp) <= horizonEnd);
    // An offer: her first exposure in the horizon (the response model's row), and what happened from it on (the label follows the person).
    const exposure = targets.map((target) => (target.kind === 'offer' ? firstExposure(horizon, target.offerId) : undefined));
    const label = targets.map((target, t) => (horizon.slice(exposure[t] ?? 0).some((e) => hits(e, target)) ? 1 : 0));
    const entries = targets.map((target) => (target.kind === 'offer' ? upliftEntries(horizon, target.offerId, target.outcome ?? { kind: 'purchase' }) : []));
    // Her events up to the cut-off, under the profile each belonged to then.
    const then = new Map<string, CollectedEvent[]>();
    for (const e of sorted) {
      if (Date.parse(e.timestamp) > until) break;
      const id = (customer.atCutoff === undefined ? undefined : own(customer.atCutoff, e.messageId)) ?? customer.profileId;
      const list = then.get(id);
      if (list === undefined) then.set(id, [e]);
      else list.push(e);
    }
    for (const [id, before] of [...then].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const profile = newProfile(id);
      for (const e of before) foldEvent(profile, e, options.aggregates);
      updateSegments(profile, options.aggregates, options.profileRules);
      // As a decision saw the profile: its facts and the segments it was in (lib/decision/service.ts).
      const atCutoff = { ...factsOf(profile, options.aggregates, options.profileRules, options.cutoff), segments: Object.keys(profile.segments ?? {}) };
      facts.push(atCutoff);
      rows.push(vectorOf(atCutoff));
      targets.forEach((_, t) => {
        labels[t]?.push(label[t] as number);
        exposedOf[t]?.push(exposure[t] !== undefined);
        entriesOf[t]?.push(entries[t] as UpliftEntry[]);
      });
      // The person's id: her rows stay on one side of the holdout.
      profileIds.push(customer.profileId);
    }
  }
  return targets.map((target, t) => {
    if (target.kind !== 'offer') return { ...asDataset(rows, labels[t] as number[], { ...options, target }), profileIds, facts };
    const exposed = (exposedOf[t] as boolean[]).flatMap((e, row) => (e ? [row] : []));
    // A row of the uplift set per customer row and source that assigned her.
    const assigned = (entriesOf[t] as UpliftEntry[][]).flatMap((list, row) => list.map((entry) => ({ row, ...entry })));
    const pick = <T>(values: readonly T[], which: number[]) => which.map((row) => values[row] as T);
    const outcome = target.outcome ?? { kind: 'purchase' };
    const upliftRows = assigned.map((a) => a.row);
    const uplift: UpliftSet = {
      ...asDataset(pick(rows, upliftRows), assigned.map((a) => a.outcome), { ...options, target: outcome }),
      profileIds: pick(profileIds, upliftRows),
      facts: pick(facts, upliftRows),
      treated: Uint8Array.from(assigned, (a) => (a.arm === 'treated' ? 1 : 0)),
      sources: assigned.map((a) => a.source),
    };
    return { ...asDataset(pick(rows, exposed), pick(labels[t] as number[], exposed), { ...options, target }), profileIds: pick(profileIds, exposed), facts: pick(facts, exposed), uplift };
  });
}

/** Whether she was given an offer (treated) or held out from it (control). */
export type Assignment = 'treated' | 'control';

/**
 * Who drew the arm: `decision` for the decision holdout (a stable 5% of profiles), `campaign:<id>`
 * for a campaign's control group (its own share of its own audience). Each is an experiment of its
 * own, with its own assignment probability and customers: their arms are never pooled.
 */
export type AssignmentSource = 'decision' | `campaign:${string}`;

/**
 * What one of the engine's own records says of an offer, and which experiment drew it:
 * - treated: a personalised `Decision Made` (`variant` 'personalised') listing it among the offers
 *   returned (`properties.offers`), or a campaign's `Message Sent` with it (`promotion_id`);
 * - control: a holdout `Decision Made` (`variant` 'holdout') listing it among the offers the
 *   personalised experience would have returned (`properties.withheld`), or a campaign control's
 *   `Message Held Out` with it (`promotion_id`).
 * The collector refuses these records from a write key (lib/collect/collector.ts), so neither arm can
 * be forged; a client event (`Promotion Viewed`, `Promotion Converted`) is never an assignment. A
 * holdout decision whose generic offers happened to include it is neither arm: it was not chosen for her.
 */
export function assignmentOf(e: CollectedEvent, offerId: string): { arm: Assignment; source: AssignmentSource } | undefined {
  if (e.type !== 'track') return undefined;
  const p = (e.properties ?? {}) as Record<string, unknown>;
  const lists = (v: unknown) => Array.isArray(v) && v.includes(offerId);
  const campaign = (): AssignmentSource => `campaign:${typeof p.campaign_id === 'string' ? p.campaign_id : ''}`;
  switch (e.event) {
    case 'Decision Made':
      if (p.variant === 'personalised' && lists(p.offers)) return { arm: 'treated', source: 'decision' };
      return p.variant === 'holdout' && lists(p.withheld) ? { arm: 'control', source: 'decision' } : undefined;
    case 'Message Sent':
      return p.promotion_id === offerId ? { arm: 'treated', source: campaign() } : undefined;
    case 'Message Held Out':
      return p.promotion_id === offerId ? { arm: 'control', source: campaign() } : undefined;
    default:
      return undefined;
  }
}

/** One source's assignment of her to an offer: her arm and the uplift outcome after her first record of it. */
interface UpliftEntry {
  source: AssignmentSource;
  arm: Assignment;
  outcome: number;
}

/** The index of her first exposure to an offer among events in time order (a treated record of any source). */
function firstExposure(events: readonly CollectedEvent[], offerId: string): number | undefined {
  const index = events.findIndex((e) => assignmentOf(e, offerId)?.arm === 'treated');
  return index < 0 ? undefined : index;
}

/**
 * Her uplift entries, one per source that assigned her in the horizon: the arm of its records and
 * whether the outcome happened from the first of them on. A source with records in both arms (held
 * out, then treated by a later decision or send) is left out: her outcome would count a treatment
 * her arm says she never had, and no cut of it is clean.
 */
function upliftEntries(events: readonly CollectedEvent[], offerId: string, outcome: UpliftOutcome): UpliftEntry[] {
  const first = new Map<AssignmentSource, { arm: Assignment; index: number; mixed: boolean }>();
  events.forEach((e, index) => {
    const a = assignmentOf(e, offerId);
    if (a === undefined) return;
    const seen = first.get(a.source);
    if (seen === undefined) first.set(a.source, { arm: a.arm, index, mixed: false });
    else if (seen.arm !== a.arm) seen.mixed = true;
  });
  const order = (s: AssignmentSource) => (s === 'decision' ? '' : s);
  return [...first]
    .filter(([, a]) => !a.mixed)
    .sort(([a], [b]) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
    .map(([source, a]) => ({ source, arm: a.arm, outcome: events.slice(a.index).some((e) => hits(e, outcome)) ? 1 : 0 }));
}

/** Whether an event is the purchase the target asks about. */
export function hits(e: CollectedEvent, target: PropensityTarget): boolean {
  if (e.type !== 'track') return false;
  const properties = (e.properties ?? {}) as Record<string, unknown>;
  if (target.kind === 'offer') return e.event === 'Promotion Converted' && properties.promotion_id === target.offerId;
  if (!isOrder(e)) return false;
  if (target.kind === 'purchase') return true;
  const products = Array.isArray(properties.products) ? (properties.products as Array<Record<string, unknown>>) : [];
  const wanted = target.category.toLowerCase();
  const isWanted = (c: unknown) => typeof c === 'string' && c.toLowerCase() === wanted;
  return isWanted(properties.category) || products.some((p) => typeof p === 'object' && p !== null && isWanted(p.category));
}

function asDataset(rows: Float64Array[], labels: number[], options: Omit<TrainingSetOptions, 'target'> & { target: PropensityTarget | UpliftOutcome }): Dataset {
  const names = options.features.map((f) => f.name);
  const columns = names.map((name, k) => ({ name, type: 'numeric' as const, values: Float64Array.from(rows, (r) => r[k] as number) }));
  const mean = (values: Float64Array) => (values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length);
  const y = Uint8Array.from(labels);
  const target = `${options.target.kind}${options.target.kind === 'category' ? `:${options.target.category}` : options.target.kind === 'offer' ? `:${options.target.offerId}` : ''}`;
  return {
    file: `events until ${options.cutoff.toISOString()}`,
    rows: rows.length,
    columns,
    y,
    positives: labels.reduce((s, v) => s + v, 0),
    schema: { target, columns: columns.map((c) => ({ name: c.name, type: 'numeric' as const, mean: mean(c.values) })) },
  };
}
