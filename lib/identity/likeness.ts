import { own } from '../events/json';
import type { MatchCard } from '../profile/profile';
import type { IdentityRules } from './rules';
import { NO_WEIGHTS, type IdentityWeights } from './weights';

/**
 * What two profiles look at, compared (docs/identity.md): the products they research (a tf-idf cosine
 * of view counts) and their other interests (a cosine of category counts beside the one they share
 * most), each with how alike the strangers of a network they share look. lib/identity/probabilistic.ts
 * weighs them with the rest of a pair's evidence.
 */

type Rules = IdentityRules['probabilistic'];

/** A network as the scorer sees it: the live profiles seen on it (as far as they still keep it). */
export interface NetworkView {
  network: string;
  members: MatchCard[];
}

/** What pairs are scored with: last night's weights and the product shares counted at ingest (lib/identity/popularity.ts), over `liveProfiles` profiles. */
export type ScoringWeights = IdentityWeights & { live?: Record<string, number>; liveProfiles?: number };

/**
 * The fewest profiles (decayed) that must have researched a product before its share counted at ingest
 * is believed: her own two devices in a deployment's first hour are not a best-seller's crowd.
 */
export const MIN_RESEARCHERS = 5;

/** A product's popularity: the higher of last night's share and the ingest's, the latter if enough profiles researched it. */
function productPopularity(weights: ScoringWeights, product: string): number {
  const night = own(weights.products, product) ?? 0;
  const live = weights.live === undefined ? undefined : own(weights.live, product);
  return live !== undefined && live * (weights.liveProfiles ?? 0) >= MIN_RESEARCHERS ? Math.max(night, live) : night;
}

/**
 * The most a product's share of profiles can be, as far as the counts tell: a share below what too few
 * researchers make (MIN_RESEARCHERS of the profiles counted) cannot be told apart from it, so a product
 * is known to be rare only once enough profiles were counted. 1 (it may be anything) before any count.
 */
function shareBound(weights: ScoringWeights, product: string): number {
  let bound = 1;
  if (weights.profiles > 0) bound = Math.max(own(weights.products, product) ?? 0, MIN_RESEARCHERS / weights.profiles);
  const live = weights.liveProfiles ?? 0;
  if (live > 0) bound = Math.min(bound, Math.max((weights.live === undefined ? undefined : own(weights.live, product)) ?? 0, MIN_RESEARCHERS / live));
  return bound;
}

/** The first level (descending) a value reaches, or levels.length when it reaches none. */
function levelOf(levels: readonly number[], x: number): number {
  const k = levels.findIndex((l) => x >= l);
  return k === -1 ? levels.length : k;
}

/**
 * The Fellegi-Sunter cell a research similarity falls in (the index of its m and u): its level, then
 * whether the two share a product known to be rare (a share of profiles surely below `rare`) or not. In a DIY retailer's catalog
 * of thousands, two people rarely view one product at all; in a hobby shop's 300, everyone does.
 */
export function researchCell(research: Rules['research'], similarity: { cosine: number; rarest: number }): number {
  return levelOf(research.levels, similarity.cosine) * 2 + (similarity.rarest < research.rare ? 0 : 1);
}

/** How many products in common a reason names. */
const NAMED_PRODUCTS = 3;

/**
 * How alike two profiles' research is: the cosine of their product view counts (`signals.views`), each
 * product weighted by 1 + log2(1 / popularity) (last night's or counted at ingest, never below `uFloor`;
 * the 1 keeps what everyone views in the comparison, as scikit-learn's smoothed idf does),
 * so a best-seller everyone viewed says little and a product few viewed much; with the products in
 * common that weigh most. Undefined when either viewed nothing.
 */
export function researchSimilarity(a: MatchCard, b: MatchCard, rules: Rules, weights: ScoringWeights = NO_WEIGHTS): { cosine: number; top: string[]; rarest: number } | undefined {
  const va = a.signals.views;
  const vb = b.signals.views;
  if (va === undefined || vb === undefined) return undefined;
  const idf = (p: string) => 1 + Math.log2(1 / Math.max(rules.uFloor, productPopularity(weights, p)));
  let rarest = 1;
  let na = 0;
  let nb = 0;
  let dot = 0;
  const common: Array<{ p: string; w: number }> = [];
  for (const [p, n] of Object.entries(va)) {
    const w = idf(p);
    na += (n * w) ** 2;
    const m = own(vb, p);
    if (m !== undefined) {
      dot += n * m * w * w;
      common.push({ p, w: n * m * w * w });
      rarest = Math.min(rarest, shareBound(weights, p));
    }
  }
  for (const [p, n] of Object.entries(vb)) nb += (n * idf(p)) ** 2;
  if (na === 0 || nb === 0) return undefined;
  const top = common
    .sort((x, y) => y.w - x.w || (x.p < y.p ? -1 : 1))
    .slice(0, NAMED_PRODUCTS)
    .map((c) => c.p);
  return { cosine: Math.min(1, dot / Math.sqrt(na * nb)), top, rarest };
}

/**
 * How alike two profiles' other interests are: the cosine of their category counts (`signals.interests`)
 * once the category both looked at and the two look at most together is set aside (ties: the first by
 * name), with that category. Flatmates who share a hobby, or coworkers who share a trade, differ in
 * what else they look at; one person's devices do not. Undefined when they share no category, or
 * either looked at nothing beside the one they share.
 */
export function otherInterests(a: MatchCard, b: MatchCard): { cosine: number; shared: string } | undefined {
  const ia = a.signals.interests;
  const ib = b.signals.interests;
  let shared: string | undefined;
  let most = 0;
  for (const [k, x] of Object.entries(ia)) {
    const y = own(ib, k);
    if (y === undefined) continue;
    const n = x + y;
    if (n > most || (n === most && shared !== undefined && k < shared)) {
      most = n;
      shared = k;
    }
  }
  if (shared === undefined) return undefined;
  let na = 0;
  let nb = 0;
  let dot = 0;
  for (const [k, n] of Object.entries(ia)) {
    if (k === shared) continue;
    na += n * n;
    dot += n * (own(ib, k) ?? 0);
  }
  for (const [k, n] of Object.entries(ib)) if (k !== shared) nb += n * n;
  if (na === 0 || nb === 0) return undefined;
  return { cosine: Math.min(1, dot / Math.sqrt(na * nb)), shared };
}

/** The cell of `otherInterests`' m and u a cosine falls in: its level, or below every level. */
export const otherInterestsCell = (levels: readonly number[], cosine: number): number => levelOf(levels, cosine);

/**
 * A crowd this large says how alike its strangers' research looks: with two devices a person, at most
 * one of its pairs in 19 is one person's (1 / (members - 1)); in an office of ten, one in nine.
 */
const CROWD_FOR_RESEARCH = 20;

/**
 * A network this large says how alike its people's other interests are: with two devices a person, at
 * most one of its pairs in five is one person's.
 */
const CROWD_FOR_INTERESTS = 6;

/** How alike a network's people look: the u per cell of research and of other interests (empty where it is too small to say). */
export interface Crowd {
  research: number[];
  interests: number[];
}

/** Each network's crowd, worked out once per view, rules and weights. */
const crowds = new WeakMap<NetworkView, { rules: Rules; weights: ScoringWeights; crowd: Crowd }>();

/**
 * How often two profiles on a network reach each cell, in one pass over its pairs, each share counting
 * one more pair in every cell (add-one smoothing); a network's own people are among its pairs, so each
 * errs towards more common (less evidence), never less.
 * - Research, on a network of at least CROWD_FOR_RESEARCH profiles (applied where it is not the pair's
 *   home): where everyone researches the same few products (one town's anglers on a carrier's pool),
 *   looking alike is common and says little; the configured u stays a floor.
 * - Other interests, on a network of at least CROWD_FOR_INTERESTS (a home too), over the pairs whose
 *   research differs (below the second research level: pairs that look like one person's are left
 *   out, as far as research tells; pairs without views to compare are kept), once at least that many
 *   were compared. Where a family renovating a house all look at paint, tools and the garden, looking
 *   alike beside the paint is common there and says little.
 */
export function crowdOf(view: NetworkView, rules: Rules, weights: ScoringWeights): Crowd {
  const c = view.members.length;
  if (c < CROWD_FOR_INTERESTS) return { research: [], interests: [] };
  const cached = crowds.get(view);
  if (cached !== undefined && cached.rules === rules && cached.weights === weights) return cached.crowd;
  const r = rules.research;
  const o = rules.fields.otherInterests;
  const apart = r.levels[Math.min(1, r.levels.length - 1)] as number;
  const crowded = c >= CROWD_FOR_RESEARCH;
  const research = new Array<number>(r.m.length).fill(1);
  const interests = new Array<number>(o.m.length).fill(1);
  let researchPairs = 0;
  let interestPairs = 0;
  for (let i = 0; i < c; i++) {
    for (let j = i + 1; j < c; j++) {
      const a = view.members[i] as MatchCard;
      const b = view.members[j] as MatchCard;
      const alike = otherInterests(a, b);
      const s = crowded || alike !== undefined ? researchSimilarity(a, b, rules, weights) : undefined;
      if (crowded && s !== undefined) {
        researchPairs += 1;
        (research[researchCell(r, s)] as number) += 1;
      }
      if (alike !== undefined && (s === undefined || s.cosine < apart)) {
        interestPairs += 1;
        (interests[otherInterestsCell(o.levels, alike.cosine)] as number) += 1;
      }
    }
  }
  const crowd = {
    research: crowded ? research.map((n) => n / (researchPairs + r.m.length)) : [],
    interests: interestPairs < CROWD_FOR_INTERESTS ? [] : interests.map((n) => n / (interestPairs + o.m.length)),
  };
  crowds.set(view, { rules, weights, crowd });
  return crowd;
}
