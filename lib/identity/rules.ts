import { z } from 'zod';
import defaults from '../../config/identity.json';

/**
 * Identity rules are data: which namespaces exist, which are unique per profile (a profile holds at
 * most one userId), per-namespace limits that stop runaway merges (bots, shared kiosks), junk values
 * and placeholder e-mail addresses that never identify anybody, and the probabilistic matcher's threshold.
 */
export const NAMESPACES = ['userId', 'email', 'phone', 'deviceId', 'anonymousId'] as const;
export type Namespace = (typeof NAMESPACES)[number];

const namespaceRule = z.strictObject({
  unique: z.boolean(),
  limit: z.number().int().min(1).max(1000),
  priority: z.number().int().min(1),
});

/** Platt scaling of a pair's log2 odds: intercept + priorSlope × prior + slope × evidence. */
const platt = z.strictObject({ intercept: z.number().min(-20).max(20), priorSlope: z.number().gt(0).max(5), slope: z.number().gt(0).max(5) });
const fieldWeights = z.strictObject({ m: z.number().gt(0).lt(1), u: z.number().gt(0).lt(1) });

export const identityRulesSchema = z.strictObject({
  $comment: z.string().optional(),
  namespaces: z.strictObject({
    userId: namespaceRule,
    email: namespaceRule,
    phone: namespaceRule,
    deviceId: namespaceRule,
    anonymousId: namespaceRule,
  }),
  /** Values that identify nobody in any namespace; an e-mail address or phone number is compared once normalised (as it is hashed). */
  blocklist: z.array(z.string()),
  placeholders: z.strictObject({
    $comment: z.string().optional(),
    /** Local parts of placeholder e-mail addresses (`noemail` in noemail@anything.com), compared in lower case. */
    emailLocalParts: z.array(
      z
        .string()
        .min(1)
        .max(64)
        .regex(/^[^\s@]+$/, 'must be the part before the @, without spaces')
        .transform((s) => s.toLowerCase()),
    ),
  }),
  probabilistic: z.strictObject({
    $comment: z.string().optional(),
    /** A probable link needs at least these log2 odds (4: 16 to 1, a probability of 0.94). */
    threshold: z.number(),
    /** Two sightings of a network further apart than this are not evidence. */
    windowDays: z.number().int().min(1).max(365),
    /** A network more profiles were seen on than this is public (a shop's Wi-Fi, carrier NAT): no evidence, not searched. */
    publicNetworkProfiles: z.number().int().min(2).max(1000),
    /** Devices an average person uses: the prior that two profiles on one network are one person's is (d - 1) / (profiles - 1). */
    devicesPerPerson: z.number().min(1.1).max(10),
    /** The most a shared network alone makes that prior (a home of two may be one person's two devices, or two people's). */
    maxNetworkProbability: z.number().gt(0).lt(1),
    /** A resident of a network was seen there on this many distinct days, at least once in its home hours. */
    residentDays: z.number().int().min(1).max(14),
    homeHours: z
      .strictObject({ from: z.number().int().min(0).max(23), to: z.number().int().min(0).max(23) })
      .refine((h) => h.from !== h.to, 'from and to must differ (from 18 to 9 is the evening and the night)'),
    /**
     * Fellegi-Sunter weights: m, how often one person's two profiles agree on a field; u, how often two
     * people's seen on one network do (a household shares its locale); no u is below `uFloor`.
     */
    fields: z.strictObject({
      /** Also seen together on another network (one comparison, the network that says most); its u is at least how crowded that network is, and the share of the first network's crowd seen there too. */
      extraNetwork: fieldWeights,
      locale: fieldWeights,
      /** m near 1: one person's devices rarely differ on the time zone, so a difference is strong evidence of two people. */
      timezone: fieldWeights,
      /** A phone or tablet of one kind on both sides (two iPhones; a merged customer's every device counts): m, how often one person's two profiles show it (rarely); u, two people's. */
      sameKind: fieldWeights,
      /** A phone on both sides, or a tablet, of different kinds (an iPhone and an Android phone): one person's rarely, two people's often. The rest of the comparisons with a handheld are of different classes (a phone and a laptop). */
      sameClass: fieldWeights,
      /**
       * Their other interests (docs/identity.md): the cosine of the two profiles' category counts once the
       * category they both look at most is set aside. Flatmates who share a hobby, and coworkers, differ
       * in what else they look at; one person's devices do not. Fellegi-Sunter with levels, as research:
       * the cosine reaches `levels[k]` (descending, the first it reaches), or none (nothing else in common).
       * m and u per cell: [level 0, level 1, ..., below every level]. No evidence when either side has
       * looked at nothing beside that category.
       */
      otherInterests: z
        .strictObject({ levels: z.array(z.number().gt(0).lt(1)).min(1).max(10), m: z.array(z.number().gt(0).lt(1)), u: z.array(z.number().gt(0).lt(1)) })
        .refine((r) => r.m.length === r.levels.length + 1 && r.u.length === r.m.length, 'm and u need one entry per level and one below every level')
        .refine((r) => r.levels.every((l, i) => i === 0 || l < (r.levels[i - 1] as number)), 'levels must descend'),
    }).refine((f) => f.sameKind.m + f.sameClass.m < 1 && f.sameKind.u + f.sameClass.u < 1, 'sameKind and sameClass are two cells of one comparison: their m (and their u) must sum below 1'),
    /**
     * How alike two profiles' research is (docs/identity.md): the cosine of their product view counts,
     * each product weighted by how rare it is (1 + log2 of one over its popularity, taken as at least `uFloor`). One person comes back
     * to the same few products from every device; two people with one hobby view its products in other
     * proportions. Fellegi-Sunter with levels: the pair's similarity reaches `levels[k]` (descending,
     * the first it reaches), or none of them; and the two share a product known to be rarer than `rare`
     * (a share of profiles, which enough profiles must have been counted to tell), or not. m and u per cell, in that order: [level 0 rare, level 0 not, level 1 rare, ...,
     * below every level rare, below every level not].
     */
    research: z
      .strictObject({
        levels: z.array(z.number().gt(0).lt(1)).min(1).max(10),
        rare: z.number().gt(0).lt(1),
        m: z.array(z.number().gt(0).lt(1)),
        u: z.array(z.number().gt(0).lt(1)),
      })
      .refine((r) => r.m.length === 2 * (r.levels.length + 1) && r.u.length === r.m.length, 'm and u need two entries per level and two below every level')
      .refine((r) => r.levels.every((l, i) => i === 0 || l < (r.levels[i - 1] as number)), 'levels must descend'),
    uFloor: z.number().gt(0).lt(1),
    /**
     * The naive sum of log2 odds above treats the evidence as independent, which it is not (a home's
     * residents share its locale, its time zone and often their interests), and the network's prior as
     * exact. The stated log2 odds are `intercept + priorSlope * prior + slope * evidence` (Platt scaling
     * with the prior apart), fitted on labelled pairs by bench/identity-fit.ts, so that a stated
     * probability means what it says.
     */
    calibration: platt.extend({
      /** Before the first night (popularity only as the ingest counted it, nothing known to be rare from a night) the evidence reads differently: its own fit. */
      beforeNight: platt,
    }),
    /**
     * Person clusters (docs/identity.md, "Person clusters and households"): a profile joins when its pairs
     * with the members already in, over those it was scored with (they share a network), are on average
     * at least `minProbability` probable and at least half of them are links; reached through links at
     * most `maxHops` from the profile asked about.
     */
    cluster: z.strictObject({
      minProbability: z.number().gt(0).lt(1),
      maxHops: z.number().int().min(1).max(4),
      maxMembers: z.number().int().min(2).max(50),
      /**
       * An anonymous profile's decisions use its cluster's context (interests, stage) from this probability;
       * null (the default): never. Turn it on only at a probability whose measured precision you accept
       * (docs/identity.md, "Borrowing a cluster's context": no level is yet 0.95 precise on every population).
       */
      contextProbability: z.number().gt(0).lt(1).nullable(),
      /** ...and for this many days after the ingest last derived it (the device's own activity refreshes it). */
      contextDays: z.number().int().min(1).max(90),
    }),
  }),
});

export type IdentityRules = z.output<typeof identityRulesSchema>;

/** Validates rules; the error names the field (for example `namespaces.email.limit`). */
export function loadIdentityRules(input: unknown = defaults): IdentityRules {
  const result = identityRulesSchema.safeParse(input);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`Invalid identity rules: ${detail}`);
  }
  const rules = result.data;
  if (!rules.namespaces.userId.unique || rules.namespaces.userId.limit !== 1) {
    throw new Error('Invalid identity rules: namespaces.userId must be unique with limit 1');
  }
  return rules;
}

let cached: IdentityRules | undefined;
/** The shipped rules (config/identity.json), validated once: what the redaction uses unless given others. */
export function defaultIdentityRules(): IdentityRules {
  return (cached ??= loadIdentityRules());
}

/** Namespaces in priority order (the most trustworthy first). */
export function namespacesByPriority(rules: IdentityRules): Namespace[] {
  return [...NAMESPACES].sort((a, b) => rules.namespaces[a].priority - rules.namespaces[b].priority);
}
