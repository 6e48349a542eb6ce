import { estimateFellegiSunter, weightsOf, type FellegiSunterFit } from '../../lib/identity/em';
import { createRandom } from '../../lib/learn/metrics';

/** One comparison of a simulated pair: its m and u per level, and how often it is missing. */
interface SimulatedField {
  name: string;
  m: number[];
  u: number[];
  missing: number;
}

/**
 * Candidate pairs drawn from the model EM assumes: a pair is one person's with probability lambda,
 * then each field's level is drawn independently from m (one person) or u (two people), and is
 * missing (-1) with the field's own probability.
 */
function simulate(seed: number, lambda: number, fields: SimulatedField[], pairs: number): Int8Array[] {
  const random = createRandom(seed);
  const draw = (p: number[]): number => {
    const x = random();
    let at = 0;
    for (let l = 0; l < p.length; l++) {
      at += p[l] as number;
      if (x < at) return l;
    }
    return p.length - 1;
  };
  const out: Int8Array[] = [];
  for (let i = 0; i < pairs; i++) {
    const same = random() < lambda;
    out.push(Int8Array.from(fields, (f) => (random() < f.missing ? -1 : draw(same ? f.m : f.u))));
  }
  return out;
}

// The real comparisons' shapes: two binary fields (on one, agreeing counts against: two devices of one
// kind), a 3-level one (top categories in common: none, one, two or more) and the 4-level product
// overlap at the configured m and u (config/identity.json); each missing as often as it is on the bench.
const locale: SimulatedField = { name: 'locale', m: [0.05, 0.95], u: [0.4, 0.6], missing: 0.05 };
const sameKind: SimulatedField = { name: 'sameKind', m: [0.9, 0.1], u: [0.6, 0.4], missing: 0.3 };
const interests: SimulatedField = { name: 'interests', m: [0.05, 0.25, 0.7], u: [0.75, 0.2, 0.05], missing: 0.1 };
const products: SimulatedField = { name: 'products', m: [0.02, 0.08, 0.35, 0.55], u: [0.9, 0.07, 0.02, 0.01], missing: 0.1 };
const FIELDS = [locale, sameKind, interests, products];
const LEVELS = FIELDS.map((f) => f.m.length);
const LAMBDA = 0.15;
const PAIRS = 20_000;
/**
 * How close every estimate must come to the simulated value (absolute). Not EM's error but the
 * sample's: with 20,000 pairs the maximum-likelihood estimates themselves scatter this much (over
 * seeds 1 to 20 of these simulations the largest error of the 27 estimates was 0.036; the fit's
 * likelihood beat the true parameters' every time).
 */
const TOLERANCE = 0.04;

function expectRecovered(fit: FellegiSunterFit, fields: SimulatedField[], lambda: number): void {
  expect(Math.abs(fit.lambda - lambda)).toBeLessThanOrEqual(TOLERANCE);
  fields.forEach((f, i) => {
    f.m.forEach((m, l) => expect({ field: f.name, level: l, m: Math.abs((fit.m[i]?.[l] as number) - m) <= TOLERANCE }).toEqual({ field: f.name, level: l, m: true }));
    f.u.forEach((u, l) => expect({ field: f.name, level: l, u: Math.abs((fit.u[i]?.[l] as number) - u) <= TOLERANCE }).toEqual({ field: f.name, level: l, u: true }));
  });
}

describe('estimateFellegiSunter: m and u by EM on unlabelled candidate pairs', () => {
  it(`recovers lambda, m and u of 20,000 simulated pairs with missing values, each within ${TOLERANCE}`, () => {
    // Prepare
    const vectors = simulate(27, LAMBDA, FIELDS, PAIRS);

    // Act
    const fit = estimateFellegiSunter(vectors, LEVELS);

    // Assess
    expect(fit.converged).toBe(true);
    expectRecovered(fit, FIELDS, LAMBDA);
  });

  it('never lowers the objective (log-likelihood plus the pseudo-counts) from one iteration to the next', () => {
    // Prepare
    const vectors = simulate(31, LAMBDA, FIELDS, PAIRS);

    // Act: a fixed number of iterations, no early stop
    const fit = estimateFellegiSunter(vectors, LEVELS, { iterations: 60, tolerance: 0 });

    // Assess
    expect(fit.iterations).toBe(60);
    expect(fit.objective).toHaveLength(61);
    for (let t = 1; t < fit.objective.length; t++) {
      const step = (fit.objective[t] as number) - (fit.objective[t - 1] as number);
      expect(step).toBeGreaterThanOrEqual(-1e-9 * Math.abs(fit.objective[t - 1] as number));
    }
    expect(fit.logLikelihood).toBeLessThan(0);
  });

  it('stops early once an iteration changes the mean log-likelihood per pair by less than the tolerance', () => {
    const vectors = simulate(33, LAMBDA, FIELDS, 5_000);

    const fit = estimateFellegiSunter(vectors, LEVELS, { tolerance: 1e-6 });
    const short = estimateFellegiSunter(vectors, LEVELS, { iterations: 2, tolerance: 0 });

    expect(fit.converged).toBe(true);
    expect(fit.iterations).toBeLessThan(200);
    expect(short).toMatchObject({ iterations: 2, converged: false });
  });

  it('labels the class that agrees more as the matches even when the initial guess has them swapped', () => {
    // Prepare: start from the truth with the classes exchanged (lambda 0.85, m the non-matches' u)
    const vectors = simulate(29, LAMBDA, FIELDS, PAIRS);
    const initial = { lambda: 1 - LAMBDA, m: FIELDS.map((f) => f.u), u: FIELDS.map((f) => f.m) };

    // Act
    const fit = estimateFellegiSunter(vectors, LEVELS, { initial });

    // Assess
    expectRecovered(fit, FIELDS, LAMBDA);
  });

  it('finds an uninformative field (m equal to u) uninformative: its estimated m and u agree and its weights are near 0 bits', () => {
    // Prepare: the browser's language setting, as common among one person's devices as among strangers'
    const language: SimulatedField = { name: 'language', m: [0.5, 0.3, 0.2], u: [0.5, 0.3, 0.2], missing: 0.1 };
    const fields = [locale, language, interests, products];
    const vectors = simulate(41, LAMBDA, fields, PAIRS);

    // Act
    const fit = estimateFellegiSunter(vectors, fields.map((f) => f.m.length));

    // Assess
    expectRecovered(fit, fields, LAMBDA);
    const m = fit.m[1] as number[];
    const u = fit.u[1] as number[];
    m.forEach((x, l) => expect(Math.abs(x - (u[l] as number))).toBeLessThanOrEqual(TOLERANCE));
    for (const bits of weightsOf([m], [u])[0] as number[]) expect(Math.abs(bits)).toBeLessThan(0.25);
  });

  it('keeps the u of a field marked fixedU at its initial value and still recovers the rest', () => {
    const vectors = simulate(43, LAMBDA, FIELDS, PAIRS);
    const initial = {
      lambda: 0.3,
      m: FIELDS.map((f) => f.m.map(() => 1 / f.m.length)),
      u: FIELDS.map((f, i) => (i === 3 ? f.u : f.u.map(() => 1 / f.u.length))),
    };

    const fit = estimateFellegiSunter(vectors, LEVELS, { initial, fixedU: [false, false, false, true] });

    expect(fit.u[3]).toEqual(products.u);
    expectRecovered(fit, FIELDS, LAMBDA);
  });

  it('gives the same fit for the same pairs in any order, as Int8Arrays or as number arrays', () => {
    const vectors = simulate(47, LAMBDA, FIELDS, 3_000);
    const reversed = [...vectors].reverse().map((v) => [...v]);

    const a = estimateFellegiSunter(vectors, LEVELS);
    const b = estimateFellegiSunter(reversed, LEVELS);

    expect(b.iterations).toBe(a.iterations);
    expect(b.lambda).toBeCloseTo(a.lambda, 12);
    a.m.forEach((row, i) => row.forEach((x, l) => expect(b.m[i]?.[l]).toBeCloseTo(x, 12)));
  });

  it('never estimates a probability of 0, even for a level no pair has (the pseudo-counts)', () => {
    // Prepare: nobody in the sample has three or more products in common
    const vectors = simulate(53, LAMBDA, FIELDS, 5_000).map((v) => Int8Array.from(v, (x, i) => (i === 3 && x === 3 ? 2 : x)));

    const fit = estimateFellegiSunter(vectors, LEVELS);

    expect(fit.m[3]?.[3]).toBeGreaterThan(0);
    expect(fit.u[3]?.[3]).toBeGreaterThan(0);
    expect(weightsOf(fit.m, fit.u).flat().every(Number.isFinite)).toBe(true);
  });

  it('refuses a level outside its field, naming the pair and the field', () => {
    expect(() => estimateFellegiSunter([[1, 0, 2, 3], [1, 0, 3, 0]], LEVELS)).toThrow(/pair 1.*field 2.*level 3.*0 to 2/);
    expect(() => estimateFellegiSunter([[1, 0, 2]], LEVELS)).toThrow(/pair 0 has 3 fields, not 4/);
  });
});

describe('weightsOf: the Fellegi-Sunter weight of each level', () => {
  it('is log2(m/u): positive bits where one person is likelier, negative where strangers are', () => {
    const w = weightsOf([[0.05, 0.95], [0.1, 0.2, 0.3, 0.4]], [[0.3, 0.7], [0.85, 0.1, 0.03, 0.02]]);

    expect(w[0]?.[0]).toBeCloseTo(Math.log2(0.05 / 0.3), 12);
    expect(w[0]?.[1]).toBeCloseTo(Math.log2(0.95 / 0.7), 12);
    expect(w[1]?.[3]).toBeCloseTo(Math.log2(20), 12);
    expect(w[1]?.[0]).toBeLessThan(0);
  });
});
