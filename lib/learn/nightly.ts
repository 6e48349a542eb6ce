/**
 * One night's learning, as a pure function of the customers' stored events and the current
 * (champion) model artifact: mine association rules from the orders, train a challenger per
 * propensity target on a time-split training set, judge it against the champion on the same
 * customers (labels the champion never saw), and build the artifact to publish, keeping the
 * champion's target wherever the challenger is not good enough. The state machine's tasks wrap its
 * steps; this is what they compute.
 */
import { loadModel, type FeatureConfig, type ModelConfig } from '../decision/model';
import { MAX_DOCUMENT_BYTES } from '../decision/published';
import type { AggregateModel } from '../profile/aggregates';
import type { ProfileRules } from '../profile/segments';
import type { CollectedEvent } from '../events/segment';
import { artifactTarget, type ArtifactTarget } from './export';
import { evaluate, type DecileRow } from './metrics';
import { mineRules, type Rule } from './rules';
import { DEFAULT_MIN_RULE_CUSTOMERS } from './nightly-config';
import { predict, selectModel, type ModelOptions } from './train';
import { calibratedModel, fitPlatt, reliability, type Platt, type Reliability } from './calibration';
import { selectRows, type Dataset } from './csv';
import { createHash } from 'node:crypto';
import { challenge } from './challenge';
import { DAY_MS, isOrder, trainingSets, type CustomerHistory, type PropensityTarget, type TrainingSet } from './training-set';
import { upliftReports, type UpliftReport } from './uplift-report';

export interface NightlyConfig {
  features: FeatureConfig[];
  /** Artifact target name (`category:<name>`, `offer:<id>` or `default`) and what its label is. */
  targets: Array<{ name: string; target: PropensityTarget }>;
  /** The label's horizon: the training cut-off is this many days before the night. */
  horizonDays: number;
  /**
   * Association rules: arules' thresholds, how many the artifact carries, and how many distinct
   * customers must have bought every item of a rule together for it to be used (default
   * DEFAULT_MIN_RULE_CUSTOMERS): orders come with the public write key, so a few invented customers
   * sending many orders must not make a rule.
   */
  rules: { minSupport: number; minConfidence: number; maxRules: number; minCustomers?: number };
  /** A challenger is published only if it ranks better with stated confidence, on a holdout with enough buyers (lib/learn/challenge.ts). */
  challenge: { confidence: number; resamples: number; minHoldoutBuyers: number };
  /** A target needs this many buyers in its training set to be trained at all. */
  minPositives: number;
  /** The learners' hyper-parameters, and whether a challenger is Platt-scaled on its cross-validated scores (default true). */
  models?: ModelOptions & { calibrate?: boolean };
  aggregates: AggregateModel;
  profileRules: ProfileRules;
}

export interface TargetReport {
  name: string;
  rows: number;
  positives: number;
  /** What happened: published, champion kept (and why), not published (trained, no champion, and a holdout too small to show it beats a random order), or not trained (and why). */
  outcome: 'published' | 'champion kept' | 'not published' | 'not trained';
  reason: string;
  /** On the holdout; `calibration` is its reliability table there, `platt` the scaling fitted on its cross-validated scores. */
  challenger?: { model: 'logistic' | 'tree'; auc: number; topDecileLift: number; deciles: DecileRow[]; calibration: Reliability; platt?: Platt };
  champion?: { auc: number; topDecileLift: number; calibration: Reliability };
  /** How the two were compared: the holdout, and the difference in top-decile lift with its interval (the champion's lift is 1, a random order, when there is none). */
  comparison?: { holdoutRows: number; holdoutCustomers: number; holdoutBuyers: number; difference: number; low: number; high: number; confidence: number; resamples: number };
  /**
   * An offer's target: its rows are the customers offered it (response given exposure); this is its
   * uplift against those held out from it, one entry per source of assignment (the decision holdout,
   * each campaign's control; never pooled): both arms' sizes and response rates, and a two-model
   * uplift's Qini table and coefficient on the holdout.
   */
  uplift?: UpliftReport[];
}

export interface NightlyResult {
  artifact: ModelConfig;
  /** The champion this night judged against: Publish replaces it only if it still serves. */
  championVersion: string;
  /** Whether anything changed from the champion (a new version to publish). */
  changed: boolean;
  report: { version: string; cutoff: string; baskets: number; rules: number; targets: TargetReport[] };
}


export function learnNightly(customers: readonly CustomerHistory[], champion: ModelConfig, config: NightlyConfig, night: Date): NightlyResult {
  const version = `nightly-${night.toISOString().slice(0, 10)}`;
  const features = mergeFeatures(champion.features, config.features);
  const cutoff = trainingCutoff(night, config.horizonDays);
  const associations = mineAssociations(customers, config.rules);
  const sets = trainingSets(customers, { cutoff, horizonDays: config.horizonDays, features: config.features, aggregates: config.aggregates, profileRules: config.profileRules }, config.targets.map((t) => t.target));
  const reports = config.targets.map((t, i) => judgeTarget(sets[i] as TrainingSet, champion, t, config));
  const targets: Record<string, ArtifactTarget> = { ...(champion.targets as Record<string, ArtifactTarget>) };
  for (const r of reports) if (r.report.outcome === 'published' && r.target !== undefined) targets[r.report.name] = r.target;
  const published = reports.some((r) => r.report.outcome === 'published');
  const mined = associations.rules.length > 0 ? { rules: associations.rules, itemSupport: associations.itemSupport } : champion.associations;
  const changed = published || JSON.stringify(mined) !== JSON.stringify(champion.associations);
  const summary = (v: string) => ({ version: v, cutoff: cutoff.toISOString(), baskets: associations.baskets, rules: associations.rules.length, targets: reports.map((r) => r.report) });
  if (!changed) return { artifact: champion, championVersion: champion.version, changed, report: summary(champion.version) };
  const artifact = withinSize({
    version,
    trainedAt: night.toISOString(),
    kind: 'propensity' as const,
    features: published ? features : champion.features,
    targets,
    ...(mined ? { associations: mined } : {}),
  } as ModelConfig);
  loadModel(artifact); // what is published must load
  return { artifact, championVersion: champion.version, changed, report: { ...summary(version), rules: artifact.associations?.rules.length ?? 0 } };
}

/**
 * The artifact within what the config table holds (lib/decision/published.ts): the weakest rules
 * are dropped, a quarter at a time, until it fits (the rules come strongest first).
 */
function withinSize(artifact: ModelConfig): ModelConfig {
  let fitted = artifact;
  while (Buffer.byteLength(JSON.stringify(fitted)) > MAX_DOCUMENT_BYTES) {
    const rules = fitted.associations?.rules ?? [];
    if (rules.length === 0) throw new Error(`the model is ${Buffer.byteLength(JSON.stringify(fitted))} bytes without any rule; the config table holds ${MAX_DOCUMENT_BYTES}`);
    const kept = rules.slice(0, Math.floor((rules.length * 3) / 4));
    const used = new Set(kept.flatMap((r) => [...r.if, r.then]));
    const itemSupport = Object.fromEntries(Object.entries(fitted.associations?.itemSupport ?? {}).filter(([item]) => used.has(item)));
    fitted = { ...fitted, associations: { rules: kept, itemSupport } };
  }
  return fitted;
}

/**
 * Each order's products as a basket; rules with something on the left that rest on enough distinct
 * customers, the strongest first, as many as the artifact should carry.
 */
function mineAssociations(customers: readonly CustomerHistory[], options: NightlyConfig['rules']) {
  const orders = customers.flatMap((c, customer) => c.events.filter(isOrder).map((e) => ({ basket: productsOf(e), customer }))).filter((o) => o.basket.length > 0);
  const baskets = orders.map((o) => o.basket);
  if (baskets.length === 0) return { baskets: 0, rules: [], itemSupport: {} };
  const mined = mineRules(baskets, { minSupport: options.minSupport, minConfidence: options.minConfidence, minLength: 2, maxLength: 6 });
  const rules = restingOnCustomers(mined.rules, orders, options.minCustomers ?? DEFAULT_MIN_RULE_CUSTOMERS, options.maxRules).map((r) => ({
    if: r.if,
    then: r.then,
    support: r.support,
    confidence: r.confidence,
    lift: r.lift,
  }));
  const used = new Set(rules.flatMap((r) => [...r.if, r.then]));
  const itemSupport = Object.fromEntries(Object.entries(mined.itemSupport).filter(([item]) => used.has(item)));
  return { baskets: baskets.length, rules, itemSupport };
}

/**
 * The rules (strongest first) whose items at least `min` distinct customers bought together in one
 * order, at most `max` of them. A rule's count is of orders, and one customer may send many: the
 * customers are counted by walking the orders that hold the rule's rarest item, stopping at `min`.
 */
function restingOnCustomers(rules: readonly Rule[], orders: ReadonlyArray<{ basket: readonly string[]; customer: number }>, min: number, max: number): Rule[] {
  const holding = new Map<string, number[]>();
  const sets: Array<ReadonlySet<string>> = [];
  orders.forEach((o, i) => {
    sets.push(new Set(o.basket));
    for (const item of o.basket) {
      const list = holding.get(item);
      if (list === undefined) holding.set(item, [i]);
      else list.push(i);
    }
  });
  const kept: Rule[] = [];
  for (const rule of rules) {
    if (kept.length >= max) break;
    if (rule.count < min) continue;
    const items = [...rule.if, rule.then];
    const rarest = items.reduce((a, b) => ((holding.get(a)?.length ?? 0) <= (holding.get(b)?.length ?? 0) ? a : b));
    const customers = new Set<number>();
    for (const i of holding.get(rarest) ?? []) {
      if (items.every((item) => (sets[i] as ReadonlySet<string>).has(item))) customers.add((orders[i] as { customer: number }).customer);
      if (customers.size >= min) break;
    }
    if (customers.size >= min) kept.push(rule);
  }
  return kept;
}

function productsOf(e: CollectedEvent): string[] {
  const products = (e.properties as Record<string, unknown> | undefined)?.products;
  if (!Array.isArray(products)) return [];
  const ids = products.map((p) => (typeof p === 'object' && p !== null ? (p as Record<string, unknown>).product_id : undefined));
  return [...new Set(ids.filter((id): id is string => typeof id === 'string' && id !== ''))];
}

/** The training cut-off of a night: one label horizon before it (features from what was known then, labels after). */
export const trainingCutoff = (night: Date, horizonDays: number): Date => new Date(night.getTime() - horizonDays * DAY_MS);

/** The share of customers, fixed by a hash of their id, that no nightly model trains on: challenger and champion are both judged on them. */
export const HOLDOUT_SHARE = 0.2;

export const inHoldout = (profileId: string): boolean => (createHash('sha256').update(`holdout:${profileId}`).digest()[0] as number) < 256 * HOLDOUT_SHARE;

/**
 * Trains a challenger for one target on the customers outside the holdout (the kind chosen by
 * cross-validation there) and judges it against the champion's target on the holdout, whose
 * customers no nightly model has trained on, so neither is judged on what it learned from.
 */
function judgeTarget(set: TrainingSet, champion: ModelConfig, t: NightlyConfig['targets'][number], config: NightlyConfig): { report: TargetReport; target?: ArtifactTarget } {
  const heldRows: number[] = [];
  const trainingRows: number[] = [];
  set.profileIds.forEach((id, row) => (inHoldout(id) ? heldRows : trainingRows).push(row));
  const training = subset(set, trainingRows);
  const holdout = subset(set, heldRows);
  const uplift = set.uplift === undefined ? undefined : upliftReports(set.uplift, { minResponders: config.minPositives, inHoldout });
  const base = { name: t.name, rows: set.rows, positives: set.positives, ...(uplift === undefined ? {} : { uplift }) };
  const enough = (d: Dataset, min: number) => d.positives >= min && d.rows - d.positives >= min;
  if (!enough(training, config.minPositives) || !enough(holdout, Math.ceil(config.minPositives / 4))) {
    return { report: { ...base, outcome: 'not trained', reason: `${set.positives} buyers of ${set.rows} customers; at least ${config.minPositives} of each are needed to train, and a quarter as many in the holdout` } };
  }
  const selection = selectModel(training, { folds: 5, seed: 1, ...(config.models?.logistic ? { logistic: config.models.logistic } : {}), ...(config.models?.tree ? { tree: config.models.tree } : {}) });
  // Platt scaling on the chosen kind's out-of-fold scores: a propensity that means what it says (the ranking is unchanged).
  const platt = config.models?.calibrate === false ? undefined : fitPlatt(selection.candidates[selection.chosen].scores, training.y);
  const model = platt === undefined ? selection.model : calibratedModel(selection.model, platt);
  const scores = predict(model, holdout);
  const challenger = { model: selection.chosen, ...judged(scores, holdout.y), ...(platt === undefined ? {} : { platt }) };
  const scoreChampion = loadModel(champion).target(t.name);
  const incumbentScores = scoreChampion === undefined ? undefined : heldRows.map((row) => scoreChampion(set.facts[row] as (typeof set.facts)[number]));
  const incumbent = incumbentScores === undefined ? undefined : judged(incumbentScores, holdout.y);
  const champ = incumbent === undefined ? {} : { champion: { auc: incumbent.auc, topDecileLift: incumbent.topDecileLift, calibration: incumbent.calibration } };
  const against = incumbent === undefined ? 'no champion: against a random order (lift 1)' : `champion ${incumbent.topDecileLift.toFixed(2)}`;
  // People, not rows: a customer whose devices merged after the cut-off is a row per device, each with her label.
  const people = heldRows.map((row) => set.profileIds[row] as string);
  const customers = new Set(people).size;
  const buyers = new Set(people.filter((_, i) => holdout.y[i] === 1)).size;
  const size = `${customers} customers (${holdout.rows} rows), ${buyers} buyers`;
  const c = config.challenge;
  if (buyers < c.minHoldoutBuyers) {
    const reason = `holdout of ${size}: at least ${c.minHoldoutBuyers} buyers are needed to tell a better model (top-decile lift: challenger ${challenger.topDecileLift.toFixed(2)}, ${against})`;
    return { report: { ...base, outcome: incumbent === undefined ? 'not published' : 'champion kept', reason, challenger, ...champ } };
  }
  const verdict = challenge(scores, incumbentScores, holdout.y, { confidence: c.confidence, resamples: c.resamples, seed: 1, people });
  const interval = `${Math.round(c.confidence * 100)}% interval ${signed(verdict.low)} to ${signed(verdict.high)}`;
  const reason = `top-decile lift on the holdout (${size}): challenger ${challenger.topDecileLift.toFixed(2)}, ${against}; difference ${signed(verdict.difference)}, ${interval}: ${verdict.better ? 'better' : 'not better'} with ${Math.round(c.confidence * 100)}% confidence`;
  const comparison = { holdoutRows: holdout.rows, holdoutCustomers: customers, holdoutBuyers: buyers, difference: verdict.difference, low: verdict.low, high: verdict.high, confidence: c.confidence, resamples: verdict.resamples };
  return verdict.better
    ? { report: { ...base, outcome: 'published', reason, challenger, ...champ, comparison }, target: artifactTarget(model) }
    : { report: { ...base, outcome: 'champion kept', reason, challenger, ...champ, comparison } };
}

/** A difference with its sign, two decimals ("+0.00", never "-0.00"). */
const signed = (x: number): string => (Math.abs(x) < 0.005 ? '+0.00' : `${x > 0 ? '+' : '-'}${Math.abs(x).toFixed(2)}`);

function judged(scores: ArrayLike<number>, y: Uint8Array) {
  const { auc, deciles } = evaluate(scores, y);
  return { auc, topDecileLift: (deciles[0] as DecileRow).cumulativeLift, deciles, calibration: reliability(scores, y) };
}

/** Some rows of a training set, as a data set of their own. */
function subset(set: Dataset, rows: number[]): Dataset {
  const features = selectRows(set, rows);
  const y = Uint8Array.from(rows, (r) => set.y[r] as number);
  return { ...features, file: set.file, schema: set.schema, y, positives: y.reduce((s, v) => s + v, 0) };
}

/**
 * The champion's features with the configured ones added: the champion's targets it keeps still read
 * theirs, so a configured feature may share a champion's name only with the same definition.
 */
function mergeFeatures(champion: ModelConfig['features'], configured: FeatureConfig[]): FeatureConfig[] {
  const normal = (f: FeatureConfig) => JSON.stringify(Object.entries({ transform: 'none', default: 0, ...f }).sort(([a], [b]) => (a < b ? -1 : 1)));
  const byName = new Map(champion.map((f) => [f.name, f]));
  for (const f of configured) {
    const theirs = byName.get(f.name);
    if (theirs !== undefined && normal(theirs) !== normal(f)) throw new Error(`feature "${f.name}" is defined otherwise in the champion; give the new definition another name`);
  }
  return [...champion, ...configured.filter((f) => !byName.has(f.name))];
}
