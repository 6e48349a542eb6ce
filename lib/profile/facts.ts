import { viewAggregates, type AggregateModel } from './aggregates';
import { boundHistory, viewTraits, type Profile } from './profile';
import type { Facts, ProfileRules } from './segments';
import { journeyStage } from './stage';

/** The profile's time zone: the last one its events reported, else the configured default. */
export const timezoneOf = (p: Profile, model: AggregateModel): string => p.signals.timezone?.v ?? model.defaultTimezone;

/** A score from 1 to 5 against four ascending breakpoints (`higherIsBetter` false: fewer is better). */
function score(x: number, breakpoints: number[], higherIsBetter: boolean): number {
  const above = breakpoints.filter((b) => (higherIsBetter ? x >= b : x > b)).length;
  return higherIsBetter ? 1 + above : 5 - above;
}

/**
 * Values computed when reading: days since the last order, cart age, and RFM scores (recency by days
 * since the last order, frequency by orders and monetary by revenue over 365 days).
 */
export function derivedValues(aggregates: Record<string, unknown>, now: Date, rules: ProfileRules): Record<string, unknown> {
  const lastOrderAt = aggregates.lastOrderAt as string | null | undefined;
  const cartOpenedAt = aggregates.cartOpenedAt as string | null | undefined;
  const daysSinceLastOrder = lastOrderAt ? Math.floor((now.getTime() - Date.parse(lastOrderAt)) / 86_400_000) : null;
  const orders = (aggregates.orderCount365d as number | undefined) ?? 0;
  const revenue = (aggregates.revenue365d as number | undefined) ?? 0;
  return {
    daysSinceLastOrder,
    cartAgeMinutes: cartOpenedAt ? Math.floor((now.getTime() - Date.parse(cartOpenedAt)) / 60_000) : null,
    rfm:
      daysSinceLastOrder === null
        ? null
        : (() => {
            const r = score(daysSinceLastOrder, rules.rfm.recencyDays, false);
            const f = score(orders, rules.rfm.frequency, true);
            const m = score(revenue, rules.rfm.monetary, true);
            return { recency: r, frequency: f, monetary: m, score: `${r}${f}${m}` };
          })(),
  };
}

/** What segments and readers see of a profile at a moment: aggregates, stage with its reason, traits, batch values, consent. */
export function factsOf(p: Profile, model: AggregateModel, rules: ProfileRules, now: Date): Facts & { stageReason: string; consent: Record<string, boolean> } {
  const aggregates = viewAggregates(p.aggregates, model, now, timezoneOf(p, model));
  const { stage, reason } = journeyStage(aggregates, now, rules.stage);
  return {
    aggregates,
    derived: derivedValues(aggregates, now, rules),
    traits: viewTraits(p),
    stage,
    stageReason: reason,
    batch: Object.fromEntries(Object.entries(p.batch ?? {}).map(([k, v]) => [k, v.value])),
    consent: Object.fromEntries(Object.entries(p.consent ?? {}).map(([k, v]) => [k, v.granted])),
  };
}

/**
 * Re-evaluates every segment at the profile's latest event time (so replays give the same result),
 * recording when the profile enters or leaves each in its history. Mutates the profile.
 */
export function updateSegments(p: Profile, model: AggregateModel, rules: ProfileRules): void {
  if (rules.segments.length === 0 || p.updatedAt === '') return;
  const at = p.updatedAt;
  const facts = factsOf(p, model, rules, new Date(at));
  const current = { ...p.segments };
  const changes = [];
  for (const segment of rules.segments) {
    const inside = segment.matches(facts);
    if (inside && current[segment.name] === undefined) {
      current[segment.name] = { enteredAt: at };
      changes.push({ segment: segment.name, change: 'entered' as const, at });
    } else if (!inside && current[segment.name] !== undefined) {
      delete current[segment.name];
      changes.push({ segment: segment.name, change: 'left' as const, at });
    }
  }
  if (changes.length === 0) return;
  p.segments = current;
  p.segmentHistory = boundHistory([...(p.segmentHistory ?? []), ...changes]);
}
