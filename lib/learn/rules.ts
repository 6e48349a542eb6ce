/**
 * Association rules from frequent itemsets, as arules' `apriori` generates them: one item on the
 * right-hand side, every item of a frequent itemset taking that place in turn, kept when its
 * confidence reaches the minimum. Rule length is the length of the whole itemset (arules' `minlen`
 * and `maxlen`); with a minimum length of 1 (arules' default) a frequent item whose support reaches
 * the minimum confidence gives a rule with an empty left-hand side.
 */
import { mineItemsets, type FrequentItemsets, type MiningOptions } from './fpgrowth';

export interface Rule {
  if: string[];
  then: string;
  /** Share of baskets holding every item of the rule. */
  support: number;
  /** Share of the baskets holding the left-hand side that hold the right-hand side too. */
  confidence: number;
  /** Confidence over the right-hand side's own support. */
  lift: number;
  /** Baskets holding every item of the rule. */
  count: number;
}

export interface RuleOptions extends MiningOptions {
  minConfidence: number;
  /** Shortest rule kept, counting both sides (1 when absent, as in arules). */
  minLength?: number;
  /** More rules than this and generation stops with an error (default MAX_RULES). */
  maxRules?: number;
}

/** More rules than this and generation stops at once, with an error: no one reads them, and memory runs out first. */
export const MAX_RULES = 1_000_000;

export interface MinedRules {
  baskets: number;
  /** Distinct items in the baskets. */
  items: number;
  frequentItemsets: number;
  rules: Rule[];
  /** Each frequent item's support, for the model artifact (the serendipity slot reads it). */
  itemSupport: Record<string, number>;
}

export function mineRules(baskets: readonly (readonly string[])[], options: RuleOptions): MinedRules {
  if (!(options.minConfidence >= 0 && options.minConfidence <= 1)) throw new RangeError(`minimum confidence must be in [0, 1], not ${options.minConfidence}`);
  const mined = mineItemsets(baskets, options);
  return {
    baskets: mined.baskets,
    items: mined.distinctItems,
    frequentItemsets: mined.itemsets.length,
    rules: rulesOf(mined, options.minConfidence, options.minLength ?? 1, options.maxRules ?? MAX_RULES),
    itemSupport: Object.fromEntries(mined.itemsets.filter((s) => s.items.length === 1).map((s) => [mined.items[s.items[0] ?? 0] ?? '', s.count / mined.baskets])),
  };
}

/** The rules of every frequent itemset at least `minLength` long, by lift then confidence then support, descending; left-hand sides by name. */
export function rulesOf(mined: FrequentItemsets, minConfidence: number, minLength: number, maxRules = MAX_RULES): Rule[] {
  const counts = new ItemsetCounts(mined);
  const single = new Array<number>(mined.items.length).fill(Number.NaN);
  for (const s of mined.itemsets) if (s.items.length === 1) single[s.items[0] as number] = s.count;
  const n = mined.baskets;
  const rules: Rule[] = [];
  for (const { items, count } of mined.itemsets) {
    if (items.length < minLength) continue;
    for (let k = 0; k < items.length; k++) {
      // Every subset of a frequent itemset is frequent, so each left-hand side's count is known; the empty set is in every basket.
      const confidence = count / (items.length === 1 ? n : counts.without(items, k));
      if (!(confidence >= minConfidence)) continue;
      const then = items[k] as number;
      if (rules.length >= maxRules) throw new RangeError(`more than ${maxRules} rules: raise the minimum support or confidence, or lower the maximum length (or raise the limit)`);
      rules.push({
        if: items.filter((i) => i !== then).map((i) => mined.items[i] ?? '').sort(byName),
        then: mined.items[then] ?? '',
        support: count / n,
        confidence,
        lift: (confidence * n) / (single[then] as number),
        count,
      });
    }
  }
  return byStrength(rules);
}

/** Rules by lift, confidence and support, descending, then by their text (each written once, not at every tie). */
function byStrength(rules: Rule[]): Rule[] {
  const texts = rules.map(ruleText);
  const order = rules.map((_, i) => i);
  order.sort((i, j) => {
    const a = rules[i] as Rule;
    const b = rules[j] as Rule;
    return b.lift - a.lift || b.confidence - a.confidence || b.support - a.support || byName(texts[i] as string, texts[j] as string);
  });
  return order.map((i) => rules[i] as Rule);
}

/**
 * Itemset counts by their item numbers: as one number (a base-256 digit an item) while there are
 * fewer than 256 frequent items and the itemset has at most 6 (48 bits, exact in a double), else as
 * a string of the numbers.
 */
class ItemsetCounts {
  private readonly numeric = new Map<number, number>();
  private readonly text = new Map<string, number>();
  private readonly small: boolean;

  constructor(mined: FrequentItemsets) {
    this.small = mined.items.length < 255;
    for (const s of mined.itemsets) this.set(s.items, s.count);
  }

  /** The count of the itemset without its k-th item. */
  without(items: readonly number[], k: number): number {
    if (this.small && items.length <= 7) {
      let key = 0;
      for (let i = 0; i < items.length; i++) if (i !== k) key = key * 256 + (items[i] as number) + 1;
      return this.numeric.get(key) ?? Number.NaN;
    }
    return this.text.get(items.filter((_, i) => i !== k).join(',')) ?? Number.NaN;
  }

  private set(items: readonly number[], count: number): void {
    if (this.small && items.length <= 6) this.numeric.set(items.reduce((key, i) => key * 256 + i + 1, 0), count);
    else this.text.set(items.join(','), count);
  }
}

/** A rule as arules prints it: `{a,b} => {c}`. */
export const ruleText = (r: Pick<Rule, 'if' | 'then'>): string => `{${r.if.join(',')}} => {${r.then}}`;

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

