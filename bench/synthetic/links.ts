import { Neighbourhood, personCluster } from '../../lib/identity/links';
import type { IdentityRules } from '../../lib/identity/rules';
import { countProducts, weightsOf, type IdentityWeights } from '../../lib/identity/weights';
import { matchCardOf } from '../../lib/profile/profile';
import type { MemoryStores } from '../../lib/store/memory';

const liveProfiles = (stores: MemoryStores) => [...stores.profileItems.values()].filter((p) => p.mergedInto === undefined);

/** The product popularity the nightly job would learn from these profiles. */
export const nightlyWeights = (stores: MemoryStores): IdentityWeights =>
  weightsOf(countProducts(liveProfiles(stores).map((p) => Object.keys(p.signals.products ?? {}))), 'nightly');

/**
 * When the population's data ends (its profiles' latest update): pairs are read as of then, so the
 * popularity counted at ingest is decayed as a read right after the last event would see it, whatever
 * day the benchmark runs.
 */
export const dataEnd = (stores: MemoryStores): Date =>
  new Date(Math.max(0, ...liveProfiles(stores).map((p) => Date.parse(p.updatedAt)).filter(Number.isFinite)));

/** A pair the read API states a probability for. */
export interface StatedPair {
  profileId: string;
  otherProfileId: string;
  probability: number;
}

export interface DerivedPairs {
  /** Probable links (`linksOf`), each pair once (ids sorted). */
  links: Array<[string, string]>;
  /** Pairs of a profile and a member of its person cluster, each pair once (ids sorted). */
  clustered: Array<[string, string]>;
  /**
   * Every pair the read API scores (`candidatesOf`: on a network both share, below the threshold too),
   * each unordered pair once (as scored from the profile with the smaller id); only when asked for.
   */
  candidates: StatedPair[];
  /** Every (profile, member of its cluster) with the member's stated probability, in that order (a cluster is one profile's view); only when asked for. */
  members: StatedPair[];
}

/**
 * Every live profile's probable links and person cluster as the read API derives them (`GET
 * /v1/profiles/{id}/links` and `/cluster`), with the given identity weights (by default, the
 * popularity a night would learn; pairs read at `at`, by default when the data ends), and, with `stated`, every scored pair and cluster member with the
 * probability the API states for it (for calibration tables).
 */
export async function derivedPairs(
  stores: MemoryStores,
  rules: IdentityRules,
  weights: IdentityWeights = nightlyWeights(stores),
  options: { stated?: boolean; at?: Date } = {},
): Promise<DerivedPairs> {
  const live = liveProfiles(stores);
  const hood = new Neighbourhood(stores, rules, { weights, at: options.at ?? dataEnd(stores) });
  const links = new Map<string, [string, string]>();
  const clustered = new Map<string, [string, string]>();
  const candidates = new Map<string, StatedPair>();
  const members: StatedPair[] = [];
  const pair = (a: string, b: string): [string, string] => (a < b ? [a, b] : [b, a]);
  for (const p of live) {
    const card = matchCardOf(p);
    for (const l of await hood.linksOf(card)) links.set(pair(l.profileId, l.otherProfileId).join('|'), pair(l.profileId, l.otherProfileId));
    const cluster = await personCluster(card, hood);
    for (const m of cluster.members) clustered.set(pair(p.profileId, m.profileId).join('|'), pair(p.profileId, m.profileId));
    if (!options.stated) continue;
    for (const m of cluster.members) members.push({ profileId: p.profileId, otherProfileId: m.profileId, probability: m.probability });
    for (const c of await hood.candidatesOf(card)) {
      const key = pair(c.profileId, c.otherProfileId).join('|');
      if (c.profileId < c.otherProfileId || !candidates.has(key)) candidates.set(key, { profileId: c.profileId, otherProfileId: c.otherProfileId, probability: c.probability });
    }
  }
  return { links: [...links.values()], clustered: [...clustered.values()], candidates: [...candidates.values()], members };
}
