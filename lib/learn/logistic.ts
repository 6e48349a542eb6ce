/**
 * L2-regularised logistic regression, the propensity model the decision function scores with
 * (lib/decision/model.ts): one intercept and one weight per numeric feature or categorical level.
 *
 * The fit minimises, like scikit-learn's `LogisticRegression(C)` on standardised inputs,
 *
 *     sum_i logloss(y_i, b + w·x_i)  +  ||w||² / (2C)
 *
 * - Numeric columns are standardised with the training mean and (population) standard deviation,
 *   so that one C penalises every feature alike; a constant column carries no information and gets
 *   no weight.
 * - A categorical column becomes one 0/1 indicator per level, all levels kept (no reference level
 *   dropped): the L2 penalty makes the fit unique and treats every level alike instead of making
 *   one level the baseline. Indicators are not rescaled. A level training never saw scores 0.
 * - The intercept is not penalised.
 * - Fitted by Newton's method (iteratively reweighted least squares) with a backtracking line
 *   search, from a start at the base rate: deterministic, and converged when the Newton decrement
 *   (the decrease a further step would bring) falls below `tolerance`.
 *
 * The fitted weights are given back on the original scale (per unit of the column as it is in the
 * file), which is what the model artifact holds, and on the standardised scale, to compare with
 * other tools.
 */
import type { Features } from './csv';

export interface LogisticOptions {
  /** Inverse regularisation strength, as scikit-learn's C. Default 1. */
  C?: number;
  /** Newton iterations at most. Default 100. */
  maxIterations?: number;
  /** Stop when the Newton decrement λ²/2 is below this. Default 1e-10. */
  tolerance?: number;
}

/** A weight per unit of a numeric column, or for the rows where a categorical column takes `level`. */
export interface LogisticWeight {
  column: string;
  level?: string;
  weight: number;
  /** The weight per standard deviation of the column (equal to `weight` for a level). */
  standardized: number;
}

/** A fitted model: plain data (JSON), scored with `predictProba`. */
export interface LogisticModel {
  kind: 'logistic';
  C: number;
  /** On the original scale: the log-odds where every numeric feature is 0 and no level matches. */
  intercept: number;
  /** The intercept of the standardised fit (log-odds at the training means, no level matching). */
  standardizedIntercept: number;
  weights: LogisticWeight[];
  iterations: number;
  converged: boolean;
}

/** One input of the design matrix: a numeric column standardised, or a level's 0/1 indicator. */
interface Term {
  column: number;
  level?: number;
  center: number;
  scale: number;
}

/** Rows × (1 + terms), row-major; input 0 is the intercept's constant 1. */
interface Design {
  n: number;
  p: number;
  x: Float64Array;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
/** log(1 + e^z) without overflow. */
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

function learnTerms(data: Features): Term[] {
  const terms: Term[] = [];
  data.columns.forEach((c, column) => {
    if (c.type === 'categorical') {
      c.levels.forEach((_, level) => terms.push({ column, level, center: 0, scale: 1 }));
      return;
    }
    let mean = 0;
    for (const v of c.values) mean += v;
    mean /= data.rows;
    let variance = 0;
    for (const v of c.values) variance += (v - mean) ** 2;
    const scale = Math.sqrt(variance / data.rows);
    if (scale > 1e-12 * Math.max(1, Math.abs(mean))) terms.push({ column, center: mean, scale });
  });
  return terms;
}

function designMatrix(data: Features, terms: Term[]): Design {
  const n = data.rows;
  const p = terms.length + 1;
  const x = new Float64Array(n * p);
  for (let i = 0; i < n; i++) x[i * p] = 1;
  terms.forEach((t, j) => {
    const c = data.columns[t.column];
    for (let i = 0; i < n; i++) {
      x[i * p + j + 1] = c?.type === 'numeric' ? ((c.values[i] as number) - t.center) / t.scale : c?.codes[i] === t.level ? 1 : 0;
    }
  });
  return { n, p, x };
}

function linearPredictor(d: Design, beta: Float64Array): Float64Array {
  const eta = new Float64Array(d.n);
  for (let i = 0; i < d.n; i++) {
    let z = 0;
    for (let j = 0, o = i * d.p; j < d.p; j++) z += (d.x[o + j] as number) * (beta[j] as number);
    eta[i] = z;
  }
  return eta;
}

/** The penalised objective: summed log-loss plus ||w||²/(2C), the intercept (beta[0]) unpenalised. */
function objective(d: Design, y: Uint8Array, beta: Float64Array, C: number): number {
  const eta = linearPredictor(d, beta);
  let loss = 0;
  for (let i = 0; i < d.n; i++) loss += softplus(eta[i] as number) - (y[i] as number) * (eta[i] as number);
  let penalty = 0;
  for (let j = 1; j < d.p; j++) penalty += (beta[j] as number) ** 2;
  return loss + penalty / (2 * C);
}

/** Gradient and Hessian (lower triangle filled, then mirrored) of the objective at beta. */
function gradientAndHessian(d: Design, y: Uint8Array, beta: Float64Array, C: number): { g: Float64Array; h: Float64Array } {
  const { n, p, x } = d;
  const g = new Float64Array(p);
  const h = new Float64Array(p * p);
  const eta = linearPredictor(d, beta);
  for (let i = 0; i < n; i++) {
    const mu = sigmoid(eta[i] as number);
    const r = mu - (y[i] as number);
    const w = mu * (1 - mu);
    const o = i * p;
    for (let j = 0; j < p; j++) {
      const xj = x[o + j] as number;
      if (xj === 0) continue;
      g[j] = (g[j] as number) + r * xj;
      const wx = w * xj;
      for (let k = 0; k <= j; k++) h[j * p + k] = (h[j * p + k] as number) + wx * (x[o + k] as number);
    }
  }
  for (let j = 1; j < p; j++) {
    g[j] = (g[j] as number) + (beta[j] as number) / C;
    h[j * p + j] = (h[j * p + j] as number) + 1 / C;
  }
  for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) h[k * p + j] = h[j * p + k] as number;
  return { g, h };
}

/** Solves A s = b for a symmetric positive definite A (p × p) by Cholesky; A is overwritten. */
export function choleskySolve(a: Float64Array, b: Float64Array, p: number): Float64Array {
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j] as number;
    for (let k = 0; k < j; k++) d -= (a[j * p + k] as number) ** 2;
    if (!(d > 0)) throw new Error(`the matrix is not positive definite (pivot ${j})`);
    const l = Math.sqrt(d);
    a[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j] as number;
      for (let k = 0; k < j; k++) s -= (a[i * p + k] as number) * (a[j * p + k] as number);
      a[i * p + j] = s / l;
    }
  }
  const z = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (a[i * p + k] as number) * (z[k] as number);
    z[i] = s / (a[i * p + i] as number);
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < p; k++) s -= (a[k * p + i] as number) * (z[k] as number);
    z[i] = s / (a[i * p + i] as number);
  }
  return z;
}

/** Halves the Newton step until the objective decreases enough (Armijo); returns the new point. */
function lineSearch(d: Design, y: Uint8Array, beta: Float64Array, step: Float64Array, slope: number, current: number, C: number) {
  for (let t = 1, tries = 0; tries < 40; t /= 2, tries++) {
    const next = beta.map((b, j) => b - t * (step[j] as number));
    const value = objective(d, y, next, C);
    if (value <= current - 1e-4 * t * slope) return { beta: next, value };
  }
  return { beta, value: current };
}

/** Newton iterations from the base rate until the decrement is below tolerance. */
function newton(d: Design, y: Uint8Array, C: number, maxIterations: number, tolerance: number) {
  let beta: Float64Array = new Float64Array(d.p);
  const rate = y.reduce((s, v) => s + v, 0) / d.n;
  beta[0] = Math.log(rate / (1 - rate));
  let value = objective(d, y, beta, C);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const { g, h } = gradientAndHessian(d, y, beta, C);
    const step = choleskySolve(h, g, d.p);
    const decrement = g.reduce((s, gj, j) => s + gj * (step[j] as number), 0);
    // So close that the full step is safe; it brings the error down quadratically once more.
    if (decrement / 2 < tolerance) return { beta: beta.map((b, j) => b - (step[j] as number)), iterations: iteration, converged: true };
    ({ beta, value } = lineSearch(d, y, beta, step, decrement, value, C));
  }
  return { beta, iterations: maxIterations, converged: false };
}

/** Fits the model to predictors and 0/1 outcomes (both classes present). */
export function fitLogistic(data: Features, y: Uint8Array, options: LogisticOptions = {}): LogisticModel {
  const C = options.C ?? 1;
  if (!(C > 0)) throw new RangeError(`C must be positive, not ${C}`);
  const terms = learnTerms(data);
  const design = designMatrix(data, terms);
  const fit = newton(design, y, C, options.maxIterations ?? 100, options.tolerance ?? 1e-10);
  return { kind: 'logistic', C, ...originalScale(data, terms, fit.beta), iterations: fit.iterations, converged: fit.converged };
}

/** Maps standardised weights back to the columns as they are in the file. */
function originalScale(data: Features, terms: Term[], beta: Float64Array) {
  let intercept = beta[0] as number;
  const weights = terms.map((t, j): LogisticWeight => {
    const c = data.columns[t.column];
    const standardized = beta[j + 1] as number;
    if (c?.type === 'categorical') return { column: c.name, level: c.levels[t.level as number] as string, weight: standardized, standardized };
    intercept -= (standardized * t.center) / t.scale;
    return { column: c?.name ?? '', weight: standardized / t.scale, standardized };
  });
  return { intercept, standardizedIntercept: beta[0] as number, weights };
}

/** The probability of a 1 for each row. Columns are found by name; a missing column is an error. */
export function predictProba(model: LogisticModel, data: Features): Float64Array {
  const z = new Float64Array(data.rows).fill(model.intercept);
  const byName = new Map(data.columns.map((c) => [c.name, c]));
  for (const w of model.weights) {
    const c = byName.get(w.column);
    if (!c) throw new Error(`no column "${w.column}" to score the model with`);
    if ((c.type === 'categorical') !== (w.level !== undefined)) throw new Error(`column "${w.column}" is ${c.type} here but was not when the model was fitted`);
    if (c.type === 'numeric') for (let i = 0; i < data.rows; i++) z[i] = (z[i] as number) + w.weight * (c.values[i] as number);
    else {
      const level = c.levels.indexOf(w.level as string);
      for (let i = 0; i < data.rows; i++) if (level >= 0 && c.codes[i] === level) z[i] = (z[i] as number) + w.weight;
    }
  }
  return z.map(sigmoid);
}
