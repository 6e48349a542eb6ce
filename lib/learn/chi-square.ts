/**
 * The distributions CHAID and the value models test with: ln Γ, the regularised upper incomplete
 * gamma function, the chi-square survival function and statistic, and Kass's Bonferroni factors
 * (checked against scipy in test/unit/learn-chaid.test.ts).
 */

// Held here: a global's lookup in a tight loop is slow where the code runs in a VM context (jest).
const { log, exp, sin, abs, PI } = Math;

const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; about 15 significant digits). */
export function lnGamma(x: number): number {
  if (x < 0.5) return log(PI / sin(PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * log(2 * PI) + (z + 0.5) * log(t) - t + log(sum);
}

const EPSILON = 1e-15;
const TINY = 1e-300;

/** P(a, x) by its power series; converges fast for x < a + 1. */
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 10_000 && abs(term) > abs(sum) * EPSILON; n++) {
    term *= x / (a + n);
    sum += term;
  }
  return sum * exp(-x + a * log(x) - lnGamma(a));
}

/** Q(a, x) by its continued fraction (modified Lentz); converges fast for x >= a + 1. */
function upperGammaFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    d = abs(d) < TINY ? TINY : d;
    c = b + an / c;
    c = abs(c) < TINY ? TINY : c;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (abs(delta - 1) < EPSILON) break;
  }
  return exp(-x + a * log(x) - lnGamma(a)) * h;
}

/** The regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a). */
export function upperGammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) throw new RangeError(`Q(${a}, ${x}) is not defined`);
  if (x <= 0) return 1;
  return x < a + 1 ? 1 - lowerGammaSeries(a, x) : upperGammaFraction(a, x);
}

/** P(X >= x) for X chi-square with `df` degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  return upperGammaQ(df / 2, x / 2);
}

/** Pearson's chi-square of a groups × {0, 1} table; cells whose expected count is 0 add nothing. */
export function chiSquareStatistic(groups: ReadonlyArray<{ rows: number; positives: number }>): number {
  const rows = groups.reduce((s, g) => s + g.rows, 0);
  const positives = groups.reduce((s, g) => s + g.positives, 0);
  if (rows === 0 || positives === 0 || positives === rows) return 0;
  const rate = positives / rows;
  let chi = 0;
  for (const g of groups) {
    const expected1 = g.rows * rate;
    const expected0 = g.rows - expected1;
    if (expected1 > 0) chi += (g.positives - expected1) ** 2 / expected1;
    if (expected0 > 0) chi += (g.rows - g.positives - expected0) ** 2 / expected0;
  }
  return chi;
}

/**
 * Kass's Bonferroni factor: the ways `c` categories reduce to `r` groups (ordinal: intervals only;
 * floating: `c` counts the floating category, which may join any interval or stay alone).
 */
export function bonferroniFactor(c: number, r: number, ordinal: boolean, floating = false): number {
  if (ordinal && floating) return (r >= 2 ? binomial(c - 2, r - 2) : 0) + r * binomial(c - 2, r - 1);
  return ordinal ? binomial(c - 1, r - 1) : stirling2(c, r);
}

function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return Math.round(result);
}

/** Stirling number of the second kind S(n, k), by S(n, k) = k·S(n-1, k) + S(n-1, k-1); Infinity when huge. */
function stirling2(n: number, k: number): number {
  let row = [1]; // S(0, 0..)
  for (let i = 1; i <= n; i++) {
    const next = new Array<number>(Math.min(i, k) + 1).fill(0);
    for (let j = 1; j < next.length; j++) next[j] = j * (row[j] ?? 0) + (row[j - 1] ?? 0);
    row = next;
  }
  return row[k] ?? 0;
}
