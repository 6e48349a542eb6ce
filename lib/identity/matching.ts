import { own, setOwn } from '../events/json';
import { boundedTop, matchCardOf, MAX_LINKED, userIdOf, type MatchCard, type Profile } from '../profile/profile';
import type { IdentityGraphStore, ProfileStore } from '../store/ports';
import { isProbableMatch, scorePair, type NetworkObservation, type NetworkVisit, type ProbableLink } from './probabilistic';
import type { IdentityRules } from './rules';

/** A network visit is re-listed in the index when the profile's last sighting is this much newer. */
const RELIST_MS = 6 * 3600_000;
/** A link's score must move this much before it is rewritten. */
const SCORE_CHANGE = 0.5;

/** What candidates are compared on; when it changes, the profile is evaluated again. */
export function matchSignature(p: Profile): string {
  return JSON.stringify([
    userIdOf(p) !== undefined,
    p.signals.locale?.v,
    p.signals.timezone?.v,
    topInterests(p),
    Object.keys(p.signals.products ?? {}).sort(),
    privateNetworks(p),
  ]);
}

function topInterests(p: Pick<Profile, 'signals'>): string[] {
  return Object.entries(p.signals.interests)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([k]) => k);
}

const privateNetworks = (p: Pick<Profile, 'signals'>): string[] =>
  Object.entries(p.signals.networks)
    .filter(([, n]) => !n.crowded)
    .map(([n]) => n)
    .sort();

export function observationOf(p: MatchCard, network: string): NetworkObservation {
  return {
    network,
    profileId: p.profileId,
    lastSeen: own(p.signals.networks, network)?.lastSeen ?? p.updatedAt,
    authenticated: p.authenticated,
    locale: p.signals.locale?.v,
    timezone: p.signals.timezone?.v,
    interests: topInterests(p),
    products: Object.keys(p.signals.products ?? {}).sort(),
    networks: privateNetworks(p),
  };
}

export interface MatchInput {
  profile: Profile;
  /** The profile's signals before this batch, to tell what changed. */
  before: { signature: string; networks: Profile['signals']['networks'] };
  /** Profiles of the same batch (folded), which may not be stored yet. */
  inBatch: (profileId: string) => Profile | undefined;
  /** In-batch profiles by network, so devices first seen together still meet. */
  inBatchOn: (network: string) => string[];
  /**
   * Profiles whose link with this one must be derived afresh whatever its cache says: the partners
   * of profiles merged into it in this batch (their links, which named the merged-away profile, are
   * withdrawn; the survivor's own are written if the evidence holds).
   */
  rederive?: ReadonlySet<string>;
}

/** A link to remove, each direction its own. */
export type Withdrawal = Pick<ProbableLink, 'profileId' | 'otherProfileId'>;

/** How many tombstones a candidate listed on a network is followed through to its live profile. */
const MAX_FOLLOW = 4;

/**
 * Probabilistic matching for one profile (DESIGN.md, "Probabilistic links"). Lists the profile in
 * the network index when it is seen on a network for the first time (or again after hours), and when
 * its signals changed compares it with the other profiles seen on its private networks (crowded ones
 * are marked and skipped: a shop's Wi-Fi or carrier NAT is shared by strangers). Mutates the profile
 * (crowded marks, listing times, link cache) and returns the network visits and links to write.
 * Costs reads (one query per private network, one batch get of candidates), and writes only for new
 * visits and new or changed links.
 */
export async function matchOnNetworks(
  input: MatchInput,
  graph: IdentityGraphStore,
  profiles: ProfileStore,
  rules: IdentityRules,
  now: Date,
): Promise<{ visits: NetworkVisit[]; links: ProbableLink[]; withdrawn: Withdrawal[] }> {
  const { profile, before } = input;
  const networks = profile.signals.networks;
  const visits: NetworkVisit[] = [];
  for (const [network, seen] of Object.entries(networks)) {
    const listed = seen.listedAt ?? own(before.networks, network)?.listedAt;
    if (listed === undefined || Date.parse(seen.lastSeen) - Date.parse(listed) > RELIST_MS) {
      visits.push({ network, profileId: profile.profileId, lastSeen: seen.lastSeen });
      setOwn(networks, network, { ...seen, listedAt: seen.lastSeen });
    }
  }
  if (visits.length === 0 && matchSignature(profile) === before.signature) return { visits, links: [], withdrawn: [] };

  const window = rules.probabilistic.windowDays * 86_400_000;
  const candidatesOn = new Map<string, { network: string; crowd: number }>();
  let crowdedNow = false;
  for (const [network, seen] of Object.entries(networks)) {
    if (seen.crowded) continue;
    const listed = await graph.visitsOn(network, rules.probabilistic.maxCandidatesPerNetwork);
    const near = new Set(
      listed.filter((v) => Math.abs(Date.parse(v.lastSeen) - Date.parse(seen.lastSeen)) <= window).map((v) => v.profileId),
    );
    for (const id of input.inBatchOn(network)) near.add(id);
    near.add(profile.profileId);
    if (near.size > rules.probabilistic.crowdedNetworkProfiles) {
      setOwn(networks, network, { ...seen, crowded: true });
      // Only a network it was on before this batch can have had links rest on it (its visit is listed after this step).
      if (own(before.networks, network) !== undefined) crowdedNow = true;
      continue;
    }
    for (const id of near) {
      if (id !== profile.profileId && !profile.members.includes(id) && !candidatesOn.has(id)) {
        candidatesOn.set(id, { network, crowd: near.size });
      }
    }
  }
  if (candidatesOn.size === 0 && !crowdedNow) return { visits, links: [], withdrawn: [] };

  const cards = await liveCards([...candidatesOn.keys()], input, profiles);
  const links: ProbableLink[] = [];
  const withdrawn: Withdrawal[] = [];
  const linked = { ...profile.signals.linked };
  const withdraw = (id: string) => {
    withdrawn.push({ profileId: profile.profileId, otherProfileId: id }, { profileId: id, otherProfileId: profile.profileId });
    delete linked[id];
  };
  const scoredLive = new Set<string>();
  for (const [listed, { network, crowd }] of candidatesOn) {
    const other = cards.get(listed);
    // A link that named a profile since merged away follows it to the survivor: the old one goes.
    if (other !== undefined && other.profileId !== listed && linked[listed] !== undefined) withdraw(listed);
    if (other === undefined || other.profileId === profile.profileId || profile.members.includes(other.profileId) || scoredLive.has(other.profileId)) continue;
    const id = other.profileId;
    scoredLive.add(id);
    const scored = scorePair(observationOf(matchCardOf(profile), network), observationOf(other, network), crowd, rules);
    const known = linked[id];
    const fresh = input.rederive?.has(id) === true;
    if (scored === undefined || !isProbableMatch(scored.score, rules)) {
      // The evidence no longer holds (or both are now customers who logged in): the link goes,
      // whichever of the two wrote it (each keeps the links its own evaluations found).
      if (known !== undefined || other.signals.linked?.[profile.profileId] !== undefined || fresh) withdraw(id);
      continue;
    }
    // Written already, as both sides' caches say, at much the same score: nothing to write. (One side's
    // cache alone is not enough: the other may have withdrawn the link since.)
    if (!fresh && known !== undefined && other.signals.linked?.[profile.profileId] !== undefined && Math.abs(known - scored.score) < SCORE_CHANGE) continue;
    linked[id] = scored.score;
    const at = now.toISOString();
    links.push({ profileId: profile.profileId, otherProfileId: id, ...scored, at });
    links.push({ profileId: id, otherProfileId: profile.profileId, ...scored, at });
  }
  // A network found crowded now is no evidence any more: a link with a partner no private network
  // still shares goes (the stored links are read: the other side may have written them).
  if (crowdedNow) {
    const partners = new Set([...Object.keys(linked), ...(await graph.linksOf(profile.profileId)).map((l) => l.otherProfileId)]);
    for (const id of partners) if (!scoredLive.has(id) && !candidatesOn.has(id)) withdraw(id);
  }
  if (links.length > 0 || withdrawn.length > 0) profile.signals.linked = boundedTop(linked, MAX_LINKED);
  return { visits, links, withdrawn };
}

/**
 * The live card of each candidate, by the id it was listed under: a tombstone is followed to the
 * profile it was merged into (the network index keeps the ids profiles had when they were listed),
 * so a customer who logged in on a device is found under her own profile. In-batch profiles are
 * taken as folded; the rest read in one batch per hop.
 */
async function liveCards(ids: string[], input: MatchInput, profiles: ProfileStore): Promise<Map<string, MatchCard>> {
  const card = new Map<string, MatchCard>();
  const read = async (wanted: string[]): Promise<Map<string, MatchCard>> => {
    const out = new Map<string, MatchCard>();
    const missing: string[] = [];
    for (const id of new Set(wanted)) {
      const local = input.inBatch(id);
      if (local !== undefined) out.set(id, matchCardOf(local));
      else missing.push(id);
    }
    if (missing.length > 0) for (const [id, c] of await profiles.getCards(missing)) out.set(id, c);
    return out;
  };
  let at = new Map(ids.map((id) => [id, id]));
  for (let hop = 0; hop <= MAX_FOLLOW && at.size > 0; hop++) {
    const found = await read([...at.values()]);
    const next = new Map<string, string>();
    for (const [listed, current] of at) {
      const c = found.get(current);
      if (c === undefined) continue;
      if (c.mergedInto === undefined) card.set(listed, c);
      else if (hop < MAX_FOLLOW) next.set(listed, c.mergedInto);
    }
    at = next;
  }
  return card;
}
