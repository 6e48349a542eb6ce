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
}

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
): Promise<{ visits: NetworkVisit[]; links: ProbableLink[] }> {
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
  if (visits.length === 0 && matchSignature(profile) === before.signature) return { visits, links: [] };

  const window = rules.probabilistic.windowDays * 86_400_000;
  const candidatesOn = new Map<string, { network: string; crowd: number }>();
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
      continue;
    }
    for (const id of near) {
      if (id !== profile.profileId && !profile.members.includes(id) && !candidatesOn.has(id)) {
        candidatesOn.set(id, { network, crowd: near.size });
      }
    }
  }
  if (candidatesOn.size === 0) return { visits, links: [] };

  const missing = [...candidatesOn.keys()].filter((id) => input.inBatch(id) === undefined);
  const stored = missing.length > 0 ? await profiles.getCards(missing) : new Map<string, MatchCard>();
  const links: ProbableLink[] = [];
  const linked = { ...profile.signals.linked };
  for (const [id, { network, crowd }] of candidatesOn) {
    const local = input.inBatch(id);
    const other = local !== undefined ? matchCardOf(local) : stored.get(id);
    if (other === undefined || other.mergedInto !== undefined) continue;
    const scored = scorePair(observationOf(matchCardOf(profile), network), observationOf(other, network), crowd, rules);
    if (scored === undefined || !isProbableMatch(scored.score, rules)) continue;
    const known = linked[id];
    if (known !== undefined && Math.abs(known - scored.score) < SCORE_CHANGE) continue;
    linked[id] = scored.score;
    const at = now.toISOString();
    links.push({ profileId: profile.profileId, otherProfileId: id, ...scored, at });
    links.push({ profileId: id, otherProfileId: profile.profileId, ...scored, at });
  }
  if (links.length > 0) profile.signals.linked = boundedTop(linked, MAX_LINKED);
  return { visits, links };
}
