import { loadEventPolicy, type EventPolicy } from '../events/policy';
import { loadIdentityRules, type IdentityRules } from '../identity/rules';
import { loadAggregates, type AggregateModel } from '../profile/aggregates';
import { loadProfileRules, type ProfileRules } from '../profile/segments';

/** The engine's configuration as data: event policy, identity rules, aggregates, stage thresholds and segments. */
export interface EngineConfig {
  /** Trust in event time, and which fields are personal data (config/events.json). */
  events: EventPolicy;
  rules: IdentityRules;
  aggregates: AggregateModel;
  profileRules: ProfileRules;
}

/** Loads and validates the shipped files in config/ (the same files the CDK app validates at synth). */
export function loadEngineConfig(): EngineConfig {
  const aggregates = loadAggregates();
  return { events: loadEventPolicy(), rules: loadIdentityRules(), aggregates, profileRules: loadProfileRules(aggregates) };
}

/** The engine configuration plus the salt for hashing PII identifiers. */
export function loadIngestConfig(salt: string): EngineConfig & { salt: string } {
  return { ...loadEngineConfig(), salt };
}
