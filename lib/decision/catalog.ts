import { z } from 'zod';
import { describeIssues } from '../config/issues';
import defaults from '../../config/catalog.json';
import { compileCondition, conditionSchema, type Facts } from '../profile/segments';
import type { DecisionContext } from './context';
import { MAX_CONTACTS_PER_DAY } from './contact-ledger';

/**
 * The catalog as data: offers (placements, channels, validity, value, category, eligibility),
 * places (stores, partners, quiet places), context rules that boost, suppress, require or replace
 * offers, the contact policy and arbitration levers. Validated when loaded (errors name the item
 * and the field) and compiled once into predicates.
 */
const eligibilitySchema = conditionSchema.extend({
  path: z
    .string()
    .regex(/^(aggregates|derived|traits|batch)\.[A-Za-z0-9_.]+$|^stage$|^segments$/, 'must be stage, segments, or start with aggregates., derived., traits. or batch.'),
});

/** The most products a catalog lists (the whole catalog must fit a config table item: lib/decision/published.ts). */
export const MAX_CATALOG_PRODUCTS = 20_000;

const offerSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes'),
  content: z.string().min(1),
  placements: z.array(z.string().min(1)).min(1),
  channels: z.array(z.string().min(1)).min(1),
  category: z.string().min(1),
  value: z.number().nonnegative(),
  /** Needs the customer's consent to personalised marketing. */
  personalised: z.boolean(),
  /** Business lever: multiplies the priority. */
  weight: z.number().positive().optional(),
  validFrom: z.iso.datetime({ offset: true }).optional(),
  validTo: z.iso.datetime({ offset: true }).optional(),
  /** Conditions on the profile: aggregates, derived values, traits, stage, batch scores, segments. */
  eligibility: z.array(eligibilitySchema).optional(),
  /** This offer's own caps, where stricter than the contact policy's per-offer caps. */
  caps: z.strictObject({ perDay: z.number().int().min(1).optional(), perWeek: z.number().int().min(1).optional() }).optional(),
  /**
   * Content filled from the profile: complements of what the customer chose, the cart's items, a
   * serendipity pick (a less popular item that association rules tie to what she chose), or what
   * customers bought together with what she bought (association rules, else the catalog's complements).
   */
  dynamic: z.enum(['complements', 'cart', 'serendipity', 'bought-together']).optional(),
  /** Shown only when a context rule puts it in place of another offer. */
  onlyAsReplacement: z.boolean().optional(),
});

const placeSchema = z.strictObject({
  id: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().min(1),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  radiusMeters: z.number().positive().max(50_000),
});

type When = {
  localHours?: [number, number];
  nearKinds?: string[];
  devices?: string[];
  channels?: string[];
  placements?: string[];
  not?: When;
};
const whenSchema: z.ZodType<When> = z.lazy(() =>
  z.strictObject({
    localHours: z.tuple([z.number().int().min(0).max(24), z.number().int().min(0).max(24)]).optional(),
    nearKinds: z.array(z.string().min(1)).min(1).optional(),
    devices: z.array(z.enum(['smartphone', 'tablet', 'desktop', 'wearable', 'console', 'smarttv'])).min(1).optional(),
    channels: z.array(z.string().min(1)).min(1).optional(),
    placements: z.array(z.string().min(1)).min(1).optional(),
    not: whenSchema.optional(),
  }),
);

const ruleSchema = z.strictObject({
  name: z.string().min(1),
  reason: z.string().min(1),
  when: whenSchema,
  effect: z
    .strictObject({
      boost: z.array(z.string()).optional(),
      suppress: z.array(z.string()).optional(),
      require: z.array(z.string()).optional(),
      replace: z.record(z.string(), z.string()).optional(),
      factor: z.number().positive().optional(),
    })
    .refine((e) => e.boost || e.suppress || e.require || e.replace, 'needs boost, suppress, require or replace'),
});

export const catalogSchema = z.strictObject({
  $comment: z.string().optional(),
  version: z.number().int().min(1),
  places: z.array(placeSchema),
  quiet: z.strictObject({ placeKinds: z.array(z.string()), hours: z.strictObject({ from: z.number().int().min(0).max(23), to: z.number().int().min(0).max(23) }).optional() }),
  complements: z.record(z.string(), z.array(z.string())),
  /**
   * The products we sell (their ids as events carry them): the only items a dynamic offer shows
   * besides the complements' (association rules and carts are learned from what anyone with the
   * write key sends, and must not carry a word of theirs into a customer's message).
   */
  products: z.array(z.string().min(1).max(200)).max(MAX_CATALOG_PRODUCTS).optional(),
  offers: z.array(offerSchema).min(1),
  contextRules: z.array(ruleSchema),
  contactPolicy: z.strictObject({
    perOfferPerDay: z.number().int().min(1),
    perOfferPerWeek: z.number().int().min(1),
    perChannelPerDay: z.number().int().min(1),
    perChannelPerWeek: z.number().int().min(1),
    /** At most MAX_CONTACTS_PER_DAY: what a day of the contact ledger counts (lib/decision/contact-ledger.ts). */
    globalPerDay: z.number().int().min(1).max(MAX_CONTACTS_PER_DAY, `must be at most ${MAX_CONTACTS_PER_DAY}: a day of the contact ledger counts no more contacts`),
    globalPerWeek: z.number().int().min(1),
    cooldownHoursAfterConversion: z.number().min(0),
    cooldownHoursAfterDismissal: z.number().min(0),
    /**
     * The consent category (lib/profile/consent.ts) without which a decision is generic: no personalised
     * offer, and the profile neither chooses nor ranks offers.
     */
    consentCategory: z.string().min(1).max(64).transform((c) => c.toLowerCase()).default('personalization'),
    /** No longer read (catalogs of earlier versions): which traits state consent is set in config/profile.json `consent.traits`. */
    consentTrait: z.string().min(1).optional(),
  }),
  arbitration: z.strictObject({
    defaultPropensity: z.number().min(0).max(1),
    /** Batch attribute holding the nightly propensity score (0..1). */
    propensityAttribute: z.string().min(1),
    /** Priority multiplier lost per impression of the offer this week (novelty). */
    noveltyPenalty: z.number().min(0).max(1),
    holdoutPercent: z.number().min(0).max(50),
    explorePercent: z.number().min(0).max(50),
    /**
     * The serendipity slot (an offer with dynamic "serendipity" takes the last slot of a decision
     * with two or more): rules need at least `minLift`, and the item at most `maxItemSupport` (the
     * share of baskets holding it: less popular items only).
     */
    serendipity: z.strictObject({ minLift: z.number().min(1), maxItemSupport: z.number().min(0).max(1) }).default({ minLift: 2, maxItemSupport: 0.02 }),
  }),
});

export type Offer = z.output<typeof offerSchema> & { eligible: (facts: Facts) => boolean };
export type Place = z.output<typeof placeSchema>;
export type CatalogConfig = z.output<typeof catalogSchema>;

export interface ContextRule {
  name: string;
  reason: string;
  applies: (context: DecisionContext) => boolean;
  effect: z.output<typeof ruleSchema>['effect'];
}

export interface Catalog extends Omit<CatalogConfig, 'offers' | 'contextRules' | 'products'> {
  offers: Offer[];
  byId: Map<string, Offer>;
  rules: ContextRule[];
  /** The catalog's products: those it lists, and those its complements name. No other item is shown in an offer. */
  products: ReadonlySet<string>;
}

function compileWhen(w: When): (c: DecisionContext) => boolean {
  const checks: Array<(c: DecisionContext) => boolean> = [];
  if (w.localHours) {
    const [from, to] = w.localHours;
    checks.push((c) => (from <= to ? c.localHour >= from && c.localHour < to : c.localHour >= from || c.localHour < to));
  }
  if (w.nearKinds) checks.push((c) => c.nearby.some((p) => w.nearKinds!.includes(p.kind)));
  if (w.devices) checks.push((c) => w.devices!.includes(c.device));
  if (w.channels) checks.push((c) => c.channel !== undefined && w.channels!.includes(c.channel));
  if (w.placements) checks.push((c) => w.placements!.includes(c.placement));
  if (w.not) {
    const inner = compileWhen(w.not);
    checks.push((c) => !inner(c));
  }
  return (c) => checks.every((check) => check(c));
}

/** Validates and compiles the catalog. Errors name the offer or rule and the field. */
export function loadCatalog(input: unknown = defaults): Catalog {
  const result = catalogSchema.safeParse(input);
  const fail = (detail: string) => new Error(`Invalid catalog: ${detail}`);
  if (!result.success) {
    throw fail(
      describeIssues(result.error.issues, input, [
        { path: ['offers'], label: 'offer', nameKey: 'id' },
        { path: ['contextRules'], label: 'rule', nameKey: 'name' },
      ]),
    );
  }
  const config = result.data;
  const byId = new Map<string, Offer>();
  for (const o of config.offers) {
    if (byId.has(o.id)) throw fail(`offer "${o.id}" is declared twice`);
    if (o.validFrom && o.validTo && o.validFrom >= o.validTo) throw fail(`offer "${o.id}" validTo: must be after validFrom`);
    const conditions = (o.eligibility ?? []).map(compileCondition);
    byId.set(o.id, { ...o, eligible: (f) => conditions.every((p) => p(f)) });
  }
  for (const r of config.contextRules) {
    const named = [...(r.effect.boost ?? []), ...(r.effect.suppress ?? []), ...(r.effect.require ?? []), ...Object.entries(r.effect.replace ?? {}).flat()];
    for (const id of named) if (!byId.has(id)) throw fail(`rule "${r.name}" effect: unknown offer "${id}"`);
  }
  const kinds = new Set(config.places.map((p) => p.kind));
  for (const r of config.contextRules) {
    const near = (w: When): string[] => [...(w.nearKinds ?? []), ...(w.not ? near(w.not) : [])];
    for (const k of near(r.when)) if (!kinds.has(k)) throw fail(`rule "${r.name}" when.nearKinds: no place of kind "${k}"`);
  }
  return {
    ...config,
    offers: [...byId.values()],
    byId,
    rules: config.contextRules.map((r) => ({ name: r.name, reason: r.reason, applies: compileWhen(r.when), effect: r.effect })),
    products: new Set([...(config.products ?? []), ...Object.keys(config.complements), ...Object.values(config.complements).flat()]),
  };
}
