/**
 * How well a ranking finds the customers an offer changes: the Qini curve (Radcliffe, "Using Control
 * Groups to Target on Predicted Lift", 2007). Customers, treated and control together, are taken in
 * descending order of predicted uplift; at each cut the curve is the incremental responders,
 * the treated responders above the cut less the control responders above it scaled to as many
 * treated customers (`Y_T - Y_C * N_T / N_C`). Targeting at random draws the straight line to the
 * whole population's incremental responders; the Qini coefficient is the area between the curve and
 * that line, as a share of the same area for the perfect ranking (treated responders first, control
 * responders last). This is scikit-uplift's `qini_curve` and `qini_auc_score` (with
 * `negative_effect=True`), checked against a hand-worked example in test/unit/learn-qini.test.ts.
 *
 * Near 0: the ranking finds no more incremental responders than a random order; 1: as many as the
 * outcomes allow; below 0: it puts those the offer puts off first.
 */

export interface QiniDecile {
  /** 1 for the tenth of customers with the highest predicted uplift. */
  decile: number;
  /** Customers above the cut (round(n * decile / 10)), treated and control. */
  customers: number;
  treated: number;
  control: number;
  treatedResponders: number;
  controlResponders: number;
  /** Incremental responders above the cut: treatedResponders - controlResponders * treated / control (0 without control). */
  incremental: number;
  /** What a random order finds above the cut: the whole population's incremental responders, pro rata. */
  random: number;
}

export interface Qini {
  customers: number;
  treated: number;
  control: number;
  /** The whole population's incremental responders (the curve's last point). */
  incremental: number;
  /** Cumulative, by tenth of predicted uplift; ties at a cut shared pro rata. */
  deciles: QiniDecile[];
  /** Area between the curve and the random line over the same for the perfect ranking; NaN when the perfect ranking is no better than random. */
  coefficient: number;
}

/** A curve's points: customers above each cut (0 first) and the incremental responders there. */
export interface QiniCurve {
  customers: Float64Array;
  incremental: Float64Array;
}

function check(y: ArrayLike<number>, uplift: ArrayLike<number>, treated: ArrayLike<number>): void {
  if (uplift.length !== y.length || treated.length !== y.length) throw new RangeError('outcomes, uplift and arms differ in length');
}

/** Rows in descending score order, the first row's index kept among ties (a stable order). */
function descending(scores: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
}

/**
 * The Qini curve at each distinct predicted uplift (tied customers enter together), from (0, 0):
 * scikit-uplift's `qini_curve`.
 */
export function qiniCurve(y: ArrayLike<number>, uplift: ArrayLike<number>, treated: ArrayLike<number>): QiniCurve {
  check(y, uplift, treated);
  const order = descending(uplift);
  const xs = [0];
  const qs = [0];
  let nT = 0;
  let nC = 0;
  let yT = 0;
  let yC = 0;
  for (let k = 0; k < order.length; k++) {
    const row = order[k] as number;
    if (treated[row] === 1) {
      nT++;
      if (y[row] === 1) yT++;
    } else {
      nC++;
      if (y[row] === 1) yC++;
    }
    const next = order[k + 1];
    if (next !== undefined && uplift[next] === uplift[row]) continue;
    xs.push(k + 1);
    qs.push(yT - (nC === 0 ? 0 : (yC * nT) / nC));
  }
  return { customers: Float64Array.from(xs), incremental: Float64Array.from(qs) };
}

/** The trapezoid area under a curve's points. */
function area(curve: QiniCurve): number {
  let sum = 0;
  for (let i = 1; i < curve.customers.length; i++) {
    sum += (((curve.customers[i] as number) - (curve.customers[i - 1] as number)) * ((curve.incremental[i] as number) + (curve.incremental[i - 1] as number))) / 2;
  }
  return sum;
}

/**
 * The Qini coefficient of a ranking: (its area - random's) / (the perfect ranking's - random's),
 * areas under the curves over customers; random is the line from (0, 0) to the curve's end.
 */
export function qiniCoefficient(y: ArrayLike<number>, uplift: ArrayLike<number>, treated: ArrayLike<number>): number {
  check(y, uplift, treated);
  const actual = qiniCurve(y, uplift, treated);
  // The perfect ranking: treated responders, then everyone who did not respond, then control responders.
  const perfectScores = Float64Array.from({ length: y.length }, (_, i) => (y[i] === 1 ? (treated[i] === 1 ? 1 : -1) : 0));
  const perfect = qiniCurve(y, perfectScores, treated);
  const n = y.length;
  const random = (n * (actual.incremental[actual.incremental.length - 1] as number)) / 2;
  const best = area(perfect) - random;
  return best === 0 ? NaN : (area(actual) - random) / best;
}

/**
 * The Qini table by tenths of predicted uplift (a tie block at a cut shared pro rata, as the decile
 * tables of lib/learn/metrics.ts share it) and the Qini coefficient.
 */
export function qini(y: ArrayLike<number>, uplift: ArrayLike<number>, treated: ArrayLike<number>, groups = 10): Qini {
  check(y, uplift, treated);
  const n = y.length;
  const order = descending(uplift);
  // Counts above each tie block's start (block b holds positions starts[b] to starts[b + 1]).
  const starts: number[] = [];
  const before: Counts[] = [];
  const running: Counts = { treated: 0, control: 0, treatedResponders: 0, controlResponders: 0 };
  for (let k = 0; k < n; k++) {
    const row = order[k] as number;
    if (k === 0 || uplift[row] !== uplift[order[k - 1] as number]) {
      starts.push(k);
      before.push({ ...running });
    }
    add(running, row, 1);
  }
  starts.push(n);
  before.push({ ...running });
  const total = incrementalOf(running);
  const deciles: QiniDecile[] = [];
  let b = 0;
  for (let g = 1; g <= groups; g++) {
    const cut = Math.round((n * g) / groups);
    while (b + 1 < starts.length && (starts[b + 1] as number) <= cut) b++;
    const counts = { ...(before[b] as Counts) };
    if (b + 1 < starts.length && cut > (starts[b] as number)) {
      // Part of this tie block is above the cut: each of its customers counts pro rata.
      const share = (cut - (starts[b] as number)) / ((starts[b + 1] as number) - (starts[b] as number));
      for (let k = starts[b] as number; k < (starts[b + 1] as number); k++) add(counts, order[k] as number, share);
    }
    deciles.push({ decile: g, customers: cut, ...counts, incremental: incrementalOf(counts), random: n === 0 ? 0 : (total * cut) / n });
  }
  return { customers: n, treated: running.treated, control: running.control, incremental: total, deciles, coefficient: qiniCoefficient(y, uplift, treated) };

  function add(counts: Counts, row: number, share: number): void {
    if (treated[row] === 1) {
      counts.treated += share;
      if (y[row] === 1) counts.treatedResponders += share;
    } else {
      counts.control += share;
      if (y[row] === 1) counts.controlResponders += share;
    }
  }
}

interface Counts {
  treated: number;
  control: number;
  treatedResponders: number;
  controlResponders: number;
}

/** Incremental responders: treated responders less control responders scaled to as many treated (0 without control). */
const incrementalOf = (c: Counts): number => c.treatedResponders - (c.control === 0 ? 0 : (c.controlResponders * c.treated) / c.control);
