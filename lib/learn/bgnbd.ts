/**
 * The BG/NBD model of how many purchases a customer makes when she can stop buying without telling
 * us (Fader, Hardie and Lee 2005, "'Counting Your Customers' the Easy Way: An Alternative to the
 * Pareto/NBD Model", Marketing Science 24(2); the likelihood as in Hardie's note 004): while she is
 * active she buys as a Poisson process of rate λ, and after each repeat purchase she stops for good
 * with probability p; λ varies across customers as Gamma(r, α) and p as Beta(a, b). What a customer
 * shows is her repeat purchases (frequency x), the time of her last one since her first (recency
 * t_x) and the time since her first (T), all in one time unit (the caller's: weeks on CDNOW, days in
 * the nightly job). The four parameters are fitted by maximum likelihood; her expected purchases in a
 * future period and the chance she is still active follow in closed form.
 *
 * Checked on the CDNOW sample against the paper's published parameters
 * (test/unit/learn-clv.test.ts, bench/value.ts).
 */
import { minimize, type MinimizeOptions } from './optimize';

/** Held as constants: the fit's loops call them millions of times, and a global's lookup is slow under a VM context (jest). */
const { log, exp, log1p, max, abs } = Math;

/** A customer's purchase history, in one time unit. */
export interface PurchaseSummary {
  /** Repeat purchases: every purchase after her first (a whole number). */
  frequency: number;
  /** The time of her last purchase since her first (0 without a repeat purchase). */
  recency: number;
  /** The time since her first purchase, up to the end of the observation. */
  T: number;
}

/** Purchase rates are Gamma(r, α) (α in the time unit), drop-out probabilities Beta(a, b). */
export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface BgNbdFit {
  params: BgNbdParams;
  /** The log-likelihood at the parameters, summed over the customers. */
  logLikelihood: number;
  customers: number;
  evaluations: number;
  converged: boolean;
}

/** Rejects histories the model cannot read: a non-whole frequency, a recency after T, a negative time. */
function checked(customers: readonly PurchaseSummary[]): PurchaseSummary[] {
  for (const [i, c] of customers.entries()) {
    if (!(Number.isInteger(c.frequency) && c.frequency >= 0)) throw new RangeError(`customer ${i}: frequency must be a whole number of repeat purchases, not ${c.frequency}`);
    if (!(c.recency >= 0 && c.T >= c.recency && Number.isFinite(c.T))) throw new RangeError(`customer ${i}: recency and T must satisfy 0 <= recency <= T, not ${c.recency}, ${c.T}`);
    if (c.frequency === 0 && c.recency !== 0) throw new RangeError(`customer ${i}: recency must be 0 without a repeat purchase, not ${c.recency}`);
  }
  return [...customers];
}

/**
 * The log-likelihood of the parameters, summed over the customers (the paper's equation 6 on the log
 * scale). The Gamma-function ratios of a whole frequency x are sums of x logarithms, computed once
 * per distinct x.
 */
export function bgNbdLogLikelihood(params: BgNbdParams, customers: readonly PurchaseSummary[]): number {
  return logLikelihoodOf(columns(checked(customers)))(params);
}

interface Columns {
  x: Int32Array;
  tx: Float64Array;
  T: Float64Array;
  maxX: number;
}

function columns(customers: readonly PurchaseSummary[]): Columns {
  const n = customers.length;
  const out: Columns = { x: new Int32Array(n), tx: new Float64Array(n), T: new Float64Array(n), maxX: 0 };
  for (let i = 0; i < n; i++) {
    const c = customers[i] as PurchaseSummary;
    out.x[i] = c.frequency;
    out.tx[i] = c.recency;
    out.T[i] = c.T;
    out.maxX = max(out.maxX, c.frequency);
  }
  return out;
}

function logLikelihoodOf({ x, tx, T, maxX }: Columns): (p: BgNbdParams) => number {
  // ln Γ(r+x)/Γ(r) + r ln α + ln B(a, b+x)/B(a, b), for every x up to the largest.
  const head = new Float64Array(maxX + 1);
  return ({ r, alpha, a, b }) => {
    if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) return Number.NEGATIVE_INFINITY;
    head[0] = r * log(alpha);
    for (let k = 0; k < maxX; k++) head[k + 1] = (head[k] as number) + log(r + k) + log(b + k) - log(a + b + k);
    const logA = log(a);
    let sum = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] as number;
      const rx = r + xi;
      const alive = -rx * log(alpha + (T[i] as number));
      let term = alive;
      if (xi > 0) {
        const dropped = logA - log(b + xi - 1) - rx * log(alpha + (tx[i] as number));
        const top = max(alive, dropped);
        term = top + log(exp(alive - top) + exp(dropped - top));
      }
      sum += (head[xi] as number) + term;
    }
    return sum;
  };
}

/** Parameters searched on the log scale, each within e^±20 (a likelihood running off to a bound says the data cannot place it). */
const BOUND = 20;

/**
 * The maximum-likelihood parameters for the customers' histories. The search starts from r = 1,
 * a = b = 1 and α at the customers' average T over their average purchases (so the starting rate is
 * the observed one, whatever the time unit).
 */
export function fitBgNbd(customers: readonly PurchaseSummary[], options: MinimizeOptions = {}): BgNbdFit {
  const data = columns(checked(customers));
  const n = data.x.length;
  if (n === 0) throw new RangeError('BG/NBD needs at least one customer');
  const ll = logLikelihoodOf(data);
  let meanT = 0;
  let meanX = 0;
  for (let i = 0; i < n; i++) {
    meanT += (data.T[i] as number) / n;
    meanX += (data.x[i] as number) / n;
  }
  const unpack = (z: readonly number[]): BgNbdParams => ({ r: exp(z[0] as number), alpha: exp(z[1] as number), a: exp(z[2] as number), b: exp(z[3] as number) });
  // The mean log-likelihood, so the tolerances do not depend on the number of customers.
  const objective = (z: readonly number[]) => (z.some((v) => abs(v) > BOUND) ? Number.POSITIVE_INFINITY : -ll(unpack(z)) / n);
  const start = [0, log(max(meanT, 1e-6) / max(meanX, 0.1)), 0, 0];
  const found = minimize(objective, start, { maxEvaluations: 5_000, ...options });
  const params = unpack(found.x);
  return { params, logLikelihood: ll(params), customers: n, evaluations: found.evaluations, converged: found.converged };
}

/**
 * The chance she is still active at the end of her history: 1 without a repeat purchase (in the
 * BG/NBD a customer can only drop out right after a purchase), less the longer she has been silent
 * since her last one for someone of her frequency.
 */
export function probabilityAlive(params: BgNbdParams, c: PurchaseSummary): number {
  return 1 / (1 + exp(logDeadOdds(params, c)));
}

/** ln of (chance she dropped out after her last purchase) over (chance she is active), or -Infinity without a repeat purchase. */
function logDeadOdds({ r, alpha, a, b }: BgNbdParams, c: PurchaseSummary): number {
  if (c.frequency === 0) return Number.NEGATIVE_INFINITY;
  return log(a) - log(b + c.frequency - 1) + (r + c.frequency) * (log(alpha + c.T) - log(alpha + c.recency));
}

/**
 * Her expected number of purchases in the next `t` time units, given her history (the paper's
 * equation 10). A customer seen only at her first purchase, just now ({0, 0, 0}), gives the
 * population's E[X(t)] for a new customer. Throws a RangeError where the parameters or the history
 * give no finite expectation: a non-finite value is an error, never a value.
 *
 * Evaluated as a sum of terms of one sign (positive where a + b + x > 1), so nothing cancels: with
 * k = r + x, z = t / (α + T + t) and c = a + b + x - 1, the paper's
 * c/(a-1) (1 - (1-z)^k 2F1(k, b+x; c; z)) equals c Σ_n P(N = n) D_n, where N is negative binomial
 * (k, z) (the expansion of 1 = (1-z)^k (1-z)^-k) and D_n = (1 - (b+x)_n/(c)_n)/(a-1) =
 * Σ_{j<n} (b+x)_j / ((c)_j (c+j)) (the divided difference of the rising factorial; no division by
 * a - 1, so a = 1 is no singularity). The probabilities never exceed 1 (the Euler-transformed series
 * used before grew to about (1-z)^-(a-1) and overflowed past a ≈ 200), and the first ones are
 * carried on the log scale where (1-z)^k underflows (a frequent buyer). As a and b grow with
 * a/(a+b) = p fixed, D_n tends to (1 - (1-p)^n)/(p c), and the sum to (1 - (1 + p t/(α+T))^-k)/p:
 * the expectation of a population with one drop-out chance p, reached without a special case.
 */
export function expectedPurchases(params: BgNbdParams, c: PurchaseSummary, t: number): number {
  const { r, alpha, a, b } = params;
  if (!(r > 0 && alpha > 0 && a > 0 && b > 0 && r < Infinity && alpha < Infinity && a < Infinity && b < Infinity)) throw new RangeError(`BG/NBD parameters must be positive and finite, not r ${r}, α ${alpha}, a ${a}, b ${b}`);
  if (!(c.frequency >= 0 && c.recency >= 0 && c.T >= c.recency && c.T < Infinity)) throw new RangeError(`a history must satisfy 0 <= recency <= T, frequency >= 0, not ${c.frequency}, ${c.recency}, ${c.T}`);
  if (!(t > 0)) {
    if (Number.isNaN(t)) throw new RangeError('the period ahead must be a number of time units, not NaN');
    return 0;
  }
  const x = c.frequency;
  const k = r + x;
  const z = t / (alpha + c.T + t);
  const sum = negativeBinomialMean(k, z, b + x, a + b + x - 1);
  const expected = ((a + b + x - 1) * sum) / (1 + exp(logDeadOdds(params, c)));
  if (!Number.isFinite(expected)) throw new RangeError(`BG/NBD gives no finite expectation for r ${r}, α ${alpha}, a ${a}, b ${b}, x ${x}, t_x ${c.recency}, T ${c.T}, t ${t}`);
  return max(0, expected);
}

/** exp(v) is 0 in doubles below this: terms are carried on the log scale until they rise above it. */
const LOG_TINY = -700;

/**
 * Σ_n P(N = n) D_n for N negative binomial (k, z) (P(N = n) = (1-z)^k (k)_n z^n / n!) and
 * D_n = Σ_{j<n} (B)_j / ((C)_j (C+j)), summed until the terms no longer count.
 */
function negativeBinomialMean(k: number, z: number, B: number, C: number): number {
  // P(N = n), on the log scale while it would underflow (only at the start: once above, it is carried as is).
  let logP = k * log1p(-z);
  let onLogScale = logP <= LOG_TINY;
  let prob = onLogScale ? 0 : exp(logP);
  let ratioBC = 1; // (B)_n / (C)_n
  let D = 0;
  let sum = 0;
  for (let n = 0; n < MAX_TERMS; n++) {
    // From n to n + 1.
    D += ratioBC / (C + n);
    ratioBC *= (B + n) / (C + n);
    const step = ((k + n) * z) / (n + 1);
    if (onLogScale) {
      logP += log(step);
      onLogScale = logP <= LOG_TINY;
      if (!onLogScale) prob = exp(logP);
    } else prob *= step;
    const term = prob * D;
    sum += term;
    // Done past the mode once the terms are negligible (the rest is then about term / (1 - step), D growing slower than the terms fall).
    if (step < 1 && prob > 0 && abs(term) <= 1e-17 * (1 - step) * abs(sum)) return sum;
  }
  throw new RangeError(`the expected purchases' series did not settle in ${MAX_TERMS} terms (t is some 10^4 times α + T)`);
}

/** Terms at most in a series: reached only when t is some 10^4 times α + T. */
const MAX_TERMS = 1_000_000;

/**
 * The Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1 by its series (the paper's
 * equation 10 in its plain form; exported to check the stable form against it).
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`2F1 is summed here for 0 <= z < 1, not ${z}`);
  let term = 1;
  let sum = 1;
  for (let n = 0; n < MAX_TERMS; n++) {
    const ratio = (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    term *= ratio;
    sum += term;
    if (abs(term) <= 1e-16 * (1 - abs(ratio)) * abs(sum) && abs(ratio) < 1) return sum;
  }
  return sum;
}
