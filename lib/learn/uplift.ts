/**
 * Uplift: how much an offer changes the chance that a customer buys, against a control group the
 * engine held out (the decision holdout, a campaign's control). The two-model method: one model fitted
 * on the treated customers, one on the control customers, each the existing propensity learner
 * (lib/learn/train.ts); a customer's predicted uplift is p_treated - p_control. Ranked by it, those
 * the offer moves come first, which a response model alone cannot promise: it ranks first those who
 * would have bought anyway. Judged by the Qini curve on customers neither model saw (lib/learn/qini.ts).
 */
import { selectRows, type Features } from './csv';
import { fitModel, predict, type FittedModel, type ModelKind, type ModelOptions } from './train';

export interface UpliftOptions extends ModelOptions {
  /** The learner of both arms' models. Default 'logistic' (its probabilities are smooth, so the difference of two is too). */
  model?: ModelKind;
}

export interface TwoModelUplift {
  method: 'two-model';
  treated: FittedModel;
  control: FittedModel;
}

/** The rows of each arm (`treated[i]` 1: row i was treated; 0: it was in the control group). */
function arms(treated: ArrayLike<number>): { t: number[]; c: number[] } {
  const t: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < treated.length; i++) (treated[i] === 1 ? t : c).push(i);
  return { t, c };
}

/**
 * Fits the treated arm's model and the control arm's, on the same features. Each arm needs both
 * outcomes (a buyer and a customer who did not buy): with one only, no model can be fitted.
 */
export function fitTwoModel(data: Features, y: Uint8Array, treated: ArrayLike<number>, options: UpliftOptions = {}): TwoModelUplift {
  if (treated.length !== y.length || data.rows !== y.length) throw new RangeError('features, outcomes and arms differ in length');
  const kind = options.model ?? 'logistic';
  const { t, c } = arms(treated);
  const fit = (rows: number[], arm: string) => {
    const outcomes = Uint8Array.from(rows, (r) => y[r] as number);
    const positives = outcomes.reduce((s, v) => s + v, 0);
    if (positives === 0 || positives === rows.length) throw new RangeError(`the ${arm} arm has ${positives} responders of ${rows.length}: both outcomes are needed to fit its model`);
    return fitModel(kind, selectRows(data, rows), outcomes, options);
  };
  return { method: 'two-model', treated: fit(t, 'treated'), control: fit(c, 'control') };
}

/** Each row's predicted uplift: the treated model's probability less the control model's. */
export function predictUplift(model: TwoModelUplift, data: Features): Float64Array {
  const pt = predict(model.treated, data);
  const pc = predict(model.control, data);
  return pt.map((p, i) => p - (pc[i] as number));
}
