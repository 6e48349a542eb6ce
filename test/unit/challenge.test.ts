import { challenge } from '../../lib/learn/challenge';
import { createRandom, decileTable } from '../../lib/learn/metrics';

const normal = (random: () => number) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** A holdout of n customers: a true propensity signal, who bought, and two models' scores, each the signal blurred by its own noise. */
function holdout(n: number, seed: number, noise: [number, number]) {
  const random = createRandom(seed);
  const signal = Array.from({ length: n }, () => normal(random));
  const y = signal.map((x) => (random() < 1 / (1 + Math.exp(-(-1.5 + 1.2 * x))) ? 1 : 0));
  const [a, b] = noise.map((s) => signal.map((x) => x + s * normal(random)));
  return { y, challenger: a as number[], champion: b as number[] };
}

const options = { confidence: 0.95, resamples: 1000, seed: 1 };

describe('a challenger against the champion: a paired bootstrap of the top-decile lift', () => {
  it('states each lift as the decile table does, ties shared pro rata', () => {
    const random = createRandom(3);
    const y = Array.from({ length: 503 }, () => (random() < 0.3 ? 1 : 0));
    // A tree's scores: whole leaves tie, and a leaf straddles the top decile.
    const tree = y.map((v, i) => (v === 1 && i % 3 === 0 ? 0.9 : i % 5 === 0 ? 0.5 : 0.1));
    const linear = y.map((v, i) => v * 0.3 + (i % 17) / 17);
    const result = challenge(tree, linear, y, options);
    expect(result.challenger).toBeCloseTo((decileTable(tree, y)[0] as { cumulativeLift: number }).cumulativeLift, 10);
    expect(result.champion).toBeCloseTo((decileTable(linear, y)[0] as { cumulativeLift: number }).cumulativeLift, 10);
    expect(result.difference).toBeCloseTo(result.challenger - result.champion, 10);
    expect(result.low).toBeLessThanOrEqual(result.difference);
    expect(result.high).toBeGreaterThanOrEqual(result.difference);
  });

  it('keeps the champion in at least 95% of nights when the two are equal in truth', () => {
    let published = 0;
    for (let seed = 0; seed < 200; seed++) {
      const h = holdout(600, 1000 + seed, [1, 1]);
      if (challenge(h.challenger, h.champion, h.y, options).better) published++;
    }
    expect(published).toBeLessThanOrEqual(10);
  });

  it('still publishes a challenger that is better in truth', () => {
    let published = 0;
    for (let seed = 0; seed < 40; seed++) {
      const h = holdout(2000, 5000 + seed, [0.3, 2]);
      if (challenge(h.challenger, h.champion, h.y, options).better) published++;
    }
    expect(published).toBeGreaterThanOrEqual(38);
  });

  it('judges a first model against a random order (lift 1): it must rank better than no model at all', () => {
    const h = holdout(2000, 7, [0.3, 0.3]);
    const informed = challenge(h.challenger, undefined, h.y, options);
    expect(informed).toMatchObject({ champion: 1, better: true });
    const random = createRandom(9);
    const noise = h.y.map(() => random());
    expect(challenge(noise, undefined, h.y, options).better).toBe(false);
  });

  it("draws people, not rows: a person's copies are not independent evidence", () => {
    // Every customer twice (her two devices as they stood at the cut-off, each with her label).
    const h = holdout(600, 13, [1, 1]);
    const twice = <T>(xs: T[]) => xs.flatMap((x) => [x, x]);
    const people = twice(h.y.map((_, i) => `person-${i}`));
    const once = challenge(h.challenger, h.champion, h.y, options);
    const asRows = challenge(twice(h.challenger), twice(h.champion), twice(h.y), options);
    const asPeople = challenge(twice(h.challenger), twice(h.champion), twice(h.y), { ...options, people });
    const width = (c: { low: number; high: number }) => c.high - c.low;
    // Rows as if independent: an interval about 1/sqrt(2) as wide, too sure; people: as wide as the customers once.
    expect(width(asRows)).toBeLessThan(0.85 * width(once));
    expect(width(asPeople)).toBeGreaterThan(0.85 * width(once));
    expect(width(asPeople)).toBeLessThan(1.15 * width(once));
  });

  it('gives the same verdict for the same holdout and seed, and refuses what cannot be compared', () => {
    const h = holdout(300, 11, [1, 1]);
    expect(challenge(h.challenger, h.champion, h.y, options)).toEqual(challenge(h.challenger, h.champion, h.y, options));
    expect(() => challenge(h.challenger, h.champion.slice(1), h.y, options)).toThrow(RangeError);
    expect(() => challenge(h.challenger, h.champion, h.y.map(() => 0), options)).toThrow(/no buyer/);
    expect(() => challenge(h.challenger, h.champion, h.y, { ...options, resamples: 10 })).toThrow(RangeError);
  });
});
