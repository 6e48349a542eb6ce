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
  /** More frequent itemsets than this and mining stops with an error (default MAX_ITEMSETS). */
  maxItemsets?: number;
}

export const DEFAULT_MAX_LENGTH = 10;

/**
 * More frequent itemsets than this and mining stops at once, with an error: the support is too low
 * for the data (Groceries at support 0.0002 would go on to 3.4 M rules and a minute and more).
 */
export const MAX_ITEMSETS = 1_000_000;

/** The error when mining passes its limit. */
const tooMany = (limit: number) => new RangeError(`more than ${limit} frequent itemsets: raise the minimum support or lower the maximum length (or raise the limit)`);

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
  const maxItemsets = options.maxItemsets ?? MAX_ITEMSETS;
  const mining: Mining = { minCount, maxLength, maxItemsets, out: [], arena: new Arena(), scratch: new Scratch() };
  const tree = new FpTree(names.length, numbered.reduce((sum, basket) => sum + basket.length, 0), mining.arena);
  for (const basket of numbered) tree.insert(basket, 0, basket.length, 1);
  grow(tree, [], mining);
  return { baskets: baskets.length, distinctItems: distinct, items: names, itemsets: mining.out, minCount };
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
      if (r < 0) continue;
      // Insertion in order: baskets are short, and a sort with a comparator costs more.
      let at = out.length;
      while (at > 0 && (out[at - 1] as number) > r) {
        out[at] = out[at - 1] as number;
        at--;
      }
      out[at] = r;
    }
    return out;
  });
  return { names: frequent.map((x) => x.name), numbered, distinct: names.length };
}

/**
 * Int32 space for trees, taken and given back last in, first out: a conditional tree lives only
 * while the itemsets of its suffix grow, so the space of one is reused by the next (allocating
 * buffers for some ten thousand small trees costs more than mining them).
 */
class Arena {
  private readonly chunks: Int32Array[] = [new Int32Array(1 << 16)];
  private chunk = 0;
  private top = 0;

  /** `length` ints, filled with `fill` when given (else holding whatever was there). */
  take(length: number, fill?: number): Int32Array {
    let buffer = this.chunks[this.chunk] as Int32Array;
    if (this.top + length > buffer.length) {
      // Later chunks are free (space is given back in order), so one too small for this is replaced.
      this.chunk++;
      const later = this.chunks[this.chunk];
      buffer = later !== undefined && later.length >= length ? later : new Int32Array(Math.max(length, buffer.length * 2));
      this.chunks[this.chunk] = buffer;
      this.top = 0;
    }
    const view = buffer.subarray(this.top, this.top + length);
    this.top += length;
    if (fill !== undefined) view.fill(fill);
    return view;
  }

  /** Where the space taken ends now, to give back everything taken after it with `release`. */
  mark(): { chunk: number; top: number } {
    return { chunk: this.chunk, top: this.top };
  }

  release(mark: { chunk: number; top: number }): void {
    this.chunk = mark.chunk;
    this.top = mark.top;
  }
}

/**
 * An FP-tree over item numbers 0..size-1, in typed arrays sized for the paths it will hold: each
 * node's parent, item, count, first child and next sibling (conditional trees branch little, so a
 * short scan of siblings beats a map), and each item's nodes chained from its header (`head`, then
 * `next`). Its arrays are views of an arena's space, so building one allocates no buffer and no
 * object per node.
 */
class FpTree {
  readonly parent: Int32Array;
  readonly item: Int32Array;
  readonly count: Int32Array;
  /** The next node of the same item, or -1. */
  readonly next: Int32Array;
  private readonly firstChild: Int32Array;
  private readonly sibling: Int32Array;
  /** The root's child for each item, or -1 (the root has the most children: a scan of them would be long). */
  private readonly rootChild: Int32Array;
  /** Each item's first node, or -1. */
  readonly head: Int32Array;
  readonly itemCount: Int32Array;
  /** Nodes so far, the root (node 0) included. */
  nodes = 1;
  /** Whether some node has two children (else the tree is one path, and its itemsets are its combinations). */
  branched = false;

  /**
   * A tree of items 0..size-1 with room for `capacity` nodes besides the root (the total length of
   * the paths it will hold will do), in space taken from `arena`.
   */
  constructor(
    readonly size: number,
    capacity: number,
    arena: Arena,
  ) {
    const room = capacity + 1;
    this.parent = arena.take(room);
    this.item = arena.take(room);
    this.count = arena.take(room, 0);
    this.next = arena.take(room);
    this.firstChild = arena.take(room, -1);
    this.sibling = arena.take(room);
    this.head = arena.take(size, -1);
    this.rootChild = arena.take(size, -1);
    this.itemCount = arena.take(size, 0);
    this.parent[0] = -1;
    this.item[0] = -1;
  }

  /** Adds `length` items of a path of ascending item numbers, from `from` on, `count` times. */
  insert(path: ArrayLike<number>, from: number, length: number, count: number): void {
    let at = 0;
    for (let i = from; i < from + length; i++) {
      const item = path[i] as number;
      let child = at === 0 ? (this.rootChild[item] as number) : (this.firstChild[at] as number);
      if (at !== 0) while (child >= 0 && this.item[child] !== item) child = this.sibling[child] as number;
      if (child < 0) {
        child = this.nodes++;
        if (!this.branched && at < child - 1) this.branched = true;
        this.parent[child] = at;
        this.item[child] = item;
        this.next[child] = this.head[item] as number;
        this.head[item] = child;
        this.sibling[child] = this.firstChild[at] as number;
        this.firstChild[at] = child;
        if (at === 0) this.rootChild[item] = child;
      }
      this.count[child] = (this.count[child] as number) + count;
      this.itemCount[item] = (this.itemCount[item] as number) + count;
      at = child;
    }
  }
}

/** One mining's limits, its itemsets so far, and the space it works in. */
interface Mining {
  minCount: number;
  maxLength: number;
  maxItemsets: number;
  out: Itemset[];
  arena: Arena;
  scratch: Scratch;
}

/** Every frequent itemset that extends `suffix` with the tree's items, appended to `mining.out`. */
function grow(tree: FpTree, suffix: number[], mining: Mining): void {
  const { minCount, maxLength, out } = mining;
  if (!tree.branched) return combinations(tree, suffix, mining);
  for (let item = tree.size - 1; item >= 0; item--) {
    const count = tree.itemCount[item] as number;
    if (count < minCount) continue;
    const itemset = [item, ...suffix];
    out.push({ items: itemset, count });
    if (out.length > mining.maxItemsets) throw tooMany(mining.maxItemsets);
    if (itemset.length >= maxLength || item === 0) continue;
    const mark = mining.arena.mark();
    const conditional = conditionalTree(tree, item, mining);
    if (conditional !== undefined) grow(conditional, itemset, mining);
    mining.arena.release(mark);
  }
}

/**
 * A tree that is one path: every combination of its frequent items extends the suffix, counted by
 * its deepest item's node (counts only fall along a path).
 */
function combinations(tree: FpTree, suffix: number[], { minCount, maxLength, maxItemsets, out }: Mining): void {
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
      if (out.length > maxItemsets) throw tooMany(maxItemsets);
      if (items.length < room) pick(i + 1, items, Math.min(count, atItem));
    }
  };
  if (room > 0) pick(0, [], Number.POSITIVE_INFINITY);
}

/**
 * Scratch space for `conditionalTree`, reused from one tree to the next (a tree is built in full
 * before the next is begun, so one set serves the whole recursion): grown, never shrunk.
 */
class Scratch {
  /** The items of every prefix path, one path after another. */
  paths: Int32Array = new Int32Array(1024);
  /** The frequent ones among them, in ascending order per path. */
  kept: Int32Array = new Int32Array(1024);
  /** Where each path ends in `paths`, then in `kept`. */
  ends: Int32Array = new Int32Array(256);
  /** Each path's count. */
  weights: Int32Array = new Int32Array(256);
  /** Each item's count over the paths. */
  counts: Int32Array = new Int32Array(256);
}

/** `buffer`, or a copy with room for at least `needed` ints. */
function atLeast(buffer: Int32Array, needed: number): Int32Array {
  if (needed <= buffer.length) return buffer;
  const grown = new Int32Array(Math.max(needed, buffer.length * 2));
  grown.set(buffer);
  return grown;
}

/** The tree of `item`'s prefix paths, keeping only the items frequent among them; undefined if none is. */
function conditionalTree(tree: FpTree, item: number, { minCount, scratch, arena }: Mining): FpTree | undefined {
  // One walk up from each of the item's nodes, its path kept (deepest item first) for the second pass.
  const counts = (scratch.counts = atLeast(scratch.counts, item)).fill(0, 0, item);
  let length = 0;
  let paths = 0;
  for (let node = tree.head[item] as number; node >= 0; node = tree.next[node] as number) {
    const count = tree.count[node] as number;
    for (let at = tree.parent[node] as number; at > 0; at = tree.parent[at] as number) {
      const above = tree.item[at] as number;
      counts[above] = (counts[above] as number) + count;
      if (length === scratch.paths.length) scratch.paths = atLeast(scratch.paths, length + 1);
      scratch.paths[length++] = above;
    }
    if (paths === scratch.ends.length) {
      scratch.ends = atLeast(scratch.ends, paths + 1);
      scratch.weights = atLeast(scratch.weights, paths + 1);
    }
    scratch.ends[paths] = length;
    scratch.weights[paths++] = count;
  }
  let frequent = false;
  for (let i = 0; i < item; i++) if ((counts[i] as number) >= minCount) frequent = true;
  if (!frequent) return undefined;
  // Each path's frequent items in ascending order (reversed, as the walk went up), one path after another.
  const { paths: flat, ends, weights } = scratch;
  const kept = (scratch.kept = atLeast(scratch.kept, length));
  let total = 0;
  let start = 0;
  for (let p = 0; p < paths; p++) {
    const end = ends[p] as number;
    for (let i = end - 1; i >= start; i--) {
      const above = flat[i] as number;
      if ((counts[above] as number) >= minCount) kept[total++] = above;
    }
    start = end;
    ends[p] = total;
  }
  const conditional = new FpTree(item, total, arena);
  start = 0;
  for (let p = 0; p < paths; p++) {
    const end = ends[p] as number;
    if (end > start) conditional.insert(kept, start, end - start, weights[p] as number);
    start = end;
  }
  return conditional;
}
