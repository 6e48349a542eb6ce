/**
 * Supervised training for `moment train`: cross-validation of a propensity model on a training
 * set, and the choice between the logistic regression and the CHAID tree when asked for `auto`.
 * Every score that judges a model is out-of-fold: made by a model that never saw that row.
 * Missing numbers are filled inside each model from its own training rows (lib/learn/impute.ts for
 * the logistic regression, the floating category for CHAID), so no fold sees its held-out rows.
 */
import { selectRows, type Dataset, type Features } from './csv';
import { fitLogistic, predictProba, type LogisticModel, type LogisticOptions } from './logistic';
import { fitTree, predictTree, type TreeModel, type TreeOptions } from './chaid';
import { impute, learnImputation, type Imputation } from './impute';
import { evaluate, rocAuc, stratifiedFolds, type DecileRow } from './metrics';

export type ModelKind = 'logistic' | 'tree';
/** A logistic regression with how it fills missing numbers (its weights include the indicators'). */
export type ImputedLogistic = LogisticModel & { imputation: Imputation[] };
export type FittedModel = ImputedLogistic | TreeModel;

export interface ModelOptions {
  logistic?: LogisticOptions;
  tree?: TreeOptions;
}

export interface CrossValidationOptions extends ModelOptions {
  /** Default 5. */
  folds?: number;
  /** Seeds the fold assignment. Default 1. */
  seed?: number;
}

export interface CrossValidation {
  model: ModelKind;
  folds: number;
  seed: number;
  /** The out-of-fold score of every row, in file order. */
  scores: Float64Array;
  foldAuc: number[];
  meanAuc: number;
  /** AUC of the pooled out-of-fold scores. */
  pooledAuc: number;
  deciles: DecileRow[];
  /** Cumulative lift of the top 10% and top 20% of rows by score. */
  topDecileLift: number;
  top20Lift: number;
  /** Positives among the top 10% of rows (ties at the cut shared pro rata). */
  positivesInTop10: number;
  /** The share misclassified when a score at or above the base rate is called a 1. */
  misclassification: number;
}

export function fitModel(kind: ModelKind, data: Features, y: Uint8Array, options: ModelOptions = {}): FittedModel {
  if (kind === 'tree') return fitTree(data, y, options.tree);
  const imputation = learnImputation(data);
  return { ...fitLogistic(impute(data, imputation), y, options.logistic), imputation };
}

/** The probability of a 1 for each row, by either kind of model. */
export function predict(model: FittedModel, data: Features): Float64Array {
  return model.kind === 'logistic' ? predictProba(model, impute(data, model.imputation)) : predictTree(model, data);
}

function rowsWhere(fold: Int32Array, keep: (f: number) => boolean): Int32Array {
  const rows: number[] = [];
  fold.forEach((f, i) => keep(f) && rows.push(i));
  return Int32Array.from(rows);
}

const pick = (y: Uint8Array, rows: Int32Array) => Uint8Array.from(rows, (i) => y[i] as number);

/** Fits on all folds but one and scores the one left out, for each fold (stratified, seeded). */
export function crossValidate(data: Dataset, options: CrossValidationOptions & { model: ModelKind }): CrossValidation {
  const folds = options.folds ?? 5;
  const seed = options.seed ?? 1;
  const negatives = data.rows - data.positives;
  if (Math.min(data.positives, negatives) < folds) {
    throw new Error(`${data.file}: ${data.positives} positives and ${negatives} negatives; ${folds}-fold cross-validation needs at least ${folds} of each (lower --folds)`);
  }
  const fold = stratifiedFolds(data.y, folds, seed);
  const scores = new Float64Array(data.rows);
  const foldAuc: number[] = [];
  for (let k = 0; k < folds; k++) {
    const train = rowsWhere(fold, (f) => f !== k);
    const test = rowsWhere(fold, (f) => f === k);
    const model = fitModel(options.model, selectRows(data, train), pick(data.y, train), options);
    const predicted = predict(model, selectRows(data, test));
    test.forEach((row, j) => (scores[row] = predicted[j] as number));
    foldAuc.push(rocAuc(predicted, pick(data.y, test)));
  }
  return { model: options.model, folds, seed, scores, foldAuc, meanAuc: foldAuc.reduce((s, a) => s + a, 0) / folds, ...summary(scores, data.y) };
}

function summary(scores: Float64Array, y: Uint8Array) {
  const e = evaluate(scores, y);
  return {
    pooledAuc: e.auc,
    deciles: e.deciles,
    topDecileLift: (e.deciles[0] as DecileRow).cumulativeLift,
    top20Lift: (e.deciles[1] as DecileRow).cumulativeLift,
    positivesInTop10: e.top.positives,
    misclassification: e.misclassification,
  };
}

export interface Selection {
  chosen: ModelKind;
  /** Which step of the rule decided, in words. */
  reason: string;
  candidates: Record<ModelKind, CrossValidation>;
  /** The chosen kind, fitted on all training rows. */
  model: FittedModel;
}

/** Two lifts closer than this (relative to the larger) are a tie. */
const LIFT_TIE = 0.02;

/**
 * The rule for `auto`, on out-of-fold predictions, in order — a campaign mails the top of the list,
 * so what matters first is how many buyers are there:
 * 1. the higher cumulative lift in the top 10% of rows, unless within 2% of each other;
 * 2. else the higher lift in the top 20%, unless within 2%;
 * 3. else the lower misclassification when a score at or above the base rate is called a buyer;
 * 4. else the logistic regression (it exports to the decision function's model as it is).
 */
export function chooseModel(logistic: CrossValidation, tree: CrossValidation): { chosen: ModelKind; reason: string } {
  const steps: Array<[string, number, number, boolean]> = [
    ['top-10% lift', logistic.topDecileLift, tree.topDecileLift, true],
    ['top-20% lift', logistic.top20Lift, tree.top20Lift, true],
    ['misclassification at the base rate', logistic.misclassification, tree.misclassification, false],
  ];
  for (const [name, l, t, higherIsBetter] of steps) {
    const tie = higherIsBetter ? Math.abs(l - t) <= LIFT_TIE * Math.max(l, t) : l === t;
    if (tie) continue;
    const chosen: ModelKind = (l > t) === higherIsBetter ? 'logistic' : 'tree';
    return { chosen, reason: `${name}: logistic ${l.toFixed(3)}, tree ${t.toFixed(3)}` };
  }
  return { chosen: 'logistic', reason: 'a tie on every measure: the logistic regression by default' };
}

/** Cross-validates both kinds on the same folds, chooses by `chooseModel`, and fits the chosen one on all rows. */
export function selectModel(data: Dataset, options: CrossValidationOptions = {}): Selection {
  const logistic = crossValidate(data, { ...options, model: 'logistic' });
  const tree = crossValidate(data, { ...options, model: 'tree' });
  const { chosen, reason } = chooseModel(logistic, tree);
  return { chosen, reason, candidates: { logistic, tree }, model: fitModel(chosen, data, data.y, options) };
}
