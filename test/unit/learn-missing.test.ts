/**
 * Missing values (issue #22, defect 5): NA-style cells are missing, not text; the logistic
 * regression fills them from its own training rows and learns from a missing indicator; CHAID
 * gives them its floating category.
 */
import { bonferroniFactor, fitTree, predictTree, type NumericSplit } from '../../lib/learn/chaid';
import { dataset, parseCsv, type Column, type Dataset } from '../../lib/learn/csv';
import { describeModel } from '../../lib/learn/describe';
import { learnImputation } from '../../lib/learn/impute';
import { createRandom } from '../../lib/learn/metrics';
import { crossValidate, fitModel, predict } from '../../lib/learn/train';

const exp = Math.exp;
const sqrt = Math.sqrt;
const log = Math.log;
const cos = Math.cos;

/** 3,000 customers whose age is missing for 30%, and a missing age says more than any age: they buy at a higher rate. */
function population(seed: number): { income: number[]; age: number[]; y: number[] } {
  const random = createRandom(seed);
  const normal = () => sqrt(-2 * log(1 - random())) * cos(2 * Math.PI * random());
  const income: number[] = [];
  const age: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const inc = normal();
    const a = 40 + 10 * normal();
    const missing = random() < 0.3;
    const logit = -1.6 + 0.7 * inc + (missing ? 1.6 : 0.03 * (a - 40));
    income.push(inc);
    age.push(missing ? Number.NaN : a);
    y.push(random() < 1 / (1 + exp(-logit)) ? 1 : 0);
  }
  return { income, age, y };
}

function asDataset(columns: Column[], y: number[]): Dataset {
  const labels = Uint8Array.from(y);
  const positives = y.reduce((s, v) => s + v, 0);
  return { file: 'sim.csv', rows: y.length, columns, y: labels, positives, schema: { target: 'bought', columns: columns.map((c) => ({ name: c.name, type: 'numeric' as const, mean: 0 })) } };
}

const numeric = (name: string, values: number[]): Column => ({ name, type: 'numeric', values: Float64Array.from(values) });

describe('missing values', () => {
  it('learns from a missing indicator: cross-validated AUC well above mean filling alone on a set where missingness matters', () => {
    const { income, age, y } = population(7);
    const present = age.filter((a) => !Number.isNaN(a));
    const mean = present.reduce((s, a) => s + a, 0) / present.length;
    const withIndicator = crossValidate(asDataset([numeric('income', income), numeric('age', age)], y), { model: 'logistic', folds: 5, seed: 1 });
    const meanFilled = crossValidate(asDataset([numeric('income', income), numeric('age', age.map((a) => (Number.isNaN(a) ? mean : a)))], y), { model: 'logistic', folds: 5, seed: 1 });
    expect(withIndicator.meanAuc).toBeGreaterThan(meanFilled.meanAuc + 0.04);
    const model = fitModel('logistic', asDataset([numeric('income', income), numeric('age', age)], y), Uint8Array.from(y));
    const described = describeModel(model);
    const indicator = described.kind === 'logistic' ? described.coefficients.find((c) => c.column === 'age (missing)') : undefined;
    expect(indicator?.weight).toBeGreaterThan(1);
  });

  it('fills missing numbers from the training rows it is given, not from rows it is judged on', () => {
    const data = asDataset([numeric('age', [20, Number.NaN, 40, 1000, Number.NaN, 3000])], [0, 1, 0, 1, 1, 0]);
    const train = { rows: 3, columns: [numeric('age', [20, Number.NaN, 40])] };
    expect(learnImputation(train)).toEqual([{ column: 'age', fill: 30, indicator: true }]);
    const model = fitModel('logistic', train, Uint8Array.from([0, 1, 0]));
    expect(model.kind === 'logistic' && model.imputation).toEqual([{ column: 'age', fill: 30, indicator: true }]);
    // Scoring a missing age is scoring age 30 with the indicator on.
    const scores = predict(model, { rows: 2, columns: [numeric('age', [Number.NaN, 30])] });
    expect(scores[0]).not.toBeCloseTo(scores[1] as number, 6);
    expect(data.rows).toBe(6);
  });

  it("counts CHAID's floating category in Kass's Bonferroni factor: C(c-2, r-2) + r·C(c-2, r-1)", () => {
    // Three ordered levels and the missing one: 5 two-way, 5 three-way and 1 four-way split.
    expect([2, 3, 4].map((r) => bonferroniFactor(4, r, true, true))).toEqual([5, 5, 1]);
    expect(bonferroniFactor(11, 3, true, true)).toBe(9 + 3 * 36);
  });

  it('gives CHAID a floating category: missing ages get a branch of their own (or join the bin they resemble), and are scored there', () => {
    const { age, y } = population(11);
    const tree = fitTree({ rows: y.length, columns: [numeric('age', age)] }, Uint8Array.from(y));
    const split = tree.root.split as NumericSplit;
    expect(split.type).toBe('numeric');
    expect(split.missing).toBeDefined();
    const missingChild = split.children[split.missing as number];
    const missingRate = y.filter((v, i) => Number.isNaN(age[i] as number) && v === 1).length / age.filter(Number.isNaN).length;
    expect(missingChild?.positives ?? 0).toBeGreaterThan(0);
    expect(Math.abs((missingChild?.score ?? 0) - missingRate)).toBeLessThan(0.05);
    const [scored] = predictTree(tree, { rows: 1, columns: [numeric('age', [Number.NaN])] });
    // The missing branch, or a leaf below it.
    expect(Math.abs((scored as number) - missingRate)).toBeLessThan(0.08);
    const segments = describeModel(tree);
    expect(segments.kind === 'tree' && segments.segments.some((g) => g.conditions.some((c) => c.includes('age is missing')))).toBe(true);
  });

  it('without missing values at training, a missing value at scoring stops at the split (the node has no branch for it)', () => {
    const ages = Array.from({ length: 400 }, (_, i) => 20 + (i % 50));
    const y = ages.map((a) => (a > 50 ? 1 : 0));
    const tree = fitTree({ rows: ages.length, columns: [numeric('age', ages)] }, Uint8Array.from(y));
    expect((tree.root.split as NumericSplit).missing).toBeUndefined();
    expect(predictTree(tree, { rows: 1, columns: [numeric('age', [Number.NaN])] })[0]).toBe(tree.root.score);
  });

  it('reads a CSV whose age column holds NA as numeric, end to end', () => {
    const text = ['age,income,bought', ...Array.from({ length: 200 }, (_, i) => `${i % 3 === 0 ? 'NA' : 20 + (i % 40)},${i % 7},${i % 3 === 0 || i % 5 === 0 ? 1 : 0}`)].join('\n');
    const data = dataset(parseCsv(text, 'na.csv'), { target: 'bought' });
    expect(data.schema.columns.map((c) => c.type)).toEqual(['numeric', 'numeric']);
    const model = fitModel('logistic', data, data.y);
    expect(model.kind === 'logistic' && model.weights.map((w) => w.column)).toContain('age (missing)');
  });
});
