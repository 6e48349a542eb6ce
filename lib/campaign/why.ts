import { consentOf } from '../decision/decide';
import type { Catalog } from '../decision/catalog';
import type { EngineConfig } from '../ingest/config';
import { factsOf } from '../profile/facts';
import type { Profile } from '../profile/profile';
import type { ActivationInstance } from '../store/ports';
import type { Campaigns } from './campaign';
import { rankAddresses } from './addresses';

/**
 * Why a customer did or did not get a campaign's message: each of her entries with its status, reason
 * and history (planned, deferred and why, cancelled by which exit, held out, sent with which offer,
 * failed and why), and, for every campaign, what would stop it now (the audience, an exit condition,
 * consent).
 */
export interface CampaignsOfProfile {
  profileId: string;
  campaigns: Array<{
    campaignId: string;
    name: string;
    enabled: boolean;
    entries: ActivationInstance[];
    now: { inAudience: boolean; exit?: string; consent: { category: string; granted: boolean; reason?: string } };
  }>;
}

export function campaignsOfProfile(profile: Profile, instances: ActivationInstance[], campaigns: Campaigns, catalog: Pick<Catalog, 'contactPolicy'>, config: Pick<EngineConfig, 'aggregates' | 'profileRules'>, now: Date): CampaignsOfProfile {
  const facts = factsOf(profile, config.aggregates, config.profileRules, now);
  const consent = consentOf({ ...facts, segments: Object.keys(profile.segments ?? {}) }, catalog);
  return {
    profileId: profile.profileId,
    campaigns: campaigns.campaigns.map((c) => {
      const exit = c.exitReason(facts);
      return {
        campaignId: c.id,
        name: c.name,
        enabled: c.enabled,
        entries: instances.filter((i) => i.campaignId === c.id).sort((a, b) => b.enteredAt.localeCompare(a.enteredAt)),
        now: { inAudience: c.inAudience(facts), ...(exit ? { exit } : {}), consent },
      };
    }),
  };
}

/**
 * Which of her addresses of a kind a message goes to, so a change of address is visible: the one used,
 * masked (`a***@e***.com`; null for one kept before masks were), since when it is hers, whether she
 * gave it while logged in, and how many of her other addresses of that kind are not used. Read from
 * the masks kept beside the sealed values: whoever calls this cannot open an address.
 */
export interface AddressInUse {
  used?: { address: string | null; since: string; givenWhileLoggedIn: boolean };
  notUsed: number;
}

export function addressesInUse(profile: Profile, kept: ReadonlyMap<string, { mask?: string; at: string }>): Record<'email' | 'phone', AddressInUse> {
  const of = (kind: 'email' | 'phone'): AddressInUse => {
    const first = rankAddresses(profile, kind, kept)[0];
    const others = (profile.identities[kind] ?? []).filter((hash) => `${kind}:${hash}` !== first?.key).length;
    if (first === undefined) return { notUsed: others };
    return { used: { address: kept.get(first.key)?.mask ?? null, since: first.since, givenWhileLoggedIn: first.givenWhileLoggedIn }, notUsed: others };
  };
  return { email: of('email'), phone: of('phone') };
}
