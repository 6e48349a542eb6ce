import { bonferroniFactor, chiSquareStatistic, chiSquareSurvival, fitTree, predictTree, quantileCuts, type CategoricalSplit, type NumericSplit, type TreeModel, type TreeNode } from '../../lib/learn/chaid';
import type { Column, Features } from '../../lib/learn/csv';
import { createRandom } from '../../lib/learn/metrics';

const numeric = (name: string, values: number[]): Column => ({ name, type: 'numeric', values: Float64Array.from(values) });
const categorical = (name: string, levels: string[], codes: number[]): Column => ({ name, type: 'categorical', levels, codes: Int32Array.from(codes) });

function nodes(node: TreeNode, depth = 0): Array<{ node: TreeNode; depth: number }> {
  return [{ node, depth }, ...(node.split?.children ?? []).flatMap((child) => nodes(child, depth + 1))];
}

describe('the chi-square survival function', () => {
  it.each([
    [3.841459, 1, 0.04999999465319563],
    [9.21034, 2, 0.010000001859881084],
    [20, 10, 0.029252688076961124],
    [0.5, 1, 0.47950012218695337],
    [1, 3, 0.8012519569012009],
    [0.01, 5, 0.9999994699729957],
    [150, 100, 0.0009039320423540184],
    [30, 4, 4.894437128029217e-6],
    [200, 3, 4.218541107192018e-43],
  ])('P(X >= %d) with %d degrees of freedom is %d (scipy.stats.chi2.sf)', (x, df, expected) => {
    expect(Math.abs(chiSquareSurvival(x, df) - expected)).toBeLessThan(expected * 1e-9);
  });

  it('is 1 at 0', () => {
    expect(chiSquareSurvival(0, 4)).toBe(1);
  });
});

describe('the pieces of a CHAID split', () => {
  it("computes Pearson's chi-square of a groups × target table", () => {
    // 2×2: 30 of 100 against 10 of 100; expected 20 positives and 80 negatives per row -> 4 × (10²/20... ) = 12.5.
    expect(chiSquareStatistic([{ rows: 100, positives: 30 }, { rows: 100, positives: 10 }])).toBeCloseTo(12.5, 12);
    expect(chiSquareStatistic([{ rows: 50, positives: 5 }, { rows: 70, positives: 7 }])).toBe(0);
  });

  it("uses Kass's Bonferroni factors: C(c-1, r-1) for ordinal predictors, S(c, r) for nominal ones", () => {
    expect(bonferroniFactor(10, 3, true)).toBe(36);
    expect(bonferroniFactor(10, 10, true)).toBe(1);
    expect(bonferroniFactor(4, 2, false)).toBe(7);
    expect(bonferroniFactor(5, 3, false)).toBe(25);
    expect(bonferroniFactor(6, 6, false)).toBe(1);
  });

  it('cuts a numeric predictor at its distinct deciles below the maximum', () => {
    expect(quantileCuts([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(quantileCuts([0, 0, 0, 0, 0, 0, 0, 0, 1, 2], 10)).toEqual([0, 1]);
    expect(quantileCuts([4, 4, 4], 10)).toEqual([]);
  });
});

describe('a CHAID tree on a synthetic set', () => {
  // Regions a, b, c buy at 4%, d, e, f at 20%; income matters above 60 only; noise is noise.
  const random = createRandom(99);
  const n = 4000;
  const region = Array.from({ length: n }, () => Math.floor(random() * 6));
  const income = Array.from({ length: n }, () => Math.round(random() * 100));
  const noise = Array.from({ length: n }, () => Math.floor(random() * 5));
  const y = Uint8Array.from(region, (r, i) => (random() < (r < 3 ? 0.04 : 0.2) * ((income[i] as number) > 60 ? 2 : 1) ? 1 : 0));
  const data: Features = {
    rows: n,
    columns: [categorical('noise', ['v', 'w', 'x', 'y', 'z'], noise), numeric('income', income), categorical('region', ['a', 'b', 'c', 'd', 'e', 'f'], region)],
  };
  const tree = fitTree(data, y);

  it('splits first on the informative predictor, merging the categories that behave the same', () => {
    const split = tree.root.split as CategoricalSplit;
    expect(split.column).toBe('region');
    expect(split.groups).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
    expect(split.adjustedP).toBeLessThan(1e-10);
  });

  it('splits a numeric predictor into intervals, with the merged cut near where the rate changes', () => {
    const incomeSplits = nodes(tree.root)
      .map(({ node }) => node.split)
      .filter((s): s is NumericSplit => s?.column === 'income');
    expect(incomeSplits.length).toBeGreaterThan(0);
    for (const s of incomeSplits) expect(s.thresholds.some((t) => t >= 55 && t <= 65)).toBe(true);
    expect(nodes(tree.root).some(({ node }) => node.split?.column === 'noise')).toBe(false);
  });

  it('keeps to the maximum depth, the minimum node size and the minimum child size', () => {
    const small = fitTree(data, y, { maxDepth: 2, minNodeSize: 400, minChildSize: 150 });
    const all = nodes(small.root);
    expect(Math.max(...all.map((a) => a.depth))).toBeLessThanOrEqual(2);
    for (const { node } of all) {
      if (node.split) expect(node.rows).toBeGreaterThanOrEqual(400);
      for (const child of node.split?.children ?? []) expect(child.rows).toBeGreaterThanOrEqual(150);
    }
    expect(Math.max(...nodes(fitTree(data, y, { maxDepth: 1 }).root).map((a) => a.depth))).toBe(1);
  });

  it("scores a row with its leaf's rate shrunk towards the parent's score by 2 pseudo-rows", () => {
    const root = tree.root;
    expect(root.score).toBeCloseTo(root.positives / root.rows, 12);
    const child = (root.split as CategoricalSplit).children[0] as TreeNode;
    expect(child.score).toBeCloseTo((child.positives + 2 * root.score) / (child.rows + 2), 12);
    const scores = predictTree(tree, data);
    const leaves = nodes(tree.root).filter(({ node }) => !node.split);
    expect(new Set(scores).size).toBeLessThanOrEqual(leaves.length);
    expect(leaves.reduce((s, { node }) => s + node.rows, 0)).toBe(n);
  });

  it('is plain JSON that scores the same, and stops a level it never saw at the node that splits on it', () => {
    const copy = JSON.parse(JSON.stringify(tree)) as TreeModel;
    expect(predictTree(copy, data)).toEqual(predictTree(tree, data));
    const newcomer: Features = { rows: 1, columns: [categorical('noise', ['v'], [0]), numeric('income', [90]), categorical('region', ['g'], [0])] };
    expect(predictTree(copy, newcomer)[0]).toBe(tree.root.score);
  });
});

describe('a CHAID tree on noise', () => {
  const noiseSet = (seed: number, predictors: number) => {
    const random = createRandom(seed);
    const n = 600;
    const columns = Array.from({ length: predictors }, (_, k) => categorical(`p${k}`, ['a', 'b', 'c', 'd', 'e'], Array.from({ length: n }, () => Math.floor(random() * 5))));
    const y = Uint8Array.from({ length: n }, () => (random() < 0.2 ? 1 : 0));
    return { data: { rows: n, columns }, y };
  };

  it('does not split on pure noise at alpha 0.05', () => {
    const { data, y } = noiseSet(5, 8);
    expect(fitTree(data, y).root.split).toBeUndefined();
  });

  it('splits a noise predictor at the root in at most about 5% of 200 seeded sets (the Bonferroni adjustment holds the level)', () => {
    let splits = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const { data, y } = noiseSet(seed, 1);
      if (fitTree(data, y).root.split) splits++;
    }
    expect(splits).toBeLessThanOrEqual(14);
  });
});
