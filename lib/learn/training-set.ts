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
 * order after the moment they were assigned (`assignmentOf`).
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
 * in the horizon; 0: held out from it), and `y` the uplift outcome after the assignment.
 */
export interface UpliftSet extends Dataset {
  profileIds: string[];
  facts: Facts[];
  treated: Uint8Array;
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
  // Per target and row: an offer's arm (undefined: never offered nor held out) and its uplift outcome.
  const armsOf: Array<Array<Assignment | undefined>> = targets.map(() => []);
  const outcomes: number[][] = targets.map(() => []);
  const profileIds: string[] = [];
  const facts: Facts[] = [];
  for (const customer of customers) {
    const sorted = [...customer.events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    const horizon = sorted.filter((e) => Date.parse(e.timestamp) > until && Date.parse(e.timestamp) <= horizonEnd);
    // An offer: her first assignment in the horizon, and what happened from it on (the label follows the person).
    const assigned = targets.map((target) => (target.kind === 'offer' ? firstAssignment(horizon, target.offerId) : undefined));
    const after = (t: number) => horizon.slice(assigned[t]?.index ?? 0);
    const label = targets.map((target, t) => (after(t).some((e) => hits(e, target)) ? 1 : 0));
    const outcome = targets.map((target, t) => (target.kind === 'offer' && after(t).some((e) => hits(e, target.outcome ?? { kind: 'purchase' })) ? 1 : 0));
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
        armsOf[t]?.push(assigned[t]?.arm);
        outcomes[t]?.push(outcome[t] as number);
      });
      // The person's id: her rows stay on one side of the holdout.
      profileIds.push(customer.profileId);
    }
  }
  return targets.map((target, t) => {
    if (target.kind !== 'offer') return { ...asDataset(rows, labels[t] as number[], { ...options, target }), profileIds, facts };
    const arm = armsOf[t] as Array<Assignment | undefined>;
    const exposed = arm.flatMap((a, row) => (a === 'treated' ? [row] : []));
    const assigned = arm.flatMap((a, row) => (a === undefined ? [] : [row]));
    const pick = <T>(values: readonly T[], which: number[]) => which.map((row) => values[row] as T);
    const outcome = target.outcome ?? { kind: 'purchase' };
    const uplift: UpliftSet = {
      ...asDataset(pick(rows, assigned), pick(outcomes[t] as number[], assigned), { ...options, target: outcome }),
      profileIds: pick(profileIds, assigned),
      facts: pick(facts, assigned),
      treated: Uint8Array.from(assigned, (row) => (arm[row] === 'treated' ? 1 : 0)),
    };
    return { ...asDataset(pick(rows, exposed), pick(labels[t] as number[], exposed), { ...options, target }), profileIds: pick(profileIds, exposed), facts: pick(facts, exposed), uplift };
  });
}

/** Whether she was given an offer (treated) or held out from it (control). */
export type Assignment = 'treated' | 'control';

/**
 * What an event says of an offer, as the engine records it:
 * - treated: a `Decision Made` listing it among the offers returned (`properties.offers`), a campaign's
 *   `Message Sent` with it (`promotion_id`), or an app's `Promotion Viewed` of it;
 * - control: a decision-holdout `Decision Made` (`variant` 'holdout') listing it among the offers the
 *   personalised experience would have returned (`properties.withheld`), or a campaign control's
 *   `Message Held Out` with it (`promotion_id`).
 * A conversion is not an exposure: without one of these, she was not offered it.
 */
export function assignmentOf(e: CollectedEvent, offerId: string): Assignment | undefined {
  if (e.type !== 'track') return undefined;
  const p = (e.properties ?? {}) as Record<string, unknown>;
  const lists = (v: unknown) => Array.isArray(v) && v.includes(offerId);
  switch (e.event) {
    case 'Decision Made':
      return lists(p.offers) ? 'treated' : p.variant === 'holdout' && lists(p.withheld) ? 'control' : undefined;
    case 'Message Sent':
    case 'Promotion Viewed':
      return p.promotion_id === offerId ? 'treated' : undefined;
    case 'Message Held Out':
      return p.promotion_id === offerId ? 'control' : undefined;
    default:
      return undefined;
  }
}

/** Her first assignment to an offer among events in time order, and its index: the arm she is in from then. */
function firstAssignment(events: readonly CollectedEvent[], offerId: string): { arm: Assignment; index: number } | undefined {
  for (let index = 0; index < events.length; index++) {
    const arm = assignmentOf(events[index] as CollectedEvent, offerId);
    if (arm !== undefined) return { arm, index };
  }
  return undefined;
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
