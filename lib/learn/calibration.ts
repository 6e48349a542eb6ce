/**
 * What a propensity means: a reliability table (of the rows scored near p, the share that bought),
 * and Platt scaling to make it mean what it says. Decisions compare propensities across targets (a
 * paint offer's 0.12 against a garden offer's 0.08), so a target that ranks well but says 0.3 where
 * one in ten buys would win offers it should not.
 *
 * - `reliability`: rows sorted by score, cut into bins of equal size (scikit-learn's
 *   `calibration_curve(strategy="quantile")`; equal-width bins would put nearly every row of a
 *   6%-buyer population in the first), equal scores kept in one bin (so a tree's few values give
 *   fewer, larger bins), each with its mean score and its observed rate; with the expected
 *   calibration error (the row-weighted mean gap) and the Brier score.
 * - `fitPlatt`: the logistic regression of the outcome on the score's log-odds, with Platt's (1999)
 *   smoothed targets, as scikit-learn's `CalibratedClassifierCV(method="sigmoid")` fits a model
 *   with a decision function (our logistic regression's log-odds are its linear score; for a tree
 *   we take the log-odds of its leaf score, where scikit-learn would take the probability itself);
 *   fitted on out-of-fold scores, never on the scores of the rows a model was fitted on. A rising
 *   map (a fitted slope that is not above 0 is refused: the identity is kept), so ranking, AUC and
 *   lift are unchanged.
 */
import type { TreeNode } from './chaid';
import type { FittedModel } from './train';

const exp = Math.exp;
const log = Math.log;
const abs = Math.abs;

export interface ReliabilityBin {
  rows: number;
  /** Mean score of the bin's rows. */
  predicted: number;
  /** Share of the bin's rows with outcome 1. */
  observed: number;
}

export interface Reliability {
  bins: ReliabilityBin[];
  /** Σ rows/N · |predicted − observed| over the bins. */
  calibrationError: number;
  /** Mean of (score − outcome)². */
  brier: number;
}

/** The reliability table of scores against 0/1 outcomes, in `bins` bins of equal size (fewer with fewer rows). */
export function reliability(scores: ArrayLike<number>, y: ArrayLike<number>, bins = 10): Reliability {
  if (scores.length !== y.length) throw new RangeError(`${scores.length} scores for ${y.length} outcomes`);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
  const k = Math.max(1, Math.min(bins, n));
  const table: ReliabilityBin[] = [];
  let brier = 0;
  // Equal scores stay in one bin (a tree gives a few values): a cut inside a run of ties moves to its end.
  let to = 0;
  for (let b = 0; b < k && to < n; b++) {
    const from = to;
    to = Math.max(from + 1, Math.floor(((b + 1) * n) / k));
    if (b === k - 1) to = n;
    while (to < n && scores[order[to] as number] === scores[order[to - 1] as number]) to++;
    let predicted = 0;
    let observed = 0;
    for (let j = from; j < to; j++) {
      const i = order[j] as number;
      predicted += scores[i] as number;
      observed += y[i] as number;
      brier += ((scores[i] as number) - (y[i] as number)) ** 2;
    }
    const rows = to - from;
    if (rows > 0) table.push({ rows, predicted: predicted / rows, observed: observed / rows });
  }
  const calibrationError = n === 0 ? 0 : table.reduce((s, t) => s + (t.rows / n) * abs(t.predicted - t.observed), 0);
  return { bins: table, calibrationError, brier: n === 0 ? 0 : brier / n };
}

/** p = sigmoid(a · logit(score) + b). */
export interface Platt {
  a: number;
  b: number;
}

/** Scores are kept off 0 and 1 by this much before their log-odds are taken. */
const EDGE = 1e-12;
const logit = (p: number): number => {
  const q = p < EDGE ? EDGE : p > 1 - EDGE ? 1 - EDGE : p;
  return log(q / (1 - q));
};
const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)));

/** Platt scaling fitted by Newton's method on (score, outcome) pairs. The identity (a 1, b 0) without both outcomes. */
export function fitPlatt(scores: ArrayLike<number>, y: ArrayLike<number>): Platt {
  const n = scores.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] as number;
  if (positives === 0 || positives === n) return { a: 1, b: 0 };
  // Platt's targets: (N+ + 1)/(N+ + 2) for a 1, 1/(N- + 2) for a 0, so a separable set stays finite.
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (n - positives + 2);
  const x = Float64Array.from({ length: n }, (_, i) => logit(scores[i] as number));
  const t = Float64Array.from({ length: n }, (_, i) => ((y[i] as number) === 1 ? hi : lo));
  let a = 1;
  let b = 0;
  let previous = Number.POSITIVE_INFINITY;
  for (let iteration = 0; iteration < 100; iteration++) {
    let gA = 0;
    let gB = 0;
    let hAA = 0;
    let hAB = 0;
    let hBB = 0;
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i] as number;
      const z = a * xi + b;
      const p = sigmoid(z);
      const ti = t[i] as number;
      loss += z > 0 ? (1 - ti) * z + log(1 + exp(-z)) : -ti * z + log(1 + exp(z));
      const r = p - ti;
      const w = p * (1 - p);
      gA += r * xi;
      gB += r;
      hAA += w * xi * xi;
      hAB += w * xi;
      hBB += w;
    }
    const det = (hAA + 1e-12) * (hBB + 1e-12) - hAB * hAB;
    if (!(det > 0)) break;
    const dA = ((hBB + 1e-12) * gA - hAB * gB) / det;
    const dB = ((hAA + 1e-12) * gB - hAB * gA) / det;
    a -= dA;
    b -= dB;
    if (abs(previous - loss) < 1e-12 * (1 + abs(loss)) && abs(dA) + abs(dB) < 1e-10) break;
    previous = loss;
  }
  // A slope at or below 0 (scores that rank buyers no better than chance, or worse) would flatten or
  // reverse the ranking: no scaling then.
  return a > 0 && Number.isFinite(a) && Number.isFinite(b) ? { a, b } : { a: 1, b: 0 };
}

/** A score through Platt scaling. */
export const calibrate = (score: number, platt: Platt): number => sigmoid(platt.a * logit(score) + platt.b);

/**
 * A fitted model whose scores come out Platt-scaled: a logistic regression's log-odds are its
 * linear score, so the map folds into its intercept and weights; a tree's node scores are mapped.
 * The model then scores, describes and saves as any other.
 */
export function calibratedModel(model: FittedModel, platt: Platt): FittedModel {
  if (model.kind === 'logistic') {
    return {
      ...model,
      intercept: platt.a * model.intercept + platt.b,
      standardizedIntercept: platt.a * model.standardizedIntercept + platt.b,
      weights: model.weights.map((w) => ({ ...w, weight: platt.a * w.weight, standardized: platt.a * w.standardized })),
    };
  }
  const node = (n: TreeNode): TreeNode => ({ ...n, score: calibrate(n.score, platt), ...(n.split ? { split: { ...n.split, children: n.split.children.map(node) } } : {}) });
  return { ...model, root: node(model.root) };
}
