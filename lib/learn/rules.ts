/**
 * Association rules from frequent itemsets, as arules' `apriori` generates them: one item on the
 * right-hand side, every item of a frequent itemset taking that place in turn, kept when its
 * confidence reaches the minimum. Rule length is the length of the whole itemset (arules' `minlen`
 * and `maxlen`); with a minimum length of 1 (arules' default) a frequent item whose support reaches
 * the minimum confidence gives a rule with an empty left-hand side.
 */
import { mineItemsets, type FrequentItemsets, type Itemset, type MiningOptions } from './fpgrowth';

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
}

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
    items: new Set(baskets.flat()).size,
    frequentItemsets: mined.itemsets.length,
    rules: rulesOf(mined, options.minConfidence, options.minLength ?? 1),
    itemSupport: Object.fromEntries(mined.itemsets.filter((s) => s.items.length === 1).map((s) => [mined.items[s.items[0] ?? 0] ?? '', s.count / mined.baskets])),
  };
}

/** The rules of every frequent itemset at least `minLength` long, by lift then confidence then support, descending; left-hand sides by name. */
export function rulesOf(mined: FrequentItemsets, minConfidence: number, minLength: number): Rule[] {
  const counts = new CountTrie(mined.itemsets);
  const n = mined.baskets;
  const rules: Rule[] = [];
  const lhs: number[] = [];
  for (const { items, count } of mined.itemsets) {
    if (items.length < minLength) continue;
    for (const then of items) {
      lhs.length = 0;
      for (const i of items) if (i !== then) lhs.push(i);
      // Every subset of a frequent itemset is frequent, so its count is known; the empty set is in every basket.
      const confidence = count / (lhs.length === 0 ? n : counts.get(lhs));
      if (!(confidence >= minConfidence)) continue;
      rules.push({
        if: lhs.map((i) => mined.items[i] ?? '').sort(byName),
        then: mined.items[then] ?? '',
        support: count / n,
        confidence,
        lift: (confidence * n) / counts.get([then]),
        count,
      });
    }
  }
  return rules.sort((a, b) => b.lift - a.lift || b.confidence - a.confidence || b.support - a.support || byName(ruleText(a), ruleText(b)));
}

/** Itemset counts by their ascending item numbers, in a trie (a look-up walks it, with no key to build). */
class CountTrie {
  private readonly root: TrieNode = { count: 0, next: new Map() };

  constructor(itemsets: readonly Itemset[]) {
    for (const { items, count } of itemsets) {
      let at = this.root;
      for (const i of items) {
        let next = at.next.get(i);
        if (next === undefined) at.next.set(i, (next = { count: 0, next: new Map() }));
        at = next;
      }
      at.count = count;
    }
  }

  get(items: readonly number[]): number {
    let at: TrieNode | undefined = this.root;
    for (const i of items) at = at?.next.get(i);
    return at?.count ?? Number.NaN;
  }
}

interface TrieNode {
  count: number;
  next: Map<number, TrieNode>;
}

/** A rule as arules prints it: `{a,b} => {c}`. */
export const ruleText = (r: Pick<Rule, 'if' | 'then'>): string => `{${r.if.join(',')}} => {${r.then}}`;

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

