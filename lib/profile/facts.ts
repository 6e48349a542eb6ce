import { viewAggregates, type AggregateModel } from './aggregates';
import { boundHistory, viewTraits, type Profile } from './profile';
import type { Facts, ProfileRules } from './segments';
import { journeyStage } from './stage';

/** The profile's time zone: the last one its events reported, else the configured default. */
export const timezoneOf = (p: Profile, model: AggregateModel): string => p.signals.timezone?.v ?? model.defaultTimezone;

/** What segments and readers see of a profile at a moment: aggregates, stage with its reason, traits, batch values. */
export function factsOf(p: Profile, model: AggregateModel, rules: ProfileRules, now: Date): Facts & { stageReason: string } {
  const aggregates = viewAggregates(p.aggregates, model, now, timezoneOf(p, model));
  const { stage, reason } = journeyStage(aggregates, now, rules.stage);
  return {
    aggregates,
    traits: viewTraits(p),
    stage,
    stageReason: reason,
    batch: Object.fromEntries(Object.entries(p.batch ?? {}).map(([k, v]) => [k, v.value])),
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
