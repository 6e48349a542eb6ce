/**
 * Frequent itemsets by FP-Growth (Han, Pei and Yin, 2000), exact: every itemset contained in at
 * least `minCount` baskets, with its count, as the R package arules counts them (a basket is a set:
 * an item bought twice counts once; minimum support s over N baskets is ceil(s x N) baskets).
 *
 * Items are numbered by descending frequency, so each basket is a path of small integers and the tree
 * stays compact; conditional trees are built from each item's prefix paths, deepest item first.
 */

/** A frequent itemset: item numbers (see `FrequentItemsets.items`), ascending, and its basket count. */
export interface Itemset {
  items: number[];
  count: number;
}

export interface FrequentItemsets {
  /** How many baskets were mined. */
  baskets: number;
  /** The frequent items' names, by number (the most frequent first). */
  items: string[];
  /** Every frequent itemset (length 1 to `maxLength`), in no particular order. */
  itemsets: Itemset[];
  minCount: number;
}

export interface MiningOptions {
  /** Minimum support, a share of the baskets in (0, 1]. */
  minSupport: number;
  /** Longest itemset kept (arules' default, 10, when absent). */
  maxLength?: number;
}

export const DEFAULT_MAX_LENGTH = 10;

/** ceil(s x N), without a product such as 0.1 x 30 = 3.0000000000000004 counting as 4. */
export function minimumCount(minSupport: number, baskets: number): number {
  if (!(minSupport > 0 && minSupport <= 1)) throw new RangeError(`minimum support must be in (0, 1], not ${minSupport}`);
  return Math.max(1, Math.ceil(Number((minSupport * baskets).toPrecision(12))));
}

export function mineItemsets(baskets: readonly (readonly string[])[], options: MiningOptions): FrequentItemsets {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!(Number.isInteger(maxLength) && maxLength >= 1)) throw new RangeError(`maximum length must be a whole number from 1, not ${maxLength}`);
  const minCount = minimumCount(options.minSupport, baskets.length);
  const { names, numbered } = numberItems(baskets, minCount);
  const tree = new FpTree(names.length);
  for (const basket of numbered) tree.insert(basket, 1);
  const itemsets: Itemset[] = [];
  grow(tree, [], minCount, maxLength, itemsets);
  return { baskets: baskets.length, items: names, itemsets, minCount };
}

/** The frequent items numbered by descending count (ties by name), and each basket as its frequent items' numbers, ascending. */
function numberItems(baskets: readonly (readonly string[])[], minCount: number): { names: string[]; numbered: number[][] } {
  const counts = new Map<string, number>();
  const sets = baskets.map((b) => [...new Set(b)]);
  for (const set of sets) for (const item of set) counts.set(item, (counts.get(item) ?? 0) + 1);
  const names = [...counts]
    .filter(([, n]) => n >= minCount)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([name]) => name);
  const number = new Map(names.map((name, i) => [name, i]));
  const numbered = sets.map((set) =>
    set
      .map((item) => number.get(item))
      .filter((n): n is number => n !== undefined)
      .sort((a, b) => a - b),
  );
  return { names, numbered };
}

/**
 * An FP-tree over item numbers 0..size-1: nodes in flat arrays (parent, item, count), children
 * found through one map keyed by parent and item, and a list of nodes per item (the header table).
 */
class FpTree {
  readonly parent: number[] = [-1];
  readonly item: number[] = [-1];
  readonly count: number[] = [0];
  private readonly children = new Map<number, number>();
  private readonly childCount: number[] = [0];
  readonly nodesOf: number[][];
  readonly itemCount: number[];
  /** Whether some node has two children (else the tree is one path, and its itemsets are its combinations). */
  branched = false;

  constructor(readonly size: number) {
    this.nodesOf = Array.from({ length: size }, () => []);
    this.itemCount = new Array<number>(size).fill(0);
  }

  /** Adds a path of ascending item numbers, `count` times. */
  insert(path: readonly number[], count: number): void {
    let at = 0;
    for (const item of path) {
      const edge = at * this.size + item;
      let child = this.children.get(edge);
      if (child === undefined) {
        child = this.parent.length;
        this.parent.push(at);
        this.item.push(item);
        this.count.push(0);
        this.childCount.push(0);
        this.children.set(edge, child);
        this.nodesOf[item]?.push(child);
        const siblings = (this.childCount[at] ?? 0) + 1;
        this.childCount[at] = siblings;
        if (siblings > 1) this.branched = true;
      }
      this.count[child] = (this.count[child] ?? 0) + count;
      this.itemCount[item] = (this.itemCount[item] ?? 0) + count;
      at = child;
    }
  }
}

/** Every frequent itemset that extends `suffix` with the tree's items, appended to `out`. */
function grow(tree: FpTree, suffix: number[], minCount: number, maxLength: number, out: Itemset[]): void {
  if (!tree.branched) return combinations(tree, suffix, minCount, maxLength, out);
  for (let item = tree.size - 1; item >= 0; item--) {
    const count = tree.itemCount[item] ?? 0;
    if (count < minCount) continue;
    const itemset = [item, ...suffix];
    out.push({ items: itemset, count });
    if (itemset.length >= maxLength || item === 0) continue;
    const conditional = conditionalTree(tree, item, minCount);
    if (conditional !== undefined) grow(conditional, itemset, minCount, maxLength, out);
  }
}

/**
 * A tree that is one path: every combination of its frequent items extends the suffix, counted by
 * its deepest item's node (counts only fall along a path).
 */
function combinations(tree: FpTree, suffix: number[], minCount: number, maxLength: number, out: Itemset[]): void {
  const path: Array<{ item: number; count: number }> = [];
  for (let node = 1; node < tree.parent.length; node++) {
    const count = tree.count[node] ?? 0;
    if (count >= minCount) path.push({ item: tree.item[node] ?? -1, count });
  }
  const room = maxLength - suffix.length;
  const pick = (from: number, chosen: number[], count: number) => {
    for (let i = from; i < path.length; i++) {
      const { item, count: atItem } = path[i] as { item: number; count: number };
      const items = [...chosen, item];
      out.push({ items: [...items, ...suffix], count: Math.min(count, atItem) });
      if (items.length < room) pick(i + 1, items, Math.min(count, atItem));
    }
  };
  if (room > 0) pick(0, [], Number.POSITIVE_INFINITY);
}

/** The tree of `item`'s prefix paths, keeping only the items frequent among them; undefined if none is. */
function conditionalTree(tree: FpTree, item: number, minCount: number): FpTree | undefined {
  const nodes = tree.nodesOf[item] ?? [];
  const counts = new Array<number>(item).fill(0);
  for (const node of nodes) {
    const count = tree.count[node] ?? 0;
    for (let at = tree.parent[node] ?? 0; at > 0; at = tree.parent[at] ?? 0) {
      const above = tree.item[at] ?? 0;
      counts[above] = (counts[above] ?? 0) + count;
    }
  }
  if (!counts.some((n) => n >= minCount)) return undefined;
  const conditional = new FpTree(item);
  const kept: number[] = [];
  for (const node of nodes) {
    kept.length = 0;
    for (let at = tree.parent[node] ?? 0; at > 0; at = tree.parent[at] ?? 0) {
      const above = tree.item[at] ?? 0;
      if ((counts[above] ?? 0) >= minCount) kept.push(above);
    }
    if (kept.length > 0) conditional.insert(kept.reverse(), tree.count[node] ?? 0);
  }
  return conditional;
}
