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
  /** How many distinct items they hold, frequent or not. */
  distinctItems: number;
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

/** More frequent itemsets than this and mining stops: the support is too low for the data (memory would run out first). */
export const MAX_ITEMSETS = 2_000_000;

/** ceil(s x N), without a product such as 0.1 x 30 = 3.0000000000000004 counting as 4. */
export function minimumCount(minSupport: number, baskets: number): number {
  if (!(minSupport > 0 && minSupport <= 1)) throw new RangeError(`minimum support must be in (0, 1], not ${minSupport}`);
  return Math.max(1, Math.ceil(Number((minSupport * baskets).toPrecision(12))));
}

export function mineItemsets(baskets: readonly (readonly string[])[], options: MiningOptions): FrequentItemsets {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!(Number.isInteger(maxLength) && maxLength >= 1)) throw new RangeError(`maximum length must be a whole number from 1, not ${maxLength}`);
  const minCount = minimumCount(options.minSupport, baskets.length);
  const { names, numbered, distinct } = numberItems(baskets, minCount);
  const tree = new FpTree(names.length);
  for (const basket of numbered) tree.insert(basket, basket.length, 1);
  const itemsets: Itemset[] = [];
  grow(tree, [], minCount, maxLength, itemsets);
  return { baskets: baskets.length, distinctItems: distinct, items: names, itemsets, minCount };
}

/**
 * The frequent items numbered by descending count (ties by name), each basket as its frequent items'
 * numbers, ascending, and how many distinct items the baskets hold. Items are first given ids in
 * order of appearance, and a basket's duplicates are dropped with a stamp per id.
 */
function numberItems(baskets: readonly (readonly string[])[], minCount: number): { names: string[]; numbered: number[][]; distinct: number } {
  const ids = new Map<string, number>();
  const counts: number[] = [];
  const stamp: number[] = [];
  const byId = baskets.map((basket, b) => {
    const set: number[] = [];
    for (const item of basket) {
      let id = ids.get(item);
      if (id === undefined) {
        id = counts.length;
        ids.set(item, id);
        counts.push(0);
        stamp.push(-1);
      }
      if (stamp[id] === b) continue;
      stamp[id] = b;
      counts[id] = (counts[id] ?? 0) + 1;
      set.push(id);
    }
    return set;
  });
  const names = [...ids.keys()];
  const frequent = names
    .map((name, id) => ({ name, id, count: counts[id] ?? 0 }))
    .filter((x) => x.count >= minCount)
    .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rank = new Array<number>(names.length).fill(-1);
  frequent.forEach((x, r) => (rank[x.id] = r));
  const numbered = byId.map((set) => {
    const out: number[] = [];
    for (const id of set) {
      const r = rank[id] ?? -1;
      if (r >= 0) out.push(r);
    }
    return out.sort((a, b) => a - b);
  });
  return { names: frequent.map((x) => x.name), numbered, distinct: names.length };
}

/**
 * An FP-tree over item numbers 0..size-1, in flat arrays: each node's parent, item, count, first
 * child and next sibling (conditional trees branch little, so a short scan of siblings beats a map),
 * and each item's nodes chained from its header (`head`, then `next`), so a conditional tree
 * allocates no list per item.
 */
class FpTree {
  readonly parent: number[] = [-1];
  readonly item: number[] = [-1];
  readonly count: number[] = [0];
  /** The next node of the same item, or -1. */
  readonly next: number[] = [-1];
  private readonly firstChild: number[] = [-1];
  private readonly sibling: number[] = [-1];
  /** The root's child for each item, or -1 (the root has the most children: a scan of them would be long). */
  private readonly rootChild: number[];
  /** Each item's first node, or -1. */
  readonly head: number[];
  readonly itemCount: number[];
  /** Whether some node has two children (else the tree is one path, and its itemsets are its combinations). */
  branched = false;

  constructor(readonly size: number) {
    this.head = new Array<number>(size).fill(-1);
    this.rootChild = new Array<number>(size).fill(-1);
    this.itemCount = new Array<number>(size).fill(0);
  }

  get nodes(): number {
    return this.parent.length;
  }

  /** Adds the first `length` items of a path of ascending item numbers, `count` times. */
  insert(path: readonly number[], length: number, count: number): void {
    let at = 0;
    for (let i = 0; i < length; i++) {
      const item = path[i] as number;
      let child = at === 0 ? (this.rootChild[item] as number) : (this.firstChild[at] as number);
      if (at !== 0) while (child >= 0 && this.item[child] !== item) child = this.sibling[child] as number;
      if (child < 0) {
        child = this.parent.length;
        if (!this.branched && at < child - 1) this.branched = true;
        this.parent.push(at);
        this.item.push(item);
        this.count.push(0);
        this.next.push(this.head[item] as number);
        this.head[item] = child;
        this.firstChild.push(-1);
        this.sibling.push(this.firstChild[at] as number);
        this.firstChild[at] = child;
        if (at === 0) this.rootChild[item] = child;
      }
      this.count[child] = (this.count[child] as number) + count;
      this.itemCount[item] = (this.itemCount[item] as number) + count;
      at = child;
    }
  }
}

/** Every frequent itemset that extends `suffix` with the tree's items, appended to `out`. */
function grow(tree: FpTree, suffix: number[], minCount: number, maxLength: number, out: Itemset[]): void {
  if (!tree.branched) return combinations(tree, suffix, minCount, maxLength, out);
  for (let item = tree.size - 1; item >= 0; item--) {
    const count = tree.itemCount[item] as number;
    if (count < minCount) continue;
    const itemset = [item, ...suffix];
    out.push({ items: itemset, count });
    if (out.length > MAX_ITEMSETS) throw new RangeError(`more than ${MAX_ITEMSETS} frequent itemsets: raise the minimum support or lower the maximum length`);
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
  for (let node = 1; node < tree.nodes; node++) {
    const count = tree.count[node] as number;
    if (count >= minCount) path.push({ item: tree.item[node] as number, count });
  }
  const room = maxLength - suffix.length;
  const pick = (from: number, chosen: number[], count: number) => {
    for (let i = from; i < path.length; i++) {
      const { item, count: atItem } = path[i] as { item: number; count: number };
      const items = chosen.concat(item);
      out.push({ items: items.concat(suffix), count: Math.min(count, atItem) });
      if (out.length > MAX_ITEMSETS) throw new RangeError(`more than ${MAX_ITEMSETS} frequent itemsets: raise the minimum support or lower the maximum length`);
      if (items.length < room) pick(i + 1, items, Math.min(count, atItem));
    }
  };
  if (room > 0) pick(0, [], Number.POSITIVE_INFINITY);
}

/** The tree of `item`'s prefix paths, keeping only the items frequent among them; undefined if none is. */
function conditionalTree(tree: FpTree, item: number, minCount: number): FpTree | undefined {
  // One walk up from each of the item's nodes, its path kept (deepest item first) for the second pass.
  const flat: number[] = [];
  const ends: number[] = [];
  const weights: number[] = [];
  const counts = new Array<number>(item).fill(0);
  for (let node = tree.head[item] as number; node >= 0; node = tree.next[node] as number) {
    const count = tree.count[node] as number;
    for (let at = tree.parent[node] as number; at > 0; at = tree.parent[at] as number) {
      const above = tree.item[at] as number;
      counts[above] = (counts[above] as number) + count;
      flat.push(above);
    }
    ends.push(flat.length);
    weights.push(count);
  }
  if (!counts.some((n) => n >= minCount)) return undefined;
  const conditional = new FpTree(item);
  const kept: number[] = [];
  let start = 0;
  for (let p = 0; p < ends.length; p++) {
    const end = ends[p] as number;
    let length = 0;
    for (let i = end - 1; i >= start; i--) {
      const above = flat[i] as number;
      if ((counts[above] as number) >= minCount) kept[length++] = above;
    }
    if (length > 0) conditional.insert(kept, length, weights[p] as number);
    start = end;
  }
  return conditional;
}
