import { kMeans } from '../../lib/learn/kmeans';
import { createRandom } from '../../lib/learn/metrics';
import { customerValue, customerValues, valueScale, type ValueScale } from '../../lib/learn/value';

describe('expected customer value from RFM history', () => {
  it('projects her order rate and average order value over the horizon while she keeps her rhythm', () => {
    // 12 orders worth 600 over a full year, last one 10 days ago: a gap of about 30 days, not late.
    const [steady] = customerValues([{ orders: 12, revenue: 600, tenureDays: 400, daysSinceLastOrder: 10 }], { horizonDays: 365 });
    expect(steady?.expectedValue).toBeCloseTo(50 * (12 / 365) * 365, 6);
  });

  it('discounts a customer who is late against her own rhythm, the later the less', () => {
    const [onTime, late, lapsed] = customerValues([
      { orders: 12, revenue: 600, tenureDays: 365, daysSinceLastOrder: 20 },
      { orders: 12, revenue: 600, tenureDays: 365, daysSinceLastOrder: 60 },
      { orders: 12, revenue: 600, tenureDays: 365, daysSinceLastOrder: 200 },
    ]);
    expect(late?.expectedValue).toBeCloseTo((onTime?.expectedValue ?? 0) * Math.exp(-(60 - 365 / 12) / (365 / 12)), 1);
    expect(lapsed?.expectedValue).toBeLessThan((onTime?.expectedValue ?? 0) / 100);
  });

  it('gives a first-time buyer the population’s typical gap, and a visitor who never ordered nothing', () => {
    const values = customerValues([
      { orders: 1, revenue: 80, tenureDays: 5, daysSinceLastOrder: 5 },
      { orders: 4, revenue: 200, tenureDays: 365, daysSinceLastOrder: 10 },
      { orders: 0, revenue: 0, tenureDays: 30 },
    ]);
    // The one repeat buyer's gap is 365 / 4 days, so the first-timer is expected to order every ~91 days.
    expect(values[0]?.expectedValue).toBeCloseTo(80 * (1 / (365 / 4)) * 365, 6);
    expect(values[2]).toEqual({ expectedValue: 0 });
  });

  it('puts basket values into low, medium and high by the thirds of the buyers, or by configured quantiles', () => {
    const histories = [10, 20, 30, 40, 50, 60].map((aov) => ({ orders: 2, revenue: 2 * aov, tenureDays: 100, daysSinceLastOrder: 5 }));
    expect(customerValues(histories).map((v) => v.tier)).toEqual(['low', 'low', 'medium', 'medium', 'high', 'high']);
    expect(customerValues(histories, { tierQuantiles: [0.5, 0.9] }).map((v) => v.tier)).toEqual(['low', 'low', 'low', 'medium', 'medium', 'high']);
    expect(() => customerValues(histories, { tierQuantiles: [0.8, 0.2] })).toThrow(RangeError);
  });

  it('keeps customers who spend the same in one tier, so tied cuts leave no tier empty', () => {
    // Half the buyers spend exactly 45 (a best-selling kit): both thirds fall on 45.
    const aovs = [...[12, 18, 25, 30, 38], ...Array(10).fill(45), ...[60, 75, 90, 120, 200]];
    const tiers = customerValues(aovs.map((aov) => ({ orders: 1, revenue: aov, tenureDays: 30, daysSinceLastOrder: 3 }))).map((v) => v.tier);
    expect(tiers).toEqual([...Array(5).fill('low'), ...Array(10).fill('medium'), ...Array(5).fill('high')]);
    // Everyone alike: all medium, as stored and read back.
    const same = Array.from({ length: 4 }, () => ({ orders: 2, revenue: 90, tenureDays: 60, daysSinceLastOrder: 3 }));
    const scale = JSON.parse(JSON.stringify(valueScale(same))) as ValueScale;
    expect(same.map((h) => customerValue(h, scale).tier)).toEqual(Array(4).fill('medium'));
  });

  it('gives no tier on a scale fitted without buyers (a sample of visitors), as stored and read back', () => {
    const scale = JSON.parse(JSON.stringify(valueScale([{ orders: 0, revenue: 0, tenureDays: 10 }]))) as ValueScale;
    expect(scale.cuts).toEqual([null, null]);
    expect(customerValue({ orders: 2, revenue: 80, tenureDays: 100, daysSinceLastOrder: 5 }, scale)).toEqual({ expectedValue: expect.any(Number) });
  });
});

describe('k-means audience clusters', () => {
  /** Three groups of customers around distinct (visits, revenue) centres, seeded. */
  function blobs(seed: number): number[][] {
    const random = createRandom(seed);
    const around = (x: number, y: number, n: number) => Array.from({ length: n }, () => [x + (random() - 0.5) * 2, y + (random() - 0.5) * 200]);
    return [...around(2, 100, 60), ...around(20, 150, 40), ...around(5, 2000, 20)];
  }

  it('finds the three groups, numbered by size, with centroids in the features’ units', () => {
    const rows = blobs(3);
    const c = kMeans(rows, { k: 3, seed: 1 });
    expect(c.sizes).toEqual([60, 40, 20]);
    expect(Array.from(c.assignments.slice(0, 60)).every((a) => a === 0)).toBe(true);
    expect(Array.from(c.assignments.slice(60, 100)).every((a) => a === 1)).toBe(true);
    expect(Array.from(c.assignments.slice(100)).every((a) => a === 2)).toBe(true);
    expect(c.centroids[2]?.[1]).toBeGreaterThan(1800);
    expect(c.centroids[1]?.[0]).toBeGreaterThan(18);
  });

  it('is the same for the same seed, and never worse than one cluster', () => {
    const rows = blobs(9);
    expect(kMeans(rows, { k: 4, seed: 7 })).toEqual(kMeans(rows, { k: 4, seed: 7 }));
    expect(kMeans(rows, { k: 3, seed: 2 }).inertia).toBeLessThan(kMeans(rows, { k: 1, seed: 2 }).inertia / 5);
  });

  it('copes with fewer rows than clusters, identical rows and no rows', () => {
    expect(kMeans([[1, 2]], { k: 3 }).sizes).toEqual([1]);
    expect(kMeans([[1, 1], [1, 1], [1, 1]], { k: 2 }).sizes.reduce((s, n) => s + n, 0)).toBe(3);
    expect(kMeans([], { k: 2 }).assignments).toHaveLength(0);
    expect(() => kMeans([[1]], { k: 0 })).toThrow(RangeError);
  });
});
