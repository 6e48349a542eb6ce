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
 *   search, from zero as scikit-learn's `newton-cholesky` starts: deterministic, and converged when
 *   the Newton decrement (the decrease a further step would bring) falls below `tolerance`. The
 *   Hessian X'WX is most of the time; linalg.ts computes it in blocks, in WebAssembly SIMD. On
 *   CoIL 2000 a fit takes about as long as scikit-learn's reaching the same coefficients, 1.7
 *   times as long as its default tolerance, which stops 5 iterations earlier (`npm run bench:logistic`).
 *
 * The fitted weights are given back on the original scale (per unit of the column as it is in the
 * file), which is what the model artifact holds, and on the standardised scale, to compare with
 * other tools.
 */
import type { Column, Features } from './csv';
import { blockedMatrix, choleskySolve, multiply, multiplyTransposed, setColumn, weightedGram, type BlockedMatrix } from './linalg';

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

const { abs, exp, log1p } = Math; // module-level: a global's lookup in a hot loop is slow under jest's VM context

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)));

function learnTerms(data: Features): Term[] {
  const terms: Term[] = [];
  data.columns.forEach((c, column) => {
    if (c.type === 'categorical') {
      c.levels.forEach((_, level) => terms.push({ column, level, center: 0, scale: 1 }));
      return;
    }
    const values = c.values;
    let mean = 0;
    for (let i = 0; i < data.rows; i++) mean += values[i] as number;
    mean /= data.rows;
    let variance = 0;
    for (let i = 0; i < data.rows; i++) {
      const d = (values[i] as number) - mean;
      variance += d * d;
    }
    const scale = Math.sqrt(variance / data.rows);
    if (scale > 1e-12 * Math.max(1, Math.abs(mean))) terms.push({ column, center: mean, scale });
  });
  return terms;
}

/** Rows × (1 + terms); input 0 is the intercept's constant 1. */
function designMatrix(data: Features, terms: Term[]): BlockedMatrix {
  const n = data.rows;
  const x = blockedMatrix(n, terms.length + 1);
  const values = new Float64Array(n);
  setColumn(x, 0, values.fill(1));
  terms.forEach((t, j) => {
    const c = data.columns[t.column] as Column;
    const { center, scale, level } = t;
    if (c.type === 'numeric') {
      const column = c.values;
      for (let i = 0; i < n; i++) values[i] = ((column[i] as number) - center) / scale;
    } else {
      const codes = c.codes;
      for (let i = 0; i < n; i++) values[i] = codes[i] === level ? 1 : 0;
    }
    setColumn(x, j + 1, values);
  });
  return x;
}

/**
 * The penalised objective where X beta = eta: summed log-loss plus ||w||²/(2C), the intercept
 * (beta[0]) unpenalised. The log-loss is softplus(z) - y z, softplus(z) = log(1 + e^z) computed as
 * max(z, 0) + log(1 + e^-|z|) so that it cannot overflow; e^-|z| is kept in `decay` for the sigmoid
 * at the same point (one exponential per row and point).
 */
function objective(eta: Float64Array, y: Uint8Array, beta: Float64Array, C: number, decay: Float64Array): number {
  let loss = 0;
  for (let i = 0; i < eta.length; i++) {
    const z = eta[i] as number;
    const e = exp(-abs(z));
    decay[i] = e;
    loss += (z > 0 ? z + log1p(e) : log1p(e)) - (y[i] as number) * z;
  }
  let penalty = 0;
  for (let j = 1; j < beta.length; j++) penalty += (beta[j] as number) ** 2;
  return loss + penalty / (2 * C);
}

/** What the Newton iterations work in, allocated once per fit. */
function workspace(x: BlockedMatrix) {
  const { rows: n, columns: p } = x;
  return {
    /** X beta at the current point. */
    eta: new Float64Array(n),
    /** e^-|X beta| at the current point (see objective). */
    decay: new Float64Array(n),
    /** X beta and e^-|X beta| at the point the line search tries. */
    trialEta: new Float64Array(n),
    trialDecay: new Float64Array(n),
    trialBeta: new Float64Array(p),
    /** mu - y for the gradient, then X step for the line search. */
    residual: new Float64Array(n),
    weight: new Float64Array(n),
    gradient: new Float64Array(p),
    hessian: new Float64Array(p * p),
    step: new Float64Array(p),
  };
}
type Workspace = ReturnType<typeof workspace>;

/** Gradient and Hessian of the objective at beta (where X beta = ws.eta), into ws.gradient and ws.hessian. */
function gradientAndHessian(x: BlockedMatrix, y: Uint8Array, beta: Float64Array, C: number, ws: Workspace): void {
  const { eta, decay, residual, weight, gradient: g, hessian: h } = ws;
  for (let i = 0; i < x.rows; i++) {
    // The sigmoid without overflow: 1 / (1 + e^-z) for z >= 0, e^z / (1 + e^z) below.
    const e = decay[i] as number;
    const mu = (eta[i] as number) >= 0 ? 1 / (1 + e) : e / (1 + e);
    residual[i] = mu - (y[i] as number);
    weight[i] = mu * (1 - mu);
  }
  multiplyTransposed(x, residual, g);
  weightedGram(x, weight, h);
  const p = x.columns;
  for (let j = 1; j < p; j++) {
    g[j] = (g[j] as number) + (beta[j] as number) / C;
    h[j * p + j] = (h[j * p + j] as number) + 1 / C;
  }
}

/**
 * Halves the Newton step until the objective decreases enough (Armijo). The trial points' linear
 * predictors are eta - t X step, X step computed once (as scikit-learn does). On success beta and
 * ws.eta move to the new point; returns the objective there.
 */
function lineSearch(x: BlockedMatrix, y: Uint8Array, beta: Float64Array, slope: number, current: number, C: number, ws: Workspace): number {
  const { eta, decay, trialEta, trialDecay, trialBeta, step } = ws;
  const direction = multiply(x, step, ws.residual);
  for (let t = 1, tries = 0; tries < 40; t /= 2, tries++) {
    for (let j = 0; j < beta.length; j++) trialBeta[j] = (beta[j] as number) - t * (step[j] as number);
    for (let i = 0; i < eta.length; i++) trialEta[i] = (eta[i] as number) - t * (direction[i] as number);
    const value = objective(trialEta, y, trialBeta, C, trialDecay);
    if (value <= current - 1e-4 * t * slope) {
      beta.set(trialBeta);
      eta.set(trialEta);
      decay.set(trialDecay);
      return value;
    }
  }
  return current;
}

/**
 * Newton iterations from zero, as scikit-learn starts (from the base rate's intercept, CoIL took 18
 * iterations instead of 11), until the decrement is below tolerance.
 */
function newton(x: BlockedMatrix, y: Uint8Array, C: number, maxIterations: number, tolerance: number) {
  const ws = workspace(x);
  const p = x.columns;
  const beta = new Float64Array(p);
  let value = objective(ws.eta, y, beta, C, ws.decay);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    gradientAndHessian(x, y, beta, C, ws);
    const step = choleskySolve(ws.hessian, ws.gradient, p, ws.step);
    let decrement = 0;
    for (let j = 0; j < p; j++) decrement += (ws.gradient[j] as number) * (step[j] as number);
    if (decrement / 2 < tolerance) {
      // So close that the full step is safe; it brings the error down quadratically once more.
      for (let j = 0; j < p; j++) beta[j] = (beta[j] as number) - (step[j] as number);
      return { beta, iterations: iteration, converged: true };
    }
    value = lineSearch(x, y, beta, decrement, value, C, ws);
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
