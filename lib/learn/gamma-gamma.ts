/**
 * The Gamma-Gamma model of what a customer spends per purchase (Fader, Hardie and Lee 2005, "RFM and
 * CLV: Using Iso-Value Curves for Customer Base Analysis", Journal of Marketing Research 42(4); the
 * likelihood as in Hardie's note "The Gamma-Gamma Model of Monetary Value", 2013): each purchase's
 * value is Gamma(p, ν) around her own mean p/ν, and ν varies across customers as Gamma(q, γ). What a
 * customer shows is the number of her repeat purchases x and their mean value m̄; the three
 * parameters are fitted by maximum likelihood on the repeat buyers, and her expected value per
 * purchase is a weighted mean of the population's and her own: the more purchases, the more her own.
 *
 * It assumes the value of her purchases does not depend on how often she buys (the purchases are
 * counted by lib/learn/bgnbd.ts, apart). Checked on the CDNOW sample against the published
 * parameters (test/unit/learn-clv.test.ts).
 */
import { lnGamma } from './chi-square';
import { minimize, type MinimizeOptions } from './optimize';

const { log, exp, abs } = Math;

/** A repeat buyer's purchases: how many repeat purchases and their mean value (positive). */
export interface SpendSummary {
  frequency: number;
  meanValue: number;
}

/** Purchase values are Gamma(p, ν); ν is Gamma(q, γ) across customers. */
export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  logLikelihood: number;
  customers: number;
  evaluations: number;
  converged: boolean;
}

function checked(customers: readonly SpendSummary[]): SpendSummary[] {
  for (const [i, c] of customers.entries()) {
    if (!(c.frequency > 0 && Number.isFinite(c.frequency))) throw new RangeError(`customer ${i}: Gamma-Gamma is fitted on repeat buyers (frequency > 0), not ${c.frequency}`);
    if (!(c.meanValue > 0 && Number.isFinite(c.meanValue))) throw new RangeError(`customer ${i}: the mean purchase value must be positive, not ${c.meanValue}`);
  }
  return [...customers];
}

/** The log-likelihood of the parameters: the density of each repeat buyer's mean value given her x, summed. */
export function gammaGammaLogLikelihood(params: GammaGammaParams, customers: readonly SpendSummary[]): number {
  return logLikelihoodOf(checked(customers))(params);
}

function logLikelihoodOf(customers: readonly SpendSummary[]): (params: GammaGammaParams) => number {
  const x = Float64Array.from(customers, (c) => c.frequency);
  const m = Float64Array.from(customers, (c) => c.meanValue);
  const logX = x.map(log);
  const logM = m.map(log);
  return ({ p, q, gamma }) => {
    if (!(p > 0 && q > 0 && gamma > 0)) return Number.NEGATIVE_INFINITY;
    const common = -lnGamma(q) + q * log(gamma);
    let sum = 0;
    for (let i = 0; i < x.length; i++) {
      const px = p * (x[i] as number);
      sum += lnGamma(px + q) - lnGamma(px) + common + (px - 1) * (logM[i] as number) + px * (logX[i] as number) - (px + q) * log(gamma + (m[i] as number) * (x[i] as number));
    }
    return sum;
  };
}

const BOUND = 20;

/**
 * The maximum-likelihood parameters on the repeat buyers' spend. The search starts from p = 1,
 * q = 2 and γ at the customers' average mean value (a population mean per purchase of that average,
 * whatever the currency).
 */
export function fitGammaGamma(customers: readonly SpendSummary[], options: MinimizeOptions = {}): GammaGammaFit {
  const data = checked(customers);
  if (data.length === 0) throw new RangeError('Gamma-Gamma needs at least one repeat buyer');
  const ll = logLikelihoodOf(data);
  const meanValue = data.reduce((s, c) => s + c.meanValue, 0) / data.length;
  const unpack = (z: readonly number[]): GammaGammaParams => ({ p: exp(z[0] as number), q: exp(z[1] as number), gamma: exp(z[2] as number) });
  const objective = (z: readonly number[]) => (z.some((v) => abs(v) > BOUND) ? Number.POSITIVE_INFINITY : -ll(unpack(z)) / data.length);
  const found = minimize(objective, [0, log(2), log(meanValue)], { maxEvaluations: 3_000, ...options });
  const params = unpack(found.x);
  return { params, logLikelihood: ll(params), customers: data.length, evaluations: found.evaluations, converged: found.converged };
}

/**
 * The population's mean value per purchase, p γ / (q - 1); undefined when q <= 1 (the fitted
 * spread of customers' means is so wide that their mean is infinite).
 */
export function populationMeanValue({ p, q, gamma }: GammaGammaParams): number | undefined {
  return q > 1 ? (p * gamma) / (q - 1) : undefined;
}

/**
 * Her expected value per purchase given her repeat purchases (Fader, Hardie and Lee's equation 3):
 * (q - 1) / (p x + q - 1) of the population's mean plus p x / (p x + q - 1) of her own mean. Without
 * a repeat purchase, the population's mean. Undefined when q <= 1.
 */
export function expectedAverageValue(params: GammaGammaParams, c: SpendSummary): number | undefined {
  const population = populationMeanValue(params);
  if (population === undefined) return undefined;
  if (!(c.frequency > 0)) return population;
  const { p, q } = params;
  const own = (p * c.frequency) / (p * c.frequency + q - 1);
  return (1 - own) * population + own * c.meanValue;
}
