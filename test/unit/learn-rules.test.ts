import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { mineItemsets, minimumCount } from '../../lib/learn/fpgrowth';
import { mineRules, type Rule } from '../../lib/learn/rules';
import { readBaskets } from '../../lib/learn/baskets';

const groceries = readBaskets(readFileSync(join(__dirname, '../../data/groceries.csv'), 'utf8'), 'groceries.csv');

const lengths = (rules: Rule[]): Record<number, number> => {
  const by: Record<number, number> = {};
  for (const r of rules) by[r.if.length + 1] = (by[r.if.length + 1] ?? 0) + 1;
  return by;
};

describe('association rules on Groceries (the figures arules publishes)', () => {
  it('finds 13,492 frequent itemsets and 5,668 rules at support 0.001 and confidence 0.5', () => {
    const mined = mineRules(groceries, { minSupport: 0.001, minConfidence: 0.5 });
    expect({ baskets: mined.baskets, items: mined.items, itemsets: mined.frequentItemsets, rules: mined.rules.length, byLength: lengths(mined.rules) }).toEqual({
      baskets: 9835,
      items: 169,
      itemsets: 13492,
      rules: 5668,
      byLength: { 2: 11, 3: 1461, 4: 3211, 5: 939, 6: 46 },
    });
  });

  it('finds 333 frequent itemsets and 15 rules at support 0.01 and confidence 0.5', () => {
    const mined = mineRules(groceries, { minSupport: 0.01, minConfidence: 0.5 });
    expect([mined.frequentItemsets, mined.rules.length]).toEqual([333, 15]);
    // The strongest of them, as arules' inspect(sort(rules, by = "lift")) shows it.
    expect(mined.rules[0]).toMatchObject({ if: ['citrus fruit', 'root vegetables'], then: 'other vegetables', count: 102 });
    expect(mined.rules[0]?.confidence).toBeCloseTo(0.5862069, 6);
    expect(mined.rules[0]?.lift).toBeCloseTo(3.029608, 5);
  });

  it('counts minimum support as ceil(s x N) baskets, without floating-point surprises', () => {
    expect(minimumCount(0.001, 9835)).toBe(10);
    expect(minimumCount(0.01, 9835)).toBe(99);
    expect(minimumCount(0.1, 30)).toBe(3);
    expect(() => minimumCount(0, 10)).toThrow(RangeError);
  });

  it('keeps itemsets within the maximum length', () => {
    const all = mineItemsets(groceries, { minSupport: 0.001 });
    const short = mineItemsets(groceries, { minSupport: 0.001, maxLength: 3 });
    expect(Math.max(...short.itemsets.map((s) => s.items.length))).toBe(3);
    expect(short.itemsets.length).toBe(all.itemsets.filter((s) => s.items.length <= 3).length);
  });
});

// ---- Against a brute-force count ---------------------------------------------------------------

/** Every itemset of the items seen, counted over the baskets directly. */
function bruteForce(baskets: string[][], minCount: number, maxLength: number): Map<string, number> {
  const sets = baskets.map((b) => new Set(b));
  const items = [...new Set(baskets.flat())].sort();
  const out = new Map<string, number>();
  const visit = (start: number, chosen: string[]) => {
    for (let i = start; i < items.length; i++) {
      const candidate = [...chosen, items[i] as string];
      const count = sets.filter((s) => candidate.every((x) => s.has(x))).length;
      if (count < minCount) continue; // no superset can be frequent
      out.set(candidate.join('|'), count);
      if (candidate.length < maxLength) visit(i + 1, candidate);
    }
  };
  visit(0, []);
  return out;
}

const basketsArb: fc.Arbitrary<string[][]> = fc.array(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 40 });

describe('FP-Growth and the rules against a brute-force count', () => {
  it('finds exactly the itemsets a brute-force count finds, with their counts', () => {
    fc.assert(
      fc.property(basketsArb, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 7 }), (baskets, minCount, maxLength) => {
        const minSupport = minCount / baskets.length;
        if (minSupport > 1) return;
        const mined = mineItemsets(baskets, { minSupport, maxLength });
        const found = new Map(mined.itemsets.map((s) => [s.items.map((i) => mined.items[i]).sort().join('|'), s.count]));
        expect(found).toEqual(bruteForce(baskets, minCount, maxLength));
      }),
      { numRuns: 300 },
    );
  });

  it("gives each rule the support, confidence and lift a direct count gives, and every rule that reaches the minimum confidence", () => {
    fc.assert(
      fc.property(basketsArb, fc.integer({ min: 1, max: 5 }), fc.double({ min: 0, max: 1, noNaN: true }), (baskets, minCount, minConfidence) => {
        const minSupport = minCount / baskets.length;
        if (minSupport > 1) return;
        const sets = baskets.map((b) => new Set(b));
        const countOf = (items: string[]) => sets.filter((s) => items.every((x) => s.has(x))).length;
        const share = (items: string[]) => countOf(items) / baskets.length;
        const mined = mineRules(baskets, { minSupport, minConfidence, minLength: 2 });
        for (const r of mined.rules) {
          expect(r.support).toBeCloseTo(share([...r.if, r.then]), 12);
          expect(r.confidence).toBeCloseTo(share([...r.if, r.then]) / share(r.if), 12);
          expect(r.lift).toBeCloseTo(share([...r.if, r.then]) / share(r.if) / share([r.then]), 12);
        }
        // Every rule of every frequent itemset whose confidence reaches the minimum is there, once.
        let expected = 0;
        for (const [itemset, count] of bruteForce(baskets, minCount, 10)) {
          const items = itemset.split('|');
          if (items.length < 2) continue;
          for (const then of items) {
            const lhs = items.filter((x) => x !== then);
            if (count / countOf(lhs) >= minConfidence) expected += 1;
          }
        }
        expect(mined.rules.length).toBe(expected);
        expect(new Set(mined.rules.map((r) => `${[...r.if].sort().join('|')}=>${r.then}`)).size).toBe(mined.rules.length);
      }),
      { numRuns: 300 },
    );
  });

  it('counts an item bought twice in a basket once, and gives a rule with nothing on the left when an item is that common', () => {
    const mined = mineRules([['milk', 'milk', 'bread'], ['milk'], ['bread', 'milk'], ['eggs']], { minSupport: 0.5, minConfidence: 0.7 });
    expect(mined.rules.map((r) => [r.if, r.then, r.count])).toEqual([
      [['bread'], 'milk', 2],
      [[], 'milk', 3],
    ]);
    expect(mined.itemSupport).toEqual({ milk: 0.75, bread: 0.5 });
  });
});
