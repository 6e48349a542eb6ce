import { own } from '../events/json';
import type { MatchCard } from '../profile/profile';
import type { IdentityGraphStore, ProfileStore } from '../store/ports';
import { isProbableMatch, isResident, probabilityOf, scorePair, type NetworkView, type ProbableLink } from './probabilistic';
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
  /** Store reads made (queries and batch gets), for benchmarks. */
  reads = 0;

  private readonly overlay: Overlay | undefined;
  readonly weights: IdentityWeights;
  private readonly maxReads: number;
  private readonly knownPublic: PublicNetworks | undefined;

  constructor(
    private readonly sources: LinkSources,
    readonly rules: IdentityRules,
    options: { overlay?: Overlay; weights?: IdentityWeights; maxReads?: number; knownPublic?: PublicNetworks } = {},
  ) {
    this.overlay = options.overlay;
    this.knownPublic = options.knownPublic;
    this.weights = options.weights ?? NO_WEIGHTS;
    this.maxReads = options.maxReads ?? Infinity;
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
  linksOf(card: MatchCard): Promise<ProbableLink[]> {
    let links = this.links.get(card.profileId);
    if (links === undefined) {
      links = this.deriveLinks(card);
      this.links.set(card.profileId, links);
    }
    return links;
  }

  private async deriveLinks(card: MatchCard): Promise<ProbableLink[]> {
    return (await this.candidatesOf(card)).filter((l) => isProbableMatch(l.score, this.rules));
  }

  /** Every pair the profile makes with someone on a network it shares, scored (below the threshold too), the most probable first. */
  async candidatesOf(card: MatchCard): Promise<ProbableLink[]> {
    const views = await this.networksOf(card);
    const candidates = new Map<string, MatchCard>();
    for (const v of views) for (const m of v.members) if (m.profileId !== card.profileId) candidates.set(m.profileId, m);
    const out: ProbableLink[] = [];
    for (const other of candidates.values()) {
      const evidence = scorePair(card, other, views, this.rules.probabilistic, this.weights);
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

/**
 * The person cluster of a profile: profiles reached along probable links whose chain probability (the
 * product of the links' probabilities, times `decayPerHop` for each hop after the first) stays at least
 * `cluster.minProbability`. Evidence flows through the graph: a laptop linked to a phone that is
 * linked to a customer is hers too, if the chain holds. Never two authenticated profiles: the first
 * one reached (the most probable) is the person's, and the others are left out with what hangs on them.
 */
export async function personCluster(card: MatchCard, hood: Neighbourhood): Promise<PersonCluster> {
  const c = hood.rules.probabilistic.cluster;
  const best = new Map<string, ClusterMember>();
  let authenticated = card.authenticated;
  let frontier: Array<{ card: MatchCard; probability: number }> = [{ card, probability: 1 }];
  for (let hop = 1; hop <= c.maxHops && frontier.length > 0; hop++) {
    const reached: Array<{ member: ClusterMember; card: MatchCard; probability: number }> = [];
    for (const from of frontier) {
      // A member whose chain cannot stay probable one hop further is not expanded (no reads for it).
      if (hop > 1 && from.probability * c.decayPerHop < c.minProbability) continue;
      for (const link of await hood.linksOf(from.card)) {
        const id = link.otherProfileId;
        if (id === card.profileId || best.has(id)) continue;
        // The chain's probability: the links' (unrounded), the hop's discount once for each hop after the first.
        const probability = from.probability * probabilityOf(link.score) * (hop > 1 ? c.decayPerHop : 1);
        if (probability < c.minProbability) continue;
        const other = (await hood.live([id])).get(id);
        if (other === undefined) continue;
        reached.push({ card: other, probability, member: { profileId: id, probability: Math.round(probability * 1000) / 1000, hops: hop, ...(hop > 1 ? { via: from.card.profileId } : {}), authenticated: other.authenticated, reasons: link.reasons } });
      }
    }
    // The most probable first, so the same chains win whichever order the links were read in.
    reached.sort((a, b) => b.probability - a.probability || (a.member.profileId < b.member.profileId ? -1 : 1));
    frontier = [];
    for (const r of reached) {
      if (best.has(r.member.profileId) || best.size >= c.maxMembers) continue;
      if (r.card.authenticated) {
        if (authenticated) continue;
        authenticated = true;
      }
      best.set(r.member.profileId, r.member);
      frontier.push({ card: r.card, probability: r.probability });
    }
  }
  return { profileId: card.profileId, members: [...best.values()] };
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
    .filter(({ v }) => isResident(own(card.signals.networks, v.network), rules))
    .sort((a, b) => b.days - a.days || (a.v.network < b.v.network ? -1 : 1));
  const home = homes[0]?.v;
  if (home === undefined) return undefined;
  const residents = home.members.filter((m) => isResident(own(m.signals.networks, home.network), rules));
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
      const evidence = scorePair(x, y, [home], rules, hood.weights);
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

