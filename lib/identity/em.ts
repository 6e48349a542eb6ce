/**
 * Fellegi-Sunter m and u estimated from the candidate pairs themselves, by EM (issue 27: weights
 * estimated from the data, not set by hand). Pure: vectors in, estimates out; no I/O, no clock, no
 * randomness, so a bench, a nightly job or a test can fit the same pairs and get the same numbers.
 *
 * The model (Fellegi and Sunter 1969; Winkler 1988; Jaro 1989, who fitted it by EM): each candidate
 * pair is one person's with probability lambda, and the comparisons are independent given the class,
 * with P(level | one person) = m and P(level | two people) = u per field and level. Nobody labels the
 * pairs, so EM alternates between the posterior that each pair is a match (E-step) and the lambda, m
 * and u that those posteriors count (M-step). A missing field (-1) says nothing about the pair: it is
 * left out of that pair's likelihood and of that field's counts.
 *
 * Choices, and why:
 * - Pseudo-counts: every level gets `smoothing` (default 0.5, Jeffreys-like) extra pairs in each class,
 *   so no m or u is 0 (a level no pair shows would otherwise weigh infinite bits). This makes EM a
 *   maximum a posteriori fit; what it never decreases is the log-likelihood plus `smoothing` times the
 *   log of each estimated m and u (`objective`). lambda gets none: it is learnt from every pair.
 * - Identical vectors are counted once with their number: candidate pairs have a few hundred distinct
 *   vectors, so an iteration costs that, not the number of pairs (100k pairs fit in milliseconds).
 * - Convergence: the iteration whose objective changed by less than `tolerance` per pair.
 * - The two classes of a mixture are interchangeable; the one whose levels are higher on average
 *   (levels run from disagreement to agreement) is labelled the matches, swapping m and u if needed.
 *   With `fixedU` the fixed u anchors the labelling and nothing is swapped.
 */

/** The parameters of the two-class model: lambda = P(one person), m[field][level], u[field][level]. */
export interface FellegiSunterParameters {
  lambda: number;
  m: number[][];
  u: number[][];
}

export interface FellegiSunterOptions {
  /** Most EM iterations (M-steps); default 200. */
  iterations?: number;
  /** Converged when an iteration changes the objective by less than this per pair; default 1e-8. */
  tolerance?: number;
  /** Pseudo-count per level and class; default 0.5. */
  smoothing?: number;
  /**
   * Where EM starts. By default lambda 0.1, m rising with the level (proportional to 2^level) and u
   * falling: the matches start as the class that agrees more.
   */
  initial?: FellegiSunterParameters;
  /** Fields whose u stays at `initial`'s (known from elsewhere, such as a field's frequency among all profiles); needs `initial`. */
  fixedU?: boolean[];
}

export interface FellegiSunterFit extends FellegiSunterParameters {
  /** M-steps made. */
  iterations: number;
  /** Log-likelihood (natural log) of the pairs at the returned parameters. */
  logLikelihood: number;
  /** The objective at the start and after each M-step (iterations + 1 values): never decreasing. */
  objective: number[];
  /** Whether the tolerance was reached before `iterations` ran out. */
  converged: boolean;
}

/** The fitted weights: log2(m/u) per field and level, in bits (positive: evidence for one person). */
export function weightsOf(m: readonly (readonly number[])[], u: readonly (readonly number[])[]): number[][] {
  if (m.length !== u.length) throw new RangeError(`m has ${m.length} fields, u has ${u.length}`);
  return m.map((row, f) => {
    const other = u[f] as readonly number[];
    if (row.length !== other.length) throw new RangeError(`field ${f}: m has ${row.length} levels, u has ${other.length}`);
    return row.map((x, l) => Math.log2(x / (other[l] as number)));
  });
}

/** Distinct vectors, flattened, with how many pairs have each. */
interface Patterns {
  levels: Int8Array;
  counts: Float64Array;
  size: number;
  pairs: number;
}

function groupVectors(vectors: ReadonlyArray<Int8Array | readonly number[]>, levels: readonly number[]): Patterns {
  const fields = levels.length;
  const index = new Map<string, number>();
  const rows: number[] = [];
  const counts: number[] = [];
  const codes = new Array<number>(fields);
  vectors.forEach((v, i) => {
    if (v.length !== fields) throw new RangeError(`pair ${i} has ${v.length} fields, not ${fields}`);
    for (let f = 0; f < fields; f++) {
      const x = v[f] as number;
      const n = levels[f] as number;
      if (!Number.isInteger(x) || x < -1 || x >= n) throw new RangeError(`pair ${i}, field ${f}: level ${x} is not -1 (missing) or 0 to ${n - 1}`);
      codes[f] = x + 1;
    }
    const key = String.fromCharCode(...codes);
    const at = index.get(key);
    if (at !== undefined) counts[at] = (counts[at] as number) + 1;
    else {
      index.set(key, counts.length);
      counts.push(1);
      for (let f = 0; f < fields; f++) rows.push(v[f] as number);
    }
  });
  return { levels: Int8Array.from(rows), counts: Float64Array.from(counts), size: counts.length, pairs: vectors.length };
}

function checkInitial(p: FellegiSunterParameters, levels: readonly number[]): void {
  if (!(p.lambda > 0 && p.lambda < 1)) throw new RangeError(`initial lambda ${p.lambda} is not strictly between 0 and 1`);
  for (const [name, table] of [['m', p.m], ['u', p.u]] as const) {
    if (table.length !== levels.length) throw new RangeError(`initial ${name} has ${table.length} fields, not ${levels.length}`);
    table.forEach((row, f) => {
      if (row.length !== levels[f]) throw new RangeError(`initial ${name} of field ${f} has ${row.length} levels, not ${levels[f]}`);
      if (row.some((x) => !(x > 0 && x < 1)) && row.length > 1) throw new RangeError(`initial ${name} of field ${f} has a probability not strictly between 0 and 1`);
      const sum = row.reduce((s, x) => s + x, 0);
      if (Math.abs(sum - 1) > 1e-6) throw new RangeError(`initial ${name} of field ${f} sums to ${sum}, not 1`);
    });
  }
}

/** The default start: matches agree more (m proportional to 2^level), non-matches less (u to 2^-level). */
function defaultStart(levels: readonly number[]): FellegiSunterParameters {
  const norm = (xs: number[]) => xs.map((x) => x / xs.reduce((s, y) => s + y, 0));
  return {
    lambda: 0.1,
    m: levels.map((n) => norm(Array.from({ length: n }, (_, l) => 2 ** l))),
    u: levels.map((n) => norm(Array.from({ length: n }, (_, l) => 2 ** -l))),
  };
}

/** How much a class agrees: the mean level, as a share of the top level, summed over fields. */
const agreement = (table: number[][]): number =>
  table.reduce((s, row) => s + (row.length < 2 ? 0 : row.reduce((t, p, l) => t + (p * l) / (row.length - 1), 0)), 0);

/**
 * Fits lambda, m and u to the comparison vectors of the candidate pairs (one vector per pair: per
 * field its level, or -1 when missing; `levels` the number of levels of each field). See the module's
 * comment for the model and the choices.
 */
export function estimateFellegiSunter(
  vectors: ReadonlyArray<Int8Array | readonly number[]>,
  levels: readonly number[],
  options: FellegiSunterOptions = {},
): FellegiSunterFit {
  const { iterations = 200, tolerance = 1e-8, smoothing = 0.5, fixedU = [] } = options;
  levels.forEach((n, f) => {
    if (!Number.isInteger(n) || n < 1 || n > 127) throw new RangeError(`field ${f} has ${n} levels: give a whole number from 1 to 127`);
  });
  if (!(Number.isInteger(iterations) && iterations >= 0)) throw new RangeError(`iterations ${iterations} is not a whole number`);
  if (!(smoothing >= 0)) throw new RangeError(`smoothing ${smoothing} is negative`);
  if (fixedU.length > levels.length) throw new RangeError(`fixedU names ${fixedU.length} fields, there are ${levels.length}`);
  const anyFixed = fixedU.some(Boolean);
  if (anyFixed && options.initial === undefined) throw new RangeError('fixedU keeps u at its initial value: give initial');
  if (options.initial !== undefined) checkInitial(options.initial, levels);
  const patterns = groupVectors(vectors, levels);
  if (patterns.pairs === 0) throw new RangeError('no pairs to fit');

  const start = options.initial ?? defaultStart(levels);
  const F = levels.length;
  // Every field's levels side by side: field f's level l is at offset[f] + l.
  const offset = levels.map((_, f) => levels.slice(0, f).reduce((s, n) => s + n, 0));
  const total = levels.reduce((s, n) => s + n, 0);
  const fixed = levels.flatMap((n, f) => Array.from({ length: n }, () => fixedU[f] === true));
  const m = Float64Array.from(start.m.flat());
  const u = Float64Array.from(start.u.flat());
  let lambda = start.lambda;
  // Each distinct vector's levels as offsets into the flat arrays (-1: missing).
  const at = Int32Array.from(patterns.levels, (l, i) => (l < 0 ? -1 : (offset[i % F] as number) + l));
  const logM = new Float64Array(total);
  const logU = new Float64Array(total);
  const mCount = new Float64Array(total);
  const uCount = new Float64Array(total);

  const objective: number[] = [];
  let logLikelihood = -Infinity;
  let converged = false;
  let steps = 0;
  for (;;) {
    // E-step: each distinct vector's posterior of being one person's, and the log-likelihood.
    let prior = 0;
    for (let k = 0; k < total; k++) {
      logM[k] = Math.log(m[k] as number);
      logU[k] = Math.log(u[k] as number);
      prior += smoothing * ((logM[k] as number) + (fixed[k] ? 0 : (logU[k] as number)));
    }
    mCount.fill(0);
    uCount.fill(0);
    let matches = 0;
    let ll = 0;
    for (let p = 0; p < patterns.size; p++) {
      let a = Math.log(lambda);
      let b = Math.log(1 - lambda);
      for (let i = p * F; i < (p + 1) * F; i++) {
        const k = at[i] as number;
        if (k < 0) continue;
        a += logM[k] as number;
        b += logU[k] as number;
      }
      const top = Math.max(a, b);
      const logP = top + Math.log(Math.exp(a - top) + Math.exp(b - top));
      const count = patterns.counts[p] as number;
      const g = Math.exp(a - logP);
      ll += count * logP;
      matches += count * g;
      for (let i = p * F; i < (p + 1) * F; i++) {
        const k = at[i] as number;
        if (k < 0) continue;
        mCount[k] = (mCount[k] as number) + count * g;
        uCount[k] = (uCount[k] as number) + count * (1 - g);
      }
    }
    logLikelihood = ll;
    objective.push(ll + prior);
    const n = objective.length;
    if (n > 1 && Math.abs((objective[n - 1] as number) - (objective[n - 2] as number)) / patterns.pairs < tolerance) {
      converged = true;
      break;
    }
    if (steps === iterations) break;

    // M-step: lambda, then m and u per field from the weighted counts of the pairs where it is present.
    lambda = matches / patterns.pairs;
    for (let f = 0; f < F; f++) {
      const from = offset[f] as number;
      const to = from + (levels[f] as number);
      let mTotal = smoothing * (to - from);
      let uTotal = mTotal;
      for (let k = from; k < to; k++) {
        mTotal += mCount[k] as number;
        uTotal += uCount[k] as number;
      }
      for (let k = from; k < to; k++) {
        // A field no pair has keeps its value (0/0).
        if (mTotal > 0) m[k] = ((mCount[k] as number) + smoothing) / mTotal;
        if (!fixed[k] && uTotal > 0) u[k] = ((uCount[k] as number) + smoothing) / uTotal;
      }
    }
    steps += 1;
  }
  const table = (flat: Float64Array): number[][] => levels.map((n, f) => Array.from(flat.subarray(offset[f] as number, (offset[f] as number) + n)));
  const fit = { lambda, m: table(m), u: table(u), iterations: steps, logLikelihood, objective, converged };

  // Identifiability: the class that agrees more is the matches (the likelihood cannot tell them apart).
  if (!anyFixed && agreement(fit.u) > agreement(fit.m)) return { ...fit, lambda: 1 - fit.lambda, m: fit.u, u: fit.m };
  return fit;
}
