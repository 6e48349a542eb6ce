import { own, setOwn } from '../events/json';
import { deviceCount, matchCardOf, userIdOf, type Profile } from '../profile/profile';
import { contextOf, personCluster, type Neighbourhood } from './links';
import { isResident, topInterests, type NetworkVisit } from './probabilistic';
import type { IdentityRules } from './rules';

/** What a profile's links depend on from its own side; when it changes, its cluster context is derived again. */
export function matchSignature(p: Profile, rules: IdentityRules): string {
  return JSON.stringify([
    userIdOf(p) !== undefined,
    p.signals.locale?.v,
    p.signals.timezone?.v,
    // Its kind when it is a single device, else the kinds of its devices (two phones are rarely one person's).
    deviceCount(p) === 1 ? p.signals.userAgent?.v : p.signals.kinds,
    topInterests(p),
    Object.keys(p.signals.products ?? {}).sort(),
    Object.keys(p.signals.views ?? {}).sort(),
    Object.entries(p.signals.networks)
      .map(([n]) => [n, isResident(p.signals.networks, n, rules.probabilistic)])
      .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
  ]);
}

/** A profile is listed on a network again when it was seen there this much after its last listing (the entry's expiry moves on). */
const RELIST_MS = 86_400_000;

/**
 * The network index entries a profile needs (docs/identity.md): one when it is seen on a network for
 * the first time, and again a day after its last listing there if it came back (entries expire
 * `windowDays` after their listing). Marks them listed on the profile, which is written after the index.
 */
export function listVisits(profile: Profile, before: Profile['signals']['networks'], rules: IdentityRules): NetworkVisit[] {
  const keep = (rules.probabilistic.windowDays + 1) * 86_400;
  const visits: NetworkVisit[] = [];
  for (const [network, seen] of Object.entries(profile.signals.networks)) {
    const listed = seen.listedAt ?? own(before, network)?.listedAt;
    if (listed !== undefined && Date.parse(seen.lastSeen) - Date.parse(listed) <= RELIST_MS) continue;
    visits.push({ network, profileId: profile.profileId, lastSeen: seen.lastSeen, expiresAt: Math.floor(Date.parse(seen.lastSeen) / 1000) + keep });
    setOwn(profile.signals.networks, network, { ...seen, listedAt: seen.lastSeen });
  }
  return visits;
}

/** An anonymous profile's cluster context is derived again for more of the same evidence this long (event time) after the last time. */
const CLUSTER_REFRESH_MS = 3_600_000;

/** Whether the profile's cluster context was derived from evidence less than CLUSTER_REFRESH_MS older than its latest. */
export const clusterCheckedLately = (p: Profile): boolean =>
  p.clusterCheckedAt !== undefined && Date.parse(p.updatedAt) - Date.parse(p.clusterCheckedAt) < CLUSTER_REFRESH_MS;

/**
 * Refreshes an anonymous profile's cluster context (whose interests and stage its decisions may use)
 * from its person cluster as the evidence stands now; a profile that logged in has its own and none,
 * and none is derived while borrowing is off.
 * Mutates the profile; whether the cluster was derived (reads were made).
 */
export async function refreshClusterContext(profile: Profile, hood: Neighbourhood, now: Date): Promise<boolean> {
  // Nothing to derive when decisions borrow nothing (`contextProbability` null, the shipped default),
  // or when the profile logged in (it has its own context).
  if (userIdOf(profile) !== undefined || hood.rules.probabilistic.cluster.contextProbability === null) {
    delete profile.cluster;
    delete profile.clusterCheckedAt;
    return false;
  }
  const context = contextOf(await personCluster(matchCardOf(profile), hood), hood.rules, now.toISOString());
  if (context === undefined) delete profile.cluster;
  else profile.cluster = context;
  profile.clusterCheckedAt = profile.updatedAt;
  return true;
}
