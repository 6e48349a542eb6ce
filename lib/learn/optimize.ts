/**
 * Derivative-free minimisation for the customer-value models' likelihoods (lib/learn/bgnbd.ts,
 * lib/learn/gamma-gamma.ts): a few parameters, a smooth objective, no gradient written by hand.
 * Nelder-Mead (Nelder and Mead 1965, with the standard coefficients: reflection 1, expansion 2,
 * contraction 1/2, shrink 1/2), restarted from its own best point until a restart no longer improves
 * it (a simplex collapsed early along a valley is a known Nelder-Mead failure; a restart rebuilds it).
 * The callers search on the logarithms of positive parameters, so every step is a valid model.
 */

export interface MinimizeOptions {
  /** Function evaluations at most, over all restarts (default 20,000). */
  maxEvaluations?: number;
  /** Stop when the simplex's values are within this of each other (default 1e-10)... */
  valueTolerance?: number;
  /** ...and its points within this in every coordinate (default 1e-7). */
  pointTolerance?: number;
  /** The initial simplex's step in each coordinate (default 0.5). */
  step?: number;
  /** Restarts from the best point at most (default 5). */
  restarts?: number;
}

export interface Minimum {
  x: number[];
  value: number;
  evaluations: number;
  /** Whether the tolerances were met before the evaluation budget ran out. */
  converged: boolean;
}

/**
 * The point where `f` is least, searched from `start`. `f` may return Infinity (or NaN) for points
 * outside its domain: they are never kept.
 */
export function minimize(f: (x: readonly number[]) => number, start: readonly number[], options: MinimizeOptions = {}): Minimum {
  const budget = options.maxEvaluations ?? 20_000;
  let evaluations = 0;
  const value = (x: readonly number[]): number => {
    evaluations += 1;
    const v = f(x);
    return Number.isNaN(v) ? Number.POSITIVE_INFINITY : v;
  };
  let best = { x: [...start], value: value(start) };
  let converged = false;
  for (let round = 0; round <= (options.restarts ?? 5); round++) {
    const run = nelderMead(value, best.x, options, () => evaluations >= budget);
    const improved = run.value < best.value - (options.valueTolerance ?? 1e-10);
    if (run.value <= best.value) best = run;
    converged = run.converged;
    if (!improved || evaluations >= budget) break;
  }
  return { x: best.x, value: best.value, evaluations, converged };
}

function nelderMead(value: (x: readonly number[]) => number, start: readonly number[], options: MinimizeOptions, spent: () => boolean): { x: number[]; value: number; converged: boolean } {
  const n = start.length;
  const step = options.step ?? 0.5;
  const fTol = options.valueTolerance ?? 1e-10;
  const xTol = options.pointTolerance ?? 1e-7;
  const points: number[][] = [[...start]];
  for (let i = 0; i < n; i++) {
    const p = [...start];
    p[i] = (p[i] as number) + step;
    points.push(p);
  }
  let values = points.map(value);
  const along = (from: readonly number[], to: readonly number[], t: number): number[] => from.map((v, i) => v + t * ((to[i] as number) - v));
  for (;;) {
    const order = values.map((_, i) => i).sort((i, j) => (values[i] as number) - (values[j] as number));
    const sorted = order.map((i) => points[i] as number[]);
    values = order.map((i) => values[i] as number);
    points.splice(0, points.length, ...sorted);
    const lo = values[0] as number;
    const hi = values[n] as number;
    const spread = Math.max(...points.slice(1).map((p) => Math.max(...p.map((v, i) => Math.abs(v - ((points[0] as number[])[i] as number))))));
    if (hi - lo <= fTol && spread <= xTol) return { x: points[0] as number[], value: lo, converged: true };
    if (spent()) return { x: points[0] as number[], value: lo, converged: false };
    // The centroid of every point but the worst.
    const centroid = new Array<number>(n).fill(0);
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) centroid[i] = (centroid[i] as number) + ((points[k] as number[])[i] as number) / n;
    const worst = points[n] as number[];
    const reflected = along(centroid, worst, -1);
    const fr = value(reflected);
    if (fr < lo) {
      const expanded = along(centroid, worst, -2);
      const fe = value(expanded);
      if (fe < fr) replace(n, expanded, fe);
      else replace(n, reflected, fr);
      continue;
    }
    if (fr < (values[n - 1] as number)) {
      replace(n, reflected, fr);
      continue;
    }
    // Contract: outside (towards the reflection) when it was better than the worst, else inside.
    const outside = fr < hi;
    const contracted = along(centroid, outside ? reflected : worst, 0.5);
    const fc = value(contracted);
    if (fc < (outside ? fr : hi)) {
      replace(n, contracted, fc);
      continue;
    }
    // Shrink every point towards the best.
    for (let k = 1; k <= n; k++) {
      points[k] = along(points[0] as number[], points[k] as number[], 0.5);
      values[k] = value(points[k] as number[]);
    }
  }
  function replace(k: number, p: number[], v: number): void {
    points[k] = p;
    values[k] = v;
  }
}
