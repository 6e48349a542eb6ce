import { own } from '../events/json';
import type { MatchCard } from '../profile/profile';
import type { IdentityGraphStore, ProfileStore } from '../store/ports';
import { isProbableMatch, isResident, scorePair, type NetworkView, type ProbableLink } from './probabilistic';
import type { IdentityRules } from './rules';
import { NO_WEIGHTS, type IdentityWeights } from './weights';

/**
 * Probable links and clusters, derived from the evidence when they are asked for (DESIGN.md, "Probable
 * links"): the network index says who was seen where, the profiles' cards say what each did, and the
 * links are a function of those alone. Nothing derived is stored, so nothing goes stale: new evidence
 * on either side, a merge, a network filling up with strangers, all show at the next read, whatever
 * order and batches the events came in.
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
  private readonly weights: IdentityWeights;

  constructor(
    private readonly sources: LinkSources,
    readonly rules: IdentityRules,
    options: { overlay?: Overlay; weights?: IdentityWeights } = {},
  ) {
    this.overlay = options.overlay;
    this.weights = options.weights ?? NO_WEIGHTS;
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
   * Undefined when it is public: more profiles than `publicNetworkProfiles` (a shop's Wi-Fi, carrier NAT).
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
    if (members.size > most) return undefined;
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
    const views = await this.networksOf(card);
    const candidates = new Map<string, MatchCard>();
    for (const v of views) for (const m of v.members) if (m.profileId !== card.profileId) candidates.set(m.profileId, m);
    const out: ProbableLink[] = [];
    for (const other of candidates.values()) {
      const evidence = scorePair(card, other, views, this.rules.probabilistic, this.weights);
      if (evidence !== undefined && isProbableMatch(evidence.score, this.rules)) out.push({ profileId: card.profileId, otherProfileId: other.profileId, ...evidence });
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
 * product of the links' probabilities, discounted per hop after the first) stays at least
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
    const reached: Array<{ member: ClusterMember; card: MatchCard }> = [];
    for (const from of frontier) {
      for (const link of await hood.linksOf(from.card)) {
        const id = link.otherProfileId;
        if (id === card.profileId || best.has(id)) continue;
        const probability = from.probability * link.probability * c.decayPerHop ** (hop - 1);
        if (probability < c.minProbability) continue;
        const other = (await hood.live([id])).get(id);
        if (other === undefined) continue;
        reached.push({ card: other, member: { profileId: id, probability: Math.round(probability * 1000) / 1000, hops: hop, ...(hop > 1 ? { via: from.card.profileId } : {}), authenticated: other.authenticated, reasons: link.reasons } });
      }
    }
    // The most probable first, so the same chains win whichever order the links were read in.
    reached.sort((a, b) => b.member.probability - a.member.probability || (a.member.profileId < b.member.profileId ? -1 : 1));
    frontier = [];
    for (const r of reached) {
      if (best.has(r.member.profileId) || best.size >= c.maxMembers) continue;
      if (r.card.authenticated) {
        if (authenticated) continue;
        authenticated = true;
      }
      best.set(r.member.profileId, r.member);
      frontier.push({ card: r.card, probability: r.member.probability });
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
 * home hours), each set of residents linked to one another counted as one person. Undefined when the
 * profile lives on no network that is not public.
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
  for (const r of residents) {
    for (const l of await hood.linksOf(r)) {
      if (!parent.has(l.otherProfileId)) continue;
      const [a, b] = [find(r.profileId), find(l.otherProfileId)].sort() as [string, string];
      if (a === b) continue;
      // Never two customers who logged in as one person.
      const people = (root: string) => residents.filter((x) => find(x.profileId) === root);
      if (people(a).some((x) => x.authenticated) && people(b).some((x) => x.authenticated)) continue;
      parent.set(b, a);
    }
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
 * the cluster holds it at `cluster.contextProbability` or more.
 */
export function contextOf(cluster: PersonCluster, rules: IdentityRules, at: string): ClusterContext | undefined {
  const level = rules.probabilistic.cluster.contextProbability;
  const eligible = cluster.members.filter((m) => m.probability >= level);
  const anchor = eligible.find((m) => m.authenticated) ?? eligible[0];
  return anchor === undefined ? undefined : { profileId: anchor.profileId, probability: anchor.probability, at };
}

