import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataset, parseCsv, type Column, type Features } from '../../lib/learn/csv';
import { choleskySolve, blockedMatrix, multiply, multiplyTransposed, setColumn, weightedGram } from '../../lib/learn/linalg';
import { fitLogistic, predictProba, type LogisticModel } from '../../lib/learn/logistic';
import { createRandom } from '../../lib/learn/metrics';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const numeric = (name: string, values: number[]): Column => ({ name, type: 'numeric', values: Float64Array.from(values) });
const categorical = (name: string, levels: string[], codes: number[]): Column => ({ name, type: 'categorical', levels, codes: Int32Array.from(codes) });
const weightOf = (m: LogisticModel, column: string, level?: string) => m.weights.find((w) => w.column === column && w.level === level)?.weight as number;

/** A standard normal draw (Box–Muller) from a seeded uniform source. */
const normal = (random: () => number) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

describe('logistic regression on a set small enough to check by hand', () => {
  // One 0/1 feature: 1 buyer of 4 where it is 0, 3 of 4 where it is 1.
  const data: Features = { rows: 8, columns: [numeric('opened', [0, 0, 0, 0, 1, 1, 1, 1])] };
  const y = Uint8Array.from([1, 0, 0, 0, 1, 1, 1, 0]);

  it('without a penalty to speak of, gives the log-odds of each group: intercept ln(1/3), weight ln 9', () => {
    const model = fitLogistic(data, y, { C: 1e9 });
    expect(model.converged).toBe(true);
    expect(model.intercept).toBeCloseTo(-Math.log(3), 6);
    expect(weightOf(model, 'opened')).toBeCloseTo(Math.log(9), 6);
    expect(Array.from(predictProba(model, data)).map((p) => +p.toFixed(6))).toEqual([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75]);
  });

  it('with C = 1 penalises the standardised weight by w²/2 and not the intercept: 8σ(w) + w = 6', () => {
    // Standardised, the feature is -1 or +1; by symmetry the intercept is 0, and the weight solves
    // -4(¾ - σ(w)) + 4(σ(w) - ¾) + w = 0. On the file's scale: weight 2w, intercept -w.
    let lo = 0;
    let hi = 3;
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (8 * sigmoid(mid) + mid < 6) lo = mid;
      else hi = mid;
    }
    const model = fitLogistic(data, y, { C: 1 });
    expect(model.standardizedIntercept).toBeCloseTo(0, 9);
    expect(model.weights[0]?.standardized).toBeCloseTo(lo, 9);
    expect(weightOf(model, 'opened')).toBeCloseTo(2 * lo, 9);
    expect(model.intercept).toBeCloseTo(-lo, 9);
  });
});

describe('logistic regression on a synthetic set with known coefficients', () => {
  // logit P(buy) = 1.5 + 0.8·visits - 0.5·age + {a: 0, b: 0.7, c: -0.6}[region], 20,000 seeded rows.
  const random = createRandom(2024);
  const n = 20_000;
  const visits = Array.from({ length: n }, () => normal(random));
  const age = Array.from({ length: n }, () => 5 + 2 * normal(random));
  const region = Array.from({ length: n }, () => Math.floor(random() * 3));
  const effect = [0, 0.7, -0.6];
  const y = Uint8Array.from(visits, (v, i) => (random() < sigmoid(1.5 + 0.8 * v - 0.5 * (age[i] as number) + (effect[region[i] as number] as number)) ? 1 : 0));
  const data: Features = {
    rows: n,
    columns: [numeric('visits', visits), numeric('age', age), categorical('region', ['a', 'b', 'c'], region), numeric('constant', new Array<number>(n).fill(3))],
  };

  it('recovers the coefficients on the original scale (within about 3 standard errors)', () => {
    const model = fitLogistic(data, y, { C: 1e6 });
    expect(model.converged).toBe(true);
    expect(weightOf(model, 'visits')).toBeCloseTo(0.8, 1);
    expect(weightOf(model, 'age')).toBeCloseTo(-0.5, 1);
    // All levels are kept, so only differences between levels (and their sum with the intercept) are fixed by the data.
    expect(weightOf(model, 'region', 'b') - weightOf(model, 'region', 'a')).toBeCloseTo(0.7, 1);
    expect(weightOf(model, 'region', 'c') - weightOf(model, 'region', 'a')).toBeCloseTo(-0.6, 1);
    expect(model.intercept + weightOf(model, 'region', 'a')).toBeCloseTo(1.5, 1);
  });

  it('gives a constant column no weight', () => {
    expect(fitLogistic(data, y).weights.map((w) => w.column)).not.toContain('constant');
  });

  it('scores with the original-scale weights, as plain JSON, and a level it never saw adds nothing', () => {
    const model = JSON.parse(JSON.stringify(fitLogistic(data, y))) as LogisticModel;
    const newcomer: Features = { rows: 1, columns: [numeric('visits', [1]), numeric('age', [4]), categorical('region', ['a', 'b', 'c', 'd'], [3]), numeric('constant', [3])] };
    const expected = sigmoid(model.intercept + weightOf(model, 'visits') * 1 + weightOf(model, 'age') * 4);
    expect(predictProba(model, newcomer)[0]).toBeCloseTo(expected, 12);
  });
});

describe('logistic regression on CoIL 2000 (5,822 customers, 85 features)', () => {
  const coil = dataset(parseCsv(readFileSync(join(__dirname, '../../data/coil-train.csv'), 'utf8'), 'coil-train.csv'), { target: 'CARAVAN' });

  it("matches scikit-learn's LogisticRegression(C=1) on standardised features (solver newton-cholesky, 1.2.1)", () => {
    const model = fitLogistic(coil, coil.y);
    const standardized = (column: string) => model.weights.find((w) => w.column === column)?.standardized;
    expect(model.converged).toBe(true);
    expect(model.standardizedIntercept).toBeCloseTo(-3.3073194926258007, 9);
    expect(standardized('PPERSAUT')).toBeCloseTo(0.6649928467163508, 9);
    expect(standardized('MZPART')).toBeCloseTo(-0.5718970735805895, 9);
    expect(standardized('MOSTYPE')).toBeCloseTo(0.5090548933495701, 9);
    expect(standardized('ATRACTOR')).toBeCloseTo(-0.4702043803836802, 9);
    expect(standardized('MKOOPKLA')).toBeCloseTo(0.12986329995569612, 9);
    expect(standardized('APERSAUT')).toBeCloseTo(-0.013921769110387847, 9);
  });
});

describe('the linear algebra under the fit (lib/learn/linalg.ts)', () => {
  it('refuses a matrix larger than a WebAssembly memory holds (4 GiB), naming its size', () => {
    expect(() => blockedMatrix(6_000_000, 100)).toThrow('6000000 rows × 100 inputs are too many to fit at once (4.5 GiB, at most 4): sample the rows');
  });

  // Row counts either side of a block (256 rows) and column counts that are not a multiple of 4,
  // so that the padding of both is exercised; compared with the sums written out.
  const random = createRandom(7);
  describe.each([
    [1, 1],
    [255, 3],
    [256, 4],
    [600, 7],
    [1030, 10],
  ])('%i rows × %i columns', (rows, columns) => {
    const values = Array.from({ length: columns }, () => Float64Array.from({ length: rows }, () => normal(random)));
    const m = blockedMatrix(rows, columns);
    values.forEach((column, j) => setColumn(m, j, column));
    const at = (i: number, j: number) => (values[j] as Float64Array)[i] as number;
    const w = Float64Array.from({ length: rows }, () => random() / 4);
    const v = Float64Array.from({ length: columns }, () => normal(random));
    const r = Float64Array.from({ length: rows }, () => normal(random));

    it("X'WX, X v and X'r equal their sums", () => {
      const gram = weightedGram(m, w, new Float64Array(columns * columns));
      const product = multiply(m, v, new Float64Array(rows));
      const transposed = multiplyTransposed(m, r, new Float64Array(columns));
      for (let j = 0; j < columns; j++) {
        for (let k = 0; k < columns; k++) {
          let s = 0;
          for (let i = 0; i < rows; i++) s += (w[i] as number) * at(i, j) * at(i, k);
          expect(gram[j * columns + k]).toBeCloseTo(s, 11);
        }
        let s = 0;
        for (let i = 0; i < rows; i++) s += at(i, j) * (r[i] as number);
        expect(transposed[j]).toBeCloseTo(s, 11);
      }
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let j = 0; j < columns; j++) s += at(i, j) * (v[j] as number);
        expect(product[i]).toBe(s); // summed in the same order
      }
    });

    it('the Cholesky solve of (X\'WX + I) s = b gives back b when multiplied out', () => {
      const a = weightedGram(m, w, new Float64Array(columns * columns));
      for (let j = 0; j < columns; j++) a[j * columns + j] = (a[j * columns + j] as number) + 1;
      const copy = Float64Array.from(a);
      const s = choleskySolve(a, v, columns);
      for (let j = 0; j < columns; j++) {
        let b = 0;
        for (let k = 0; k < columns; k++) b += (copy[j * columns + k] as number) * (s[k] as number);
        expect(b).toBeCloseTo(v[j] as number, 10);
      }
    });
  });
});
