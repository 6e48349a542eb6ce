/**
 * `moment train --save-model` writes the decision function's artifact, and `moment score` scores a
 * file with it through the decision function's code: the same numbers as `--scores`, to the bit,
 * for both kinds of model, with categories, missing values and levels training never saw.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../lib/cli/moment';
import { loadModel, type ModelConfig } from '../../lib/decision/model';
import { createRandom } from '../../lib/learn/metrics';

const dir = mkdtempSync(join(tmpdir(), 'moment-score-'));

async function moment(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
  return { code, out, err };
}

const RATE: Record<string, number> = { north: 0.4, south: 0.35, east: 0.08, west: 0.1, 'the centre': 0.2, NA: 0.3 };

/** Customers with a region (some NA), an age (some NA: they buy more) and visits. */
function customers(file: string, rows: number, seed: number, extraRegion?: string): string {
  const random = createRandom(seed);
  const regions = Object.keys(RATE);
  const lines = ['visits,age,home region,bought'];
  for (let i = 0; i < rows; i++) {
    const region = extraRegion !== undefined && i % 10 === 0 ? extraRegion : (regions[Math.floor(random() * regions.length)] as string);
    const ageMissing = random() < 0.2;
    const age = 20 + Math.floor(random() * 50);
    const visits = Math.floor(random() * 10);
    const p = Math.min(0.95, (RATE[region] ?? 0.2) + (ageMissing ? 0.25 : 0) + 0.02 * visits);
    lines.push(`${visits},${ageMissing ? 'NA' : age},${region},${random() < p ? 1 : 0}`);
  }
  const path = join(dir, file);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const train = customers('train.csv', 3000, 5);
const test = customers('test.csv', 600, 6, 'arctic');

describe.each(['logistic', 'tree'])('a %s model saved with --save-model', (kind) => {
  const scores = join(dir, `${kind}-train-scores.csv`);
  const saved = join(dir, `${kind}.json`);
  const rescored = join(dir, `${kind}-score-scores.csv`);

  it('is an artifact the decision function loads, and moment score reproduces --scores exactly', async () => {
    const trained = await moment('train', '--train', train, '--target', 'bought', '--model', kind, '--test', test, '--scores', scores, '--save-model', saved, '--json');
    expect(trained.err).toBe('');
    expect(trained.code).toBe(0);
    const artifact = JSON.parse(readFileSync(saved, 'utf8')) as ModelConfig;
    expect(() => loadModel(artifact)).not.toThrow();
    expect(Object.keys(artifact.targets)).toEqual(['default']);
    // The model uses every kind of input: a category, a number and a missing value.
    expect(artifact.features.some((f) => f.equals !== undefined || f.oneOf !== undefined)).toBe(true);
    expect(artifact.features.some((f) => f.missing === true)).toBe(true);
    expect(artifact.features.map((f) => f.path)).toContain('traits.home_region');

    const scored = await moment('score', '--model', saved, '--data', test, '--out', rescored);
    expect(scored.code).toBe(0);
    const ours = readFileSync(rescored, 'utf8');
    expect(ours).toBe(readFileSync(scores, 'utf8'));
    expect(ours.split('\n').length).toBe(602);
  });

  it('scores rows with their columns in another order, and says which column a file lacks', async () => {
    const lines = readFileSync(test, 'utf8').trim().split('\n').map((l) => l.split(','));
    const reordered = join(dir, `${kind}-reordered.csv`);
    writeFileSync(reordered, `${lines.map((f) => [f[2], f[0], f[1]].join(',')).join('\n')}\n`);
    const a = await moment('score', '--model', saved, '--data', reordered);
    expect(a.out).toBe(readFileSync(scores, 'utf8'));
    const lacking = join(dir, `${kind}-lacking.csv`);
    writeFileSync(lacking, 'visits,bought\n1,0\n');
    const b = await moment('score', '--model', saved, '--data', lacking);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/no column "(home_region|age)"/);
  });
});

describe('what a saved model refuses to get wrong', () => {
  it('keeps the missing tokens it was trained with, so moment score reads "?" as missing without being told', async () => {
    const lines = readFileSync(train, 'utf8').replace(/,NA,/g, ',?,');
    const questioned = join(dir, 'questioned.csv');
    writeFileSync(questioned, lines);
    const saved = join(dir, 'questioned.json');
    const scores = join(dir, 'questioned-scores.csv');
    const trained = await moment('train', '--train', questioned, '--target', 'bought', '--model', 'tree', '--na', '?', '--test', questioned, '--scores', scores, '--save-model', saved);
    expect(trained.code).toBe(0);
    expect((JSON.parse(readFileSync(saved, 'utf8')) as ModelConfig).missing).toEqual(['', '?']);
    expect((await moment('score', '--model', saved, '--data', questioned)).out).toBe(readFileSync(scores, 'utf8'));
  });

  it('refuses a scoring file with two columns that are one trait, rather than guess which the model read', async () => {
    const saved = join(dir, 'logistic.json');
    await moment('train', '--train', train, '--target', 'bought', '--model', 'logistic', '--save-model', saved);
    const both = join(dir, 'both.csv');
    writeFileSync(both, 'home_region,visits,age,home region\nnorth,1,30,south\n');
    const scored = await moment('score', '--model', saved, '--data', both);
    expect(scored.code).toBe(1);
    expect(scored.err).toMatch(/columns "home_region" and "home region" are both the model's trait "home_region"/);
  });

  it('refuses to save a model whose column the decision function would clamp (values beyond 1e12, such as times in milliseconds)', async () => {
    const random = createRandom(3);
    const rows = ['seenAt,bought', ...Array.from({ length: 400 }, (_, i) => `${1.7e12 + i * 1e9},${random() < (i > 200 ? 0.6 : 0.2) ? 1 : 0}`)];
    const timed = join(dir, 'timed.csv');
    writeFileSync(timed, `${rows.join('\n')}\n`);
    const result = await moment('train', '--train', timed, '--target', 'bought', '--model', 'logistic', '--save-model', join(dir, 'timed.json'));
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/column "seenAt" holds values beyond ±1000000000000, which the decision function clamps/);
  });
});

describe('hyper-parameters on the command line', () => {
  it("takes the tree's significance and depth, and the logistic regression's C", async () => {
    const deep = JSON.parse((await moment('train', '--train', train, '--target', 'bought', '--model', 'tree', '--json')).out) as { fitted: { segments: unknown[] } };
    const stump = JSON.parse((await moment('train', '--train', train, '--target', 'bought', '--model', 'tree', '--max-depth', '1', '--json')).out) as { fitted: { segments: unknown[] } };
    const strict = JSON.parse((await moment('train', '--train', train, '--target', 'bought', '--model', 'tree', '--alpha-split', '1e-12', '--json')).out) as { fitted: { segments: unknown[] } };
    expect(stump.fitted.segments.length).toBeLessThan(deep.fitted.segments.length);
    expect(strict.fitted.segments.length).toBeLessThanOrEqual(stump.fitted.segments.length);
    type Fit = { fitted: { coefficients: Array<{ weight: number }> } };
    const size = (f: Fit) => f.fitted.coefficients.reduce((s, c) => s + Math.abs(c.weight), 0);
    const loose = JSON.parse((await moment('train', '--train', train, '--target', 'bought', '--model', 'logistic', '--json')).out) as Fit;
    const tight = JSON.parse((await moment('train', '--train', train, '--target', 'bought', '--model', 'logistic', '--C', '0.001', '--json')).out) as Fit;
    expect(size(tight)).toBeLessThan(size(loose) / 2);
    const bad = await moment('train', '--train', train, '--target', 'bought', '--alpha-split', '2');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--alpha-split must be a number from/);
  });
});

describe('moment train --calibrate', () => {
  it('Platt-scales an under-confident model so its test scores mean what they say, and saves the calibrated model', async () => {
    type Report = { test: { auc: number; calibration: { calibrationError: number } }; calibrated?: { a: number; b: number } };
    const holdout = customers('calibration-test.csv', 3000, 8);
    const args = ['train', '--train', train, '--target', 'bought', '--model', 'logistic', '--C', '0.0002', '--test', holdout, '--json'];
    const raw = JSON.parse((await moment(...args)).out) as Report;
    const scores = join(dir, 'calibrated-scores.csv');
    const saved = join(dir, 'calibrated.json');
    const calibrated = JSON.parse((await moment(...args, '--calibrate', '--scores', scores, '--save-model', saved)).out) as Report;
    // Strong regularisation squeezes every score towards the base rate; calibration stretches them back.
    expect(calibrated.calibrated?.a).toBeGreaterThan(2);
    expect(calibrated.test.calibration.calibrationError).toBeLessThan(raw.test.calibration.calibrationError * 0.6);
    expect(calibrated.test.auc).toBeCloseTo(raw.test.auc, 10);
    expect((await moment('score', '--model', saved, '--data', holdout)).out).toBe(readFileSync(scores, 'utf8'));
  });
});
