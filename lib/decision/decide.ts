import { own } from '../events/json';
import type { Facts } from '../profile/segments';
import type { Catalog, Offer } from './catalog';
import type { DecisionContext } from './context';
import { boughtTogether, serendipityPick, type Associations } from './model';
import { globalCaps, offerCap } from './contact-ledger';
import { arbitrate, bucketOf } from './arbitration';

export { bucketOf };
import type { LedgerDay } from '../store/ports';

/**
 * The decision pipeline (DESIGN.md, "Decisions"): candidates for the placement -> validity ->
 * consent (without it, generic offers ranked without the profile) -> eligibility -> context rules -> quiet places and hours -> contact policy -> score
 * (propensity x value x context weight x business lever, with a novelty penalty) -> arbitrate with
 * diversity -> holdout and exploration. Pure: the caller loads the profile and the catalog.
 */
export interface DecisionFacts extends Facts {
  segments: string[];
  /** Consent per category (lib/profile/consent.ts): only an explicit grant is true. */
  consent?: Record<string, boolean>;
}

export interface RankedOffer {
  offerId: string;
  content: string;
  score: number;
  reasons: string[];
  /** For dynamic offers: the products it is about (complements of what she chose, or her cart). */
  items?: string[];
  explored?: boolean;
}

export interface Decision {
  decisionId: string;
  profileId: string | null;
  variant: 'personalised' | 'holdout';
  offers: RankedOffer[];
  suppressed: Array<{ offerId: string; reason: string }>;
  modelVersion: string;
  context: { localTime: string; timezone: string; device: string; nearby: string[]; quiet?: string; cluster?: string };
  /** Whether the profile could be used to choose and rank offers, and if not, why. */
  consent: { category: string; granted: boolean; reason?: string };
  /**
   * A holdout decision's: the offers the personalised experience would have returned and the control
   * group was not shown. Logged with the decision (`Decision Made`), so the nightly job can measure an
   * offer's uplift against those held out from it (lib/learn/training-set.ts); not in the response.
   */
  withheld?: string[];
}

export interface DecisionInput {
  decisionId: string;
  profileId: string | null;
  /** Undefined for an unknown visitor: only generic offers, no personal data. */
  facts?: DecisionFacts;
  context: DecisionContext;
  count: number;
  /**
   * Propensity per offer from a model (in-process or SageMaker); missing: the batch score or the default.
   * Computed from the profile only with her consent (consentOf), else as for an unknown visitor.
   */
  propensity?: (offer: Offer) => number | undefined;
  modelVersion?: string;
  /** Association rules from the model artifact, for the serendipity slot. */
  associations?: Associations;
  /** An anonymous profile's person cluster context (lib/identity/links.ts): interests and stage from her probable other devices. */
  cluster?: ClusterFacts;
  /** False: no exploration slot (a campaign's one message is not spent on a random offer). Default true. */
  explore?: boolean;
  /**
   * Her contacts today as the contact ledger counts them (lib/decision/contact-ledger.ts): what was
   * reserved or shown but is not folded into her profile yet counts against the caps too.
   */
  ledger?: LedgerDay;
}

/** What an anonymous profile's decisions borrow from the member of its person cluster (never consent, caps or personal traits). */
export interface ClusterFacts {
  profileId: string;
  probability: number;
  stage: string;
  /** Category views in the last 30 days on the member's profile. */
  categories: Top;
}

/**
 * The facts a decision uses for a profile with a cluster context: its category views joined with the
 * member's, and the member's journey stage while its own has nothing to say yet ('exploring'). The rest
 * (consent, caps, cart, segments) stays its own: probable links never carry consent or contact history.
 */
export function withCluster(facts: DecisionFacts, cluster: ClusterFacts): DecisionFacts {
  const views = new Map<string, number>();
  for (const t of [...((facts.aggregates.categoryViews30d as Top | undefined) ?? []), ...cluster.categories]) views.set(t.value, (views.get(t.value) ?? 0) + t.count);
  const categoryViews30d = [...views].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
  return {
    ...facts,
    aggregates: { ...facts.aggregates, categoryViews30d },
    ...(facts.stage === 'exploring' ? { stage: cluster.stage as DecisionFacts['stage'] } : {}),
  };
}

export type Top = Array<{ value: string; count: number }>;
const countOf = (top: unknown, key: string): number => (top as Top | undefined)?.find((t) => t.value === key)?.count ?? 0;

interface Candidate {
  offer: Offer;
  factor: number;
  reasons: string[];
  required: boolean;
  items?: string[];
  serendipity?: boolean;
}

/**
 * Whether the profile may choose and rank offers: only with her consent to the catalog's category.
 * Without it the decision is generic (no personalised offer, no eligibility, propensity, interests or
 * cluster context), and her profile serves only to protect her (caps, cooldowns); the response says so.
 */
export function consentOf(facts: DecisionFacts | undefined, catalog: Pick<Catalog, 'contactPolicy'>): Decision['consent'] {
  const category = catalog.contactPolicy.consentCategory;
  if (facts === undefined) return { category, granted: false, reason: 'unknown visitor: generic offers, ranked without a profile' };
  if (facts.consent !== undefined && own(facts.consent, category) === true) return { category, granted: true };
  return { category, granted: false, reason: `no consent to ${category}: generic offers, ranked without her profile` };
}

/** What every step of one decision reads: the input, the catalog, whether the profile may be used, and what was held back. */
interface DecisionRun {
  input: DecisionInput;
  catalog: Catalog;
  ctx: DecisionContext;
  consent: Decision['consent'];
  /** The cluster context, used only with the device's own consent. */
  cluster?: ClusterFacts;
  /** What chooses and ranks offers: the profile (with its cluster context) with her consent, else nothing. */
  facts?: DecisionFacts;
  /** Her contact history, which protects her whatever she consented to: caps, cooldowns and novelty read it. */
  contacts: Record<string, unknown>;
  suppressed: Decision['suppressed'];
  suppress: (offer: Offer, reason: string) => void;
}

type Scored = Candidate & { score: number };

export function decide(input: DecisionInput, catalog: Catalog): Decision {
  const consent = consentOf(input.facts, catalog);
  // Probable links never carry consent: a cluster context is used only by a device that consented itself.
  const cluster = consent.granted ? input.cluster : undefined;
  const suppressed: Decision['suppressed'] = [];
  const run: DecisionRun = {
    input,
    catalog,
    ctx: input.context,
    consent,
    cluster,
    facts: consent.granted && input.facts ? (cluster ? withCluster(input.facts, cluster) : input.facts) : undefined,
    contacts: input.facts?.aggregates ?? {},
    suppressed,
    suppress: (offer, reason) => suppressed.push({ offerId: offer.id, reason }),
  };
  let candidates = applyContextRules(run, candidatesFor(run)).filter(eligibility(run));
  // Quiet places and hours: nothing intrusive, and the response says why.
  if (run.ctx.quiet) {
    for (const c of candidates) run.suppress(c.offer, `contact nothing: ${run.ctx.quiet}`);
    candidates = [];
  }
  candidates = applyContactPolicy(run, candidates);
  const { scored, batchPropensity } = score(run, candidates);
  const { chosen, holdout, explored, withheld } = arbitrate(run.input, catalog.arbitration, scored);
  return {
    decisionId: input.decisionId,
    profileId: input.profileId,
    variant: holdout ? 'holdout' : 'personalised',
    offers: chosen.map((c) => ({
      offerId: c.offer.id,
      content: c.offer.content,
      score: c.score,
      reasons: c === explored ? ['exploration: a random eligible offer'] : c.reasons.length > 0 ? c.reasons : ['best remaining score'],
      ...(c.items ? { items: c.items } : {}),
      ...(c === explored ? { explored: true } : {}),
    })),
    suppressed,
    modelVersion: input.modelVersion ?? (batchPropensity !== undefined ? 'batch-propensity' : 'rules-only'),
    context: contextOf(run),
    consent,
    ...(withheld.length > 0 ? { withheld } : {}),
  };
}

/** Candidates for this placement and channel. */
function candidatesFor({ catalog, ctx }: DecisionRun): Candidate[] {
  return catalog.offers
    .filter((o) => o.placements.includes(ctx.placement) && (ctx.channel === undefined || o.channels.includes(ctx.channel)))
    .map((offer) => ({ offer, factor: 1, reasons: [], required: false }));
}

/** Context rules: replacements first (they bring offers in), then suppress, boost and require. */
function applyContextRules({ catalog, ctx, suppress }: DecisionRun, candidates: Candidate[]): Candidate[] {
  const applying = catalog.rules.filter((r) => r.applies(ctx));
  const replacedBy = new Map<string, { by: string; reason: string }>();
  for (const r of applying) for (const [from, to] of Object.entries(r.effect.replace ?? {})) replacedBy.set(from, { by: to, reason: r.reason });
  return candidates
    .flatMap((c) => {
      const replacement = replacedBy.get(c.offer.id);
      if (replacement) {
        suppress(c.offer, `replaced by ${replacement.by}: ${replacement.reason}`);
        const by = catalog.byId.get(replacement.by) as Offer;
        return [{ offer: by, factor: 1, reasons: [replacement.reason], required: false }];
      }
      return c.offer.onlyAsReplacement ? [] : [c];
    })
    .filter((c) => {
      for (const r of applying) {
        const e = r.effect;
        if (e.suppress?.includes(c.offer.id)) return suppress(c.offer, r.reason), false;
        if (e.boost?.includes(c.offer.id) || e.require?.includes(c.offer.id)) {
          c.factor *= e.factor ?? 2;
          c.reasons.push(r.reason);
          if (e.require?.includes(c.offer.id)) c.required = true;
        }
      }
      return true;
    });
}

/**
 * Validity, consent, eligibility, and the content of dynamic offers (complements, cart, serendipity,
 * bought together), from the profile she consented to. A dynamic offer shows only products of the
 * catalog (catalog.products): carts and association rules come from what anyone with the write key sends.
 */
function eligibility({ input, catalog, ctx, consent, facts, suppress }: DecisionRun): (c: Candidate) => boolean {
  const agg = facts?.aggregates ?? {};
  const bought = new Set((agg.recentlyBought as string[] | undefined) ?? []);
  const viewed = (agg.recentlyViewed as string[] | undefined) ?? [];
  const cartItems = ((agg.cart as Array<{ item: string }> | undefined) ?? []).map((i) => i.item);
  const complements = [...new Set([...bought, ...viewed].flatMap((p) => own(catalog.complements, p) ?? []))].filter((p) => !bought.has(p));
  const sellable = (item: string) => catalog.products.has(item);
  return (c) => {
    const o = c.offer;
    if (o.validFrom && ctx.now < new Date(o.validFrom)) return suppress(o, `not valid before ${o.validFrom}`), false;
    if (o.validTo && ctx.now > new Date(o.validTo)) return suppress(o, `expired at ${o.validTo}`), false;
    if (o.personalised && !consent.granted) return suppress(o, input.facts ? 'no consent to personalised offers' : 'unknown visitor: personalised offers need a profile with consent'), false;
    if (o.eligibility && input.facts && !facts) return suppress(o, `its eligibility reads her profile: no consent to ${consent.category}`), false;
    if (o.eligibility && (!facts || !o.eligible(facts))) return suppress(o, 'not eligible for this customer'), false;
    if (o.dynamic && input.facts && !facts) return suppress(o, `its content comes from her profile: no consent to ${consent.category}`), false;
    if (o.dynamic === 'complements') {
      if (complements.length === 0) return suppress(o, 'nothing she chose has a complement'), false;
      c.items = complements;
      c.reasons.push(`goes with what she chose: ${complements.join(', ')}`);
    }
    if (o.dynamic === 'bought-together') {
      const together = boughtTogether(input.associations, bought, catalog.complements, sellable);
      if (together === undefined) return suppress(o, 'nothing she bought has an association rule or a complement'), false;
      c.items = together.items;
      c.reasons.push(together.reason);
    }
    if (o.dynamic === 'cart') {
      if (cartItems.length === 0) return suppress(o, 'the cart is empty'), false;
      const shown = cartItems.filter(sellable);
      if (shown.length === 0) return suppress(o, 'nothing in the cart is a product of the catalog'), false;
      c.items = shown;
      c.reasons.push(`reminds her of her cart: ${shown.join(', ')}`);
    }
    if (o.dynamic === 'serendipity') {
      const pick = input.associations
        ? serendipityPick(input.associations, new Set([...bought, ...viewed, ...cartItems]), new Set(complements), { ...catalog.arbitration.serendipity, sellable })
        : undefined;
      if (!pick) return suppress(o, input.associations ? 'no association rule with enough lift leads to a less popular item' : 'no association rules in the model'), false;
      const { rule } = pick;
      c.items = [pick.item];
      c.serendipity = true;
      c.reasons.push(
        `serendipity: customers who chose ${rule.if.join(' + ')} also chose ${pick.item} (lift ${rule.lift}, confidence ${rule.confidence}), a less popular item`,
      );
    }
    return true;
  };
}

/**
 * Contact policy: the most restrictive cap wins; cooldowns after a conversion or a dismissal. Each cap
 * counts her profile's folded contacts and the contact ledger's of today, whichever knows more
 * (lib/decision/contact-ledger.ts capCount): a send reserved or an impression counted a moment ago counts.
 */
function applyContactPolicy({ catalog, ctx, contacts, input, suppress }: DecisionRun, candidates: Candidate[]): Candidate[] {
  const policy = catalog.contactPolicy;
  const { global, channel } = globalCaps(policy, contacts, input.ledger, ctx.channel);
  const caps: Array<{ count: number; max: number; scope: string; period: string }> = [
    { count: global.today, max: global.maxDay, scope: 'global cap', period: 'today' },
    { count: global.week, max: global.maxWeek, scope: 'global cap', period: 'this week' },
    ...(channel
      ? [
          { count: channel.today, max: channel.maxDay, scope: 'channel cap', period: `on ${ctx.channel} today` },
          { count: channel.week, max: channel.maxWeek, scope: 'channel cap', period: `on ${ctx.channel} this week` },
        ]
      : []),
  ];
  // Every cap applies at once (so the most restrictive wins); the first one reached is the reason given.
  const reached = caps.find((c) => c.count >= c.max);
  const globalCap = reached && `${reached.scope}: ${reached.count} contacts ${reached.period} (max ${reached.max})`;
  const lastTime = (set: unknown, id: string) => (set as Array<{ item: string; addedAt: string }> | undefined)?.find((x) => x.item === id)?.addedAt;
  return candidates.filter((c) => {
    const id = c.offer.id;
    if (globalCap) return suppress(c.offer, globalCap), false;
    const cap = offerCap(policy, c.offer, contacts, input.ledger);
    if (cap.today >= cap.maxDay) return suppress(c.offer, `offer cap: shown ${cap.today} times today (max ${cap.maxDay})`), false;
    if (cap.week >= cap.maxWeek) return suppress(c.offer, `offer cap: shown ${cap.week} times this week (max ${cap.maxWeek})`), false;
    for (const [set, hours, what] of [
      [contacts.offersConverted, policy.cooldownHoursAfterConversion, 'conversion'],
      [contacts.offersDismissed, policy.cooldownHoursAfterDismissal, 'dismissal'],
    ] as const) {
      const at = lastTime(set, id);
      if (at && ctx.now.getTime() - Date.parse(at) < hours * 3_600_000) return suppress(c.offer, `cooldown: ${hours} h after a ${what} at ${at}`), false;
    }
    return true;
  });
}

/** A propensity to rank on: a finite number from 0 to 1, else undefined (the next one in the fallback chain scores). */
const usable = (p: unknown): number | undefined => (typeof p === 'number' && Number.isFinite(p) && p >= 0 && p <= 1 ? p : undefined);

/**
 * A score to rank on: always a finite number (JSON has no NaN or Infinity: they would answer `null`
 * and sort anyhow). Propensities are in [0, 1] already; this bounds what the catalog's numbers multiply to.
 */
const finite = (x: number): number => (Number.isNaN(x) ? 0 : Math.min(Math.max(x, -Number.MAX_VALUE), Number.MAX_VALUE));

/**
 * Score: propensity x value x context weight x business lever, less for offers seen often. The model's
 * propensity is used only if it is a number from 0 to 1; otherwise (a model that answers NaN or
 * Infinity) the offer is scored as when the model has no score for it: the batch propensity, else the
 * default.
 */
function score({ input, catalog, cluster, facts, contacts }: DecisionRun, candidates: Candidate[]): { scored: Scored[]; batchPropensity?: number } {
  const arb = catalog.arbitration;
  const batchPropensity = usable(facts?.batch[arb.propensityAttribute]);
  const ownViews = (input.facts?.aggregates.categoryViews30d as Top | undefined) ?? [];
  const topCategories = (facts?.aggregates.categoryViews30d as Top | undefined) ?? [];
  const views = topCategories.reduce((s, t) => s + t.count, 0);
  const scored = candidates.map((c) => {
    const propensity = usable(input.propensity?.(c.offer)) ?? batchPropensity ?? arb.defaultPropensity;
    const affinity = views > 0 ? 1 + countOf(topCategories, c.offer.category) / views : 1;
    const novelty = (1 - arb.noveltyPenalty) ** countOf(contacts.offerImpressionsWeek, c.offer.id);
    const value = propensity * c.offer.value * c.factor * (c.offer.weight ?? 1) * affinity * novelty;
    if (affinity > 1) {
      c.reasons.push(
        cluster && countOf(ownViews, c.offer.category) === 0
          ? `interest in ${c.offer.category} on her probable other devices (cluster probability ${cluster.probability})`
          : `interest in ${c.offer.category}`,
      );
    }
    if (novelty < 1) c.reasons.push('seen before this week (novelty penalty)');
    const rounded = Math.round(value * 10_000) / 10_000;
    return { ...c, score: finite(Number.isFinite(rounded) ? rounded : value) };
  });
  return { scored, ...(batchPropensity !== undefined ? { batchPropensity } : {}) };
}

/** The moment as the decision read it; for a cluster context, that one was used, never whose it is. */
function contextOf({ ctx, cluster }: DecisionRun): Decision['context'] {
  return {
    localTime: `${ctx.localDate} ${String(ctx.localHour).padStart(2, '0')}h`,
    timezone: ctx.timezone,
    device: ctx.device,
    nearby: ctx.nearby.map((p) => p.id),
    ...(ctx.quiet ? { quiet: ctx.quiet } : {}),
    // Whose they are is not said: the caller may be anyone holding the device's id.
    ...(cluster ? { cluster: `interests and stage from her probable other devices (cluster probability ${cluster.probability})` } : {}),
  };
}
