/**
 * Customer lifetime value from purchase histories: BG/NBD (lib/learn/bgnbd.ts) for how many
 * purchases a customer will make, Gamma-Gamma (lib/learn/gamma-gamma.ts) for what each is worth,
 * both fitted by maximum likelihood on the customers' own histories; her value is the expected
 * purchases of each month of the horizon x their expected value x the margin, discounted to today
 * month by month (as lifetimes' `customer_lifetime_value` steps). A back-test fits the same models on
 * all but the last days of the history and compares the purchases they expect in those days with
 * the purchases made.
 *
 * Time is in days. Purchases on the same day are one purchase (their values summed), as lifetimes'
 * `summary_data_from_transaction_data` counts them: a basket split over two orders is not a repeat.
 */
import { expectedPurchases, fitBgNbd, type BgNbdFit, type PurchaseSummary } from './bgnbd';
import { expectedAverageValue, fitGammaGamma, populationMeanValue, type GammaGammaFit } from './gamma-gamma';

/** A purchase: its day (days since 1970-01-01, UTC) and its value. */
export interface Purchase {
  day: number;
  value: number;
}

/** A customer's history as the models read it, in `unit`-day time units, with the mean value of her repeat purchases. */
export interface CustomerSummary extends PurchaseSummary {
  meanRepeatValue: number;
}

/**
 * Her history up to `endDay` (included), in time units of `unitDays` days (7: weeks, as on CDNOW):
 * frequency (days with a purchase after her first), recency (her last purchase day since her first)
 * and T (`endDay` since her first purchase day). Undefined if she bought nothing by then.
 */
export function summarize(purchases: readonly Purchase[], endDay: number, unitDays = 1): CustomerSummary | undefined {
  const byDay = new Map<number, number>();
  for (const p of purchases) if (p.day <= endDay) byDay.set(p.day, (byDay.get(p.day) ?? 0) + p.value);
  if (byDay.size === 0) return undefined;
  const days = [...byDay.keys()].sort((a, b) => a - b);
  const first = days[0] as number;
  const last = days[days.length - 1] as number;
  let repeatValue = 0;
  for (const d of days.slice(1)) repeatValue += byDay.get(d) as number;
  return { frequency: days.length - 1, recency: (last - first) / unitDays, T: (endDay - first) / unitDays, meanRepeatValue: days.length > 1 ? repeatValue / (days.length - 1) : 0 };
}

/** Days with a purchase after `fromDay` and up to `toDay`: the purchases a back-test's holdout saw. */
export function purchaseDaysBetween(purchases: readonly Purchase[], fromDay: number, toDay: number): number {
  return new Set(purchases.filter((p) => p.day > fromDay && p.day <= toDay).map((p) => p.day)).size;
}

export interface ClvOptions {
  /** Days ahead the value is summed over (default 365). */
  horizonDays?: number;
  /** The share of a purchase's value that is profit (default 1: the value is revenue). */
  margin?: number;
  /** The yearly rate future value is discounted at (default 0.1), applied month by month. */
  annualDiscountRate?: number;
  /** Customers with a purchase, at least, to fit the models on (default 50). */
  minBuyers?: number;
  /** Customers with a repeat purchase, at least (default 10): without repeats the purchase rate and drop-out cannot be told apart. */
  minRepeatBuyers?: number;
}

/** The options with their documented defaults filled in (the nightly configuration sets them all). */
export const clvDefaults = (options: ClvOptions = {}): Required<ClvOptions> => ({ horizonDays: 365, margin: 1, annualDiscountRate: 0.1, minBuyers: 50, minRepeatBuyers: 10, ...options });

/**
 * The value models fitted on a population, in days. `spend` is absent where Gamma-Gamma is not used
 * (too few repeat buyers with a value, a fit that did not converge, or q <= 1: no finite mean), and
 * `spendNotUsed` says why: each purchase is then worth `purchaseValue`, the median of the repeat
 * buyers' mean purchase values (a median, so one absurd buyer cannot decide everyone's value).
 */
export interface ValueModels {
  purchases: Pick<BgNbdFit, 'params' | 'logLikelihood' | 'customers' | 'converged'>;
  spend?: Pick<GammaGammaFit, 'params' | 'logLikelihood' | 'customers' | 'converged'>;
  spendNotUsed?: string;
  purchaseValue: number;
}

/** The fitted models, or why the customers could not carry them. */
export type ValueFit = { fitted: true; models: ValueModels } | { fitted: false; reason: string };

/**
 * Fits BG/NBD and Gamma-Gamma on the customers' summaries (in days), or says why not. A fit that did
 * not converge is not used (BG/NBD's: no model; Gamma-Gamma's: the median value per purchase), and a
 * fit that throws (a history no model can read) is a reason, never the caller's failure.
 */
export function fitValueModels(customers: readonly CustomerSummary[], options: ClvOptions = {}): ValueFit {
  const { minRepeatBuyers } = clvDefaults(options);
  const tooFew = tooFewFor(customers, options);
  if (tooFew !== undefined) return { fitted: false, reason: tooFew };
  try {
    const { params, logLikelihood, converged } = fitBgNbd(customers);
    if (!converged) return { fitted: false, reason: 'the purchase model (BG/NBD) did not converge' };
    const valued = customers.filter((c) => c.frequency > 0 && c.meanRepeatValue > 0).map((c) => ({ frequency: c.frequency, meanValue: c.meanRepeatValue }));
    const purchaseValue = median(valued.map((c) => c.meanValue));
    const purchases = { params, logLikelihood, customers: customers.length, converged };
    const spendOf = (): Pick<ValueModels, 'spend' | 'spendNotUsed'> => {
      if (valued.length < minRepeatBuyers) return { spendNotUsed: `${valued.length} repeat buyers with a value; at least ${minRepeatBuyers} are needed` };
      const fit = fitGammaGamma(valued);
      if (!fit.converged) return { spendNotUsed: 'the spend model (Gamma-Gamma) did not converge' };
      const mean = populationMeanValue(fit.params);
      if (mean === undefined || !Number.isFinite(mean)) return { spendNotUsed: `the spend model (Gamma-Gamma) has no finite mean (q = ${fit.params.q})` };
      return { spend: { params: fit.params, logLikelihood: fit.logLikelihood, customers: fit.customers, converged: fit.converged } };
    };
    return { fitted: true, models: { purchases, ...spendOf(), purchaseValue } };
  } catch (e) {
    return { fitted: false, reason: `the value models failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The median (the mean of the middle two of an even count); 0 without values. */
function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Why the customers cannot carry the models, if they cannot. */
function tooFewFor(customers: readonly PurchaseSummary[], options: ClvOptions): string | undefined {
  const { minBuyers, minRepeatBuyers } = clvDefaults(options);
  const repeat = customers.filter((c) => c.frequency > 0).length;
  if (customers.length < minBuyers) return `${customers.length} customers with a purchase; at least ${minBuyers} are needed`;
  if (repeat < minRepeatBuyers) return `${repeat} customers with a repeat purchase; at least ${minRepeatBuyers} are needed`;
  return undefined;
}

/** A month, in days: the step the value is discounted by. */
const MONTH_DAYS = 365 / 12;

/**
 * Her expected value over the horizon: for each month, the purchases BG/NBD expects in it x the value
 * Gamma-Gamma expects per purchase x the margin, discounted at the annual rate to the month's end.
 * Throws a RangeError rather than return a value that is not finite.
 */
export function lifetimeValue(models: ValueModels, c: CustomerSummary, options: ClvOptions = {}): number {
  const { horizonDays, margin, annualDiscountRate } = clvDefaults(options);
  const perPurchase = (models.spend && expectedAverageValue(models.spend.params, { frequency: c.frequency, meanValue: c.meanRepeatValue })) ?? models.purchaseValue;
  let value = 0;
  let before = 0;
  for (let k = 1; (k - 1) * MONTH_DAYS < horizonDays; k++) {
    const t = Math.min(k * MONTH_DAYS, horizonDays);
    const upTo = expectedPurchases(models.purchases.params, c, t);
    value += (upTo - before) / (1 + annualDiscountRate) ** (t / 365);
    before = upTo;
  }
  const total = value * perPurchase * margin;
  if (!Number.isFinite(total)) throw new RangeError(`no finite lifetime value: ${value} purchases (discounted) x ${perPurchase} per purchase x margin ${margin}`);
  return total;
}

/** How well the purchase model, fitted on all but the last `holdoutDays` days, foresaw the purchases made in them. */
export interface ValueBacktest {
  holdoutDays: number;
  /** Customers with a purchase in the calibration days (those a forecast is made for), and those with a repeat purchase. */
  customers: number;
  repeatBuyers: number;
  /** Purchases expected in the holdout days, in total, and made. */
  predicted: number;
  actual: number;
  /** Per customer, predicted against made: correlations (Spearman's on ranks, ties at their mean rank; NaN, null in JSON, where either side is constant) and mean absolute error. */
  pearson: number;
  spearman: number;
  meanAbsoluteError: number;
}

/** The back-test, or why it could not be done (a history shorter than the holdout, too few buyers before it). */
export type BacktestResult = ({ done: true } & ValueBacktest) | { done: false; holdoutDays: number; reason: string };

/**
 * Fits BG/NBD on the histories up to `lastDay - holdoutDays`, forecasts each customer's purchases in
 * the following `holdoutDays` days and compares them with her purchases then (customers first seen
 * in the holdout are not forecast: the model is of customers already acquired). A fit that did not
 * converge, or that throws, is a reason, not a back-test.
 */
export function backtestValue(histories: readonly (readonly Purchase[])[], lastDay: number, holdoutDays: number, options: ClvOptions = {}): BacktestResult {
  const calibrationEnd = lastDay - holdoutDays;
  const rows = histories.flatMap((h) => {
    const summary = summarize(h, calibrationEnd);
    return summary === undefined ? [] : [{ summary, actual: purchaseDaysBetween(h, calibrationEnd, lastDay) }];
  });
  const tooFew = tooFewFor(rows.map((r) => r.summary), options);
  if (tooFew !== undefined) return { done: false, holdoutDays, reason: `calibration on all but the last ${holdoutDays} days: ${tooFew}` };
  let predicted: number[];
  try {
    const { params, converged } = fitBgNbd(rows.map((r) => r.summary));
    if (!converged) return { done: false, holdoutDays, reason: `calibration on all but the last ${holdoutDays} days: the purchase model (BG/NBD) did not converge` };
    predicted = rows.map((r) => expectedPurchases(params, r.summary, holdoutDays));
  } catch (e) {
    return { done: false, holdoutDays, reason: `calibration on all but the last ${holdoutDays} days: the value models failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  const actual = rows.map((r) => r.actual);
  return {
    done: true,
    holdoutDays,
    customers: rows.length,
    repeatBuyers: rows.filter((r) => r.summary.frequency > 0).length,
    predicted: sum(predicted),
    actual: sum(actual),
    pearson: pearson(predicted, actual),
    spearman: pearson(ranks(predicted), ranks(actual)),
    meanAbsoluteError: sum(predicted.map((p, i) => Math.abs(p - (actual[i] as number)))) / rows.length,
  };
}

const sum = (xs: readonly number[]): number => xs.reduce((s, v) => s + v, 0);

/** Pearson's correlation; NaN when either side is constant. */
export function pearson(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = sum(xs) / n;
  const my = sum(ys) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks from 1, ties at the mean of their ranks (Spearman's correlation is Pearson's on these). */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((i, j) => (xs[i] as number) - (xs[j] as number));
  const out = new Array<number>(xs.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end < order.length && xs[order[end] as number] === xs[order[start] as number]) end++;
    for (let k = start; k < end; k++) out[order[k] as number] = (start + end + 1) / 2;
    start = end;
  }
  return out;
}
