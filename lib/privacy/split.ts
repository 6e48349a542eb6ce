import { z } from 'zod';
import { extractIdentifiers, identifierKey, storedIdentifier } from '../events/identifiers';
import { badRequest, conflict, notFound, parseJsonBody, payloadTooLarge } from '../http/errors';
import type { EngineConfig } from '../ingest/config';
import { deriveProfileId } from '../identity/resolver';
import { NAMESPACES, type Namespace } from '../identity/rules';
import { updateSegments } from '../profile/facts';
import { foldEvent, keepApart, MAX_KEPT_APART, newProfile, type Profile } from '../profile/profile';
import { givenLoggedInWithout, heldAddresses } from '../profile/attached-addresses';
import { messageKey } from '../profile/marks';
import { followMerges } from '../profile/read';
import { fitBudget } from '../profile/size';
import { ConflictError, type StoredEvent, type Stores } from '../store/ports';
import { MAX_PERSON_EVENTS } from './holdings';

/**
 * Undoing a wrong merge: one identifier (a shared tablet, a mistaken login) or one merged member is
 * taken out of a profile, and both profiles are rebuilt from the stored events of each. An event goes
 * to the profile taken out when it carries one of the identifiers taken out, else it stays. So a shared
 * device's history leaves with it, and neither person's history is lost.
 *
 * What events cannot rebuild is kept: the processing marks (on both, so a redelivered record is still
 * folded once), the nightly scores (on the profile that stays). The cluster
 * context is dropped; the next event derives it again.
 *
 * The two are kept apart from then on: identity resolution never merges them again. An event that
 * carries identifiers of both (she logs in on the tablet again) goes to the one its userId names, and
 * the tablet's identifier stays where the split put it.
 *
 * The order makes it safe against a batch in flight:
 * 1. The profile taken out is written first: a new one, or its old tombstone brought back.
 * 2. Then the identifiers' links move to it, each conditional on the owner read.
 * 3. Last, the remaining profile is written, conditional on the version the split read.
 * A batch that wrote either meanwhile makes the split read and rebuild again.
 */
export const splitRequestSchema = z.union([
  z.strictObject({ identifier: z.strictObject({ namespace: z.enum(NAMESPACES), value: z.string().min(1).max(512) }) }),
  z.strictObject({ member: z.string().min(1).max(100) }),
]);
export type SplitRequest = z.output<typeof splitRequestSchema>;

/** The most a split request may weigh (it names one identifier or one profile id). */
export const MAX_SPLIT_REQUEST_BYTES = 4 * 1024;

export function parseSplitRequest(body: string): SplitRequest {
  if (Buffer.byteLength(body) > MAX_SPLIT_REQUEST_BYTES) throw payloadTooLarge(`body over ${MAX_SPLIT_REQUEST_BYTES / 1024} KB: a split names one identifier or one member`);
  const result = splitRequestSchema.safeParse(parseJsonBody(body));
  if (!result.success) throw badRequest('send { "identifier": { "namespace", "value" } } to take out one identifier, or { "member": "<profileId>" } to take out one merged member');
  return result.data;
}

export interface SplitResult {
  /** The profile that stays, and the one taken out of it. */
  profileId: string;
  splitProfileId: string;
  /** The identifiers that moved (stored form: e-mail and phone hashed). */
  identifiers: string[];
  /** Events each profile was rebuilt from. */
  events: { stayed: number; moved: number };
}

export type SplitConfig = Pick<EngineConfig, 'aggregates' | 'profileRules' | 'rules'> & { salt: string };

const ATTEMPTS = 5;

export async function splitProfile(stores: Stores, profileId: string, request: SplitRequest, config: SplitConfig): Promise<SplitResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await splitOnce(stores, profileId, request, config);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      // Step by step, each write conditional: asking again goes on from where this stopped.
      if (attempt + 1 >= ATTEMPTS) throw conflict(`profile ${profileId} kept changing while it was split (${e.message}); ask again`);
    }
  }
}

async function splitOnce(stores: Stores, profileId: string, request: SplitRequest, config: SplitConfig): Promise<SplitResult> {
  const profile = await followMerges(stores, profileId);
  if (profile === undefined) throw notFound(`profile ${profileId} not found`);
  const members = await stores.profiles.getMany(profile.members);
  // Only the members that are tombstones: one brought back by a split that stopped half-way is live.
  const tombstones = new Map([...members].filter(([, p]) => p.mergedInto !== undefined));
  const { keys, splitId } = whatLeaves(profile, members, request, config.salt);
  const existing = members.get(splitId) ?? (await stores.profiles.getMany([splitId])).get(splitId);
  const resumed = existing?.mergedInto === undefined && existing?.keptApart?.includes(profile.profileId) === true;
  if (existing !== undefined && existing.mergedInto === undefined && existing.profileId !== profile.profileId && !resumed) {
    throw badRequest(`profile ${splitId}, which the identifiers would go back to, is another live profile`);
  }
  if ((profile.keptApart ?? []).length >= MAX_KEPT_APART && !profile.keptApart?.includes(splitId)) {
    throw badRequest(`profile ${profile.profileId} is kept apart from ${MAX_KEPT_APART} profiles already, the most it records`);
  }
  // A member leaves with the members merged into it before it was merged here (their identifiers are among its own).
  const leaving = new Set([splitId, ...('member' in request ? (existing?.members ?? []) : [])]);

  const ids = [profile.profileId, ...profile.members, ...(profile.members.includes(splitId) ? [] : [splitId])];
  const events = await stores.events.byProfiles(ids, MAX_PERSON_EVENTS + 1);
  if (events.length > MAX_PERSON_EVENTS) throw badRequest(`the profile has more than ${MAX_PERSON_EVENTS} stored events: too many to rebuild in one request`);
  // A batch that folded a message into the profile stores its event last: rebuilt without it, the
  // profile would lose it for good (its redelivery is skipped as folded). Wait for the batch to finish.
  const stored = new Set(events.map((e) => messageKey(e.event.messageId)));
  if ((profile.recent ?? []).some((k) => !stored.has(k))) throw conflict(`a batch is still being applied to profile ${profile.profileId}; ask again in a minute`);
  const moved = new Set(keys);
  const leave: StoredEvent[] = [];
  const stay: StoredEvent[] = [];
  for (const e of events) (extractIdentifiers(e.event, config.rules, config.salt).some((id) => moved.has(identifierKey(id))) ? leave : stay).push(e);

  const stayed = rebuild(profile.profileId, stay, config);
  Object.assign(stayed, {
    identities: identitiesWhere(profile.identities, moved, false),
    ...heldAddresses(profile.addresses, identitiesWhere(profile.identities, moved, false)),
    ...givenLoggedInWithout(profile.addressGivenLoggedIn, stayed.addressGivenLoggedIn, moved),
    members: profile.members.filter((m) => !leaving.has(m)),
    mergeLog: profile.mergeLog.filter((m) => !leaving.has(m.from)),
    marks: profile.marks,
    ...recentOf(profile, stay),
    ...(profile.batch ? { batch: profile.batch } : {}),
    keptApart: keepApart(profile.keptApart ?? [], [splitId]),
  } satisfies Partial<Profile>);
  const split = rebuild(splitId, leave, config);
  Object.assign(split, {
    identities: identitiesWhere(profile.identities, moved, true),
    ...heldAddresses(profile.addresses, identitiesWhere(profile.identities, moved, true)),
    members: [...leaving].filter((m) => m !== splitId && tombstones.has(m)),
    mergeLog: profile.mergeLog.filter((m) => leaving.has(m.from) && m.from !== splitId),
    marks: profile.marks,
    ...recentOf(profile, leave),
    keptApart: keepApart(existing?.keptApart ?? [], [profile.profileId]),
  } satisfies Partial<Profile>);
  for (const p of [stayed, split]) {
    updateSegments(p, config.aggregates, config.profileRules);
    fitBudget(p, config.aggregates);
  }

  // 1. The profile taken out (its old tombstone brought back, or a new profile).
  const splitVersion = existing?.version ?? 0;
  await stores.profiles.put({ ...split, version: splitVersion + 1 }, splitVersion);
  // 2. Its identifiers' links, each conditional on the owner read (this profile or one merged into it).
  const links = await stores.graph.links(keys);
  for (const key of keys) {
    const owner = links.get(key)?.profileId;
    if (owner !== splitId) await stores.graph.putOwner(key, splitId, owner, links.get(key)?.movedFrom, links.get(key)?.heldBefore);
  }
  // 3. The profile that stays, conditional on the version read.
  await stores.profiles.put({ ...stayed, version: profile.version + 1 }, profile.version);
  // Its events now belong to the profile taken out (journeys, exports, erasure find them there).
  const rehome = leave.filter((e) => e.profileId !== splitId).map((e) => ({ profileId: splitId, event: e.event }));
  if (rehome.length > 0) await stores.events.put(rehome);
  return { profileId: profile.profileId, splitProfileId: splitId, identifiers: keys, events: { stayed: stay.length, moved: leave.length } };
}

/** The identifiers that leave, and the profile id they leave to: the member's own, or the one an identifier's profile would have had. */
function whatLeaves(profile: Profile, tombstones: Map<string, Profile>, request: SplitRequest, salt: string): { keys: string[]; splitId: string } {
  const held = new Set(NAMESPACES.flatMap((ns) => (profile.identities[ns] ?? []).map((v) => `${ns}:${v}`)));
  let keys: string[];
  let splitId: string;
  if ('identifier' in request) {
    if (request.identifier.namespace === 'userId') throw badRequest('a userId is the customer herself: take out the device (its anonymousId or deviceId) or the merged member instead');
    const key = identifierKey(storedIdentifier(request.identifier.namespace as Namespace, request.identifier.value, salt));
    if (!held.has(key)) throw badRequest(`profile ${profile.profileId} has no ${request.identifier.namespace} ${JSON.stringify(request.identifier.value)}`);
    keys = [key];
    // The profile the identifier would have made; if it made this one, a profile of its own beside it.
    splitId = deriveProfileId(key) === profile.profileId ? deriveProfileId(`split|${key}`) : deriveProfileId(key);
  } else {
    const member = tombstones.get(request.member);
    if (member === undefined || !profile.members.includes(request.member)) throw badRequest(`${request.member} is not a profile merged into ${profile.profileId}`);
    keys = NAMESPACES.flatMap((ns) => (member.identities[ns] ?? []).map((v) => `${ns}:${v}`)).filter((k) => held.has(k));
    splitId = member.profileId;
  }
  if (keys.length === 0) throw badRequest('nothing to take out: the member holds none of the profile\'s identifiers');
  if (keys.length === held.size) throw badRequest('nothing would remain: every identifier of the profile would leave');
  if (splitId === profile.profileId) throw badRequest(`${profile.profileId} is the profile itself, not a member`);
  return { keys: keys.sort(), splitId };
}

/** The profile's last folded messages that are among these events (all of them are stored: splitOnce checked). */
function recentOf(profile: Profile, events: StoredEvent[]): Pick<Profile, 'recent'> {
  const mine = new Set(events.map((e) => messageKey(e.event.messageId)));
  const recent = (profile.recent ?? []).filter((k) => mine.has(k));
  return recent.length > 0 ? { recent } : {};
}

/** A profile folded from these events alone, as the ingest folds them (engine events go to the journey only). */
function rebuild(profileId: string, events: StoredEvent[], config: SplitConfig): Profile {
  const p = newProfile(profileId);
  const ordered = [...events].sort((a, b) => (a.event.timestamp < b.event.timestamp ? -1 : a.event.timestamp > b.event.timestamp ? 1 : a.event.messageId < b.event.messageId ? -1 : 1));
  for (const { event } of ordered) {
    if (event.type === 'track' && config.aggregates.systemEvents.has(event.event)) continue;
    foldEvent(p, event, config.aggregates, config.profileRules.consent);
  }
  return p;
}

/** The identities whose key (`ns:value`) is in `keys` (`leaving`) or is not (staying). */
function identitiesWhere(identities: Profile['identities'], keys: Set<string>, leaving: boolean): Profile['identities'] {
  const out: Profile['identities'] = {};
  for (const ns of NAMESPACES) {
    const kept = (identities[ns] ?? []).filter((v) => keys.has(`${ns}:${v}`) === leaving);
    if (kept.length > 0) out[ns] = kept;
  }
  return out;
}
