import { identifierKey, storedIdentifier } from '../events/identifiers';
import { badRequest, notFound } from '../http/errors';
import { householdOf, Neighbourhood, personCluster, type Household, type PersonCluster } from '../identity/links';
import { NAMESPACES, type Namespace } from '../identity/rules';
import type { IdentityWeights } from '../identity/weights';
import type { Stores } from '../store/ports';
import type { EngineConfig } from '../ingest/config';
import { factsOf, timezoneOf } from './facts';
import { matchCardOf, type Profile } from './profile';
import { viewConsent } from './consent';

/**
 * The read side of profiles, for people and tests: identifier -> profile, the unified profile, and
 * its journey across merged members. Reads follow tombstones, so a merged-away id still answers with
 * the profile it became part of.
 */
/**
 * How many merges deep a chain of tombstones is followed, by every reader alike (the ingest, the
 * decision and read APIs): each hop is one read; the ingest shortens chains as it meets them.
 */
export const MAX_MERGE_HOPS = 64;

export async function followMerges(stores: Pick<Stores, 'profiles'>, profileId: string): Promise<Profile | undefined> {
  let id = profileId;
  for (let hops = 0; hops < MAX_MERGE_HOPS; hops++) {
    const p = (await stores.profiles.getMany([id])).get(id);
    if (p === undefined || p.mergedInto === undefined) return p;
    id = p.mergedInto;
  }
  throw new Error(`merge chain from ${profileId} is too long`);
}

export async function lookupIdentity(stores: Stores, namespace: string, value: string, salt: string): Promise<{ profileId: string }> {
  if (!(NAMESPACES as readonly string[]).includes(namespace)) {
    throw badRequest(`namespace must be one of ${NAMESPACES.join(', ')}`);
  }
  const ns = namespace as Namespace;
  if (value.trim() === '') throw badRequest('value must not be empty');
  const owner = (await stores.graph.getOwners([identifierKey(storedIdentifier(ns, value, salt))])).values().next().value;
  if (owner === undefined) throw notFound(`no profile has ${namespace} ${JSON.stringify(value)}`);
  const profile = await followMerges(stores, owner);
  return { profileId: profile?.profileId ?? owner };
}

export interface ProfileView {
  profileId: string;
  createdAt: string;
  updatedAt: string;
  identities: Profile['identities'];
  traits: Record<string, unknown>;
  /** Live aggregates read now, in the customer's time zone. */
  aggregates: Record<string, unknown>;
  /** Days since the last order, cart age, RFM scores. */
  derived: Record<string, unknown>;
  stage: { name: string; reason: string };
  segments: Record<string, { enteredAt: string }>;
  segmentHistory: NonNullable<Profile['segmentHistory']>;
  /** Nightly scores, each with its as-of time. */
  batch: NonNullable<Profile['batch']>;
  timezone: string;
  signals: { locale?: string; timezone?: string; device?: string; interests: Record<string, number>; networks: number };
  /** Derived now from the evidence (lib/identity/links.ts): log2 odds, probability and reasons. */
  probableLinks: Array<{ profileId: string; score: number; probability: number; reasons: string[] }>;
  /** An anonymous profile's: the cluster member whose context its decisions use, as of its last evidence. */
  clusterContext?: NonNullable<Profile['cluster']>;
  /** Consent per category as last stated, with when it was received and its source. */
  consent: ReturnType<typeof viewConsent>;
  /** Its changes, oldest first (bounded). */
  consentHistory: NonNullable<Profile['consentHistory']>;
  mergedMembers: string[];
  mergeLog: Profile['mergeLog'];
  version: number;
}

/** The unified view of a profile, read at `now`: live aggregates and batch attributes side by side. */
export async function readProfile(
  stores: Stores,
  profileId: string,
  config: Pick<EngineConfig, 'aggregates' | 'profileRules' | 'rules'> & { weights?: IdentityWeights },
  now: Date = new Date(),
): Promise<ProfileView> {
  const profile = await followMerges(stores, profileId);
  if (profile === undefined) throw notFound(`profile ${profileId} not found`);
  const links = await new Neighbourhood(stores, config.rules, config.weights ? { weights: config.weights } : {}).linksOf(matchCardOf(profile));
  const facts = factsOf(profile, config.aggregates, config.profileRules, now);
  return {
    profileId: profile.profileId,
    createdAt: profile.createdAt,
    updatedAt: profile.updatedAt,
    identities: profile.identities,
    traits: facts.traits,
    aggregates: facts.aggregates,
    derived: facts.derived,
    stage: { name: facts.stage, reason: facts.stageReason },
    segments: profile.segments ?? {},
    segmentHistory: profile.segmentHistory ?? [],
    batch: profile.batch ?? {},
    timezone: timezoneOf(profile, config.aggregates),
    signals: {
      locale: profile.signals.locale?.v,
      timezone: profile.signals.timezone?.v,
      device: profile.signals.userAgent?.v,
      interests: profile.signals.interests,
      networks: Object.keys(profile.signals.networks).length,
    },
    probableLinks: links.map(({ otherProfileId, score, probability, reasons }) => ({ profileId: otherProfileId, score, probability, reasons })),
    ...(profile.cluster ? { clusterContext: profile.cluster } : {}),
    consent: viewConsent(profile),
    consentHistory: profile.consentHistory ?? [],
    mergedMembers: profile.members,
    mergeLog: profile.mergeLog,
    version: profile.version,
  };
}

export const MAX_JOURNEY = 5000;

/** The profile's events in time order, across every profile merged into it. */
export async function readJourney(stores: Stores, profileId: string, limit = 500) {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_JOURNEY) throw badRequest(`limit must be an integer from 1 to ${MAX_JOURNEY}`);
  const profile = await followMerges(stores, profileId);
  if (profile === undefined) throw notFound(`profile ${profileId} not found`);
  const events = await stores.events.byProfiles([profile.profileId, ...profile.members], limit);
  return { profileId: profile.profileId, events: events.map((e) => ({ ...e.event, storedUnder: e.profileId })) };
}

export interface ClusterView {
  profileId: string;
  /** The profiles probably the same person's, reached along probable links. */
  person: PersonCluster['members'];
  /** The residents of the network the profile lives on, grouped into people; null if it lives on none. */
  household: Household | null;
  clusterContext: Profile['cluster'] | null;
}

/** A profile's person cluster and household, derived now from the evidence (never stored, never merging anything). */
export async function readCluster(stores: Stores, profileId: string, config: Pick<EngineConfig, 'rules'> & { weights?: IdentityWeights }): Promise<ClusterView> {
  const profile = await followMerges(stores, profileId);
  if (profile === undefined) throw notFound(`profile ${profileId} not found`);
  const hood = new Neighbourhood(stores, config.rules, config.weights ? { weights: config.weights } : {});
  const card = matchCardOf(profile);
  const [person, household] = [await personCluster(card, hood), await householdOf(card, hood)];
  return { profileId: profile.profileId, person: person.members, household: household ?? null, clusterContext: profile.cluster ?? null };
}
