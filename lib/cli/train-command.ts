/** `moment train`: a propensity model on any CSV with a 0/1 target, cross-validated, and test scores. */
import { writeFileSync } from 'node:fs';
import { liftChartSvg } from '../learn/chart';
import { describeModel, type ModelDescription } from '../learn/describe';
import { dataset, encode, parseCsv, type ColumnType, type CsvTable, type Dataset, type EncodedFile } from '../learn/csv';
import { evaluate, type Evaluation } from '../learn/metrics';
import { crossValidate, fitModel, predict, selectModel, type CrossValidation, type FittedModel, type ModelKind, type ModelOptions } from '../learn/train';
import { basename } from 'node:path';
import { loadModel } from '../decision/model';
import { LearnInputError } from '../learn/errors';
import { modelArtifact, scoreFile } from '../learn/model-file';
import { MAX_FEATURE_VALUE } from '../decision/model';
import { calibrate, calibratedModel, fitPlatt, reliability, type Platt, type Reliability } from '../learn/calibration';
import { numberOption, options, readText, required, UsageError, type Streams } from './moment';

export const TRAIN_USAGE = `moment train --train FILE --target COLUMN [options]

Trains a purchase-propensity model on a CSV with a header and a 0/1 target column (every other column
a predictor: numeric when all its values are numbers, else categorical), reports cross-validated AUC,
the decile lift table and the positives found in the top k, shows the model (a logistic regression's
coefficients with odds ratios, a tree's segments with their size, rate and lift), and scores a test
file.

  --train FILE          the training set
  --target COLUMN       the 0/1 column to predict
  --model KIND          logistic (L2-regularised, C = 1), tree (CHAID), or auto (default): both are
                        cross-validated on the same folds and the one with the higher top-10% lift
                        (then top-20% lift, then lower misclassification) is kept
  --folds K             cross-validation folds, stratified (default 5)
  --seed N              seeds the folds (default 1)
  --categorical A,B     columns to read as categories (a numeric code that names a category, say)
  --numeric A,B         columns to read as numbers
  --na TOKENS           cells that mean "missing", comma-separated (an empty cell always does); default
                        pandas' list: NA, N/A, n/a, #N/A, NaN, nan, NULL, null, None, <NA>, ... A missing
                        number is filled by the logistic regression with its training rows' mean and
                        flagged by a "<column> (missing)" indicator; CHAID gives it a branch of its own
                        or joins it to the bin it resembles; a missing category is the level (missing)
  --top K               positives found in the top K rows by score (default: a tenth of the rows)
  --test FILE           scores this file (same columns; the target may be absent); with the target
                        present, reports test metrics too
  --scores FILE         with --test: writes a CSV with a "score" column, one row per test row, in order
  --chart FILE          writes the decile lift chart as an SVG (test lift when the test has the target,
                        else the cross-validated lift)
  --calibrate           Platt-scales the model on its cross-validated scores (scikit-learn's
                        CalibratedClassifierCV(method="sigmoid")), so a score of 0.2 means one buyer in
                        five; the ranking does not change. The report always shows calibration tables
  --save-model FILE     writes the model fitted on every row as the decision function's artifact (JSON;
                        its target "default", each column a trait); \`moment score\` scores files with it
  --C C                 logistic: inverse regularisation strength, as scikit-learn's (default 1)
  --alpha-split P       tree: split while the Bonferroni-adjusted chi-square p is below P (default 0.05)
  --alpha-merge P       tree: merge categories while their chi-square p is above P (default 0.05)
  --max-depth D         tree: depth of the deepest split's children (default 4, at most 8)
  --min-node-size N     tree: a node with fewer rows is not split (default 50)
  --min-child-size N    tree: every child of a split has at least N rows (default 20)
  --json                prints one JSON object instead of the readable report (the model under "fitted")
`;

const KINDS = ['logistic', 'tree', 'auto'] as const;

export function trainCommand(args: string[], io: Streams): void {
  const v = options(args, {
    train: { type: 'string' },
    target: { type: 'string' },
    model: { type: 'string' },
    folds: { type: 'string' },
    seed: { type: 'string' },
    categorical: { type: 'string' },
    numeric: { type: 'string' },
    na: { type: 'string' },
    top: { type: 'string' },
    test: { type: 'string' },
    scores: { type: 'string' },
    chart: { type: 'string' },
    'save-model': { type: 'string' },
    calibrate: { type: 'boolean' },
    C: { type: 'string' },
    'alpha-split': { type: 'string' },
    'alpha-merge': { type: 'string' },
    'max-depth': { type: 'string' },
    'min-node-size': { type: 'string' },
    'min-child-size': { type: 'string' },
    json: { type: 'boolean' },
  });
  const trainFile = required(v.train, 'train');
  const target = required(v.target, 'target');
  const kind = modelKind(v.model);
  if (v.scores !== undefined && v.test === undefined) throw new UsageError('--scores needs --test (the file to score)');
  const folds = numberOption(v.folds, 'folds', { min: 2, max: 50, integer: true }, 5);
  const seed = numberOption(v.seed, 'seed', { min: 0, max: 2 ** 31 - 1, integer: true }, 1);
  const top = v.top === undefined ? undefined : numberOption(v.top, 'top', { min: 1, max: 1e9, integer: true });
  const topK = (rows: number) => Math.min(rows, top ?? Math.round(rows / 10));
  const table = parseCsv(readText(trainFile), trainFile);
  const data = dataset(table, { target, types: columnTypes(v.categorical, v.numeric), ...(v.na === undefined ? {} : { missing: missingTokens(v.na) }) });
  // The test file is read before training, so a mistake in it is reported at once.
  const testFile = v.test === undefined ? undefined : encode(parseCsv(readText(v.test), v.test), data.schema);

  const trained = train(data, kind, { folds, seed, ...hyperParameters(v) });
  const cv = trained.candidates[trained.chosen] as CrossValidation;
  const crossValidated = evaluation(cv.scores, data.y, topK(data.rows)) as Evaluation;
  const platt = v.calibrate === true ? fitPlatt(cv.scores, data.y) : undefined;
  const model = platt === undefined ? trained.model : calibratedModel(trained.model, platt);
  const test = testFile === undefined ? undefined : scoreTest(testFile, model, topK);
  if (v.scores !== undefined && test !== undefined) writeFileSync(v.scores, `score\n${Array.from(test.scores, (s) => String(s)).join('\n')}\n`);
  if (v['save-model'] !== undefined) writeFileSync(v['save-model'], `${JSON.stringify(savedModel(model, data, table), null, 1)}\n`);
  if (v.chart !== undefined) writeFileSync(v.chart, chart(data, trained.chosen, test?.evaluation ?? crossValidated, test?.evaluation !== undefined, folds));

  const calibration = {
    crossValidated: reliability(cv.scores, data.y),
    ...(platt === undefined ? {} : { platt, afterPlatt: reliability(Array.from(cv.scores, (x) => calibrate(x, platt)), data.y) }),
    ...(test?.evaluation === undefined || testFile?.y === undefined ? {} : { test: reliability(test.scores, testFile.y) }),
  };
  const report = { data, trained: { ...trained, model }, crossValidated, folds, seed, test, calibration };
  io.out.write(v.json === true ? `${JSON.stringify(asJson(report))}\n` : readable(report));
}

function modelKind(value: string | undefined): (typeof KINDS)[number] {
  const kind = value ?? 'auto';
  if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError(`--model must be one of ${KINDS.join(', ')}, not "${kind}"`);
  return kind as (typeof KINDS)[number];
}

/** The tokens given with --na, and the empty cell. */
export const missingTokens = (list: string): string[] => ['', ...list.split(',').map((t) => t.trim()).filter((t) => t !== '')];

function columnTypes(categorical: string | undefined, numeric: string | undefined): Record<string, ColumnType> {
  const list = (s: string | undefined) => (s ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
  const types: Record<string, ColumnType> = {};
  for (const c of list(categorical)) types[c] = 'categorical';
  for (const c of list(numeric)) {
    if (types[c] !== undefined) throw new UsageError(`column "${c}" is given as both categorical and numeric`);
    types[c] = 'numeric';
  }
  return types;
}

/** The models' hyper-parameters given on the command line (the defaults where not). */
function hyperParameters(v: Record<string, string | boolean | undefined>): ModelOptions {
  const n = (name: string, bounds: { min: number; max: number; integer?: boolean }) => (v[name] === undefined ? undefined : numberOption(v[name] as string, name, bounds));
  const tree = {
    alphaSplit: n('alpha-split', { min: 1e-12, max: 1 }),
    alphaMerge: n('alpha-merge', { min: 1e-12, max: 1 }),
    // A saved tree puts a missing-value split before each numeric one: 8 levels fit the artifact's 16.
    maxDepth: n('max-depth', { min: 1, max: 8, integer: true }),
    minNodeSize: n('min-node-size', { min: 2, max: 1e9, integer: true }),
    minChildSize: n('min-child-size', { min: 1, max: 1e9, integer: true }),
  };
  const C = n('C', { min: 1e-9, max: 1e9 });
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;
  return { tree: defined(tree), ...(C === undefined ? {} : { logistic: { C } }) };
}

/** The chosen model: both kinds cross-validated for auto, else the one asked for; then fitted on every row. */
function train(data: Dataset, kind: (typeof KINDS)[number], cv: { folds: number; seed: number } & ModelOptions) {
  if (kind === 'auto') return selectModel(data, cv);
  const only = crossValidate(data, { ...cv, model: kind });
  return { chosen: kind as ModelKind, reason: 'asked for', candidates: { [kind]: only } as Partial<Record<ModelKind, CrossValidation>>, model: fitModel(kind, data, data.y, cv) };
}

/**
 * The decision function's artifact of the model, checked before it is written: its loader accepts
 * it, and scored through it (as `moment score` does) the training file's rows get exactly the
 * model's own scores.
 */
function savedModel(model: FittedModel, data: Dataset, table: CsvTable) {
  const file = data.file;
  for (const c of data.columns) {
    if (c.type === 'numeric' && c.values.some((x) => Math.abs(x) > MAX_FEATURE_VALUE)) {
      throw new LearnInputError(file, 1, `the model cannot be saved as an artifact: column "${c.name}" holds values beyond ±${MAX_FEATURE_VALUE}, which the decision function clamps; rescale it (days rather than milliseconds, say)`, 1);
    }
  }
  const trainedAt = new Date().toISOString();
  const artifact = modelArtifact(model, data.schema, { version: `moment-train-${trainedAt.slice(0, 10)}`, trainedAt, trainedOn: basename(file) });
  try {
    loadModel(artifact);
  } catch (e) {
    throw new LearnInputError(file, 1, `the model cannot be saved as an artifact: ${(e as Error).message}${model.kind === 'tree' ? ' (a smaller tree: lower --max-depth)' : ''}`, 1);
  }
  const own = predict(model, data);
  const through = scoreFile(artifact, table);
  const row = own.findIndex((p, i) => !Object.is(p, through[i]));
  if (row >= 0) throw new LearnInputError(file, table.locate(row, 0).line, `the model cannot be saved as an artifact: through it this row scores ${through[row]}, not ${own[row]}`, 1);
  return artifact;
}

/** How well scores rank a labelled file; undefined when its target holds one class only (no ranking to judge). */
function evaluation(scores: ArrayLike<number>, y: Uint8Array, k: number): Evaluation | undefined {
  const positives = y.reduce((s, v) => s + v, 0);
  return positives === 0 || positives === y.length ? undefined : evaluate(scores, y, k);
}

interface TestScores {
  file: string;
  scores: Float64Array;
  labelled: boolean;
  evaluation?: Evaluation;
}

function scoreTest(encoded: EncodedFile, model: FittedModel, topK: (rows: number) => number): TestScores {
  const scores = predict(model, encoded);
  const judged = encoded.y === undefined ? undefined : evaluation(scores, encoded.y, topK(encoded.rows));
  return { file: encoded.file, scores, labelled: encoded.y !== undefined, ...(judged ? { evaluation: judged } : {}) };
}

function chart(data: Dataset, chosen: ModelKind, e: Evaluation, onTest: boolean, folds: number): string {
  return liftChartSvg(e.deciles, {
    title: `Lift by decile: ${chosen === 'logistic' ? 'logistic regression' : 'CHAID tree'} for ${data.schema.target}`,
    subtitle: `${onTest ? 'test set' : `${folds}-fold cross-validated scores`}: ${e.rows} rows, ${e.positives} positives; top decile lift ${(e.deciles[0]?.cumulativeLift ?? 0).toFixed(2)}`,
  });
}

// ---- Output ---------------------------------------------------------------------------------------

interface Report {
  data: Dataset;
  trained: ReturnType<typeof train>;
  crossValidated: Evaluation;
  folds: number;
  seed: number;
  test?: TestScores;
  calibration: { crossValidated: Reliability; platt?: Platt; afterPlatt?: Reliability; test?: Reliability };
}

const reliabilityJson = (r: Reliability) => ({
  calibrationError: round(r.calibrationError),
  brier: round(r.brier),
  bins: r.bins.map((b) => ({ rows: b.rows, predicted: round(b.predicted), observed: round(b.observed) })),
});

const round = (v: number, digits = 4) => Number(v.toFixed(digits));

const evaluationJson = (e: Evaluation) => ({
  rows: e.rows,
  positives: e.positives,
  auc: round(e.auc),
  topDecileLift: round(e.deciles[0]?.cumulativeLift ?? 0),
  positivesInTop: { k: e.top.k, positives: round(e.top.positives, 2) },
  misclassification: round(e.misclassification),
  deciles: e.deciles.map((d) => ({ decile: d.decile, rows: d.count, positives: round(d.positives, 2), lift: round(d.lift), cumulativeLift: round(d.cumulativeLift), captured: round(d.captured) })),
});

function asJson({ data, trained, crossValidated, folds, seed, test, calibration }: Report) {
  return {
    train: { file: data.file, rows: data.rows, positives: data.positives, target: data.schema.target, predictors: data.schema.columns.map((c) => ({ name: c.name, type: c.type })) },
    model: trained.chosen,
    reason: trained.reason,
    fitted: describeModel(trained.model),
    crossValidation: {
      folds,
      seed,
      candidates: Object.fromEntries(Object.entries(trained.candidates).map(([k, cv]) => [k, { meanAuc: round(cv.meanAuc), foldAuc: cv.foldAuc.map((a) => round(a)), topDecileLift: round(cv.topDecileLift) }])),
      ...evaluationJson(crossValidated),
      calibration: reliabilityJson(calibration.crossValidated),
    },
    ...(calibration.platt === undefined ? {} : { calibrated: { a: calibration.platt.a, b: calibration.platt.b, crossValidated: reliabilityJson(calibration.afterPlatt as Reliability) } }),
    ...(test === undefined ? {} : { test: { file: test.file, rows: test.scores.length, ...(test.evaluation ? evaluationJson(test.evaluation) : {}), ...(calibration.test ? { calibration: reliabilityJson(calibration.test) } : {}) } }),
  };
}

function readable({ data, trained, crossValidated, folds, seed, test, calibration }: Report): string {
  const numeric = data.schema.columns.filter((c) => c.type === 'numeric').length;
  const lines = [
    `${data.file}: ${data.rows} rows, ${data.schema.columns.length} predictors (${numeric} numeric, ${data.schema.columns.length - numeric} categorical), target ${data.schema.target}: ${data.positives} positives (${((100 * data.positives) / data.rows).toFixed(2)}%)`,
    '',
    `${folds}-fold cross-validation (stratified, seed ${seed}):`,
    ...Object.entries(trained.candidates).map(
      ([k, cv]) => `  ${k.padEnd(9)} mean AUC ${cv.meanAuc.toFixed(4)}  (folds ${cv.foldAuc.map((a) => a.toFixed(3)).join(' ')})  top-10% lift ${cv.topDecileLift.toFixed(2)}`,
    ),
    `model: ${trained.chosen} (${trained.reason})`,
    '',
    ...evaluationLines(`Cross-validated, ${trained.chosen}`, crossValidated),
    '',
    ...reliabilityLines('Calibration of the cross-validated scores', calibration.crossValidated),
    ...(calibration.platt === undefined
      ? []
      : ['', ...reliabilityLines(`After Platt scaling (a ${calibration.platt.a.toPrecision(4)}, b ${calibration.platt.b.toPrecision(4)}; fitted on these scores, so a little flattering)`, calibration.afterPlatt as Reliability)]),
    '',
    ...modelLines(describeModel(trained.model)),
  ];
  if (test !== undefined) {
    lines.push('', `${test.file}: ${test.scores.length} rows scored`);
    if (test.evaluation !== undefined) lines.push('', ...evaluationLines('Test', test.evaluation));
    if (calibration.test !== undefined) lines.push('', ...reliabilityLines('Calibration on the test file', calibration.test));
    else if (test.labelled) lines.push(`  (no test metrics: its target holds one class only)`);
  }
  return `${lines.join('\n')}\n`;
}

function evaluationLines(title: string, e: Evaluation): string[] {
  return [
    `${title}: AUC ${e.auc.toFixed(4)}, positives in the top ${e.top.k}: ${formatCount(e.top.positives)} of ${e.positives}, misclassification at the base rate ${e.misclassification.toFixed(3)}`,
    '  decile   rows  positives   rate   lift  cum. lift  captured',
    ...e.deciles.map(
      (d) =>
        `  ${String(d.decile).padStart(6)} ${String(d.count).padStart(6)} ${formatCount(d.positives).padStart(10)} ${(d.rate * 100).toFixed(1).padStart(5)}% ${d.lift.toFixed(2).padStart(6)} ${d.cumulativeLift.toFixed(2).padStart(10)} ${(d.captured * 100).toFixed(1).padStart(8)}%`,
    ),
  ];
}

function reliabilityLines(title: string, r: Reliability): string[] {
  return [
    `${title}: expected calibration error ${r.calibrationError.toFixed(4)}, Brier score ${r.brier.toFixed(4)}`,
    '     rows  mean score  buyer rate',
    ...r.bins.map((b) => `  ${String(b.rows).padStart(7)} ${b.predicted.toFixed(4).padStart(11)} ${b.observed.toFixed(4).padStart(11)}`),
  ];
}

/** How many coefficients or segments the readable report shows (all of them are in --json). */
const SHOWN = 20;

function modelLines(d: ModelDescription): string[] {
  if (d.kind === 'logistic') {
    const rows = d.coefficients.slice(0, SHOWN).map((c) => `  ${(c.level === undefined ? c.column : `${c.column} = ${c.level}`).slice(0, 40).padEnd(40)} ${c.weight.toPrecision(4).padStart(11)} ${c.oddsRatio.toPrecision(4).padStart(10)} ${c.oddsRatioPerSd.toPrecision(4).padStart(13)}`);
    return [
      `Model (fitted on every row): logistic regression, intercept ${d.intercept.toPrecision(4)} (log-odds where every number is 0 and no level matches); the largest effects first`,
      `  ${'predictor'.padEnd(40)} ${'coefficient'.padStart(11)} ${'odds ratio'.padStart(10)} ${'per std. dev.'.padStart(13)}`,
      ...rows,
      ...(d.coefficients.length > SHOWN ? [`  ... ${d.coefficients.length - SHOWN} more in --json`] : []),
    ];
  }
  return [
    `Model (fitted on every row): CHAID tree, ${d.segments.length} segments, the highest lift first`,
    '    rows   rate   lift  segment',
    ...d.segments.slice(0, SHOWN).map((g) => `  ${String(g.rows).padStart(6)} ${(g.rate * 100).toFixed(1).padStart(5)}% ${g.lift.toFixed(2).padStart(6)}  ${g.conditions.length === 0 ? 'everyone' : g.conditions.join(' and ')}`),
    ...(d.segments.length > SHOWN ? [`  ... ${d.segments.length - SHOWN} more in --json`] : []),
  ];
}

const formatCount = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
