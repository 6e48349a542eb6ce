/**
 * `npm run bench:value`: customer value on the CDNOW sample (data/cdnow-sample.txt, data/README.md).
 *
 * 1. BG/NBD and Gamma-Gamma fitted on the paper's 39-week calibration period (weeks as the unit),
 *    against the published parameters (Fader, Hardie and Lee 2005).
 * 2. The paper's holdout check: the repeat purchases each customer was expected to make in the next
 *    39 weeks, given her calibration history, against those she made: in total, by her calibration
 *    frequency (the paper's conditional-expectations figure), and per customer (correlations, MAE).
 * 3. The nightly job's own path (lib/learn/attributes.ts, days as the unit) on the same purchases as
 *    order events, the night after the holdout: its back-test of the last 273 days is check 2 again,
 *    and its clv is each customer's discounted expected value over the next year.
 */
import { fitValue, valueAttributes } from '../lib/learn/attributes';
import { expectedPurchases, fitBgNbd } from '../lib/learn/bgnbd';
import { pearson, purchaseDaysBetween, ranks, summarize, type CustomerSummary } from '../lib/learn/clv';
import type { CollectedEvent } from '../lib/events/segment';
import { fitGammaGamma } from '../lib/learn/gamma-gamma';
import { DAY_MS, type CustomerHistory } from '../lib/learn/training-set';
import { CDNOW, loadCdnow } from '../test/support/purchases';

const fixed = (v: number, digits = 3) => v.toFixed(digits);
const row = (cells: Array<string | number>, widths: number[]) => cells.map((c, i) => String(c).padStart(widths[i] ?? 10)).join('');

const customers = loadCdnow();
const histories = [...customers.values()];
const weeks = histories.map((p) => summarize(p, CDNOW.calibrationEnd, 7) as CustomerSummary);

console.log(`CDNOW sample: ${histories.length} customers, ${histories.reduce((n, p) => n + p.length, 0)} transactions; calibration to 1997-09-30 (39 weeks), holdout to 1998-06-30 (39 weeks)\n`);

let started = performance.now();
const bgnbd = fitBgNbd(weeks);
const bgnbdMs = performance.now() - started;
console.log(`BG/NBD, maximum likelihood (${bgnbd.evaluations} evaluations, ${bgnbdMs.toFixed(0)} ms):`);
console.log(row(['', 'r', 'alpha', 'a', 'b', 'log-lik'], [12, 10, 10, 10, 10, 12]));
console.log(row(['ours', fixed(bgnbd.params.r), fixed(bgnbd.params.alpha), fixed(bgnbd.params.a), fixed(bgnbd.params.b), fixed(bgnbd.logLikelihood, 1)], [12, 10, 10, 10, 10, 12]));
console.log(row(['published', '0.243', '4.414', '0.793', '2.426', '-9582.4'], [12, 10, 10, 10, 10, 12]));

const repeat = weeks.filter((c) => c.frequency > 0).map((c) => ({ frequency: c.frequency, meanValue: c.meanRepeatValue }));
started = performance.now();
const gg = fitGammaGamma(repeat);
const ggMs = performance.now() - started;
console.log(`\nGamma-Gamma on the ${repeat.length} repeat buyers' mean repeat values (${gg.evaluations} evaluations, ${ggMs.toFixed(0)} ms):`);
console.log(row(['', 'p', 'q', 'gamma'], [12, 10, 10, 10]));
console.log(row(['ours', fixed(gg.params.p, 2), fixed(gg.params.q, 2), fixed(gg.params.gamma, 2)], [12, 10, 10, 10]));
console.log(row(['published', '6.25', '3.74', '15.44'], [12, 10, 10, 10]));

const predicted = weeks.map((c) => expectedPurchases(bgnbd.params, c, 39));
const actual = histories.map((p) => purchaseDaysBetween(p, CDNOW.calibrationEnd, CDNOW.holdoutEnd));
const sum = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0);
console.log(`\nHoldout (weeks 40-78), repeat purchases (days with a purchase): expected ${fixed(sum(predicted), 1)}, made ${sum(actual)} (${fixed((sum(predicted) / sum(actual) - 1) * 100, 1)}%)`);
console.log(`Per customer: Pearson ${fixed(pearson(predicted, actual))}, Spearman ${fixed(pearson(ranks(predicted), ranks(actual)))}, mean absolute error ${fixed(sum(predicted.map((p, i) => Math.abs(p - (actual[i] as number)))) / weeks.length)}`);
console.log('\nBy calibration frequency (the paper\'s conditional expectations):');
console.log(row(['x', 'customers', 'made', 'expected'], [6, 12, 10, 10]));
for (let x = 0; x <= 7; x++) {
  const at = weeks.map((c, i) => i).filter((i) => (x < 7 ? (weeks[i] as CustomerSummary).frequency === x : (weeks[i] as CustomerSummary).frequency >= 7));
  console.log(row([x < 7 ? x : '7+', at.length, fixed(sum(at.map((i) => actual[i] as number)) / at.length, 2), fixed(sum(at.map((i) => predicted[i] as number)) / at.length, 2)], [6, 12, 10, 10]));
}

// The nightly path: every purchase as an order event, the night of 1998-07-01.
const night = new Date('1998-07-01T00:00:00Z');
const asEvents: CustomerHistory[] = [...customers.entries()].map(([id, purchases]) => ({
  profileId: `cdnow-${id}`,
  events: purchases.map((p, k) => ({ type: 'track', event: 'Order Completed', userId: id, messageId: `${id}-${k}`, properties: { total: p.value }, timestamp: new Date(p.day * DAY_MS + 12 * 3600_000).toISOString(), receivedAt: night.toISOString() }) as CollectedEvent),
}));
started = performance.now();
const model = fitValue(asEvents, night, { backtestDays: 273, horizonDays: 365, margin: 1, annualDiscountRate: 0.1 });
const fitMs = performance.now() - started;
console.log(`\nThe nightly job's value model on the same purchases, the night of 1998-07-01 (${fitMs.toFixed(0)} ms, back-test included):`);
if (model.clv.fitted) {
  const p = model.clv.models.purchases.params;
  console.log(`  BG/NBD in days on the whole 78 weeks: r ${fixed(p.r)}, alpha ${fixed(p.alpha, 1)} days (${fixed(p.alpha / 7)} weeks), a ${fixed(p.a)}, b ${fixed(p.b)}`);
} else console.log(`  not fitted: ${model.clv.reason}`);
const b = model.backtest;
if (b.done) console.log(`  back-test on the last ${b.holdoutDays} days: ${b.customers} customers, expected ${fixed(b.predicted, 1)}, made ${b.actual}; Pearson ${fixed(b.pearson)}, Spearman ${fixed(b.spearman)}, MAE ${fixed(b.meanAbsoluteError)}`);
else console.log(`  back-test not done: ${b.reason}`);
const clv = [...valueAttributes(asEvents, night, { backtestDays: 273 }).values()].map((a) => Number(a.clv?.value ?? 0)).sort((x, y) => y - x);
const total = sum(clv);
console.log(`  clv over the next 365 days (margin 1, 10% a year): total $${fixed(total, 0)}, median $${fixed(clv[Math.floor(clv.length / 2)] as number, 2)}, top decile ${fixed((sum(clv.slice(0, Math.round(clv.length / 10))) / total) * 100, 1)}% of it`);
