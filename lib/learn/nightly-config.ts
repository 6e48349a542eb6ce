/** The nightly job's configuration (config/nightly.json), validated with errors that name the field. */
import { z } from 'zod';
import { describeIssues } from '../config/issues';
import defaults from '../../config/nightly.json';

/**
 * How many distinct customers must have bought a rule's items together for the rule to be used,
 * unless `rules.minCustomers` says otherwise: orders come with the public write key, so a few invented
 * customers sending many orders must not make a rule that reaches real customers' messages.
 */
export const DEFAULT_MIN_RULE_CUSTOMERS = 10;

const targetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('purchase') }),
  z.strictObject({ kind: z.literal('category'), category: z.string().min(1) }),
  // An offer's uplift counts `outcome` in both arms (default an order): a held-out customer cannot convert the offer itself.
  z.strictObject({ kind: z.literal('offer'), offerId: z.string().min(1), outcome: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('purchase') }), z.strictObject({ kind: z.literal('category'), category: z.string().min(1) })]).optional() }),
]);

export const nightlyConfigSchema = z.strictObject({
  $comment: z.string().optional(),
  horizonDays: z.number().int().min(1).max(365),
  /**
   * When a challenger replaces the champion (lib/learn/challenge.ts): only if its top-decile lift on the
   * holdout is higher with this confidence (the difference's interval at this level, from a paired
   * bootstrap of `resamples` draws, is above 0), and only on a holdout with at least `minHoldoutBuyers`
   * buyers; a first model must beat a random order (lift 1) the same way.
   */
  challenge: z.strictObject({
    confidence: z.number().gt(0).lt(1),
    resamples: z.number().int().min(100).max(100_000),
    minHoldoutBuyers: z.number().int().min(1),
  }),
  minPositives: z.number().int().min(2),
  /**
   * The learners' hyper-parameters (lib/learn/logistic.ts, lib/learn/chaid.ts; absent ones take their
   * defaults) and whether a challenger's scores are Platt-scaled on its cross-validated scores before
   * it is judged and published (lib/learn/calibration.ts): decisions compare propensities across
   * targets, so each must mean what it says.
   */
  models: z
    .strictObject({
      logistic: z.strictObject({ C: z.number().gt(0).max(1e9).optional() }).default({}),
      tree: z
        .strictObject({
          alphaSplit: z.number().gt(0).max(1).optional(),
          alphaMerge: z.number().gt(0).max(1).optional(),
          maxDepth: z.number().int().min(1).max(8).optional(),
          minNodeSize: z.number().int().min(2).optional(),
          minChildSize: z.number().int().min(1).optional(),
        })
        .default({}),
      calibrate: z.boolean().default(true),
    })
    .default({ logistic: {}, tree: {}, calibrate: true }),
  targets: z
    .array(z.strictObject({ name: z.string().regex(/^(offer|category):.+$|^default$/, 'must be offer:<id>, category:<name> or default'), target: targetSchema }))
    .min(1),
  rules: z.strictObject({
    minSupport: z.number().gt(0).max(1),
    minConfidence: z.number().min(0).max(1),
    maxRules: z.number().int().min(0).max(200_000),
    /** Distinct customers who bought a rule's items together, at least, for the rule to be used. */
    minCustomers: z.number().int().min(1).max(1_000_000).default(DEFAULT_MIN_RULE_CUSTOMERS),
  }),
  /**
   * Customer value (lib/learn/attributes.ts, lib/learn/clv.ts): `clv` is the BG/NBD x Gamma-Gamma
   * expected value over `horizonDays`, x `margin` (the share of revenue that is profit; 1 keeps it
   * revenue), discounted month by month at `annualDiscountRate`; fitted only with at least
   * `minBuyers` buyers and `minRepeatBuyers` repeat buyers. Each night back-tests the purchase model
   * on its last `backtestDays` days. Order totals count for at most `maxOrderValue`.
   */
  value: z.strictObject({
    horizonDays: z.number().int().min(1).max(3650),
    margin: z.number().gt(0).max(1).default(1),
    annualDiscountRate: z.number().min(0).max(1).default(0.1),
    minBuyers: z.number().int().min(2).default(50),
    minRepeatBuyers: z.number().int().min(1).default(10),
    backtestDays: z.number().int().min(1).max(3650).default(90),
    tierQuantiles: z.tuple([z.number().gt(0).lt(1), z.number().gt(0).lt(1)]).refine(([a, b]) => a < b, 'must rise: the low/medium cut, then the medium/high one'),
    clusters: z.number().int().min(1).max(50),
    /** The most an order's total counts for in tiers, clusters and clv (default: 100 times the night's median order total). */
    maxOrderValue: z.number().gt(0).finite().optional(),
  }),
  /** EventBridge Scheduler expression and its time zone. */
  schedule: z.strictObject({ cron: z.string().regex(/^cron\(.+\)$|^rate\(.+\)$/, 'must be cron(...) or rate(...)'), timezone: z.string().min(1) }),
  /** Customers are split into this many shards, each grouped and scored by one task (keep a shard's customers' events within one function's memory). */
  shards: z.number().int().min(1).max(1_000),
  /** Training and the value model's fit read about this many customers at most, a sample by profile. */
  trainingSample: z.number().int().min(100).max(2_000_000),
});

export type NightlySettings = z.output<typeof nightlyConfigSchema>;

export function loadNightlyConfig(input: unknown = defaults): NightlySettings {
  const result = nightlyConfigSchema.safeParse(input);
  if (!result.success) throw new Error(`Invalid nightly job configuration: ${describeIssues(result.error.issues, input, [{ path: ['targets'], label: 'target', nameKey: 'name' }])}`);
  return result.data;
}
