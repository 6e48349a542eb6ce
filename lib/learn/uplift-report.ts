/**
 * An offer's uplift, as the nightly report gives it: the treated and control arms (sizes and response
 * rates), and where both arms have enough responders, a two-model uplift (lib/learn/uplift.ts) fitted
 * on the customers outside the nightly holdout and judged by its Qini curve on the holdout's
 * (lib/learn/qini.ts), so "who to send it to" is answered by who it changes, measured on customers
 * the models never saw. One report per source of assignment (the decision holdout, each campaign's
 * control): each is its own experiment, with its own share held out and its own customers, so their
 * arms are compared within it and never pooled.
 */
import { selectRows } from './csv';
import { qini, type QiniDecile } from './qini';
import type { AssignmentSource, UpliftSet } from './training-set';
import { fitTwoModel, predictUplift } from './uplift';

export interface UpliftArm {
  rows: number;
  /** People (a person whose devices merged after the cut-off is a row per device). */
  customers: number;
  responders: number;
  /** responders / rows (NaN without rows). */
  rate: number;
}

export interface UpliftReport {
  method: 'two-model';
  /** The experiment whose arms these are: the decision holdout, or a campaign's control (`campaign:<id>`). */
  source: AssignmentSource;
  /** What counts as a response in both arms (an order, or an order in a category). */
  outcome: string;
  treated: UpliftArm;
  control: UpliftArm;
  /** The treated arm's response rate less the control's: the offer's average effect on those it was assigned to. */
  averageUplift: number;
  /** Whether a model was fitted and judged, and if not, why. */
  reason: string;
  /** The models' ranking on the nightly holdout's customers in both arms. */
  holdout?: { treated: number; control: number; incremental: number; coefficient: number; deciles: QiniDecile[] };
}

export interface UpliftReportOptions {
  /** Each arm of the training customers needs this many responders and as many who did not respond; the holdout's a quarter as many responders. */
  minResponders: number;
  /** Whether a person is in the nightly holdout (lib/learn/nightly.ts). */
  inHoldout: (profileId: string) => boolean;
}

function arm(set: UpliftSet, rows: readonly number[]): UpliftArm {
  const responders = rows.reduce((s, r) => s + (set.y[r] as number), 0);
  return { rows: rows.length, customers: new Set(rows.map((r) => set.profileIds[r])).size, responders, rate: rows.length === 0 ? NaN : responders / rows.length };
}

const percent = (x: number): string => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** A report per source of assignment, in the set's order of sources (the decision holdout first). */
export function upliftReports(set: UpliftSet, options: UpliftReportOptions): UpliftReport[] {
  const sources = [...new Set(set.sources)];
  return sources.map((source) => upliftReport(set, source, options));
}

/** One source's arms, and the two-model uplift's Qini on the holdout where both arms have enough responders. */
export function upliftReport(set: UpliftSet, source: AssignmentSource, options: UpliftReportOptions): UpliftReport {
  const all = Array.from({ length: set.rows }, (_, r) => r).filter((r) => set.sources[r] === source);
  const treatedRows = all.filter((r) => set.treated[r] === 1);
  const controlRows = all.filter((r) => set.treated[r] === 0);
  const treated = arm(set, treatedRows);
  const control = arm(set, controlRows);
  const base = { method: 'two-model' as const, source, outcome: set.schema.target, treated, control, averageUplift: treated.rate - control.rate };
  const arms = `treated ${treated.responders} of ${treated.rows} (${percent(treated.rate)}), control ${control.responders} of ${control.rows} (${percent(control.rate)})`;
  if (control.rows === 0) return { ...base, reason: `no control group: nobody eligible for the offer was held out in the horizon (${arms})` };
  if (treated.rows === 0) return { ...base, reason: `nobody was offered it in the horizon (${arms})` };
  const held = all.filter((r) => options.inHoldout(set.profileIds[r] as string));
  const training = all.filter((r) => !options.inHoldout(set.profileIds[r] as string));
  const min = options.minResponders;
  const short = (rows: number[], treatedArm: 0 | 1, need: number, bothOutcomes: boolean) => {
    const own = rows.filter((r) => set.treated[r] === treatedArm);
    const responders = own.reduce((s, r) => s + (set.y[r] as number), 0);
    return responders < need || (bothOutcomes && own.length - responders < need);
  };
  const holdoutNeed = Math.ceil(min / 4);
  if (short(training, 1, min, true) || short(training, 0, min, true) || short(held, 1, holdoutNeed, false) || short(held, 0, holdoutNeed, false)) {
    return { ...base, reason: `${arms}: each arm needs ${min} responders and ${min} who did not respond outside the holdout, and ${holdoutNeed} responders in it, to fit and judge an uplift model` };
  }
  const fitted = fitTwoModel(selectRows(set, training), Uint8Array.from(training, (r) => set.y[r] as number), Uint8Array.from(training, (r) => set.treated[r] as number));
  const predicted = predictUplift(fitted, selectRows(set, held));
  const q = qini(
    Uint8Array.from(held, (r) => set.y[r] as number),
    predicted,
    Uint8Array.from(held, (r) => set.treated[r] as number),
  );
  const top = q.deciles[2];
  const reason = `${arms}; two-model uplift on the holdout (${q.treated} treated, ${q.control} control): Qini coefficient ${q.coefficient.toFixed(3)}, ${q.incremental.toFixed(1)} incremental responders in all, ${top === undefined ? 'n/a' : top.incremental.toFixed(1)} in the top 30% (random ${top === undefined ? 'n/a' : top.random.toFixed(1)})`;
  return { ...base, reason, holdout: { treated: q.treated, control: q.control, incremental: q.incremental, coefficient: q.coefficient, deciles: q.deciles } };
}
