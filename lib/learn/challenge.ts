/**
 * Whether a challenger ranks better than the champion, with stated confidence: a paired bootstrap of
 * the difference in top-decile lift on one holdout (Efron and Tibshirani, An Introduction to the
 * Bootstrap, 1993, ch. 13 and 16). Each resample draws the holdout's customers with replacement, the
 * same draw for both models, so what they have in common (which customers happen to buy) cancels,
 * and only how differently they rank remains. A first model, with no champion, is compared with no
 * model at all: a random order, whose lift is 1.
 */
import { createRandom } from './metrics';

// Math's functions held here: in a loop of millions, a global's lookup is not free where the code runs in a VM context (jest).
const { floor, min, round } = Math;

export interface ChallengeOptions {
  /** The interval's level (0.95: the 2.5% and 97.5% quantiles): the challenger is better only if the whole interval is above 0. */
  confidence: number;
  /** Bootstrap resamples. */
  resamples: number;
  /** The random numbers' seed: the same holdout and scores give the same verdict. */
  seed: number;
  /**
   * Who each row is, when a person can be several rows (her devices as they stood at the training
   * cut-off, each labelled with what she did): a resample draws people, with all their rows, so that
   * one buyer's copies do not pass for independent evidence. Absent: each row is its own person.
   */
  people?: ArrayLike<string>;
}

export interface Challenge {
  /** Top-decile lift of each on the holdout (the champion's is 1 when there is none: no model ranks at random). */
  challenger: number;
  champion: number;
  /** challenger - champion. */
  difference: number;
  /** The difference's interval at the stated confidence: the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the resampled differences. */
  low: number;
  high: number;
  /** Whether the challenger is better with the stated confidence (low > 0). */
  better: boolean;
  resamples: number;
}

/** Rows in descending score order, cut into tie blocks (`starts[b]` to `starts[b + 1]`): tied rows share a cut pro rata. */
interface Ranking {
  order: Int32Array;
  starts: Int32Array;
}

function rank(scores: ArrayLike<number>): Ranking {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  const starts: number[] = [];
  for (let k = 0; k < order.length; k++) if (k === 0 || scores[order[k] as number] !== scores[order[k - 1] as number]) starts.push(k);
  starts.push(order.length);
  return { order, starts: Int32Array.from(starts) };
}

/**
 * The top-decile lift of one ranking on a resample: each row counted `weight[row]` times, the top
 * round(n / 10) of the n rows drawn (the weights' sum) against the base rate, a tie block at the cut
 * counted pro rata (as lib/learn/metrics.ts's decile table does: with every weight 1 they agree).
 */
function topDecileLift(r: Ranking, y: ArrayLike<number>, weight: Int32Array, n: number, positives: number): number {
  const k = round(n / 10);
  let taken = 0;
  let found = 0;
  for (let b = 0; b + 1 < r.starts.length && taken < k; b++) {
    let rows = 0;
    let ones = 0;
    for (let j = r.starts[b] as number; j < (r.starts[b + 1] as number); j++) {
      const row = r.order[j] as number;
      const w = weight[row] as number;
      rows += w;
      if (y[row] === 1) ones += w;
    }
    if (rows === 0) continue;
    const share = min(rows, k - taken);
    found += (ones * share) / rows;
    taken += share;
  }
  return k === 0 || positives === 0 ? NaN : found / k / (positives / n);
}

/** The rows of each person (each row its own when no people are given). */
function peopleRows(n: number, people: ArrayLike<string> | undefined): number[][] {
  if (people === undefined) return Array.from({ length: n }, (_, i) => [i]);
  if (people.length !== n) throw new RangeError('people and outcomes differ in length');
  const index = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const rows = index.get(people[i] as string);
    if (rows === undefined) index.set(people[i] as string, [i]);
    else rows.push(i);
  }
  return [...index.values()];
}

/** The q quantile of sorted values (linear between neighbours). */
function quantile(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const lo = floor(at);
  const hi = min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

/**
 * Compares a challenger's scores with the champion's (or with a random order when there is none) on
 * the same holdout rows and outcomes. Resamples without a buyer are drawn again.
 */
export function challenge(challenger: ArrayLike<number>, champion: ArrayLike<number> | undefined, y: ArrayLike<number>, options: ChallengeOptions): Challenge {
  const n = y.length;
  if (challenger.length !== n || (champion !== undefined && champion.length !== n)) throw new RangeError('scores and outcomes differ in length');
  if (!(options.confidence > 0 && options.confidence < 1)) throw new RangeError('confidence must be above 0 and below 1');
  if (!Number.isInteger(options.resamples) || options.resamples < 100) throw new RangeError('at least 100 resamples');
  const a = rank(challenger);
  const b = champion === undefined ? undefined : rank(champion);
  const ones = Int32Array.from({ length: n }, () => 1);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] === 1 ? 1 : 0;
  if (positives === 0) throw new RangeError('no buyer in the holdout: nothing to compare');
  const liftA = topDecileLift(a, y, ones, n, positives);
  const liftB = b === undefined ? 1 : topDecileLift(b, y, ones, n, positives);
  // Each person's rows, people numbered in order of their first row.
  const rowsOf = peopleRows(n, options.people);
  const random = createRandom(options.seed);
  const weight = new Int32Array(n);
  const differences = new Float64Array(options.resamples);
  for (let s = 0; s < options.resamples; ) {
    weight.fill(0);
    let drawn = 0;
    let drawnPositives = 0;
    for (let p = 0; p < rowsOf.length; p++) {
      for (const row of rowsOf[floor(random() * rowsOf.length)] as number[]) {
        (weight[row] as number)++;
        drawn++;
        if (y[row] === 1) drawnPositives++;
      }
    }
    if (drawnPositives === 0) continue;
    const da = topDecileLift(a, y, weight, drawn, drawnPositives);
    const db = b === undefined ? 1 : topDecileLift(b, y, weight, drawn, drawnPositives);
    differences[s++] = da - db;
  }
  differences.sort();
  const low = quantile(differences, (1 - options.confidence) / 2);
  const high = quantile(differences, (1 + options.confidence) / 2);
  return { challenger: liftA, champion: liftB, difference: liftA - liftB, low, high, better: low > 0, resamples: options.resamples };
}
