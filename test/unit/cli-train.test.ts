import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../lib/cli/moment';

const COIL = join(__dirname, '../../data/coil-train.csv');
const COIL_TEST = join(__dirname, '../../data/coil-test.csv');
const dir = mkdtempSync(join(tmpdir(), 'moment-train-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function moment(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
  return { code, out, err };
}

// CoIL's training file split in two: the first 4,822 customers to train on, the last 1,000 to test
// (once with the target, once without it, as the competition's test file came).
const lines = readFileSync(COIL, 'utf8').trimEnd().split('\n');
const header = lines[0] as string;
const train = file('train.csv', [header, ...lines.slice(1, 4823)].join('\n'));
const testRows = lines.slice(4823);
const test = file('test.csv', [header, ...testRows].join('\n'));
const withoutTarget = file('test-no-target.csv', [header.replace(/,CARAVAN$/, ''), ...testRows.map((l) => l.replace(/,[01]$/, ''))].join('\n'));

interface Evaluation {
  rows: number;
  positives: number;
  auc: number;
  topDecileLift: number;
  positivesInTop: { k: number; positives: number };
  deciles: Array<{ decile: number; rows: number; positives: number; cumulativeLift: number }>;
}

describe('moment train on CoIL 2000', () => {
  it('reports 5-fold cross-validated AUC, the decile table and the positives in the top k, as JSON', async () => {
    const { code, out } = await moment('train', '--train', COIL, '--target', 'CARAVAN', '--model', 'logistic', '--folds', '5', '--top', '800', '--json');
    const report = JSON.parse(out) as { model: string; train: { rows: number; positives: number }; crossValidation: Evaluation & { folds: number; candidates: Record<string, { meanAuc: number; foldAuc: number[] }> } };
    expect(code).toBe(0);
    expect([report.model, report.train.rows, report.train.positives, report.crossValidation.folds]).toEqual(['logistic', 5822, 348, 5]);
    expect(report.crossValidation.candidates.logistic?.foldAuc).toHaveLength(5);
    expect(report.crossValidation.candidates.logistic?.meanAuc).toBeGreaterThan(0.7);
    expect(report.crossValidation.candidates.logistic?.meanAuc).toBeLessThan(0.8);
    expect(report.crossValidation.topDecileLift).toBeGreaterThan(2.5);
    expect(report.crossValidation.positivesInTop.k).toBe(800);
    expect(report.crossValidation.positivesInTop.positives).toBeGreaterThan(100);
    expect(report.crossValidation.deciles).toHaveLength(10);
    expect(report.crossValidation.deciles.reduce((s, d) => s + d.rows, 0)).toBe(5822);
  });

  it("finds 120 of the official test set's 238 buyers in its top 800 (AUC 0.7255, as scikit-learn), on customers it never trained on", async () => {
    const { code, out } = await moment('train', '--train', COIL, '--target', 'CARAVAN', '--model', 'logistic', '--test', COIL_TEST, '--top', '800', '--json');
    const report = JSON.parse(out) as { test: Evaluation & { rows: number } };
    expect(code).toBe(0);
    expect([report.test.rows, report.test.positives]).toEqual([4000, 238]);
    expect(report.test.positivesInTop).toEqual({ k: 800, positives: 120 });
    expect(report.test.auc).toBeGreaterThanOrEqual(0.725);
  });

  it('scores a test file with the target: test metrics, one score per row in order, and a lift chart', async () => {
    const scores = join(dir, 'scores.csv');
    const chart = join(dir, 'lift.svg');
    const { code, out } = await moment('train', '--train', train, '--target', 'CARAVAN', '--test', test, '--scores', scores, '--chart', chart, '--json');
    const report = JSON.parse(out) as { model: string; test: Evaluation };
    expect(code).toBe(0);
    expect(['logistic', 'tree']).toContain(report.model);
    expect([report.test.rows, report.test.positives]).toEqual([1000, testRows.filter((l) => l.endsWith(',1')).length]);
    expect(report.test.auc).toBeGreaterThan(0.65);
    const written = readFileSync(scores, 'utf8').trimEnd().split('\n');
    expect(written[0]).toBe('score');
    expect(written).toHaveLength(1001);
    expect(written.slice(1).every((s) => Number(s) > 0 && Number(s) < 1)).toBe(true);
    const svg = readFileSync(chart, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(10);
    expect(svg).toContain('test set: 1000 rows');
  });

  it('scores a test file without the target column, the same scores as with it', async () => {
    const [a, b] = [join(dir, 'a.csv'), join(dir, 'b.csv')];
    await moment('train', '--train', train, '--target', 'CARAVAN', '--model', 'logistic', '--test', test, '--scores', a);
    const { code, out } = await moment('train', '--train', train, '--target', 'CARAVAN', '--model', 'logistic', '--test', withoutTarget, '--scores', b);
    expect(code).toBe(0);
    expect(out).toContain('test-no-target.csv: 1000 rows scored');
    expect(out).not.toContain('Test: AUC');
    expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
  });

  it('prints a readable report with the decile table', async () => {
    const { code, out } = await moment('train', '--train', COIL, '--target', 'CARAVAN', '--model', 'tree');
    expect(code).toBe(0);
    expect(out).toContain('5822 rows, 85 predictors (85 numeric, 0 categorical), target CARAVAN: 348 positives');
    expect(out).toMatch(/tree\s+mean AUC 0\.\d{4}/);
    expect(out.split('\n').filter((l) => /^\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+%/.test(l))).toHaveLength(10);
  });
});

describe('moment train with a test file that cannot be judged', () => {
  it('scores a test file whose target column is left empty, as if it were absent', async () => {
    const blank = file('test-blank.csv', [header, ...testRows.map((l) => l.replace(/,[01]$/, ','))].join('\n'));
    const scores = join(dir, 'blank-scores.csv');
    const { code, out } = await moment('train', '--train', train, '--target', 'CARAVAN', '--model', 'logistic', '--test', blank, '--scores', scores);
    expect(code).toBe(0);
    expect(out).toContain('1000 rows scored');
    expect(readFileSync(scores, 'utf8').trimEnd().split('\n')).toHaveLength(1001);
  });

  it('prints no test metrics, rather than NaN, when the test target holds one class only', async () => {
    const allZero = file('test-zero.csv', [header, ...testRows.map((l) => l.replace(/,[01]$/, ',0'))].join('\n'));
    const { code, out } = await moment('train', '--train', train, '--target', 'CARAVAN', '--model', 'logistic', '--test', allZero);
    expect(code).toBe(0);
    expect(out).toContain('(no test metrics: its target holds one class only)');
    expect(out).not.toContain('NaN');
  });
});

describe('moment train refuses bad input with the file, line and column', () => {
  const small = (text: string) => file(`bad-${Math.random().toString(36).slice(2)}.csv`, text);

  it.each([
    ['an unknown target', 'a,b,y\n1,2,0\n3,4,1\n', ['--target', 'buyer'], /"buyer"/],
    ['a target that is not 0/1', 'a,b,y\n1,2,0\n3,4,yes\n', ['--target', 'y'], /:3:5: .*must be 0 or 1, not "yes"/],
    ['a ragged row', 'a,b,y\n1,2,0\n3,4\n', ['--target', 'y'], /:3\b.*(2|3)/],
    ['an empty file', '', ['--target', 'y'], /empty/],
  ])('%s', async (_what, text, args, message) => {
    const path = small(text);
    const { code, err, out } = await moment('train', '--train', path, ...args);
    expect([code, out]).toEqual([1, '']);
    expect(err).toContain(path);
    expect(err).toMatch(message);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('refuses too few buyers for the folds, naming the counts, before any model is fitted', async () => {
    const path = small(['a,y', ...Array.from({ length: 10 }, (_, i) => `${i},${i === 0 ? 1 : 0}`)].join('\n'));
    const { code, err } = await moment('train', '--train', path, '--target', 'y', '--model', 'logistic');
    expect(code).toBe(1);
    expect(err).toContain('1 positives and 9 negatives; 5-fold cross-validation needs at least 5 of each (lower --folds)');
  });

  it('refuses a category column with as many values as an id, naming it', async () => {
    const path = small(['customer,a,y', ...Array.from({ length: 400 }, (_, i) => `c${i},${i % 7},${i % 3 === 0 ? 1 : 0}`)].join('\n'));
    const { code, err } = await moment('train', '--train', path, '--target', 'y');
    expect(code).toBe(1);
    expect(err).toContain('column "customer" has 400 categories (at most 200)');
  });

  it('reports a mistake in the test file before training', async () => {
    const { code, err } = await moment('train', '--train', COIL, '--target', 'CARAVAN', '--test', small('MOSTYPE,CARAVAN\n1,0\n'));
    expect(code).toBe(1);
    expect(err).toMatch(/MAANTHUI/);
  });

  it.each([
    [['--target', 'y'], '--train is required'],
    [['--train', COIL], '--target is required'],
    [['--train', COIL, '--target', 'CARAVAN', '--scores', 'x.csv'], '--scores needs --test'],
    [['--train', COIL, '--target', 'CARAVAN', '--model', 'forest'], '--model must be one of logistic, tree, auto'],
    [['--train', COIL, '--target', 'CARAVAN', '--folds', '1'], '--folds must be a whole number from 2'],
    [['--train', COIL, '--target', 'CARAVAN', '--categorical', 'MOSTYPE', '--numeric', 'MOSTYPE'], 'both categorical and numeric'],
  ])('usage %j', async (args, message) => {
    const { code, err } = await moment('train', ...args);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });
});
