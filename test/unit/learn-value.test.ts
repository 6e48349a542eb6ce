import { expectedPurchases, probabilityAlive } from '../../lib/learn/bgnbd';
import { kMeans } from '../../lib/learn/kmeans';
import { createRandom } from '../../lib/learn/metrics';
import { tierOf, tierScale, valueTiers, type TierScale } from '../../lib/learn/value';

// CDNOW's published BG/NBD parameters, α turned from weeks into days: a population of occasional buyers.
const cdnowInDays = { r: 0.243, alpha: 4.414 * 7, a: 0.793, b: 2.426 };

describe('expected purchases from her history (BG/NBD), where the RFM projection used to be', () => {
  it('expects a regular who keeps her rhythm to go on buying, fewer than her past year as she may still stop', () => {
    // 12 orders over a year, the last 10 days ago. The RFM projection said 12 more, as if she could never stop.
    const steady = { frequency: 11, recency: 355, T: 365 };
    const next = expectedPurchases(cdnowInDays, steady, 365);
    expect(next).toBeGreaterThan(5);
    expect(next).toBeLessThan(11);
    expect(probabilityAlive(cdnowInDays, steady)).toBeGreaterThan(0.9);
  });

  it('expects less of a customer who is late against her own rhythm, the later the less', () => {
    const [onTime, late, lapsed] = [355, 315, 165].map((recency) => expectedPurchases(cdnowInDays, { frequency: 11, recency, T: 365 }, 365));
    expect(late).toBeLessThan(onTime as number);
    expect(lapsed).toBeLessThan((onTime as number) / 100);
  });

  it('gives a first-time buyer the population’s expectation for her time since her first order, whatever other customers’ gaps', () => {
    // The RFM projection gave her the repeat buyers' median gap (182.5 days with none, 14.8 with one);
    // BG/NBD gives her the fitted population's expectation, which falls the longer she has not come back.
    const [fresh, month, year] = [0, 30, 365].map((T) => expectedPurchases(cdnowInDays, { frequency: 0, recency: 0, T }, 365));
    expect(fresh).toBeGreaterThan(month as number);
    expect(month).toBeGreaterThan(year as number);
    expect(year).toBeGreaterThan(0);
  });
});

describe('basket-value tiers', () => {
  it('puts basket values into low, medium and high by the thirds of the buyers, or by configured quantiles', () => {
    const histories = [10, 20, 30, 40, 50, 60].map((aov) => ({ orders: 2, revenue: 2 * aov }));
    expect(valueTiers(histories)).toEqual(['low', 'low', 'medium', 'medium', 'high', 'high']);
    expect(valueTiers(histories, { tierQuantiles: [0.5, 0.9] })).toEqual(['low', 'low', 'low', 'medium', 'medium', 'high']);
    expect(() => valueTiers(histories, { tierQuantiles: [0.8, 0.2] })).toThrow(RangeError);
  });

  it('keeps customers who spend the same in one tier, so tied cuts leave no tier empty', () => {
    // Half the buyers spend exactly 45 (a best-selling kit): both thirds fall on 45.
    const aovs = [...[12, 18, 25, 30, 38], ...Array(10).fill(45), ...[60, 75, 90, 120, 200]];
    const tiers = valueTiers(aovs.map((aov) => ({ orders: 1, revenue: aov })));
    expect(tiers).toEqual([...Array(5).fill('low'), ...Array(10).fill('medium'), ...Array(5).fill('high')]);
    // Everyone alike: all medium, as stored and read back.
    const same = Array.from({ length: 4 }, () => ({ orders: 2, revenue: 90 }));
    const scale = JSON.parse(JSON.stringify(tierScale(same))) as TierScale;
    expect(same.map((h) => tierOf(h, scale))).toEqual(Array(4).fill('medium'));
  });

  it('gives no tier on a scale fitted without buyers (a sample of visitors), as stored and read back', () => {
    const scale = JSON.parse(JSON.stringify(tierScale([{ orders: 0, revenue: 0 }]))) as TierScale;
    expect(scale.cuts).toEqual([null, null]);
    expect(tierOf({ orders: 2, revenue: 80 }, scale)).toBeUndefined();
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
