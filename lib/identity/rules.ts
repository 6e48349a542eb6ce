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
    threshold: z.number().positive(),
    windowDays: z.number().int().min(1).max(365),
    crowdedNetworkProfiles: z.number().int().min(2),
    maxCandidatesPerNetwork: z.number().int().min(2).max(1000),
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
