import { z } from 'zod';
import { describeIssues } from '../config/issues';
import { own, valueNestedDeeperThan } from '../events/json';
import defaults from '../../config/model.json';
import { lookup, sumKeys, type Facts } from '../profile/segments';
import type { Offer } from './catalog';
import { MAX_DOCUMENT_DEPTH } from './published';

/**
 * The model artifact the decision function scores with, in-process (DESIGN.md, "Decisions"): a
 * propensity model per target (an offer, an offer category, or the default) over named features of
 * the profile's facts, logistic (an intercept and weights) or a decision tree (splits on feature
 * values, leaves holding the probability), and the association rules mined from baskets (for the
 * serendipity slot). The nightly job trains and publishes it; until then the bundled
 * config/model.json serves. Validated when loaded (errors name the feature, target or rule and the
 * field) and compiled once: a decision computes the feature vector once and one dot product per
 * candidate offer.
 */
const featureSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)'),
  path: z
    .string()
    .regex(/^(aggregates|derived|traits|batch)\.[A-Za-z0-9_.]+$|^stage$|^segments$/, 'must be stage, segments, or start with aggregates., derived., traits. or batch.'),
  /** For a top-k or a map of counts: the sum of the counts of these keys. */
  keys: z.array(z.string().min(1)).min(1).optional(),
  /** 1 when the value equals this (for a list such as segments: contains it), else 0. */
  equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
  /** 1 when the value is one of these (for a list: contains one of them), else 0 (a tree's split on a group of categories). */
  oneOf: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).max(200).optional(),
  /** 1 when the fact is absent or neither a finite number nor a boolean (what the value reads as 0/1), else 0: a model's missing-value indicator. */
  missing: z.literal(true).optional(),
  /** Upper bound applied before the transform (outliers). */
  cap: z.number().optional(),
  transform: z.enum(['none', 'log1p']).default('none'),
  /** The value when the fact is missing or not a number (an unknown visitor has only defaults). */
  default: z.number().default(0),
});

/**
 * Bounds that keep a logistic target's linear score finite whatever a profile holds: every feature
 * value is clamped to ±MAX_FEATURE_VALUE when the vector is computed, and every coefficient and
 * intercept must be within ±MAX_COEFFICIENT, so with at most 500 features the score is at most
 * about 5e20 in size (far from overflowing; the logistic saturates long before). An artifact with
 * coefficients of ±1e308 would make every score Infinity - Infinity (NaN): it is refused when
 * published and when loaded.
 */
export const MAX_COEFFICIENT = 1e6;
export const MAX_FEATURE_VALUE = 1e12;
const coefficient = z
  .number()
  .min(-MAX_COEFFICIENT, `must be between -${MAX_COEFFICIENT} and ${MAX_COEFFICIENT} (so a score cannot overflow)`)
  .max(MAX_COEFFICIENT, `must be between -${MAX_COEFFICIENT} and ${MAX_COEFFICIENT} (so a score cannot overflow)`);

/** The probability at a node: a leaf's score, or at a split the score of its rows as a whole. */
const probability = z.number().min(0).max(1);

/**
 * A tree node: a leaf `{ p }`, or a split on a feature, where child i takes values at or below
 * thresholds[i] (and above the one before), and the last child the values above every threshold
 * (as lib/learn/chaid.ts grows them).
 */
export type TreeNodeConfig = { p: number } | { p: number; feature: string; thresholds: number[]; children: TreeNodeConfig[] };

const treeNodeSchema: z.ZodType<TreeNodeConfig> = z.lazy(() =>
  z.union([
    z.strictObject({ p: probability }),
    z.strictObject({ p: probability, feature: z.string().min(1), thresholds: z.array(z.number()).min(1).max(64), children: z.array(treeNodeSchema).min(2).max(65) }),
  ]),
);

/** A target: logistic (`intercept` and `weights`) or a tree (`tree`), one or the other. */
const targetSchema = z
  .strictObject({
    intercept: coefficient.optional(),
    /** Coefficient per feature name; a feature without one weighs 0. */
    weights: z.record(z.string(), coefficient).optional(),
    tree: treeNodeSchema.optional(),
  })
  .check((ctx) => {
    const t = ctx.value;
    const logistic = t.intercept !== undefined || t.weights !== undefined;
    if (logistic === (t.tree !== undefined)) ctx.issues.push({ code: 'custom', input: t, message: 'must have either intercept and weights (logistic) or tree, not both' });
    else if (logistic && (t.intercept === undefined || t.weights === undefined)) ctx.issues.push({ code: 'custom', input: t, message: 'a logistic target needs both intercept and weights' });
  });
type TargetConfig = z.output<typeof targetSchema>;

/** Bounds on a tree target, so a published artifact cannot make a decision walk far. */
export const TREE_LIMITS = { depth: 16, nodes: 4096 };


const associationRuleSchema = z.strictObject({
  if: z.array(z.string().min(1)).min(1).max(5),
  then: z.string().min(1),
  support: z.number().min(0).max(1),
  confidence: z.number().min(0).max(1),
  lift: z.number().nonnegative(),
});

export const modelSchema = z.strictObject({
  $comment: z.string().optional(),
  version: z.string().min(1).max(100),
  trainedAt: z.iso.datetime({ offset: true }).optional(),
  /** `logistic` (every target logistic, as the first artifacts were) or `propensity` (targets may be trees). */
  kind: z.enum(['logistic', 'propensity']),
  features: z.array(featureSchema).max(500),
  /** For a model saved by `moment train`: the cells that meant "missing" in its training file, so `moment score` reads a file alike. Decisions do not read it. */
  missing: z.array(z.string().max(100)).max(100).optional(),
  /** `offer:<id>`, `category:<name>` or `default`: the most specific one present scores an offer. */
  targets: z.record(z.string(), targetSchema),
  associations: z
    .strictObject({
      rules: z.array(associationRuleSchema).max(200_000),
      /** Share of baskets holding each item: how popular it is. */
      itemSupport: z.record(z.string(), z.number().min(0).max(1)),
    })
    .optional(),
});

export type ModelConfig = z.output<typeof modelSchema>;
export type AssociationRule = z.output<typeof associationRuleSchema>;

export interface Associations {
  /** Rules by each item of their antecedent. */
  byItem: Map<string, AssociationRule[]>;
  itemSupport: Record<string, number>;
}

export interface Model {
  version: string;
  /**
   * Computes the features of these facts (defaults for an unknown visitor) once, and returns the
   * propensity (0..1) of any offer for them.
   */
  scorer(facts: Facts | undefined): (offer: Offer) => number | undefined;
  /** One target's propensity for some facts (the nightly job judges a champion so); undefined if the artifact has no such target. */
  target(name: string): ((facts: Facts) => number) | undefined;
  associations: Associations;
}

const exp = Math.exp;
/** The logistic function as lib/learn/logistic.ts computes it (without overflow, and to the same last bit). */
const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)));

/** A target compiled against the feature vector: its propensity for one customer's features. */
type CompiledTarget = (x: Float64Array) => number;

function compileLogistic(name: string, t: TargetConfig, index: Map<string, number>, fail: (d: string) => Error): CompiledTarget {
  const weights = new Float64Array(index.size);
  const intercept = t.intercept ?? 0;
  for (const [feature, w] of Object.entries(t.weights ?? {})) {
    const i = index.get(feature);
    if (i === undefined) throw fail(`target "${name}" weights.${feature}: no feature of that name`);
    weights[i] = w;
  }
  return (x) => {
    let z = intercept;
    for (let i = 0; i < x.length; i++) z += (weights[i] as number) * (x[i] as number);
    return sigmoid(z);
  };
}

interface CompiledNode {
  p: number;
  feature?: number;
  thresholds?: number[];
  children?: CompiledNode[];
}

/** Checks a tree target (feature names, ascending thresholds, one child more than thresholds, bounds) and compiles it. */
function compileTree(name: string, root: TreeNodeConfig, index: Map<string, number>, fail: (d: string) => Error): CompiledTarget {
  let nodes = 0;
  const compile = (node: TreeNodeConfig, at: string, depth: number): CompiledNode => {
    nodes += 1;
    if (nodes > TREE_LIMITS.nodes) throw fail(`target "${name}" tree: more than ${TREE_LIMITS.nodes} nodes`);
    if (depth > TREE_LIMITS.depth) throw fail(`target "${name}" ${at}: deeper than ${TREE_LIMITS.depth}`);
    if (!('feature' in node)) return { p: node.p };
    const feature = index.get(node.feature);
    if (feature === undefined) throw fail(`target "${name}" ${at}.feature: no feature named "${node.feature}"`);
    if (node.thresholds.some((t, i) => i > 0 && !(t > (node.thresholds[i - 1] as number)))) throw fail(`target "${name}" ${at}.thresholds: must be ascending`);
    if (node.children.length !== node.thresholds.length + 1) throw fail(`target "${name}" ${at}.children: must be one more than the thresholds`);
    return { p: node.p, feature, thresholds: node.thresholds, children: node.children.map((c, i) => compile(c, `${at}.children.${i}`, depth + 1)) };
  };
  const compiled = compile(root, 'tree', 1);
  return (x) => {
    let node = compiled;
    while (node.children !== undefined) {
      const v = x[node.feature as number] as number;
      const thresholds = node.thresholds as number[];
      let i = 0;
      while (i < thresholds.length && v > (thresholds[i] as number)) i++;
      node = node.children[i] as CompiledNode;
    }
    return node.p;
  };
}

/** Whether a feature is a 0/1 test of the value (equals, oneOf, missing) rather than the value. */
const isIndicator = (f: z.output<typeof featureSchema>): boolean => f.equals !== undefined || f.oneOf !== undefined || f.missing === true;

function compileFeature(f: z.output<typeof featureSchema>): (facts: Facts & { segments?: string[] }) => number {
  const raw =
    f.path === 'segments'
      ? (facts: Facts & { segments?: string[] }) => facts.segments
      : f.keys
        ? (facts: Facts) => sumKeys(lookup(facts, f.path), f.keys as string[])
        : (facts: Facts) => lookup(facts, f.path);
  const oneOf = f.oneOf === undefined ? undefined : new Set<unknown>(f.oneOf);
  const numeric = (v: unknown): number => {
    if (f.equals !== undefined) return (Array.isArray(v) ? v.includes(f.equals) : v === f.equals) ? 1 : 0;
    if (oneOf !== undefined) return (Array.isArray(v) ? v.some((x) => oneOf.has(x)) : oneOf.has(v)) ? 1 : 0;
    if (f.missing === true) return (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' ? 0 : 1;
    const x = typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? Number(v) : f.default;
    const capped = bounded(f.cap !== undefined ? Math.min(x, f.cap) : x);
    return f.transform === 'log1p' ? Math.log1p(Math.max(capped, 0)) : capped;
  };
  return (facts) => numeric(raw(facts));
}

/** A feature value within ±MAX_FEATURE_VALUE (see MAX_COEFFICIENT). */
const bounded = (x: number): number => Math.min(Math.max(x, -MAX_FEATURE_VALUE), MAX_FEATURE_VALUE);

export type FeatureConfig = z.input<typeof featureSchema>;

/**
 * The artifact's features as one function: the feature vector of some facts (defaults for an
 * unknown visitor). The nightly job builds training sets with it, so a model learns from the values
 * it will be scored with.
 */
export function featureVector(input: FeatureConfig[]): (facts: Facts | undefined) => Float64Array {
  const defs = input.map((f) => featureSchema.parse(f));
  const compiled = defs.map(compileFeature);
  const unknown = Float64Array.from(defs, (f) => (f.missing === true ? 1 : isIndicator(f) ? 0 : f.transform === 'log1p' ? Math.log1p(Math.max(bounded(f.default), 0)) : bounded(f.default)));
  return (facts) => (facts ? Float64Array.from(compiled, (f) => f(facts)) : unknown.slice());
}

/** Validates and compiles a model artifact. Errors name the feature, target or rule and the field. */
export function loadModel(input: unknown = defaults): Model {
  const fail = (detail: string) => new Error(`Invalid model: ${detail}`);
  // Trees nest; a document nested past any tree's bound is refused before the recursive schema walks it.
  if (valueNestedDeeperThan(input, MAX_DOCUMENT_DEPTH)) throw fail(`the document is nested deeper than ${MAX_DOCUMENT_DEPTH} levels (a tree at most ${TREE_LIMITS.depth} deep)`);
  const result = modelSchema.safeParse(input);
  if (!result.success) {
    throw fail(
      describeIssues(result.error.issues, input, [
        { path: ['features'], label: 'feature', nameKey: 'name' },
        { path: ['targets'], label: 'target' },
        { path: ['associations', 'rules'], label: 'association rule' },
      ]),
    );
  }
  const config = result.data;
  const index = new Map<string, number>();
  config.features.forEach((f, i) => {
    if (index.has(f.name)) throw fail(`feature "${f.name}" is declared twice`);
    index.set(f.name, i);
  });
  const targets = new Map<string, CompiledTarget>();
  for (const [name, t] of Object.entries(config.targets)) {
    if (!/^(offer|category):.+$|^default$/.test(name)) throw fail(`target "${name}": must be offer:<id>, category:<name> or default`);
    if (t.tree !== undefined && config.kind === 'logistic') throw fail(`target "${name}" tree: a tree needs kind "propensity"`);
    targets.set(name, t.tree !== undefined ? compileTree(name, t.tree, index, fail) : compileLogistic(name, t, index, fail));
  }
  const byItem = new Map<string, AssociationRule[]>();
  const itemSupport = config.associations?.itemSupport ?? {};
  (config.associations?.rules ?? []).forEach((r, i) => {
    if (own(itemSupport, r.then) === undefined) throw fail(`association rule #${i} then: no itemSupport for "${r.then}"`);
    if (r.if.includes(r.then)) throw fail(`association rule #${i} then: "${r.then}" is also in its antecedent`);
    for (const item of r.if) {
      const list = byItem.get(item);
      if (list) list.push(r);
      else byItem.set(item, [r]);
    }
  });
  const vectorOf = featureVector(config.features);
  const fallback = targets.get('default');
  const targetOf = (offer: Offer) => targets.get(`offer:${offer.id}`) ?? targets.get(`category:${offer.category}`) ?? fallback;
  return {
    version: config.version,
    associations: { byItem, itemSupport },
    target(name) {
      const t = targets.get(name);
      return t === undefined ? undefined : (facts) => t(vectorOf(facts));
    },
    scorer(facts) {
      const x = vectorOf(facts);
      const memo = new Map<CompiledTarget, number>();
      return (offer) => {
        const t = targetOf(offer);
        if (!t) return undefined;
        let p = memo.get(t);
        if (p === undefined) {
          p = t(x);
          memo.set(t, p);
        }
        return p;
      };
    },
  };
}

export interface Serendipity {
  item: string;
  rule: AssociationRule;
}

/**
 * The serendipity pick: among rules whose antecedent the customer has fully chosen, with lift of at
 * least `minLift` and a consequent that is a product of the catalog (`sellable`, when given), less
 * popular (item support at most `maxItemSupport`) and not already hers or offered, the one with the
 * highest lift (then confidence, then name).
 */
/**
 * What goes with what she bought, for the "bought together" offer (a purchase's cross-sell): the
 * consequents of the model's association rules whose antecedent she bought in full and whose
 * consequent is a product of the catalog (`sellable`: rules are learned from what anyone with the
 * write key sends), strongest lift first (then confidence), at most `max`, never an item she bought;
 * without such a rule (no model yet, or nothing mined for her items), the catalog's complements of
 * what she bought.
 */
export function boughtTogether(
  associations: Associations | undefined,
  bought: ReadonlySet<string>,
  complements: Record<string, string[]>,
  sellable: (item: string) => boolean,
  max = 3,
): { items: string[]; reason: string } | undefined {
  const rules = [...bought]
    .flatMap((item) => associations?.byItem.get(item) ?? [])
    .filter((r) => !bought.has(r.then) && sellable(r.then) && r.if.every((i) => bought.has(i)))
    .sort((a, b) => b.lift - a.lift || b.confidence - a.confidence || (a.then < b.then ? -1 : 1));
  const items = [...new Set(rules.map((r) => r.then))].slice(0, max);
  if (items.length > 0) {
    const best = rules[0] as AssociationRule;
    return { items, reason: `bought together: customers who bought ${best.if.join(' + ')} also bought ${best.then} (lift ${best.lift}, confidence ${best.confidence})` };
  }
  const fallback = [...new Set([...bought].flatMap((p) => (Object.hasOwn(complements, p) ? complements[p] ?? [] : [])))].filter((p) => !bought.has(p)).slice(0, max);
  return fallback.length > 0 ? { items: fallback, reason: `goes with what she bought: ${fallback.join(', ')}` } : undefined;
}

export function serendipityPick(
  associations: Associations,
  chosen: ReadonlySet<string>,
  exclude: ReadonlySet<string>,
  options: { minLift: number; maxItemSupport: number; sellable?: (item: string) => boolean },
): Serendipity | undefined {
  let best: Serendipity | undefined;
  for (const item of chosen) {
    for (const rule of associations.byItem.get(item) ?? []) {
      if (rule.lift < options.minLift || exclude.has(rule.then) || chosen.has(rule.then) || options.sellable?.(rule.then) === false) continue;
      if ((own(associations.itemSupport, rule.then) ?? 1) > options.maxItemSupport) continue;
      if (!rule.if.every((i) => chosen.has(i))) continue;
      const b = best?.rule;
      if (!b || rule.lift > b.lift || (rule.lift === b.lift && (rule.confidence > b.confidence || (rule.confidence === b.confidence && rule.then < b.then)))) {
        best = { item: rule.then, rule };
      }
    }
  }
  return best;
}
