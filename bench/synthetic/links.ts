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
 * Every live profile's probable links and person cluster as the read API derives them, each pair once
 * (ids sorted), with the given identity weights (by default, the popularity a night would learn).
 */
export async function derivedPairs(
  stores: MemoryStores,
  rules: IdentityRules,
  weights: IdentityWeights = nightlyWeights(stores),
): Promise<{ links: Array<[string, string]>; clustered: Array<[string, string]> }> {
  const live = liveProfiles(stores);
  const hood = new Neighbourhood(stores, rules, { weights });
  const links = new Map<string, [string, string]>();
  const clustered = new Map<string, [string, string]>();
  const pair = (a: string, b: string): [string, string] => (a < b ? [a, b] : [b, a]);
  for (const p of live) {
    const card = matchCardOf(p);
    for (const l of await hood.linksOf(card)) links.set(pair(l.profileId, l.otherProfileId).join('|'), pair(l.profileId, l.otherProfileId));
    for (const m of (await personCluster(card, hood)).members) clustered.set(pair(p.profileId, m.profileId).join('|'), pair(p.profileId, m.profileId));
  }
  return { links: [...links.values()], clustered: [...clustered.values()] };
}
