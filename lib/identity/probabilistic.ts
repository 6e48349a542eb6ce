import { own } from '../events/json';
import type { MatchCard, NetworkSighting } from '../profile/profile';
import type { IdentityRules } from './rules';
import { crowdOf, otherInterests, otherInterestsCell, researchCell, researchSimilarity, type NetworkView, type ScoringWeights } from './likeness';
import { NO_WEIGHTS } from './weights';

/** An entry of the network index: this profile was seen on this network (written once per profile and network). */
export interface NetworkVisit {
  network: string;
  profileId: string;
  lastSeen: string;
  /** When the entry may be deleted (epoch seconds: the table's TTL): `windowDays` after the sighting, and a day. */
  expiresAt?: number;
}

/** The evidence that two profiles are one person's: log2 odds, the probability, and why. */
export interface PairEvidence {
  score: number;
  probability: number;
  reasons: string[];
}

export interface ProbableLink extends PairEvidence {
  profileId: string;
  otherProfileId: string;
}

type Rules = IdentityRules['probabilistic'];

const round = (x: number): number => Math.round(x * 100) / 100;
export const probabilityOf = (logOdds: number): number => 1 / (1 + 2 ** -logOdds);

/** The top product categories a profile viewed (at most five, by count, then name). */
export function topInterests(card: Pick<MatchCard, 'signals'>): string[] {
  return Object.entries(card.signals.interests)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([k]) => k);
}

/** The hours of `homeHours` as a 24-bit mask, per rules object. */
const homeMasks = new WeakMap<Rules, number>();
function homeMask(rules: Rules): number {
  let mask = homeMasks.get(rules);
  if (mask === undefined) {
    mask = 0;
    for (let h = rules.homeHours.from; h !== rules.homeHours.to; h = (h + 1) % 24) mask |= 1 << h;
    homeMasks.set(rules, mask);
  }
  return mask;
}

/** The distinct days a profile was seen on any network, per networks object. */
const daysSeen = new WeakMap<Record<string, NetworkSighting>, number>();
function allDays(networks: Record<string, NetworkSighting>): number {
  let n = daysSeen.get(networks);
  if (n === undefined) {
    n = new Set(Object.values(networks).flatMap((s) => s.days ?? [])).size;
    daysSeen.set(networks, n);
  }
  return n;
}

/**
 * Whether a profile lives on a network: seen there on `residentDays` distinct days, at least once in
 * its home hours, and on at least a third of the days it was seen on any network. A phone that passes
 * a carrier's address on its way home on a few evenings comes back to it, but lives elsewhere.
 */
export function isResident(networks: Record<string, NetworkSighting>, network: string, rules: Rules): boolean {
  const sighting = own(networks, network);
  const days = sighting?.days?.length ?? 0;
  if (sighting === undefined || days < rules.residentDays) return false;
  return ((sighting.hours ?? 0) & homeMask(rules)) !== 0 && days * 3 >= allDays(networks);
}

/** A sighting's last time in milliseconds, parsed once per sighting object. */
const parsed = new WeakMap<NetworkSighting, number>();
function seenAt(sighting: NetworkSighting | undefined): number {
  if (sighting === undefined) return NaN;
  let t = parsed.get(sighting);
  if (t === undefined) {
    t = Date.parse(sighting.lastSeen);
    parsed.set(sighting, t);
  }
  return t;
}

/** Each member's last sighting on the network and whether it lives there, worked out once per view. */
const viewMembers = new WeakMap<NetworkView, { seen: number[]; resident: boolean[] }>();
function membersOf(view: NetworkView, rules: Rules): { seen: number[]; resident: boolean[] } {
  let m = viewMembers.get(view);
  if (m === undefined) {
    const sightings = view.members.map((x) => own(x.signals.networks, view.network));
    m = { seen: sightings.map(seenAt), resident: view.members.map((x) => isResident(x.signals.networks, view.network, rules)) };
    viewMembers.set(view, m);
  }
  return m;
}

/** Networks both profiles were seen on within the window of each other (the caller passes only networks that are not public). */
export function sharedNetworks(a: MatchCard, b: MatchCard, networks: NetworkView[], rules: Rules): NetworkView[] {
  const window = rules.windowDays * 86_400_000;
  return networks.filter((n) => {
    const x = own(a.signals.networks, n.network);
    const y = own(b.signals.networks, n.network);
    return x !== undefined && y !== undefined && Math.abs(seenAt(x) - seenAt(y)) <= window;
  });
}

/**
 * The prior log2 odds that two profiles seen on a network are one person's. A home's residents are few
 * and come back: if each person has d devices, two of c residents are one person's with probability
 * (d - 1) / (c - 1). A shop's Wi-Fi or an office has many profiles, or profiles that come in the day
 * and not back: the same formula over everyone seen there makes it small.
 */
function networkPrior(a: MatchCard, b: MatchCard, view: NetworkView, rules: Rules): { logOdds: number; reason: string; home: boolean } {
  const sa = own(a.signals.networks, view.network);
  const sb = own(b.signals.networks, view.network);
  const residents = isResident(a.signals.networks, view.network, rules) && isResident(b.signals.networks, view.network, rules);
  // Who used the network around the pair's time: profiles that stopped coming long ago do not count.
  const at = Math.max(seenAt(sa), seenAt(sb));
  const window = rules.windowDays * 86_400_000;
  const { seen, resident } = membersOf(view, rules);
  let everyone = 0;
  let living = 0;
  for (let i = 0; i < seen.length; i++) {
    if (Math.abs((seen[i] as number) - at) > window) continue;
    everyone += 1;
    if (resident[i]) living += 1;
  }
  // A home is a network most of whose profiles live there: on a carrier's address that 23 phones pass
  // through, the 5 that happen to come back on enough evenings are not a household.
  const home = residents && living * 2 >= everyone;
  const count = home ? living : everyone;
  const p = Math.min(rules.maxNetworkProbability, (rules.devicesPerPerson - 1) / Math.max(1, count - 1));
  return {
    home,
    logOdds: Math.log2(p / (1 - p)),
    reason: home ? `both live on network ${view.network} (${count} residents)` : `both seen on network ${view.network} (${count} profiles)`,
  };
}

/**
 * Fellegi-Sunter weight of a field that agrees: log2(m/u). u is the configured chance that two people
 * on one network agree (a household shares its locale), never below `uFloor`. Agreeing never counts
 * against a pair (a field where strangers agree more often than m says nothing, not less than nothing).
 */
const agreement = (field: { m: number; u: number }, rules: Rules): number => Math.max(0, Math.log2(field.m / Math.min(0.99, Math.max(rules.uFloor, field.u))));

/** Fellegi-Sunter weight of a field that disagrees: log2((1-m)/(1-u)). */
const disagreement = (field: { m: number; u: number }): number => Math.log2((1 - field.m) / (1 - field.u));

const weigh = (field: { m: number; u: number }, agrees: boolean, rules: Rules): number => (agrees ? agreement(field, rules) : disagreement(field));

/** Phones and tablets: one person rarely has two of one kind, or two phones at all. */
const HANDHELD = /-(phone|tablet)$/;

/** A device kind's class: phone or tablet for handhelds (ios-phone, android-phone), else the kind itself. */
const classOf = (kind: string): string => HANDHELD.exec(kind)?.[1] ?? kind;

/**
 * The device kinds (user-agent families) a profile stands for: a single device's latest, a merged
 * customer's every device's (as far as it was counted: profiles from before `kinds` have none); the
 * unknown family left out.
 */
function kindsOf(card: MatchCard): string[] | undefined {
  const kinds = card.devices === 1 ? (card.signals.userAgent === undefined ? [] : [card.signals.userAgent.v]) : (card.signals.kinds ?? []);
  const known = kinds.filter((k) => k !== 'other');
  return known.length > 0 ? known : undefined;
}

/** How two profiles' devices compare: a handheld of one kind on both sides (0), of one class only (1: two phones of different kinds), or neither (2). */
export interface KindComparison {
  cell: 0 | 1 | 2;
  /** The kind or class in common, for the reason. */
  shared?: string;
}

/**
 * How sameKind and sameClass compare two profiles' devices, when they do: both of known kinds, and a
 * phone or tablet on at least one side (one person's laptop and desktop are often both Windows).
 * One person rarely carries two phones of one model, or two phones at all.
 */
export function compareKinds(a: MatchCard, b: MatchCard): KindComparison | undefined {
  const ka = kindsOf(a);
  const kb = kindsOf(b);
  if (ka === undefined || kb === undefined || ![...ka, ...kb].some((k) => HANDHELD.test(k))) return undefined;
  const kind = ka.find((k) => HANDHELD.test(k) && kb.includes(k));
  if (kind !== undefined) return { cell: 0, shared: kind };
  const classes = new Set(ka.filter((k) => HANDHELD.test(k)).map(classOf));
  const shared = kb.filter((k) => HANDHELD.test(k)).map(classOf).find((c) => classes.has(c));
  return shared !== undefined ? { cell: 1, shared } : { cell: 2 };
}

/**
 * Scores a pair of profiles on the networks they share (docs/identity.md): the prior of the
 * best network (fewer profiles, and ones that come back in the evening, say more), then each field's
 * Fellegi-Sunter weight, a product's u its popularity (last night's, or counted at ingest): a best-seller many
 * researched says little, a niche product much.
 * Two authenticated profiles are never linked: they are different customers by definition. A pure
 * function of the two cards and the networks' members: the same evidence, the same score, in any order.
 */
export function scorePair(a: MatchCard, b: MatchCard, networks: NetworkView[], rules: Rules, weights: ScoringWeights = NO_WEIGHTS): PairEvidence | undefined {
  const weighed = weighPair(a, b, networks, rules, weights);
  if (weighed === undefined) return undefined;
  const c = calibrationFor(rules, weights);
  const stated = c.intercept + c.priorSlope * weighed.prior + c.slope * weighed.evidence;
  return { score: round(stated), probability: round(probabilityOf(stated)), reasons: weighed.reasons };
}

/** The calibration that applies: the night's once a night has counted popularity, else the one fitted before any night. */
export const calibrationFor = (rules: Rules, weights: ScoringWeights): { intercept: number; priorSlope: number; slope: number } =>
  weights.profiles > 0 ? rules.calibration : rules.calibration.beforeNight;

/**
 * The parts of a pair's score before calibration: the prior log2 odds of the best network they share,
 * and the sum of the fields' Fellegi-Sunter weights, with the reasons (bench/identity-fit.ts fits the
 * calibration on them).
 */
export function weighPair(a: MatchCard, b: MatchCard, networks: NetworkView[], rules: Rules, weights: ScoringWeights = NO_WEIGHTS): { prior: number; evidence: number; reasons: string[] } | undefined {
  if (a.profileId === b.profileId || (a.authenticated && b.authenticated)) return undefined;
  const shared = sharedNetworks(a, b, networks, rules);
  if (shared.length === 0) return undefined;
  const priors = shared
    .map((view) => ({ view, ...networkPrior(a, b, view, rules) }))
    .sort((x, y) => y.logOdds - x.logOdds || (x.view.network < y.view.network ? -1 : 1));
  const best = priors[0] as (typeof priors)[number];
  const f = rules.fields;
  let score = 0;
  const reasons = [best.reason];

  // Another place they share is one comparison, however many networks: a carrier's pool of addresses
  // that the same phones rotate through is one piece of evidence, not one per address. Its u is how
  // often a stranger is there too: at least how crowded the network is, and the share of the best
  // network's other profiles also seen there (the same crowd); the network that says most is weighed.
  const others = best.view.members.filter((m) => m.profileId !== a.profileId && m.profileId !== b.profileId);
  let place: { network: string; u: number } | undefined;
  for (const { view } of priors.slice(1)) {
    const crowded = (view.members.length - 2) / rules.publicNetworkProfiles;
    const sameCrowd = others.length === 0 ? 0 : others.filter((m) => own(m.signals.networks, view.network) !== undefined).length / others.length;
    const u = Math.max(f.extraNetwork.u, crowded, sameCrowd);
    if (place === undefined || u < place.u) place = { network: view.network, u };
  }
  if (place !== undefined) {
    score += agreement({ m: f.extraNetwork.m, u: place.u }, rules);
    reasons.push(`also both on network ${place.network}${place.u >= f.extraNetwork.m ? ' (as are many others: no evidence)' : ''}`);
  }
  const la = a.signals.locale?.v.toLowerCase();
  const lb = b.signals.locale?.v.toLowerCase();
  if (la !== undefined && lb !== undefined) {
    score += weigh(f.locale, la === lb, rules);
    reasons.push(`locale ${la === lb ? 'agrees' : 'differs'}`);
  }
  const ta = a.signals.timezone?.v;
  const tb = b.signals.timezone?.v;
  if (ta !== undefined && tb !== undefined) {
    score += weigh(f.timezone, ta === tb, rules);
    reasons.push(`time zone ${ta === tb ? 'agrees' : 'differs'}`);
  }
  // One person rarely carries two phones of one model, or two phones at all (a work phone is the
  // exception). Three cells of one comparison: one kind, one class, different classes.
  const kinds = compareKinds(a, b);
  if (kinds !== undefined) {
    const cell = kinds.cell === 0 ? f.sameKind : kinds.cell === 1 ? f.sameClass : undefined;
    score += cell !== undefined ? Math.log2(cell.m / cell.u) : Math.log2((1 - f.sameKind.m - f.sameClass.m) / (1 - f.sameKind.u - f.sameClass.u));
    reasons.push(kinds.cell === 0 ? `both have a device of one kind (${kinds.shared})` : kinds.cell === 1 ? `both have a ${kinds.shared}, of different kinds` : 'devices of different kinds');
  }
  const interests = otherInterests(a, b);
  if (interests !== undefined) {
    const o = f.otherInterests;
    const cell = otherInterestsCell(o.levels, interests.cosine);
    // The configured u, and at least how often the people of a network both use look this alike.
    let u = o.u[cell] as number;
    for (const p of priors) u = Math.max(u, crowdOf(p.view, rules, weights).interests[cell] ?? 0);
    score += Math.log2((o.m[cell] as number) / u);
    reasons.push(`${cell === o.levels.length ? 'other interests differ' : `other interests alike (${interests.cosine.toFixed(2)})`} beside ${interests.shared}`);
  }
  const similarity = researchSimilarity(a, b, rules, weights);
  if (similarity !== undefined) {
    const r = rules.research;
    const level = researchCell(r, similarity);
    // The configured u, and at least how often the strangers of a crowd both are part of (a carrier's
    // address, an office, a club) look this alike: two anglers who share a flat also meet the town's
    // other anglers at the club, and look as alike as any two of them.
    let u = r.u[level] as number;
    for (const p of priors) if (!p.home) u = Math.max(u, crowdOf(p.view, rules, weights).research[level] ?? 0);
    score += Math.log2((r.m[level] as number) / u);
    reasons.push(
      similarity.top.length > 0
        ? `research alike (${similarity.cosine.toFixed(2)}): ${similarity.top.join(', ')}`
        : 'no product researched in common',
    );
  }
  return { prior: best.logOdds, evidence: score, reasons };
}

/** True when the pair's score reaches the configured threshold. */
export const isProbableMatch = (score: number, rules: IdentityRules): boolean => score >= rules.probabilistic.threshold;
