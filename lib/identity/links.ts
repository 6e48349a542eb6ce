import { own } from '../events/json';
import type { MatchCard } from '../profile/profile';
import type { IdentityGraphStore, ProductPopularityStore, ProfileStore } from '../store/ports';
import { popularityOf } from './popularity';
import type { NetworkView, ScoringWeights } from './likeness';
import { isProbableMatch, isResident, probabilityOf, scorePair, type ProbableLink } from './probabilistic';
import type { IdentityRules } from './rules';
import { NO_WEIGHTS, type IdentityWeights } from './weights';

/**
 * Probable links and clusters, derived from the evidence when they are asked for (docs/identity.md):
 * the network index says who was seen where, the profiles' cards say what each did, and the links are
 * a function of those alone. No link is stored, so none goes stale: new evidence on either
 * side, a merge, a network filling up with strangers, all show at the next read, whatever order and
 * batches the events came in. (The one thing kept is an anonymous profile's cluster context, a cache
 * for its decisions: lib/identity/matching.ts.)
 */
export interface LinkSources {
  graph: Pick<IdentityGraphStore, 'visitsOn'>;
  profiles: Pick<ProfileStore, 'getCards'>;
  /** Product popularity counted at ingest (lib/identity/popularity.ts), when the stores keep it. */
  popularity?: ProductPopularityStore;
}

/** What the ingest knows that the stores do not yet: this batch's profiles and network listings. */
export interface Overlay {
  /** The batch's state of a profile (a profile merged away in the batch answers as its survivor). */
  card(profileId: string): MatchCard | undefined;
  listedOn(network: string): string[];
}

/**
 * Networks found public lately, remembered between batches so the ingest does not read a carrier's
 * NAT again for every device on it (a network that turned public rarely turns back).
 */
export class PublicNetworks {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly ttlMs = 600_000,
    private readonly max = 10_000,
  ) {}

  has(network: string, now = Date.now()): boolean {
    const until = this.until.get(network);
    if (until !== undefined && until <= now) this.until.delete(network);
    return until !== undefined && until > now;
  }

  add(network: string, now = Date.now()): void {
    if (this.until.size >= this.max) this.until.delete(this.until.keys().next().value as string);
    this.until.set(network, now + this.ttlMs);
  }
}

/** Thrown when a neighbourhood's read budget is spent (lib/identity/matching.ts keeps the last context). */
export class ReadBudgetSpent extends Error {
  constructor() {
    super('the read budget for cluster contexts is spent');
    this.name = 'ReadBudgetSpent';
  }
}

/** How many index entries per profile a network is read with before it counts as public whatever they resolve to. */
const LISTINGS_PER_PROFILE = 4;
/** How many tombstones a listed id is followed through to its live profile. */
const MAX_FOLLOW = 4;

/**
 * Reads the evidence around profiles, each network and card once (a cluster asks for the same home
 * network many times). Not shared between requests: it is a snapshot of one moment.
 */
export class Neighbourhood {
  private readonly cards = new Map<string, MatchCard | null>();
  private readonly views = new Map<string, Promise<NetworkView | undefined>>();
  private readonly links = new Map<string, Promise<ProbableLink[]>>();
  private scoring: Promise<ScoringWeights> | undefined;
  /** The time popularity is read as of: the clock the ingest counts it by (a batch's processing time); else now. */
  private readonly at: Date | undefined;
  /** Store reads made (queries and batch gets), for benchmarks. */
  reads = 0;

  private readonly overlay: Overlay | undefined;
  readonly weights: IdentityWeights;
  private readonly maxReads: number;
  private readonly knownPublic: PublicNetworks | undefined;

  constructor(
    private readonly sources: LinkSources,
    readonly rules: IdentityRules,
    options: { overlay?: Overlay; weights?: IdentityWeights; maxReads?: number; knownPublic?: PublicNetworks; at?: Date } = {},
  ) {
    this.overlay = options.overlay;
    this.knownPublic = options.knownPublic;
    this.weights = options.weights ?? NO_WEIGHTS;
    this.maxReads = options.maxReads ?? Infinity;
    this.at = options.at;
  }

  /** Whether the read budget is spent: the ingest's refresh of cluster contexts stops there (the read API has none). */
  get exhausted(): boolean {
    return this.reads >= this.maxReads;
  }

  /** Live cards by the ids asked for: tombstones followed to the profile they were merged into. */
  async live(ids: string[]): Promise<Map<string, MatchCard>> {
    const out = new Map<string, MatchCard>();
    let at = new Map(ids.map((id) => [id, id]));
    for (let hop = 0; hop <= MAX_FOLLOW && at.size > 0; hop++) {
      await this.load([...new Set(at.values())]);
      const next = new Map<string, string>();
      for (const [asked, current] of at) {
        const c = this.cards.get(current);
        if (c === null || c === undefined) continue;
        if (c.mergedInto === undefined) out.set(asked, c);
        else next.set(asked, c.mergedInto);
      }
      at = next;
    }
    return out;
  }

  private async load(ids: string[]): Promise<void> {
    const missing: string[] = [];
    for (const id of ids) {
      if (this.cards.has(id)) continue;
      const local = this.overlay?.card(id);
      if (local !== undefined) this.cards.set(id, local);
      else missing.push(id);
    }
    if (missing.length === 0) return;
    this.reads += Math.ceil(missing.length / 100);
    const found = await this.sources.profiles.getCards(missing);
    for (const id of missing) this.cards.set(id, found.get(id) ?? null);
  }

  /**
   * A network's members: the live profiles listed on it that still keep it among their networks.
   * Undefined when it is public: more than `publicNetworkProfiles` profiles within `windowDays` of
   * one another (a shop's Wi-Fi, carrier NAT), or more index entries than that many profiles could
   * make (entries expire `windowDays` after their profile's last listing there).
   */
  network(network: string): Promise<NetworkView | undefined> {
    let view = this.views.get(network);
    if (view === undefined) {
      view = this.readNetwork(network);
      this.views.set(network, view);
    }
    return view;
  }

  private async readNetwork(network: string): Promise<NetworkView | undefined> {
    if (this.knownPublic?.has(network)) return undefined;
    if (this.exhausted) throw new ReadBudgetSpent();
    const view = await this.readMembers(network);
    if (view === undefined) this.knownPublic?.add(network);
    return view;
  }

  private async readMembers(network: string): Promise<NetworkView | undefined> {
    const most = this.rules.probabilistic.publicNetworkProfiles;
    const limit = most * LISTINGS_PER_PROFILE + 1;
    this.reads += 1;
    const listed = new Set((await this.sources.graph.visitsOn(network, limit)).map((v) => v.profileId));
    for (const id of this.overlay?.listedOn(network) ?? []) listed.add(id);
    if (listed.size >= limit) return undefined;
    const members = new Map<string, MatchCard>();
    for (const card of (await this.live([...listed])).values()) {
      if (own(card.signals.networks, network) !== undefined) members.set(card.profileId, card);
    }
    // Public if more profiles used it within a window than a home ever has (those that stopped coming long ago do not count).
    const seen = [...members.values()].map((m) => Date.parse(own(m.signals.networks, network)?.lastSeen ?? '')).sort((a, b) => a - b);
    const window = this.rules.probabilistic.windowDays * 86_400_000;
    for (let i = 0, j = 0; j < seen.length; j++) {
      while ((seen[j] as number) - (seen[i] as number) > window) i++;
      if (j - i + 1 > most) return undefined;
    }
    return { network, members: [...members.values()].sort((a, b) => (a.profileId < b.profileId ? -1 : 1)) };
  }

  /** The networks a profile was seen on that are not public, by name. */
  async networksOf(card: MatchCard): Promise<NetworkView[]> {
    const views = await Promise.all(Object.keys(card.signals.networks).sort().map((n) => this.network(n)));
    return views.filter((v): v is NetworkView => v !== undefined);
  }

  /** The profile's probable links, the most probable first. */
  async linksOf(card: MatchCard): Promise<ProbableLink[]> {
    return (await this.candidatesOf(card)).filter((l) => isProbableMatch(l.score, this.rules));
  }

  /** Every pair the profile makes with someone on a network it shares, scored (below the threshold too), the most probable first; once per neighbourhood. */
  candidatesOf(card: MatchCard): Promise<ProbableLink[]> {
    let scored = this.links.get(card.profileId);
    if (scored === undefined) {
      scored = this.scoreCandidates(card);
      this.links.set(card.profileId, scored);
    }
    return scored;
  }

  /**
   * The weights pairs are scored with: last night's, and the shares counted at ingest (`live`), so a
   * best-seller is known from its first day (read once per neighbourhood). A product's popularity is the
   * higher of the two; a share counted at ingest is believed only for a product at least
   * MIN_RESEARCHERS profiles researched (lib/identity/probabilistic.ts): in a deployment's first hour one
   * person's devices are everyone, and every product she looked at would seem common.
   */
  scoringWeights(): Promise<ScoringWeights> {
    this.scoring ??= (async () => {
      const source = popularityOf(this.sources);
      if (source === undefined) return this.weights;
      const shares = await source.shares(this.at ?? new Date());
      return { ...this.weights, live: shares, liveProfiles: source.profiles() };
    })();
    return this.scoring;
  }

  private async scoreCandidates(card: MatchCard): Promise<ProbableLink[]> {
    const weights = await this.scoringWeights();
    const views = await this.networksOf(card);
    const candidates = new Map<string, MatchCard>();
    for (const v of views) for (const m of v.members) if (m.profileId !== card.profileId) candidates.set(m.profileId, m);
    const out: ProbableLink[] = [];
    for (const other of candidates.values()) {
      const evidence = scorePair(card, other, views, this.rules.probabilistic, weights);
      if (evidence !== undefined) out.push({ profileId: card.profileId, otherProfileId: other.profileId, ...evidence });
    }
    return out.sort((a, b) => b.score - a.score || (a.otherProfileId < b.otherProfileId ? -1 : 1));
  }
}

export interface ClusterMember {
  profileId: string;
  /** The probability that this profile is the same person's, along the best chain of links. */
  probability: number;
  hops: number;
  /** The member it was reached through (absent for direct links). */
  via?: string;
  authenticated: boolean;
  reasons: string[];
}

/** A person as the links see her: the profiles probably hers, with how probably and why. */
export interface PersonCluster {
  profileId: string;
  members: ClusterMember[];
}

/** A profile in a growing person cluster: its card, its hops from the profile asked about, and every pair it was scored in, by the other profile. */
interface Inside {
  card: MatchCard;
  hops: number;
  scored: Map<string, ProbableLink>;
}

/** A profile's pairs with the cluster's members: how many were scored (they share a network), their mean probability, how many are links, and the strongest. */
function pairsWith(inside: Inside[], id: string, rules: IdentityRules): { scored: number; mean: number; linked: number; strongest: ProbableLink | undefined } {
  let sum = 0;
  let scored = 0;
  let linked = 0;
  let strongest: ProbableLink | undefined;
  for (const m of inside) {
    const l = m.scored.get(id);
    if (l === undefined) continue;
    scored += 1;
    sum += probabilityOf(l.score);
    if (isProbableMatch(l.score, rules)) linked += 1;
    if (strongest === undefined || l.score > strongest.score) strongest = l;
  }
  return { scored, mean: sum / Math.max(1, scored), linked, strongest };
}

/**
 * The person cluster of a profile (docs/identity.md, "Person clusters and households"), grown one profile at a time like
 * average-linkage clustering, so that one wrong link cannot bring in its whole neighbourhood: a
 * profile linked to a member (within `maxHops` links of the profile asked about) joins when its
 * pairs with the members already in, over those it was scored with (they share a network), are on
 * average at least `minProbability` probable and at least half of them are links, and that average,
 * shared with its rivals (`exclusive`: one device is one person's), still is. The best such profile
 * joins first, so the same cluster forms whichever order the links were read in. Never two
 * authenticated profiles: the most probable one is the person's. A member's probability is its
 * shared probability when it joined.
 */
export async function personCluster(card: MatchCard, hood: Neighbourhood): Promise<PersonCluster> {
  const c = hood.rules.probabilistic.cluster;
  const inside: Inside[] = [];
  const members: ClusterMember[] = [];
  const ids = new Set<string>();
  const refused = new Set<string>();
  let authenticated = card.authenticated;
  const enter = async (m: MatchCard, hops: number) => {
    ids.add(m.profileId);
    inside.push({ card: m, hops, scored: new Map((await hood.candidatesOf(m)).map((l) => [l.otherProfileId, l])) });
  };
  await enter(card, 0);
  while (members.length < c.maxMembers) {
    // Profiles linked to a member that may still reach further, each with its fewest hops.
    const reached = new Map<string, number>();
    for (const m of inside) {
      if (m.hops >= c.maxHops) continue;
      for (const l of m.scored.values()) {
        if (!isProbableMatch(l.score, hood.rules) || ids.has(l.otherProfileId) || refused.has(l.otherProfileId)) continue;
        reached.set(l.otherProfileId, Math.min(reached.get(l.otherProfileId) ?? Infinity, m.hops + 1));
      }
    }
    let best: { id: string; probability: number; hops: number; link: ProbableLink } | undefined;
    for (const [id, hops] of reached) {
      const { mean: together, linked, strongest } = pairsWith(inside, id, hood.rules);
      if (together < c.minProbability || linked * 2 < inside.length || strongest === undefined) continue;
      const probability = await exclusive(id, together, inside, hood);
      if (probability < c.minProbability) continue;
      if (best === undefined || probability > best.probability || (probability === best.probability && id < best.id)) best = { id, probability, hops, link: strongest };
    }
    if (best === undefined) break;
    const other = (await hood.live([best.id])).get(best.id);
    if (other === undefined || (other.authenticated && authenticated)) {
      refused.add(best.id);
      continue;
    }
    authenticated ||= other.authenticated;
    const via = best.link.profileId;
    members.push({
      profileId: best.id,
      probability: Math.round(best.probability * 1000) / 1000,
      hops: best.hops,
      ...(via !== card.profileId ? { via } : {}),
      authenticated: other.authenticated,
      reasons: best.link.reasons,
    });
    await enter(other, best.hops);
  }
  return { profileId: card.profileId, members };
}

/**
 * A candidate's probability of being the cluster's person, one device being one person's: the odds o
 * of its average with the members are shared with its rivals, o / (1 + o + the rivals' odds). A rival
 * is a profile linked to one side and someone else's than the other side's person:
 * - linked to the candidate, and its pairs with the members are on average less probable than not
 *   (or it is another signed-in customer, when the cluster holds one): a laptop in a flat of two
 *   anglers is linked to both their phones, and goes with neither unless one link is much the stronger;
 * - linked to a member, and its pair with the candidate is less probable than not (or both are
 *   signed-in customers): the laptop's own cluster takes neither sister.
 * Each rival counts once, at its strongest link.
 */
async function exclusive(id: string, probability: number, inside: Inside[], hood: Neighbourhood): Promise<number> {
  const card = (await hood.live([id])).get(id);
  if (card === undefined) return probability;
  const members = new Set(inside.map((m) => m.card.profileId));
  const customer = inside.some((m) => m.card.authenticated);
  const outside = (l: ProbableLink) => isProbableMatch(l.score, hood.rules) && l.otherProfileId !== id && !members.has(l.otherProfileId);
  const candidate = new Map((await hood.candidatesOf(card)).map((l) => [l.otherProfileId, l]));
  const fromCandidate = [...candidate.values()].filter(outside);
  const fromCluster = inside.flatMap((m) => [...m.scored.values()].filter(outside));
  const cards = await hood.live([...new Set([...fromCandidate, ...fromCluster].map((l) => l.otherProfileId))]);
  const signedIn = (other: string) => cards.get(other)?.authenticated === true;
  const rivals = new Map<string, number>();
  const rival = (l: ProbableLink) => rivals.set(l.otherProfileId, Math.max(rivals.get(l.otherProfileId) ?? 0, 2 ** l.score));
  for (const l of fromCandidate) {
    const { scored, mean } = pairsWith(inside, l.otherProfileId, hood.rules);
    if ((customer && signedIn(l.otherProfileId)) || (scored > 0 && mean < 0.5)) rival(l);
  }
  for (const l of fromCluster) {
    const pair = candidate.get(l.otherProfileId);
    if ((card.authenticated && signedIn(l.otherProfileId)) || (pair !== undefined && probabilityOf(pair.score) < 0.5)) rival(l);
  }
  if (rivals.size === 0) return probability;
  const odds = probability / (1 - probability);
  return odds / (1 + odds + [...rivals.values()].reduce((s, o) => s + o, 0));
}

/** The people of a home: its residents, grouped into person clusters by the links between them. */
export interface Household {
  network: string;
  people: Array<{ profiles: Array<{ profileId: string; authenticated: boolean; days: number }> }>;
}

/**
 * The household of a profile: the residents of the network it lives on (seen there on most days, in
 * home hours), grouped into people by the pairs the home network's evidence links (the most probable
 * joined first, never two customers who logged in). Undefined when the profile lives on no network
 * that is not public.
 */
export async function householdOf(card: MatchCard, hood: Neighbourhood): Promise<Household | undefined> {
  const rules = hood.rules.probabilistic;
  const homes = (await hood.networksOf(card))
    .map((v) => ({ v, days: own(card.signals.networks, v.network)?.days?.length ?? 0 }))
    .filter(({ v }) => isResident(card.signals.networks, v.network, rules))
    .sort((a, b) => b.days - a.days || (a.v.network < b.v.network ? -1 : 1));
  const home = homes[0]?.v;
  if (home === undefined) return undefined;
  const residents = home.members.filter((m) => isResident(m.signals.networks, home.network, rules));
  const weights = await hood.scoringWeights();
  const parent = new Map(residents.map((r) => [r.profileId, r.profileId]));
  const find = (x: string): string => {
    const p = parent.get(x) as string;
    return p === x ? x : find(p);
  };
  // Pairs of residents scored on the home network (no further reads), the most probable joined first.
  const pairs: Array<{ a: string; b: string; score: number }> = [];
  for (let i = 0; i < residents.length; i++) {
    for (let j = i + 1; j < residents.length; j++) {
      const [x, y] = [residents[i] as MatchCard, residents[j] as MatchCard];
      const evidence = scorePair(x, y, [home], rules, weights);
      if (evidence !== undefined && isProbableMatch(evidence.score, hood.rules)) pairs.push({ a: x.profileId, b: y.profileId, score: evidence.score });
    }
  }
  pairs.sort((p, q) => q.score - p.score || (p.a + p.b < q.a + q.b ? -1 : 1));
  const people = (root: string) => residents.filter((x) => find(x.profileId) === root);
  for (const pair of pairs) {
    const [a, b] = [find(pair.a), find(pair.b)].sort() as [string, string];
    // Never two customers who logged in as one person.
    if (a === b || (people(a).some((x) => x.authenticated) && people(b).some((x) => x.authenticated))) continue;
    parent.set(b, a);
  }
  const groups = new Map<string, Household['people'][number]['profiles']>();
  for (const r of residents) {
    const root = find(r.profileId);
    groups.set(root, [...(groups.get(root) ?? []), { profileId: r.profileId, authenticated: r.authenticated, days: own(r.signals.networks, home.network)?.days?.length ?? 0 }]);
  }
  return { network: home.network, people: [...groups.values()].map((profiles) => ({ profiles })) };
}

/** What an anonymous profile's decisions may borrow from its person cluster: whose context, how probably. */
export interface ClusterContext {
  profileId: string;
  probability: number;
  at: string;
}

/**
 * The member of a person cluster whose non-personal context (interests, stage) an anonymous profile's
 * decisions may use: the customer who logged in if there is one, else the most probable member, when
 * the cluster holds it at `cluster.contextProbability` or more; none when that is null (borrowing off).
 */
export function contextOf(cluster: PersonCluster, rules: IdentityRules, at: string): ClusterContext | undefined {
  const level = rules.probabilistic.cluster.contextProbability;
  if (level === null) return undefined;
  const eligible = cluster.members.filter((m) => m.probability >= level);
  const anchor = eligible.find((m) => m.authenticated) ?? eligible[0];
  return anchor === undefined ? undefined : { profileId: anchor.profileId, probability: anchor.probability, at };
}

