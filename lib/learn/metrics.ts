/**
 * How well scores rank the 1s of a 0/1 outcome, in the terms a campaign is planned in: ROC AUC, a
 * decile lift table (who to mail first), positives found in the top k, and the error rate at a
 * threshold; plus the stratified folds and the seeded random numbers cross-validation needs.
 *
 * Tied scores are ranked fairly rather than in file order: AUC gives ties their average rank, and
 * where a group of tied rows straddles a decile boundary (or the top k), its positives are shared
 * pro rata — the count expected if the ties were broken at random. A tree, which gives whole
 * leaves one score, is then measured like a model with distinct scores.
 */

/** A seeded pseudo-random generator (mulberry32): uniform in [0, 1), the same sequence per seed. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  // Held here: a global's lookup on every draw is slow where the code runs in a VM context (jest).
  const imul = Math.imul;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of a copy, driven by `random`. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function checkScores(scores: ArrayLike<number>, y: ArrayLike<number>): void {
  if (scores.length !== y.length) throw new RangeError(`${scores.length} scores for ${y.length} outcomes`);
  for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) throw new RangeError(`score ${i} is not a number`);
}

/** Row indices by score, highest first (ties in row order; they are shared fairly below). */
function descending(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
}

/**
 * ROC AUC: the chance that a random positive scores above a random negative, ties counting half
 * (Mann–Whitney with average ranks). NaN when either class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, y: ArrayLike<number>): number {
  checkScores(scores, y);
  const order = descending(scores).reverse();
  let rankSum = 0;
  let positives = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end < order.length && scores[order[end] as number] === scores[order[start] as number]) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (y[order[k] as number] !== 1) continue;
      rankSum += averageRank;
      positives++;
    }
    start = end;
  }
  const negatives = order.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Tie blocks in descending score order: how many rows each holds and how many are positive. */
function tieBlocks(scores: ArrayLike<number>, y: ArrayLike<number>): Array<{ rows: number; positives: number }> {
  const order = descending(scores);
  const blocks: Array<{ rows: number; positives: number }> = [];
  let previous = NaN;
  for (const i of order) {
    const block = blocks[blocks.length - 1];
    if (block && scores[i] === previous) block.rows++;
    else blocks.push({ rows: 1, positives: 0 });
    (blocks[blocks.length - 1] as { positives: number }).positives += y[i] === 1 ? 1 : 0;
    previous = scores[i] as number;
  }
  return blocks;
}

/** Expected positives among the top k rows, a straddling tie block counting pro rata. */
function positivesInPrefix(blocks: Array<{ rows: number; positives: number }>, k: number): number {
  let taken = 0;
  let positives = 0;
  for (const block of blocks) {
    if (taken >= k) break;
    const share = Math.min(block.rows, k - taken);
    positives += (block.positives * share) / block.rows;
    taken += share;
  }
  return positives;
}

/** Positives among the k highest-scored rows (ties at the cut shared pro rata, so maybe fractional). */
export function positivesInTop(scores: ArrayLike<number>, y: ArrayLike<number>, k: number): number {
  checkScores(scores, y);
  return positivesInPrefix(tieBlocks(scores, y), Math.max(0, Math.min(k, scores.length)));
}

export interface DecileRow {
  /** 1 for the highest scores. */
  decile: number;
  count: number;
  positives: number;
  /** Positives / count. */
  rate: number;
  /** Rate / the base rate of the whole set. */
  lift: number;
  cumulativeCount: number;
  cumulativePositives: number;
  /** The rate of deciles 1..this one / the base rate. */
  cumulativeLift: number;
  /** Share of all positives found in deciles 1..this one. */
  captured: number;
}

/**
 * The lift table: rows by score, highest first, in `groups` (default 10) groups of near-equal size
 * (sizes differ by at most one), each with its positives, rate and lift over the base rate, and
 * cumulatively.
 */
export function decileTable(scores: ArrayLike<number>, y: ArrayLike<number>, groups = 10): DecileRow[] {
  checkScores(scores, y);
  const n = scores.length;
  const blocks = tieBlocks(scores, y);
  const total = positivesInPrefix(blocks, n);
  const base = total / n;
  const rows: DecileRow[] = [];
  for (let g = 1; g <= groups; g++) {
    const start = Math.round(((g - 1) * n) / groups);
    const end = Math.round((g * n) / groups);
    const cumulativePositives = positivesInPrefix(blocks, end);
    const positives = cumulativePositives - positivesInPrefix(blocks, start);
    const count = end - start;
    const rate = count > 0 ? positives / count : 0;
    const cumulativeRate = end > 0 ? cumulativePositives / end : 0;
    rows.push({ decile: g, count, positives, rate, lift: rate / base, cumulativeCount: end, cumulativePositives, cumulativeLift: cumulativeRate / base, captured: cumulativePositives / total });
  }
  return rows;
}

/** The share of rows misclassified when a score at or above `threshold` is called a 1. */
export function misclassification(scores: ArrayLike<number>, y: ArrayLike<number>, threshold: number): number {
  checkScores(scores, y);
  let wrong = 0;
  for (let i = 0; i < scores.length; i++) if (((scores[i] as number) >= threshold ? 1 : 0) !== y[i]) wrong++;
  return wrong / scores.length;
}

/**
 * A fold (0..folds-1) for every row, positives and negatives each shuffled with the seed and dealt
 * round-robin (the negatives continuing where the positives stopped), so that every fold holds the
 * same number of positives and of rows, give or take one.
 */
export function stratifiedFolds(y: ArrayLike<number>, folds: number, seed: number): Int32Array {
  if (!Number.isInteger(folds) || folds < 2 || folds > y.length) throw new RangeError(`folds must be an integer from 2 to ${y.length}, not ${folds}`);
  const random = createRandom(seed);
  const rows = Array.from({ length: y.length }, (_, i) => i);
  const positives = shuffled(rows.filter((i) => y[i] === 1), random);
  const negatives = shuffled(rows.filter((i) => y[i] !== 1), random);
  const fold = new Int32Array(y.length);
  [...positives, ...negatives].forEach((row, k) => (fold[row] = k % folds));
  return fold;
}

/** How well scores rank a labelled set: AUC, the decile table, positives in the top k, misclassification at the base rate. */
export interface Evaluation {
  rows: number;
  positives: number;
  auc: number;
  deciles: DecileRow[];
  top: { k: number; positives: number };
  /** The share misclassified when a score at or above the base rate is called a 1. */
  misclassification: number;
}

/** The one evaluation the CLI, cross-validation and the nightly job's judging share; `k` defaults to a tenth of the rows. */
export function evaluate(scores: ArrayLike<number>, y: Uint8Array, k = Math.round(y.length / 10)): Evaluation {
  const positives = y.reduce((s, v) => s + v, 0);
  return {
    rows: y.length,
    positives,
    auc: rocAuc(scores, y),
    deciles: decileTable(scores, y),
    top: { k, positives: positivesInTop(scores, y, k) },
    misclassification: misclassification(scores, y, positives / y.length),
  };
}
