import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataset, parseCsv } from '../../lib/learn/csv';
import { rocAuc } from '../../lib/learn/metrics';
import { chooseModel, crossValidate, predict, selectModel, type CrossValidation } from '../../lib/learn/train';

const coil = dataset(parseCsv(readFileSync(join(__dirname, '../../data/coil-train.csv'), 'utf8'), 'coil-train.csv'), { target: 'CARAVAN' });

describe('cross-validation on CoIL 2000 (5,822 customers, 348 caravan policies)', () => {
  const logistic = crossValidate(coil, { model: 'logistic', folds: 5, seed: 1 });
  const tree = crossValidate(coil, { model: 'tree', folds: 5, seed: 1 });

  it('reads the file as 85 numeric predictors and a 0/1 target', () => {
    expect([coil.rows, coil.columns.length, coil.positives]).toEqual([5822, 85, 348]);
    expect(coil.columns.every((c) => c.type === 'numeric')).toBe(true);
  });

  it('scores every row out of fold, one AUC per fold', () => {
    for (const cv of [logistic, tree]) {
      expect(cv.scores.every((s) => s > 0 && s < 1)).toBe(true);
      expect(cv.foldAuc).toHaveLength(5);
      expect(cv.pooledAuc).toBeCloseTo(rocAuc(cv.scores, coil.y), 12);
      expect(cv.deciles.reduce((s, d) => s + d.positives, 0)).toBeCloseTo(348, 9);
    }
  });

  it('gives the logistic regression a mean AUC of 0.70-0.78 and more than twice the base rate in the top decile', () => {
    expect(logistic.meanAuc).toBeGreaterThan(0.7);
    expect(logistic.meanAuc).toBeLessThan(0.78);
    expect(logistic.topDecileLift).toBeGreaterThan(2);
    expect(logistic.positivesInTop10).toBeGreaterThan(70);
  });

  it('gives the CHAID tree a mean AUC above 0.65', () => {
    expect(tree.meanAuc).toBeGreaterThan(0.65);
    expect(tree.topDecileLift).toBeGreaterThan(2);
  });

  it('is the same for the same seed', () => {
    expect(crossValidate(coil, { model: 'tree', folds: 5, seed: 1 }).scores).toEqual(tree.scores);
  });

  it('chooses for auto by its rule and fits the choice on every row', () => {
    const selection = selectModel(coil, { folds: 5, seed: 1 });
    expect(selection.chosen).toBe(chooseModel(selection.candidates.logistic, selection.candidates.tree).chosen);
    expect(selection.model.kind).toBe(selection.chosen);
    expect(rocAuc(predict(selection.model, coil), coil.y)).toBeGreaterThan(selection.candidates[selection.chosen].meanAuc);
  });
});

describe('the rule that chooses between the logistic regression and the tree', () => {
  const cv = (topDecileLift: number, top20Lift: number, misclassification: number) => ({ topDecileLift, top20Lift, misclassification }) as CrossValidation;

  it('takes the higher top-decile lift first', () => {
    expect(chooseModel(cv(3.0, 2.0, 0.4), cv(3.3, 1.5, 0.1))).toEqual({ chosen: 'tree', reason: 'top-10% lift: logistic 3.000, tree 3.300' });
    expect(chooseModel(cv(3.3, 1.5, 0.4), cv(3.0, 2.0, 0.1)).chosen).toBe('logistic');
  });

  it('calls top-decile lifts within 2% a tie and goes on to the top 20%', () => {
    expect(chooseModel(cv(3.0, 2.0, 0.1), cv(3.05, 2.5, 0.4))).toEqual({ chosen: 'tree', reason: 'top-20% lift: logistic 2.000, tree 2.500' });
  });

  it('breaks a tie on both lifts with the lower misclassification at the base rate, then prefers the logistic regression', () => {
    expect(chooseModel(cv(3.0, 2.0, 0.31), cv(3.01, 2.01, 0.3)).chosen).toBe('tree');
    expect(chooseModel(cv(3.0, 2.0, 0.3), cv(3.0, 2.0, 0.3)).chosen).toBe('logistic');
  });
});
