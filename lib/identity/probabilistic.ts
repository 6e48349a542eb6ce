import type { IdentityRules } from './rules';

/** An entry of the network index: this profile was seen on this network (written rarely). */
export interface NetworkVisit {
  network: string;
  profileId: string;
  lastSeen: string;
}

/** What the matcher compares of one profile seen on one network, built from the profile. */
export interface NetworkObservation {
  network: string;
  profileId: string;
  lastSeen: string;
  authenticated: boolean;
  locale?: string;
  timezone?: string;
  /** Top product categories viewed. */
  interests: string[];
  /** Products recently viewed, carted or bought: researching the same product is the strongest signal. */
  products?: string[];
  /** Networks this profile has been seen on (bounded). */
  networks: string[];
}

export interface ProbableLink {
  profileId: string;
  otherProfileId: string;
  score: number;
  reasons: string[];
  at: string;
}

/**
 * Fellegi–Sunter weights: log2(m/u) when a field agrees, log2((1-m)/(1-u)) when it disagrees, 0 when
 * unknown. m = P(agree | same person), u = P(agree | different people). Households share a network,
 * locale and time zone, often a category of interest too, so those never reach the threshold: it
 * takes the same products researched on both devices, or a second shared network.
 */
const W = {
  privateNetwork: Math.log2(0.9 / 0.01),
  crowdedNetwork: Math.log2(0.9 / 0.3),
  extraNetwork: Math.log2(0.5 / 0.02),
  localeAgree: Math.log2(0.95 / 0.5),
  localeDisagree: Math.log2(0.05 / 0.5),
  timezoneAgree: Math.log2(0.95 / 0.4),
  timezoneDisagree: Math.log2(0.05 / 0.6),
  interestAgree: Math.log2(0.7 / 0.35),
  interestDisagree: Math.log2(0.3 / 0.65),
  productAgree: Math.log2(0.35 / 0.03),
  productsAgree: Math.log2(0.5 / 0.002),
  productDisagree: Math.log2(0.4 / 0.97),
} as const;

const round = (x: number): number => Math.round(x * 100) / 100;

/**
 * Scores a pair of profiles seen on the same network. `crowd` is how many distinct profiles were seen
 * there within the window: a crowded network (a shop's Wi-Fi, an office) says little.
 * Two authenticated profiles are never linked: they are different customers by definition.
 */
export function scorePair(
  a: NetworkObservation,
  b: NetworkObservation,
  crowd: number,
  rules: IdentityRules,
): { score: number; reasons: string[] } | undefined {
  if (a.profileId === b.profileId || (a.authenticated && b.authenticated)) return undefined;
  const reasons: string[] = [];
  const crowded = crowd > rules.probabilistic.crowdedNetworkProfiles;
  let score = crowded ? W.crowdedNetwork : W.privateNetwork;
  reasons.push(`${crowded ? 'crowded' : 'private'} network ${a.network}`);
  // Other networks both were seen on that few profiles share (crowded ones are left out of `networks`).
  const shared = a.networks.filter((n) => n !== a.network && b.networks.includes(n));
  for (const n of shared) {
    score += W.extraNetwork;
    reasons.push(`also both on network ${n}`);
  }
  if (a.locale !== undefined && b.locale !== undefined) {
    const agree = a.locale.toLowerCase() === b.locale.toLowerCase();
    score += agree ? W.localeAgree : W.localeDisagree;
    reasons.push(`locale ${agree ? 'agrees' : 'differs'}`);
  }
  if (a.timezone !== undefined && b.timezone !== undefined) {
    const agree = a.timezone === b.timezone;
    score += agree ? W.timezoneAgree : W.timezoneDisagree;
    reasons.push(`time zone ${agree ? 'agrees' : 'differs'}`);
  }
  if (a.interests.length > 0 && b.interests.length > 0) {
    const common = a.interests.filter((i) => b.interests.includes(i));
    score += common.length > 0 ? W.interestAgree : W.interestDisagree;
    reasons.push(common.length > 0 ? `shared interests: ${common.join(', ')}` : 'no shared interests');
  }
  const mineP = a.products ?? [];
  const theirsP = b.products ?? [];
  if (mineP.length > 0 && theirsP.length > 0) {
    const common = mineP.filter((p) => theirsP.includes(p));
    score += common.length > 1 ? W.productsAgree : common.length === 1 ? W.productAgree : W.productDisagree;
    reasons.push(common.length > 0 ? `researched the same products: ${common.slice(0, 3).join(', ')}` : 'no product in common');
  }
  return { score: round(score), reasons };
}

/** True when the pair's score reaches the configured threshold. */
export const isProbableMatch = (score: number, rules: IdentityRules): boolean => score >= rules.probabilistic.threshold;
