/**
 * A CHAID decision tree (Kass 1980, "An exploratory technique for investigating large quantities
 * of categorical data") for a 0/1 target: segments a marketer can read ("households with 2+ cars
 * and a fire policy of level 3-4 buy at 3× the base rate").
 *
 * - Categorical predictors are nominal: any two of their categories may merge. A numeric predictor
 *   is cut at its training deciles into up to 10 bins (fewer when values repeat) that are ordinal:
 *   only adjacent bins merge, so every branch is an interval.
 * - At a node, for each predictor: while two mergeable groups of categories have a 2×2 chi-square
 *   (groups × target) with p above `alphaMerge`, the least significant pair merges. A group smaller
 *   than `minChildSize` then merges with its most similar allowed neighbour (as SPSS does).
 *   Merged groups are not split again (Kass's optional step, off by default in SPSS too).
 * - The predictor's p-value is the Pearson chi-square of its groups × target table, multiplied by
 *   Kass's Bonferroni factor — the number of ways c categories can be reduced to r groups: C(c-1,
 *   r-1) for an ordinal predictor, the Stirling number S(c, r) for a nominal one, and
 *   C(c-2, r-2) + r·C(c-2, r-1) for an ordinal one with a floating category.
 * - Missing numbers are CHAID's floating category (Kass 1980; SPSS does the same): a category of
 *   its own that may merge with any bin, so a branch is an interval, the missing values, or an
 *   interval and the missing values. A categorical column's missing cells are its `(missing)` level,
 *   nominal like the others.
 * - The node splits on the predictor with the smallest adjusted p if it is below `alphaSplit`,
 *   unless it is at `maxDepth` or holds fewer than `minNodeSize` rows.
 * - A node scores its positive rate shrunk towards its parent's score by `smoothing` pseudo-rows
 *   (an m-estimate: (positives + m·parent) / (rows + m); the root scores the base rate), so a small
 *   leaf with 0 of 25 positives does not score 0. Every node has a score: a row whose level the
 *   node's split has not seen (a new level, or one absent from the node) stops there.
 *
 * The fitted tree is plain JSON; `predictTree` scores rows with it.
 */
import type { Features } from './csv';
import { bonferroniFactor, chiSquareStatistic, chiSquareSurvival } from './chi-square';

export { bonferroniFactor, chiSquareStatistic, chiSquareSurvival, lnGamma, upperGammaQ } from './chi-square';

export interface TreeOptions {
  /** Merge two groups while their chi-square p is above this. Default 0.05. */
  alphaMerge?: number;
  /** Split when the Bonferroni-adjusted p is below this. Default 0.05. */
  alphaSplit?: number;
  /** Depth of the deepest split's children; the root is depth 0. Default 4. */
  maxDepth?: number;
  /** A node with fewer rows is not split. Default 50. */
  minNodeSize?: number;
  /** Every child of a split has at least this many rows. Default 20. */
  minChildSize?: number;
  /** Bins a numeric predictor is cut into at most. Default 10. */
  bins?: number;
  /** Pseudo-rows of the parent's score in a node's score. Default 2. */
  smoothing?: number;
}

interface SplitStatistics {
  column: string;
  chiSquare: number;
  df: number;
  /** The p-value of the chi-square times the Bonferroni factor, at most 1. */
  adjustedP: number;
}

/**
 * Child i takes x <= thresholds[i] (and above the threshold before it); child thresholds.length
 * takes the rest. A missing value goes to child `missing`: one of those, or one more child after
 * them holding the missing values alone; without `missing` (the node saw none) it stops here.
 */
export interface NumericSplit extends SplitStatistics {
  type: 'numeric';
  thresholds: number[];
  children: TreeNode[];
  missing?: number;
}

/** Child i takes the levels in groups[i]; any other level stops at this node. */
export interface CategoricalSplit extends SplitStatistics {
  type: 'categorical';
  groups: string[][];
  children: TreeNode[];
}

export interface TreeNode {
  rows: number;
  positives: number;
  /** The smoothed positive rate: the score of a row that ends here. */
  score: number;
  split?: NumericSplit | CategoricalSplit;
}

export interface TreeModel {
  kind: 'tree';
  options: Required<TreeOptions>;
  root: TreeNode;
}

export function treeDefaults(options: TreeOptions = {}): Required<TreeOptions> {
  return { alphaMerge: 0.05, alphaSplit: 0.05, maxDepth: 4, minNodeSize: 50, minChildSize: 20, bins: 10, smoothing: 2, ...options };
}

// ---------------------------------------------------------------------------------------------
// Predictors as categories

/** A predictor as category codes 0..categories-1: a categorical column's levels, a numeric one's bins. */
interface Predictor {
  name: string;
  ordinal: boolean;
  codes: Int32Array;
  categories: number;
  /** Numeric: bin b holds values in (cuts[b-1], cuts[b]]; the last bin, values above the last cut. */
  cuts: number[];
  levels: readonly string[];
  /** Numeric with missing values: the code of the floating category (the missing values), after the bins. */
  floating?: number;
}

/** Upper bounds of up to `bins` quantile bins: the distinct k/bins quantiles below the maximum (missing values, NaN, aside). */
export function quantileCuts(values: ArrayLike<number>, bins: number): number[] {
  const sorted = Float64Array.from(values).sort();
  let n = sorted.length;
  while (n > 0 && Number.isNaN(sorted[n - 1] as number)) n--; // a typed array sorts NaN last
  if (n === 0) return [];
  const max = sorted[n - 1] as number;
  const cuts: number[] = [];
  for (let k = 1; k < bins; k++) {
    const q = sorted[Math.ceil((k * n) / bins) - 1] as number;
    if (q < max && q !== cuts[cuts.length - 1]) cuts.push(q);
  }
  return cuts;
}

/** The index of the first threshold at or above x (thresholds ascending); thresholds.length if none. */
function intervalOf(x: number, thresholds: readonly number[]): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= (thresholds[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function predictors(data: Features, bins: number): Predictor[] {
  return data.columns.map((c) => {
    if (c.type === 'categorical') return { name: c.name, ordinal: false, codes: c.codes, categories: c.levels.length, cuts: [], levels: c.levels };
    const cuts = quantileCuts(c.values, bins);
    const floating = cuts.length + 1;
    let missing = false;
    const codes = Int32Array.from(c.values, (x) => (Number.isNaN(x) ? ((missing = true), floating) : intervalOf(x, cuts)));
    return { name: c.name, ordinal: true, codes, categories: cuts.length + (missing ? 2 : 1), cuts, levels: [], ...(missing ? { floating } : {}) };
  });
}

// ---------------------------------------------------------------------------------------------
// Merging categories and choosing the split

/** Categories counted together at a node. */
interface Group {
  categories: number[];
  rows: number;
  positives: number;
}

/** The categories of a predictor present among `rows`, in code order. */
function categoryCounts(p: Predictor, y: Uint8Array, rows: Int32Array): Group[] {
  const counts = new Int32Array(p.categories);
  const positives = new Int32Array(p.categories);
  for (const i of rows) {
    const c = p.codes[i] as number;
    counts[c] = (counts[c] as number) + 1;
    positives[c] = (positives[c] as number) + (y[i] as number);
  }
  const groups: Group[] = [];
  counts.forEach((n, c) => n > 0 && groups.push({ categories: [c], rows: n, positives: positives[c] as number }));
  return groups;
}

/**
 * The mergeable pair (adjacent when ordinal) whose 2×2 table is least significant; with `only`, pairs
 * holding that group. With one degree of freedom the p-value falls as the statistic rises, so the
 * pairs are compared by statistic and only the chosen one's p-value is computed.
 */
function mostSimilarPair(groups: Group[], ordinal: boolean, floating: number | undefined, only?: number): { i: number; j: number; p: number } | undefined {
  let best: { i: number; j: number; statistic: number } | undefined;
  // The floating category, while it is a group of its own (the last one: codes sort it after the bins), pairs with any group.
  const alone = floating !== undefined && groups.length > 0 && (groups[groups.length - 1] as Group).categories.length === 1 && (groups[groups.length - 1] as Group).categories[0] === floating ? groups.length - 1 : -1;
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      if (ordinal && j > i + 1 && j !== alone) continue;
      if (only !== undefined && i !== only && j !== only) continue;
      const statistic = chiSquareStatistic([groups[i] as Group, groups[j] as Group]);
      if (!best || statistic < best.statistic) best = { i, j, statistic };
    }
  }
  return best && { i: best.i, j: best.j, p: chiSquareSurvival(best.statistic, 1) };
}

function merged(groups: Group[], i: number, j: number): Group[] {
  const a = groups[i] as Group;
  const b = groups[j] as Group;
  const union = { categories: [...a.categories, ...b.categories].sort((x, y) => x - y), rows: a.rows + b.rows, positives: a.positives + b.positives };
  return groups.flatMap((g, k) => (k === i ? [union] : k === j ? [] : [g]));
}

/** CHAID's merge step, then merges of groups below the minimum child size into their most similar neighbour. */
function mergeCategories(groups: Group[], ordinal: boolean, floating: number | undefined, options: Required<TreeOptions>): Group[] {
  for (let pair = mostSimilarPair(groups, ordinal, floating); pair && pair.p > options.alphaMerge; pair = mostSimilarPair(groups, ordinal, floating)) {
    groups = merged(groups, pair.i, pair.j);
  }
  while (groups.length > 1) {
    const smallest = groups.reduce((s, g, k) => (g.rows < (groups[s] as Group).rows ? k : s), 0);
    if ((groups[smallest] as Group).rows >= options.minChildSize) break;
    const pair = mostSimilarPair(groups, ordinal, floating, smallest) as { i: number; j: number };
    groups = merged(groups, pair.i, pair.j);
  }
  return groups;
}

interface Candidate {
  predictor: Predictor;
  groups: Group[];
  chiSquare: number;
  adjustedP: number;
}

function candidate(p: Predictor, y: Uint8Array, rows: Int32Array, options: Required<TreeOptions>): Candidate | undefined {
  const counts = categoryCounts(p, y, rows);
  if (counts.length < 2) return undefined;
  // The floating category counts only at a node that has missing values.
  const floating = p.floating !== undefined && counts.some((g) => g.categories[0] === p.floating) ? p.floating : undefined;
  const groups = mergeCategories(counts, p.ordinal, floating, options);
  if (groups.length < 2) return undefined;
  const chiSquare = chiSquareStatistic(groups);
  const pValue = chiSquareSurvival(chiSquare, groups.length - 1);
  const factor = bonferroniFactor(counts.length, groups.length, p.ordinal, floating !== undefined);
  return { predictor: p, groups, chiSquare, adjustedP: pValue === 0 ? 0 : Math.min(1, pValue * factor) };
}

/** The predictor with the smallest adjusted p (then the larger chi-square, then the first column). */
function bestCandidate(all: Predictor[], y: Uint8Array, rows: Int32Array, options: Required<TreeOptions>): Candidate | undefined {
  let best: Candidate | undefined;
  for (const p of all) {
    const c = candidate(p, y, rows, options);
    if (c && (!best || c.adjustedP < best.adjustedP || (c.adjustedP === best.adjustedP && c.chiSquare > best.chiSquare))) best = c;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Growing and scoring

interface Growth {
  predictors: Predictor[];
  y: Uint8Array;
  options: Required<TreeOptions>;
}

function describeSplit(best: Candidate, children: TreeNode[]): NumericSplit | CategoricalSplit {
  const p = best.predictor;
  const statistics = { column: p.name, chiSquare: best.chiSquare, df: best.groups.length - 1, adjustedP: best.adjustedP };
  if (p.ordinal) {
    const missing = best.groups.findIndex((g) => g.categories.includes(p.floating ?? -1));
    const bins = best.groups.filter((g) => g.categories.some((c) => c !== p.floating));
    const thresholds = bins.slice(0, -1).map((g) => p.cuts[Math.max(...g.categories.filter((c) => c !== p.floating))] as number);
    return { type: 'numeric', ...statistics, thresholds, children, ...(missing >= 0 ? { missing } : {}) };
  }
  const groups = best.groups.map((g) => g.categories.map((c) => p.levels[c] as string));
  return { type: 'categorical', ...statistics, groups, children };
}

function grow(rows: Int32Array, depth: number, parentScore: number, g: Growth): TreeNode {
  let positives = 0;
  for (const i of rows) positives += g.y[i] as number;
  const m = g.options.smoothing;
  const node: TreeNode = { rows: rows.length, positives, score: (positives + m * parentScore) / (rows.length + m) };
  if (depth >= g.options.maxDepth || rows.length < g.options.minNodeSize) return node;
  const best = bestCandidate(g.predictors, g.y, rows, g.options);
  if (!best || !(best.adjustedP < g.options.alphaSplit)) return node;
  const groupOf = new Int32Array(best.predictor.categories);
  best.groups.forEach((group, k) => group.categories.forEach((c) => (groupOf[c] = k)));
  const childRows = best.groups.map(() => [] as number[]);
  for (const i of rows) childRows[groupOf[best.predictor.codes[i] as number] as number]?.push(i);
  const children = childRows.map((r) => grow(Int32Array.from(r), depth + 1, node.score, g));
  node.split = describeSplit(best, children);
  return node;
}

/** Grows a CHAID tree on predictors and 0/1 outcomes. */
export function fitTree(data: Features, y: Uint8Array, options: TreeOptions = {}): TreeModel {
  const settings = treeDefaults(options);
  const all = Int32Array.from({ length: data.rows }, (_, i) => i);
  const base = y.reduce((s, v) => s + v, 0) / Math.max(1, data.rows);
  return { kind: 'tree', options: settings, root: grow(all, 0, base, { predictors: predictors(data, settings.bins), y, options: settings }) };
}

/** The child a row goes to, or undefined when the split has not seen its level. */
function childIndex(split: NumericSplit | CategoricalSplit, data: Features, byName: Map<string, number>, row: number, levelGroups: WeakMap<CategoricalSplit, Map<string, number>>): number | undefined {
  const c = data.columns[byName.get(split.column) ?? -1];
  if (!c) throw new Error(`no column "${split.column}" to score the tree with`);
  if (split.type === 'numeric') {
    if (c.type !== 'numeric') throw new Error(`column "${split.column}" is categorical here but was numeric when the tree was grown`);
    const x = c.values[row] as number;
    return Number.isNaN(x) ? split.missing : intervalOf(x, split.thresholds);
  }
  if (c.type !== 'categorical') throw new Error(`column "${split.column}" is numeric here but was categorical when the tree was grown`);
  let groups = levelGroups.get(split);
  if (!groups) levelGroups.set(split, (groups = new Map(split.groups.flatMap((levels, k) => levels.map((l): [string, number] => [l, k])))));
  const level = c.levels[c.codes[row] as number];
  return level === undefined ? undefined : groups.get(level);
}

/** The score of the node each row ends in. Columns are found by name. */
export function predictTree(model: TreeModel, data: Features): Float64Array {
  const byName = new Map(data.columns.map((c, k) => [c.name, k]));
  const levelGroups = new WeakMap<CategoricalSplit, Map<string, number>>();
  const scores = new Float64Array(data.rows);
  for (let row = 0; row < data.rows; row++) {
    let node = model.root;
    for (let split = node.split; split; split = node.split) {
      const child = split.children[childIndex(split, data, byName, row, levelGroups) ?? -1];
      if (!child) break;
      node = child;
    }
    scores[row] = node.score;
  }
  return scores;
}
