import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { identifierKey, protectedIdValue, storedIdentifier } from '../events/identifiers';
import { publish, type EventStream } from '../collect/collector';
import type { CollectedEvent } from '../events/segment';
import { badRequest, parseJsonBody } from '../http/errors';
import type { EngineConfig } from '../ingest/config';
import { NAMESPACES, type Namespace } from '../identity/rules';
import { factsOf, timezoneOf } from '../profile/facts';
import { followMerges } from '../profile/read';
import { resolveTimezone } from '../profile/time';
import { userIdOf, type Profile } from '../profile/profile';
import type { ContactLedgerStore, LedgerDay, Stores } from '../store/ports';
import { ledgerContact, ledgerDayAt, ledgerExpiry, reservationLimits, withoutContact, type ContactReservation } from './contact-ledger';
import type { Catalog, Offer } from './catalog';
import { decisionContext } from './context';
import { consentOf, decide, withCluster, type ClusterFacts, type Decision, type DecisionFacts } from './decide';
import { hasConsent } from '../profile/consent';
import type { Model } from './model';
import type { OwnerCache } from './owner-cache';
import type { RemoteScorer, Scores } from './scoring';
import { identifierTag, signDecision, tokenKey } from './token';

/** The most a decision request may weigh (its fields are all short). */
export const MAX_DECISION_REQUEST_BYTES = 16 * 1024;

/** `POST /v1/decisions` request: who, where in the app, the moment's context, how many offers. */
export const decisionRequestSchema = z.strictObject({
  identity: z.strictObject({ namespace: z.enum(NAMESPACES), value: z.string().min(1).max(512) }).optional(),
  placement: z.string().min(1).max(100),
  count: z.number().int().min(1).max(10).default(3),
  context: z
    .strictObject({
      timestamp: z.iso.datetime({ offset: true }).optional(),
      timezone: z.string().min(1).max(64).optional(),
      location: z.strictObject({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) }).optional(),
      device: z.strictObject({ type: z.string().max(32).optional(), userAgent: z.string().max(1024).optional() }).optional(),
      channel: z.string().min(1).max(32).optional(),
      page: z.string().max(2048).optional(),
    })
    .default({}),
});
export type DecisionRequest = z.input<typeof decisionRequestSchema>;

export function parseDecisionRequest(body: string): z.output<typeof decisionRequestSchema> {
  const result = decisionRequestSchema.safeParse(parseJsonBody(body), { error: requestIssue });
  // A message that starts with a space goes on from the field's name ("placement is required").
  if (!result.success) throw badRequest(result.error.issues.map((i) => `${i.path.join('.') || 'body'}${i.message.startsWith(' ') ? '' : ': '}${i.message}`).join('; '));
  return result.data;
}

/** What a field needs, in words ("placement is required", "count: must be a number"), not the validator's. */
function requestIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') return issue.input === undefined ? ' is required' : `must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`;
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  return undefined;
}

/**
 * What the catalog and the clock can say of a request that its schema cannot: an unknown placement
 * or time zone is a mistake to name (not an empty answer, not a silent fallback).
 */
export function checkRequest(request: z.output<typeof decisionRequestSchema>, catalog: Catalog): void {
  const placements = [...new Set(catalog.offers.flatMap((o) => o.placements))];
  if (!placements.includes(request.placement)) throw badRequest(`placement: no offer of the catalog is for "${request.placement}"; the catalog's placements are ${placements.join(', ')}`);
  const timezone = request.context.timezone;
  if (timezone !== undefined && resolveTimezone(timezone, '') === '') throw badRequest(`context.timezone: "${timezone}" is not an IANA time zone (such as Europe/London)`);
}

export interface DecisionDeps {
  stores: Pick<Stores, 'graph' | 'profiles' | 'ledger'>;
  stream?: EventStream;
  config: Pick<EngineConfig, 'aggregates' | 'profileRules' | 'rules'>;
  catalog: Catalog;
  /** The current model artifact: in-process propensity and association rules. */
  model?: Model;
  salt: string;
  scorer?: RemoteScorer;
  /** Identifier -> profile, remembered briefly (saves a read for returning visitors). */
  owners?: OwnerCache;
  now?: () => Date;
}

/** The decision, its signed token (lib/decision/token.ts: feedback carries it back) and timings. */
export type DecisionResponse = Decision & { token: string; timings: Record<string, number> };

const ms = (from: bigint) => Math.round(Number(process.hrtime.bigint() - from) / 1e4) / 100;

/**
 * Answers a decision request: resolves the identity (one read for the identifier unless the owner
 * cache knows it, one for the profile, a second only to follow a merge or, for an anonymous profile
 * with a cluster context, to read its cluster's member), builds the facts and the
 * context, scores (remote model under its budget, else in-process), decides, and logs the decision
 * on the stream as an event.
 */
export async function answerDecision(request: z.output<typeof decisionRequestSchema>, deps: DecisionDeps): Promise<DecisionResponse> {
  checkRequest(request, deps.catalog);
  const started = process.hrtime.bigint();
  const profile = request.identity ? await loadProfile(request.identity, deps) : undefined;
  const loaded = process.hrtime.bigint();
  const now = deps.now?.() ?? new Date();
  const facts: DecisionFacts | undefined = profile
    ? { ...factsOf(profile, deps.config.aggregates, deps.config.profileRules, new Date(request.context.timestamp ?? now)), segments: Object.keys(profile.segments ?? {}) }
    : undefined;
  // Without her consent the profile neither chooses nor ranks: no cluster read, and the model scores her as an unknown visitor.
  const consented = consentOf(facts, deps.catalog).granted;
  const at = new Date(request.context.timestamp ?? now);
  // Her contact ledger of the day (one more read, beside the cluster's): contacts not folded yet count against her caps.
  const [cluster, ledger] = await Promise.all([
    profile && facts && consented ? clusterFacts(profile, deps, at) : undefined,
    profile ? todaysLedger(profile, deps, at) : undefined,
  ]);
  const fallbackTimezone = profile ? timezoneOf(profile, deps.config.aggregates) : deps.config.aggregates.defaultTimezone;
  const context = decisionContext({ placement: request.placement, ...request.context }, deps.catalog, fallbackTimezone, now);
  const scoring = process.hrtime.bigint();
  const { propensity, modelVersion, fallback } = await propensityFor(request.placement, consented && facts ? (cluster ? withCluster(facts, cluster) : facts) : undefined, deps);
  const decided = process.hrtime.bigint();
  const decision = decide(
    { decisionId: randomUUID(), profileId: profile?.profileId ?? null, facts, context, count: request.count, propensity, modelVersion, associations: deps.model?.associations, ...(cluster ? { cluster } : {}), ...(ledger ? { ledger } : {}) },
    deps.catalog,
  );
  const done = process.hrtime.bigint();
  // A visitor exists once she sends an event: a decision for one never seen logs nothing (it would make her an empty profile).
  if (deps.stream && request.identity && profile) await logDecision(deps.stream, request, decision, deps.salt, now);
  // What a holdout decision withheld is for the log only: the app is told what to show.
  const shown = decision.withheld === undefined ? decision : withoutWithheld(decision);
  return {
    ...shown,
    ...(fallback ? { modelVersion: `${decision.modelVersion} (fallback: ${fallback})` } : {}),
    token: tokenOf(decision, request, deps.salt, now),
    timings: { profileMs: Number(loaded - started) / 1e6, scoringMs: Number(decided - scoring) / 1e6, decideMs: Number(done - decided) / 1e6, totalMs: ms(started) },
  };
}

/** A campaign send's decision, with the reservation of its contact when it chose an offer. */
export type SendDecision = Decision & { reservation?: ContactReservation };

/**
 * A decision for a profile already loaded, as a campaign's send asks it: her facts at `at`, its
 * placement and channel, and where she is if the trigger said so (a store's geofence). The same
 * pipeline as `answerDecision` (consent, context rules, quiet places and hours, contact policy,
 * scoring, arbitration), for one offer; no exploration (a message is not spent on a random offer),
 * no cluster context (outbound messages go to the profile itself), no token and no log (the send
 * records its own contact). Her caps count her contact ledger of the day without this send's own
 * contact (`messageId`: a retry must not be capped by its own reservation); with an offer chosen, it
 * says what to reserve: the contact and, per counter, the most it may hold before it.
 */
export async function decideForProfile(
  profile: Profile,
  ask: { placement: string; channel: string; location?: { latitude: number; longitude: number }; messageId: string },
  deps: Omit<DecisionDeps, 'stores' | 'owners' | 'stream' | 'salt'> & { ledger: Pick<ContactLedgerStore, 'read' | 'around'> },
  at: Date,
): Promise<SendDecision> {
  const facts: DecisionFacts = { ...factsOf(profile, deps.config.aggregates, deps.config.profileRules, at), segments: Object.keys(profile.segments ?? {}) };
  const consented = consentOf(facts, deps.catalog).granted;
  const timezone = timezoneOf(profile, deps.config.aggregates);
  const context = decisionContext({ placement: ask.placement, channel: ask.channel, timestamp: at.toISOString(), ...(ask.location ? { location: ask.location } : {}) }, deps.catalog, timezone, at);
  // Her ledger after her profile (so what the profile counts beyond it is what the ledger cannot know).
  const { day, window, counts } = await ledgerDayAt(deps.ledger, profile.profileId, at, timezone);
  const mine = ledgerContact(ask.messageId, ask.channel, undefined);
  const ledger = withoutContact(counts, mine.id);
  const { propensity, modelVersion } = await propensityFor(ask.placement, consented ? facts : undefined, deps);
  const decision = decide({ decisionId: randomUUID(), profileId: profile.profileId, facts, context, count: 1, propensity, modelVersion, associations: deps.model?.associations, explore: false, ledger }, deps.catalog);
  const offer = decision.offers[0] && deps.catalog.byId.get(decision.offers[0].offerId);
  if (offer === undefined) return decision;
  const contact = ledgerContact(ask.messageId, ask.channel, offer.id);
  return { ...decision, reservation: { profileId: profile.profileId, day, window, contact, limits: reservationLimits(deps.catalog.contactPolicy, offer, ask.channel, facts.aggregates, ledger), expiresAt: ledgerExpiry(day) } };
}

/**
 * Her contact ledger's day at `at`, read after her profile. An in-app decision does not fail for it
 * (a decision is not a contact; the impression that follows is counted by the ingest): if it cannot
 * be read, her caps count her profile alone.
 */
async function todaysLedger(profile: Profile, deps: Pick<DecisionDeps, 'stores' | 'config'>, at: Date): Promise<LedgerDay | undefined> {
  return ledgerDayAt(deps.stores.ledger, profile.profileId, at, timezoneOf(profile, deps.config.aggregates)).then(
    (d) => d.counts,
    () => undefined,
  );
}

/** The decision's signed token: its id, profile, the identifier asked for (as a keyed tag), offers, variant and time. */
function tokenOf(decision: Decision, request: z.output<typeof decisionRequestSchema>, salt: string, now: Date): string {
  const key = tokenKey(salt);
  const identity = request.identity;
  const tag = identity ? identifierTag(identifierKey(storedIdentifier(identity.namespace as Namespace, identity.value, salt)), key) : null;
  return signDecision({ d: decision.decisionId, p: decision.profileId, i: tag, o: decision.offers.map((o) => o.offerId), v: decision.variant, t: Math.floor(now.getTime() / 1000) }, key);
}

/**
 * An anonymous profile's cluster context, when the ingest found a member of its person cluster at
 * `cluster.contextProbability` or more within `contextDays` (null: borrowing is off): that member's stage and category views,
 * read now (one more read, or a few to follow a merge). A profile that logged in, or whose member is
 * gone, is itself or has not consented to the catalog's consent category, has none.
 */
async function clusterFacts(profile: Profile, deps: DecisionDeps, at: Date): Promise<ClusterFacts | undefined> {
  const context = profile.cluster;
  const rules = deps.config.rules.probabilistic.cluster;
  if (context === undefined || userIdOf(profile) !== undefined || rules.contextProbability === null || context.probability < rules.contextProbability) return undefined;
  // A context not derived again for a while may no longer hold (the device's own activity refreshes it).
  if (at.getTime() - Date.parse(context.at) > rules.contextDays * 86_400_000) return undefined;
  const member = await followMerges(deps.stores, context.profileId).catch(() => undefined);
  if (member === undefined || member.profileId === profile.profileId) return undefined;
  // A member who has not consented (or withdrew) lends nothing.
  if (!hasConsent(member, deps.catalog.contactPolicy.consentCategory)) return undefined;
  const f = factsOf(member, deps.config.aggregates, deps.config.profileRules, at);
  return { profileId: member.profileId, probability: context.probability, stage: f.stage, categories: (f.aggregates.categoryViews30d as ClusterFacts['categories'] | undefined) ?? [] };
}

/** The live profile an identifier belongs to: one read when its owner is remembered, else the identity graph's. */
async function loadProfile(identity: NonNullable<z.output<typeof decisionRequestSchema>['identity']>, deps: DecisionDeps): Promise<Profile | undefined> {
  const key = identifierKey(storedIdentifier(identity.namespace as Namespace, identity.value, deps.salt));
  const follow = async (owner: string | undefined): Promise<Profile | undefined> => (owner === undefined ? undefined : followMerges(deps.stores, owner).catch(() => undefined));
  const cached = deps.owners?.get(key);
  let profile = cached !== undefined ? await follow(cached) : undefined;
  if (profile === undefined) {
    // Not cached, or its profile is gone: ask the identity graph.
    if (cached !== undefined) deps.owners?.delete(key);
    profile = await follow((await deps.stores.graph.getOwners([key])).values().next().value);
  }
  // Remember the survivor, after following any merge.
  if (profile && profile.mergedInto === undefined && profile.profileId !== cached) deps.owners?.set(key, profile.profileId);
  return profile;
}

/**
 * Propensity per offer, never an error: the endpoint's score, else the in-process model's, else (in
 * decide) the nightly batch score, else the configured default (rules-only ranking); which one
 * scored, and why it fell back.
 */
async function propensityFor(placement: string, facts: DecisionFacts | undefined, deps: Pick<DecisionDeps, 'scorer' | 'catalog' | 'model'>) {
  const remote: Scores = deps.scorer && facts ? await deps.scorer.score(facts, deps.catalog.offers.filter((o) => o.placements.includes(placement))) : { modelVersion: 'in-process' };
  let local: ((offer: Offer) => number | undefined) | undefined;
  let fallback = remote.fallback;
  try {
    local = deps.model?.scorer(facts);
  } catch (e) {
    fallback = `${fallback ? `${fallback}; ` : ''}in-process model failed: ${(e as Error).message}`;
  }
  const propensity = remote.propensity && local ? (o: Offer) => remote.propensity?.(o) ?? local?.(o) : (remote.propensity ?? local);
  const modelVersion = remote.propensity ? remote.modelVersion : local ? `in-process:${deps.model?.version}` : undefined;
  return { propensity, modelVersion, fallback };
}

/**
 * The decision as an event on the stream: impressions, clicks and conversions carry its id back.
 * An id that holds an e-mail address goes on the stream hashed, as the collector would put it.
 */
async function logDecision(stream: EventStream, request: z.output<typeof decisionRequestSchema>, decision: Decision, salt: string, now: Date): Promise<void> {
  const identity = request.identity;
  if (identity === undefined) return;
  const value = protectedIdValue(identity.value, salt);
  const ids = identity.namespace === 'userId' ? { userId: value } : identity.namespace === 'anonymousId' ? { anonymousId: value } : undefined;
  if (ids === undefined) return;
  const at = now.toISOString();
  const event = {
    type: 'track',
    event: 'Decision Made',
    ...ids,
    messageId: `decision-${decision.decisionId}`,
    timestamp: at,
    receivedAt: at,
    properties: {
      decision_id: decision.decisionId,
      placement: request.placement,
      variant: decision.variant,
      offers: decision.offers.map((o) => o.offerId),
      // A holdout decision's control arm: what the personalised experience would have returned.
      ...(decision.withheld ? { withheld: decision.withheld } : {}),
      model_version: decision.modelVersion,
    },
    context: { channel: request.context.channel },
  } as unknown as CollectedEvent;
  await publish(stream, [event]);
}

/** A holdout decision without the offers it withheld (copied only for the holdout: the rest answer as decided). */
function withoutWithheld({ withheld: _withheld, ...shown }: Decision): Omit<Decision, 'withheld'> {
  return shown;
}
