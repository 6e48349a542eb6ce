import { bgNbdLogLikelihood, expectedPurchases, fitBgNbd, hyp2f1, probabilityAlive, type BgNbdParams, type PurchaseSummary } from '../../lib/learn/bgnbd';
import { backtestValue, fitValueModels, lifetimeValue, ranks, summarize, type CustomerSummary, type ValueModels } from '../../lib/learn/clv';
import { expectedAverageValue, fitGammaGamma, populationMeanValue } from '../../lib/learn/gamma-gamma';
import { createRandom } from '../../lib/learn/metrics';
import { minimize } from '../../lib/learn/optimize';
import { CDNOW, loadCdnow, simulateBgNbd } from '../support/purchases';

/** Within half a unit of a published figure's second significant digit (6.25: within 0.05). */
const twoDigits = (value: number, published: number): boolean => Math.abs(value - published) <= 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(published))) - 1);
/** Within half a unit of its last published decimal (4.414: within 0.0005). */
const asPublished = (value: number, published: number): boolean => Math.abs(value - published) <= 0.5 * 10 ** -(String(published).split('.')[1]?.length ?? 0);

describe('BG/NBD and Gamma-Gamma on the CDNOW sample, as published', () => {
  // The paper's data: 2,357 customers, weeks as the unit, calibration to 1997-09-30.
  const weeks = [...loadCdnow().values()].map((p) => summarize(p, CDNOW.calibrationEnd, 7) as CustomerSummary);

  it('reads 2,357 customers, 946 of them repeat buyers, as Hardie’s summary does (customer 1: x = 2, t_x = 30.43, T = 38.86)', () => {
    expect(weeks).toHaveLength(2357);
    expect(weeks.filter((c) => c.frequency > 0)).toHaveLength(946);
    expect(weeks[0]).toMatchObject({ frequency: 2, recency: expect.closeTo(30.43, 2), T: expect.closeTo(38.86, 2), meanRepeatValue: expect.closeTo(22.345, 6) });
  });

  it('fits BG/NBD to the published r = 0.243, α = 4.414, a = 0.793, b = 2.426 (log-likelihood -9582.4)', () => {
    const fit = fitBgNbd(weeks);
    expect(fit.converged).toBe(true);
    const found = [fit.params.r, fit.params.alpha, fit.params.a, fit.params.b];
    const published = [0.243, 4.414, 0.793, 2.426];
    expect(found.map((v, i) => twoDigits(v, published[i] as number))).toEqual([true, true, true, true]);
    // In fact to every published digit.
    expect(found.map((v, i) => asPublished(v, published[i] as number))).toEqual([true, true, true, true]);
    expect(fit.logLikelihood).toBeCloseTo(-9582.4, 0);
    // The published parameters are (to their rounding) the maximum.
    expect(bgNbdLogLikelihood({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, weeks)).toBeLessThanOrEqual(fit.logLikelihood);
  });

  it('fits Gamma-Gamma on the 946 repeat buyers’ mean values to the published p = 6.25, q = 3.74, γ = 15.44', () => {
    const repeat = weeks.filter((c) => c.frequency > 0).map((c) => ({ frequency: c.frequency, meanValue: c.meanRepeatValue }));
    const fit = fitGammaGamma(repeat);
    expect(fit.customers).toBe(946);
    const found = [fit.params.p, fit.params.q, fit.params.gamma];
    const published = [6.25, 3.74, 15.44];
    expect(found.map((v, i) => twoDigits(v, published[i] as number))).toEqual([true, true, true]);
    expect(found.map((v, i) => asPublished(v, published[i] as number))).toEqual([true, true, true]);
    // The population's mean per purchase, and a buyer's expectation between it and her own mean.
    expect(populationMeanValue(fit.params)).toBeCloseTo((6.25 * 15.44) / 2.74, 0);
    const own = expectedAverageValue(fit.params, { frequency: 2, meanValue: 22.35 }) as number;
    expect(own).toBeGreaterThan(22.35);
    expect(own).toBeLessThan(populationMeanValue(fit.params) as number);
  });

  it('gives Hardie’s conditional expectation for customer 1 over the 39-week holdout (1.226), equal to the paper’s plain formula', () => {
    const params = { r: 0.242594150135163, alpha: 4.41359212062015, a: 0.792919156875463, b: 2.4258950494563 };
    const c = { frequency: 2, recency: 30.43, T: 38.86 };
    expect(expectedPurchases(params, c, 39)).toBeCloseTo(1.226, 3);
    const plain = (p: BgNbdParams, h: PurchaseSummary, t: number) => {
      const { r, alpha, a, b } = p;
      const x = h.frequency;
      const top = ((a + b + x - 1) / (a - 1)) * (1 - ((alpha + h.T) / (alpha + h.T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + h.T + t)));
      return top / (1 + (x > 0 ? (a / (b + x - 1)) * ((alpha + h.T) / (alpha + h.recency)) ** (r + x) : 0));
    };
    for (const h of [c, { frequency: 0, recency: 0, T: 30 }, { frequency: 7, recency: 35, T: 38 }, { frequency: 1, recency: 2, T: 36 }]) {
      for (const t of [1, 39, 200]) expect(expectedPurchases(params, h, t)).toBeCloseTo(plain(params, h, t), 9);
    }
    // And where the plain form divides by zero (a = 1), the stable one is continuous.
    const near = (a: number) => expectedPurchases({ ...params, a }, c, 39);
    expect(near(1)).toBeCloseTo((near(1 - 1e-6) + near(1 + 1e-6)) / 2, 6);
  });
});

describe('BG/NBD on customers simulated from it', () => {
  const truth = { r: 0.5, alpha: 10, a: 0.8, b: 3 };
  const random = createRandom(11);
  // 3,000 customers acquired over 200 days, observed 300 days after; 100 days of holdout.
  const Ts = Array.from({ length: 3000 }, () => 100 + random() * 200);
  const simulated = simulateBgNbd(truth, Ts, 100, random);
  const summaryOf = ({ T, times }: { T: number; times: number[] }): PurchaseSummary => {
    const seen = times.filter((t) => t <= T);
    return { frequency: seen.length - 1, recency: seen[seen.length - 1] as number, T };
  };

  it('recovers the parameters it was simulated with', () => {
    const fit = fitBgNbd(simulated.map(summaryOf));
    expect(fit.params.r).toBeCloseTo(truth.r, 0);
    for (const [name, value] of Object.entries(truth)) expect(Math.abs(fit.params[name as keyof BgNbdParams] / value - 1)).toBeLessThan(0.25);
  });

  it('forecasts the holdout’s purchases in total and ranks customers by them', () => {
    const histories = simulated.map(({ T, times }) => times.map((t) => ({ day: Math.floor(300 - T + t), value: 20 })));
    const result = backtestValue(histories, 400, 100);
    if (!result.done) throw new Error(result.reason);
    expect(result.customers).toBe(3000);
    expect(Math.abs(result.predicted / result.actual - 1)).toBeLessThan(0.1);
    expect(result.pearson).toBeGreaterThan(0.4);
    expect(result.spearman).toBeGreaterThan(0.3);
    expect(result.meanAbsoluteError).toBeLessThan(result.actual / result.customers);
  });

  it('gives a first-time buyer an expectation that moves smoothly with other customers’ repeats, and falls the longer she waits', () => {
    // The old RFM projection gave her the median gap of the repeat buyers: 182.5 days without one, 14.8 with.
    // Here her expectation is the model's, fitted on everyone: one more repeat buyer moves it a little.
    const base = simulated.map(summaryOf);
    const firstTimer = { frequency: 0, recency: 0, T: 30 };
    const expectations = [0, 1, 2, 3].map((extra) => {
      const population = [...base, ...Array.from({ length: extra }, () => ({ frequency: 5, recency: 50, T: 60 }))];
      return expectedPurchases(fitBgNbd(population).params, firstTimer, 365);
    });
    for (let i = 1; i < expectations.length; i++) {
      expect(expectations[i]).toBeGreaterThan(expectations[i - 1] as number);
      expect((expectations[i] as number) / (expectations[i - 1] as number)).toBeLessThan(1.01);
    }
    // A first-time buyer who has waited longer is expected to buy less, never more; not at all, never negative.
    const params = fitBgNbd(base).params;
    const byWait = [0, 7, 30, 90, 365].map((T) => expectedPurchases(params, { frequency: 0, recency: 0, T }, 365));
    for (let i = 1; i < byWait.length; i++) expect(byWait[i]).toBeLessThan(byWait[i - 1] as number);
    expect(byWait.every((v) => v > 0)).toBe(true);
  });

  it('is less sure a frequent buyer is still active the longer she has been silent', () => {
    const alive = [60, 40, 20].map((recency) => probabilityAlive(truth, { frequency: 6, recency, T: 60 }));
    expect(alive[0]).toBeCloseTo(1 / (1 + (0.8 / 8)), 9);
    expect(alive[1]).toBeLessThan(alive[0] as number);
    expect(alive[2]).toBeLessThan(alive[1] as number);
    expect(probabilityAlive(truth, { frequency: 0, recency: 0, T: 300 })).toBe(1);
  });
});

describe('lifetime value over a horizon', () => {
  const models: ValueModels = { purchases: { params: { r: 0.5, alpha: 10, a: 0.8, b: 3 }, logLikelihood: 0, customers: 100, converged: true }, spend: { params: { p: 6, q: 4, gamma: 15 }, logLikelihood: 0, customers: 50, converged: true }, purchaseValue: 30 };
  const regular: CustomerSummary = { frequency: 8, recency: 170, T: 180, meanRepeatValue: 40 };

  it('is the expected purchases x the expected value per purchase x the margin, undiscounted at rate 0', () => {
    const perPurchase = expectedAverageValue(models.spend!.params, { frequency: 8, meanValue: 40 }) as number;
    const plain = lifetimeValue(models, regular, { horizonDays: 365, margin: 1, annualDiscountRate: 0 });
    expect(plain).toBeCloseTo(expectedPurchases(models.purchases.params, regular, 365) * perPurchase, 9);
    expect(lifetimeValue(models, regular, { horizonDays: 365, margin: 0.3, annualDiscountRate: 0 })).toBeCloseTo(0.3 * plain, 9);
  });

  it('discounts later months more: less than undiscounted, by less than a year’s full discount', () => {
    const plain = lifetimeValue(models, regular, { annualDiscountRate: 0 });
    const discounted = lifetimeValue(models, regular, { annualDiscountRate: 0.1 });
    expect(discounted).toBeLessThan(plain);
    expect(discounted).toBeGreaterThan(plain / 1.1);
    expect(lifetimeValue(models, regular, { horizonDays: 730 })).toBeGreaterThan(discounted);
  });

  it('falls back to the repeat buyers’ median purchase value where Gamma-Gamma could not be fitted', () => {
    const { spend: _, ...withoutSpend } = models;
    expect(lifetimeValue(withoutSpend, regular, { annualDiscountRate: 0 })).toBeCloseTo(expectedPurchases(models.purchases.params, regular, 365) * 30, 9);
  });

  it('is not fitted on too few buyers or repeat buyers, and says why', () => {
    const once = (n: number) => Array.from({ length: n }, (_, i) => ({ frequency: 0, recency: 0, T: i + 1, meanRepeatValue: 0 }));
    expect(fitValueModels(once(10))).toEqual({ fitted: false, reason: '10 customers with a purchase; at least 50 are needed' });
    expect(fitValueModels(once(80))).toEqual({ fitted: false, reason: '0 customers with a repeat purchase; at least 10 are needed' });
  });
});

describe('the pieces', () => {
  it('counts a day’s orders as one purchase, values summed, up to the end day', () => {
    const s = summarize([{ day: 10, value: 5 }, { day: 12, value: 7 }, { day: 12, value: 3 }, { day: 15, value: 20 }, { day: 30, value: 99 }], 20);
    expect(s).toEqual({ frequency: 2, recency: 5, T: 10, meanRepeatValue: 15 });
    expect(summarize([{ day: 30, value: 1 }], 20)).toBeUndefined();
  });

  it('ranks ties at their mean rank', () => {
    expect(ranks([0, 3, 0, 1, 0])).toEqual([2, 5, 2, 4, 2]);
  });

  it('minimises Rosenbrock’s valley with Nelder-Mead', () => {
    const found = minimize(([x, y]) => 100 * ((y as number) - (x as number) ** 2) ** 2 + (1 - (x as number)) ** 2, [-1.2, 1]);
    expect(found.converged).toBe(true);
    expect(found.x[0]).toBeCloseTo(1, 4);
    expect(found.x[1]).toBeCloseTo(1, 4);
  });
});

describe('expected purchases where the drop-out fit runs off to large a and b (one p for everyone)', () => {
  /** (r, α, a, b, x, t_x, T, t) and E[X(t) | x, t_x, T] from mpmath at 60 digits, by the paper's 2F1 formula and, independently, by integrating (1 - (1 + p t/(α+T))^-(r+x)) / p over p ~ Beta(a, b+x) (the two agree to every digit shown; a = 1 by the integral only). */
  const reference: Array<[number, number, number, number, number, number, number, number, number]> = [
    [0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 39, 1.2260281747671445],
    [0.243, 4.414, 0.793, 2.426, 0, 0, 30, 39, 0.23938163233959615],
    [0.5, 10, 0.8, 3, 7, 35, 38, 200, 14.124765118553736],
    [1, 10, 200, 200, 0, 0, 0, 365, 1.9003825846744564],
    [1, 10, 250, 250, 0, 0, 0, 365, 1.8995239379877613],
    [1, 10, 1000, 3000, 3, 50, 60, 365, 2.3887456655016225],
    [7.02, 270.6, 1.1e8, 4.85e8, 3, 60, 100, 30, 0.43686935211111651],
    [7.02, 270.6, 1.1e8, 4.85e8, 0, 0, 100, 30, 0.53564377656410855],
    [0.5, 20, 1, 3, 5, 80, 100, 365, 6.4254741982095765],
    [2, 5, 0.3, 0.5, 0, 0, 10, 100, 5.5787445557878088],
    [0.5, 2, 5, 50, 120, 360, 365, 365, 33.02593108305105],
    [3, 1, 50, 5, 400, 364, 365, 730, 6.7493476189767013],
    [1, 0.5, 2, 2, 2000, 365, 365, 365, 999.31532056237756],
    [0.3, 0.1, 0.7, 2, 0, 0, 0, 365, 24.773778715226414],
    [0.8, 30, 3e6, 1e6, 1, 10, 200, 365, 0.014218537364795654],
  ];

  it.each(reference)('r %p, α %p, a %p, b %p, x %p, t_x %p, T %p, t %p: as a 60-digit evaluation, %p', (r, alpha, a, b, frequency, recency, T, t, expected) => {
    const found = expectedPurchases({ r, alpha, a, b }, { frequency, recency, T }, t);
    expect(Math.abs(found / expected - 1)).toBeLessThan(1e-10);
  });

  it('on a population with one drop-out chance for all, gives every customer the expectation of that p, finite', () => {
    // Prepare: 200 customers seen for 100 days with 0-4 repeat purchases evenly spread: the fit runs off to a, b ~ 1e8.
    const customers = Array.from({ length: 200 }, (_, i) => ({ frequency: i % 5, recency: 20 * (i % 5), T: 100 }));

    // Act
    const fit = fitBgNbd(customers);

    // Assess: as the Beta(a, b) collapses on p = a/(a+b), her expectation is P(alive) x (1 - (1 + p t/(α+T))^-(r+x)) / p.
    expect(fit.params.a).toBeGreaterThan(1e6);
    const { r, alpha, a, b } = fit.params;
    const p = a / (a + b);
    for (const c of customers.slice(0, 5)) {
      const limit = (1 - (1 + (p * 30) / (alpha + c.T)) ** -(r + c.frequency)) / p;
      const found = expectedPurchases(fit.params, c, 30);
      expect(Number.isFinite(found)).toBe(true);
      expect(Math.abs(found / (probabilityAlive(fit.params, c) * limit) - 1)).toBeLessThan(1e-6);
    }
  });

  it('treats parameters or a history that give no finite expectation as an error, never a value', () => {
    const c = { frequency: 2, recency: 30, T: 40 };
    expect(() => expectedPurchases({ r: Number.NaN, alpha: 10, a: 1, b: 2 }, c, 30)).toThrow(RangeError);
    expect(() => expectedPurchases({ r: 1, alpha: Number.POSITIVE_INFINITY, a: 1, b: 2 }, c, 30)).toThrow(RangeError);
    expect(() => expectedPurchases({ r: 1, alpha: 10, a: 1, b: 2 }, { ...c, T: Number.NaN }, 30)).toThrow(RangeError);
  });
});

describe('customer value when one buyer’s order values are absurd', () => {
  /** 300 buyers: 200 come back 1-5 times with mean orders of 20-60, and one of them spends `extreme` on average. */
  function population(extreme: number): CustomerSummary[] {
    const random = createRandom(3);
    return Array.from({ length: 300 }, (_, i) => {
      const frequency = i < 200 ? 1 + Math.floor(random() * 5) : 0;
      const T = 100 + Math.floor(random() * 200);
      return { frequency, recency: frequency === 0 ? 0 : Math.floor(random() * T), T, meanRepeatValue: frequency === 0 ? 0 : i === 7 ? extreme : 20 + random() * 40 };
    });
  }

  it('does not use a Gamma-Gamma fit that did not converge: each purchase is then worth the repeat buyers’ median, and the models say why', () => {
    const fit = fitValueModels(population(1e12));
    if (!fit.fitted) throw new Error(fit.reason);
    expect(fit.models.spend).toBeUndefined();
    expect(fit.models.spendNotUsed).toMatch(/did not converge/);
    expect(fit.models.purchaseValue).toBeGreaterThan(20);
    expect(fit.models.purchaseValue).toBeLessThan(60);
    // A sane population keeps its fit.
    const sane = fitValueModels(population(45));
    if (!sane.fitted) throw new Error(sane.reason);
    expect(sane.models.spend?.converged).toBe(true);
    expect(populationMeanValue(sane.models.spend!.params)).toBeLessThan(60);
  });
});
