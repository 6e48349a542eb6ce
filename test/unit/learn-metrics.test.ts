import { createRandom, decileTable, misclassification, positivesInTop, rocAuc, stratifiedFolds } from '../../lib/learn/metrics';

/** AUC by its definition: over every (positive, negative) pair, 1 if the positive scores higher, ½ if tied. */
function pairwiseAuc(scores: number[], y: number[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((s, i) => {
    if (y[i] !== 1) return;
    scores.forEach((t, j) => {
      if (y[j] !== 0) return;
      pairs++;
      wins += s > t ? 1 : s === t ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('ROC AUC', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one and ½ when every score ties', () => {
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])).toBe(1);
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toBe(0.5);
  });

  it('counts a tie between a positive and a negative as half a win (hand-computed)', () => {
    // Pairs (positive, negative): (0.9, 0.8) 1, (0.9, 0.3) 1, (0.8, 0.8) ½, (0.8, 0.3) 1 -> 3.5 / 4.
    expect(rocAuc([0.9, 0.8, 0.8, 0.3], [1, 0, 1, 0])).toBe(0.875);
    // Positives 3, 2, 2; negatives 2, 1: (3,2) 1, (3,1) 1, (2,2) ½ twice, (2,1) 1 twice -> 5 / 6.
    expect(rocAuc([2, 3, 1, 2, 2], [1, 1, 0, 0, 1])).toBeCloseTo(5 / 6, 15);
  });

  it('agrees with the pairwise definition on seeded scores full of ties', () => {
    const random = createRandom(7);
    const scores = Array.from({ length: 300 }, () => Math.floor(random() * 12));
    const y = scores.map((s) => (random() < 0.1 + s / 20 ? 1 : 0));
    expect(rocAuc(scores, y)).toBeCloseTo(pairwiseAuc(scores, y), 12);
  });
});

describe('the decile lift table', () => {
  const random = createRandom(11);
  const scores = Array.from({ length: 1003 }, () => random());
  const y = scores.map((s) => (random() < s * s * 0.3 ? 1 : 0));
  const table = decileTable(scores, y);
  const total = y.reduce((a: number, b) => a + b, 0);

  it('has 10 groups of near-equal size that add up to every row and every positive', () => {
    expect(table).toHaveLength(10);
    const counts = table.map((d) => d.count);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1003);
    expect(table.reduce((a, d) => a + d.positives, 0)).toBeCloseTo(total, 9);
    expect(table[9]).toMatchObject({ cumulativeCount: 1003, cumulativePositives: total, cumulativeLift: 1, captured: 1 });
  });

  it('sorts by score, highest first, and computes rate, lift and cumulative figures from the counts', () => {
    const base = total / 1003;
    const ranked = scores.map((s, i) => [s, y[i] as number] as const).sort((a, b) => b[0] - a[0]);
    let cumulative = 0;
    table.forEach((d, k) => {
      const start = d.cumulativeCount - d.count;
      const positives = ranked.slice(start, d.cumulativeCount).filter(([, v]) => v === 1).length;
      cumulative += positives;
      expect({ decile: d.decile, positives: d.positives, cumulativePositives: d.cumulativePositives }).toEqual({ decile: k + 1, positives, cumulativePositives: cumulative });
      expect(d.rate).toBeCloseTo(positives / d.count, 12);
      expect(d.lift).toBeCloseTo(positives / d.count / base, 12);
      expect(d.cumulativeLift).toBeCloseTo(cumulative / d.cumulativeCount / base, 12);
      expect(d.captured).toBeCloseTo(cumulative / total, 12);
    });
    expect(table[0]?.lift).toBeGreaterThan(2);
  });

  it('shares the positives of tied scores across the deciles they straddle (every decile at the base rate when all tie)', () => {
    const tied = decileTable(new Array(50).fill(0.3), [...new Array(10).fill(1), ...new Array(40).fill(0)]);
    expect(tied.map((d) => d.positives)).toEqual(new Array(10).fill(1));
    expect(tied.every((d) => Math.abs(d.lift - 1) < 1e-12)).toBe(true);
  });
});

describe('positives in the top k and misclassification', () => {
  it('counts the positives among the k best scores, a tie at the cut shared pro rata', () => {
    expect(positivesInTop([3, 2, 2, 1], [1, 1, 0, 0], 1)).toBe(1);
    expect(positivesInTop([3, 2, 2, 1], [1, 1, 0, 0], 2)).toBe(1.5);
    expect(positivesInTop([3, 2, 2, 1], [1, 1, 0, 0], 3)).toBe(2);
    expect(positivesInTop([3, 2, 2, 1], [1, 1, 0, 0], 10)).toBe(2);
  });

  it('calls a score at or above the threshold a 1 and counts the share that is wrong', () => {
    // Predicted 1, 1, 0, 0 against 1, 0, 1, 0: two wrong.
    expect(misclassification([0.9, 0.5, 0.4, 0.1], [1, 0, 1, 0], 0.5)).toBe(0.5);
    expect(misclassification([0.9, 0.5, 0.4, 0.1], [1, 0, 1, 0], 0.95)).toBe(0.5);
    expect(misclassification([0.9, 0.5, 0.4, 0.1], [1, 1, 0, 0], 0.45)).toBe(0);
  });
});

describe('stratified folds', () => {
  const random = createRandom(3);
  const y = Array.from({ length: 5822 }, () => (random() < 0.06 ? 1 : 0));
  const positives = y.reduce((a: number, b) => a + b, 0);

  it('puts every row in one fold, with the same number of positives and of rows per fold, give or take one', () => {
    const fold = stratifiedFolds(y, 5, 42);
    const rows = [0, 1, 2, 3, 4].map((k) => fold.filter((f) => f === k).length);
    const pos = [0, 1, 2, 3, 4].map((k) => y.filter((v, i) => v === 1 && fold[i] === k).length);
    expect(rows.reduce((a, b) => a + b, 0)).toBe(5822);
    expect(Math.max(...rows) - Math.min(...rows)).toBeLessThanOrEqual(1);
    expect(Math.max(...pos) - Math.min(...pos)).toBeLessThanOrEqual(1);
    expect(pos.reduce((a, b) => a + b, 0)).toBe(positives);
  });

  it('is the same for the same seed and shuffles differently for another', () => {
    expect(stratifiedFolds(y, 5, 42)).toEqual(stratifiedFolds(y, 5, 42));
    const a = stratifiedFolds(y, 5, 42);
    const b = stratifiedFolds(y, 5, 43);
    expect(a.filter((f, i) => f !== b[i]).length).toBeGreaterThan(3000);
  });

  it('rejects fewer than 2 folds', () => {
    expect(() => stratifiedFolds(y, 1, 1)).toThrow(/folds must be an integer from 2/);
  });
});
