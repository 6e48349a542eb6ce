import { own } from '../events/json';
import type { ProductPopularityStore } from '../store/ports';

/**
 * Product popularity, counted as the ingest folds events, so the probable-link scorer knows a
 * best-seller from a niche product from the first event on, not only after the nightly job
 * (lib/identity/weights.ts): a product's popularity is the share of profiles that researched it, and
 * "both researched it" says little of a product many research.
 *
 * What is counted. When a batch's fold adds a product to a profile's `signals.products` (or the
 * profile researches it again after a period of PERIOD_DAYS without it), the product gets one
 * sighting; when the profile researches anything for the first time in such a period, the profile
 * counts once for the whole. A profile researching all month is counted once a month with what it
 * researched that month, so a share stays a share (at most 1) however long a customer comes back.
 *
 * Decay, exact and order-free. A sighting at event time t weighs 2^((t - d)/halfLife), t and d in
 * UTC days, where d is the day of the item it is counted into (the batch's processing day): counts
 * of different days are put on one scale by multiplying by 2^((d - d')/halfLife), and a share is a
 * ratio, so it is the same whatever the batching and the arrival order (the factors cancel). A
 * profile whose events arrive out of order across days may be counted at the day of the later one.
 * Weights are kept relative to their item's day (not to a fixed epoch) so they stay near 1 forever.
 *
 * Cost and guarantees. One read and one write per batch (lib/store/ports.ts ProductPopularityStore:
 * one item per day and shard, read, merged and written back under a condition), best effort: a
 * failure to count fails no record, it is reported (IngestStats.popularityNotCounted). Not
 * exactly-once: a batch retried after its count was written counts again; two profiles merged after
 * each was counted stay counted as two (merged within one batch, before its fold, they count as one,
 * so with logins the shares depend a little on the batching); a profile that researched more than
 * MAX_PRODUCTS products may count one again. Popularity is a statistic, and those errors are small
 * beside the crowd it measures. Bounded: each item keeps at most MAX_COUNTED_PRODUCTS
 * products (the most counted) within MAX_COUNTED_CHARS, and a read at most MAX_SHARED_PRODUCTS, so a
 * sender inventing product ids grows nothing without bound; `__proto__` is never counted.
 *
 * Reading. `popularityOf(stores)` is a process's PopularitySource: the last WINDOW_DAYS of items in
 * one query, cached for REFRESH_MS, with this process's own counts added as it makes them. A small
 * crowd gives high shares (one profile: every product 1), so without evidence a product counts as
 * common, never as rare.
 */

/** What a product's sighting weighs after this many days: half. */
export const POPULARITY_HALF_LIFE_DAYS = 30;
/** A profile researching for longer than this is counted again, with what it researches in the new period. */
export const PERIOD_DAYS = 30;
/** How many days of counts a reader adds up (items expire a little after). */
export const WINDOW_DAYS = 30;
/** How long a process keeps the counts it read before it reads them again. */
export const REFRESH_MS = 300_000;
/**
 * The most products a stored item (one day and shard), or one batch's counts, keeps: the most
 * counted. Popularity matters where it is above the configured u of "researched the same products"
 * (a few percent); an item's 500th product is far below that once it counts more than a few profiles.
 */
export const MAX_COUNTED_PRODUCTS = 500;
/** What an item's products may take (ids and counts, in characters), so its one write per batch stays cheap (at most 3 bytes a character: 72 KB of the 400 KB an item may hold). */
export const MAX_COUNTED_CHARS = 24 * 1024;
/** The most products a reader keeps from the items of its window (the most counted). */
export const MAX_SHARED_PRODUCTS = 5000;

/** Sightings, each weighed by its age relative to a day (see the module's comment). */
export interface PopularityCounts {
  /** Profiles counted (each once per period it researched in). */
  profiles: number;
  /** Product id -> its sightings (one per profile and period). */
  products: Record<string, number>;
}

/** What a profile researched before a batch's fold and after it (lib/profile/profile.ts `signals.products`: product -> last event time). */
export interface Research {
  before?: Record<string, string>;
  after?: Record<string, string>;
}

export const NO_POPULARITY: PopularityCounts = { profiles: 0, products: {} };

const DAY_MS = 86_400_000;
const dayNumber = (ms: number): number => Math.floor(ms / DAY_MS);
const dayOfLabel = (day: string): number => dayNumber(Date.parse(`${day}T00:00:00.000Z`));
const PERIODS_FROM = dayOfLabel('2026-01-01');
/** The period of a UTC day: PERIOD_DAYS-long, from 2026-01-01. */
const periodOf = (dayNo: number): number => Math.floor((dayNo - PERIODS_FROM) / PERIOD_DAYS);
/** Sightings older than this when counted weigh less than 1/1,000 and are left out (a replay of old history). */
const OLDEST_COUNTED_DAYS = 10 * POPULARITY_HALF_LIFE_DAYS;
/** What a count of day `from` is worth on day `to`. */
const decay = (from: number, to: number): number => 2 ** ((from - to) / POPULARITY_HALF_LIFE_DAYS);

/** The UTC day label of an instant (an item's day). */
export const dayOf = (at: Date): string => at.toISOString().slice(0, 10);

/** The WINDOW_DAYS day labels up to the day of `now`, oldest first. */
export function windowDays(now: Date, days = WINDOW_DAYS): string[] {
  const last = dayNumber(now.getTime());
  return Array.from({ length: days }, (_, i) => new Date((last - days + 1 + i) * DAY_MS).toISOString().slice(0, 10));
}

/**
 * A batch's sightings, weighed relative to `day` (its processing day), from what each of its
 * profiles researched before and after the fold; within an item's bound.
 */
export function sightingsOf(research: Iterable<Research>, day: string): PopularityCounts {
  const to = dayOfLabel(day);
  const tally = new Tally();
  for (const { before, after } of research) {
    if (after === undefined) continue;
    // Event times are ISO strings (lib/profile/profile.ts compares them so too); only what changed is parsed.
    let latestAfter = '';
    for (const [product, time] of Object.entries(after)) {
      if (time > latestAfter) latestAfter = time;
      const previous = before === undefined ? undefined : own(before, product);
      if (previous === time) continue;
      const d = dayOfTime(time);
      if (!(to - d <= OLDEST_COUNTED_DAYS)) continue;
      if (previous === undefined || !(periodOf(dayOfTime(previous)) >= periodOf(d))) tally.add(product, decay(d, to));
    }
    const latest = dayOfTime(latestAfter);
    if (!(to - latest <= OLDEST_COUNTED_DAYS)) continue;
    let latestBefore = '';
    for (const time of Object.values(before ?? {})) if (time > latestBefore) latestBefore = time;
    if (latestBefore === '' || !(periodOf(dayOfTime(latestBefore)) >= periodOf(latest))) tally.profiles += decay(latest, to);
  }
  return tally.counts(MAX_COUNTED_PRODUCTS, MAX_COUNTED_CHARS);
}

/** UTC day numbers of day labels, as event times are counted (a few labels a batch; the cache is emptied when it grows). */
const dayNumbers = new Map<string, number>();
function dayOfTime(time: string): number {
  const label = time.slice(0, 10);
  let d = dayNumbers.get(label);
  if (d === undefined) {
    if (dayNumbers.size >= 4096) dayNumbers.clear();
    dayNumbers.set(label, (d = dayOfLabel(label)));
  }
  return d;
}

/** What an entry of an item's products map takes besides its id (the number, the map's overhead), roughly. */
const ENTRY_CHARS = 24;

/** Sightings being added up (a Map: a product id is never a prototype's key; `__proto__` is never counted). */
class Tally {
  profiles = 0;
  readonly products = new Map<string, number>();

  add(product: string, n: number): void {
    if (product !== '__proto__' && n > 0 && Number.isFinite(n)) this.products.set(product, (this.products.get(product) ?? 0) + n);
  }

  static of(counts: PopularityCounts): Tally {
    const tally = new Tally();
    tally.addCounts(counts);
    return tally;
  }

  addCounts(counts: PopularityCounts, factor = 1): void {
    if (Number.isFinite(counts.profiles)) this.profiles += counts.profiles * factor;
    for (const [p, n] of Object.entries(counts.products)) if (typeof n === 'number') this.add(p, n * factor);
  }

  /** Product -> the share of profiles that researched it (see `sharesOf`). */
  shares(): Record<string, number> {
    const shares = recordOf([]);
    if (this.profiles > 0) for (const [p, n] of this.products) shares[p] = Math.min(1, n / this.profiles);
    return shares;
  }

  /**
   * The tally as counts: all of it within `max` products and `chars` (ids and counts); else the most
   * counted (then by id), down to three quarters of `max`, so the next few adds need not sort again.
   */
  counts(max: number, chars = Infinity): PopularityCounts {
    let size = 0;
    if (chars !== Infinity) for (const p of this.products.keys()) size += p.length + ENTRY_CHARS;
    if (this.products.size <= max && size <= chars) return { profiles: this.profiles, products: recordOf(this.products) };
    const ranked = [...this.products].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const kept: Array<[string, number]> = [];
    size = 0;
    for (const entry of ranked) {
      size += entry[0].length + ENTRY_CHARS;
      if (kept.length >= Math.floor((max * 3) / 4) || size > (chars * 3) / 4) break;
      kept.push(entry);
    }
    return { profiles: this.profiles, products: recordOf(kept) };
  }
}

/**
 * Entries keyed by data as a record without a prototype: `__proto__` is a key like any other, and a
 * record of a thousand products builds five times faster than with Object.fromEntries (V8 keeps it a dictionary).
 */
function recordOf(entries: Iterable<[string, number]>): Record<string, number> {
  const record = Object.create(null) as Record<string, number>;
  for (const [k, v] of entries) record[k] = v;
  return record;
}

/** Two counts of one day added up, kept within an item's bound (what a store does with each batch's counts). */
export function addPopularity(a: PopularityCounts, b: PopularityCounts): PopularityCounts {
  const tally = new Tally();
  tally.addCounts(a);
  tally.addCounts(b);
  return tally.counts(MAX_COUNTED_PRODUCTS, MAX_COUNTED_CHARS);
}

/**
 * Items of several days added up on the scale of day `asOf` (a store's read), keeping at most
 * MAX_SHARED_PRODUCTS products (the most counted).
 */
export function sumDays(items: Iterable<{ day: string; counts: PopularityCounts }>, asOf: string): PopularityCounts {
  const to = dayOfLabel(asOf);
  const tally = new Tally();
  for (const { day, counts } of items) tally.addCounts(counts, decay(dayOfLabel(day), to));
  return tally.counts(MAX_SHARED_PRODUCTS);
}

/** Product -> the share of profiles that researched it (0-1; none when no profile is counted). */
export function sharesOf(counts: PopularityCounts): Record<string, number> {
  return Tally.of(counts).shares();
}

/**
 * Counts a batch's sightings (see `sightingsOf`) into the store, one write, under the batch's shard
 * and processing day, and into this process's PopularitySource. Throws what the store throws: the
 * caller reports it and goes on (a statistic never fails a record).
 */
export async function countSightings(stores: { popularity?: ProductPopularityStore }, shardId: string, now: Date, research: Iterable<Research>): Promise<void> {
  if (stores.popularity === undefined) return;
  const day = dayOf(now);
  const counts = sightingsOf(research, day);
  if (counts.profiles === 0 && Object.keys(counts.products).length === 0) return;
  const adding = stores.popularity.add(shardId, day, counts);
  // Noted before the write is acknowledged, so this batch's own readers see it (a failed write is forgotten at the next read).
  popularityOf(stores)?.counted(day, counts);
  await adding;
}

/**
 * Shares of the last WINDOW_DAYS, read through the store and kept for `refreshMs` (of the `now`
 * given), with the counts this process makes meanwhile added as it makes them (`counted`), so a
 * process sees its own batches at once and the other shards' within `refreshMs`. If the store cannot
 * be read, the last good shares are kept (none before the first read).
 */
export class PopularitySource {
  /** What was read, on the scale of `day`, with this process's counts since; and the shares of it, once asked. */
  private cache: { day: string; tally: Tally; checkedAt: number; shares?: Record<string, number> } | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly store: ProductPopularityStore,
    private readonly options: { refreshMs?: number; windowDays?: number; onError?: (e: Error) => void } = {},
  ) {}

  async shares(now: Date): Promise<Record<string, number>> {
    const refreshMs = this.options.refreshMs ?? REFRESH_MS;
    if (this.cache === undefined || Math.abs(now.getTime() - this.cache.checkedAt) >= refreshMs) {
      // One read at a time: a batch's cluster contexts ask at once.
      this.reading ??= this.refresh(now).finally(() => (this.reading = undefined));
      await this.reading;
    }
    const cache = this.cache as NonNullable<PopularitySource['cache']>;
    return (cache.shares ??= cache.tally.shares());
  }

  /** How many profiles the shares are over (decayed), as last read and counted: a share over a handful of profiles says little. */
  profiles(): number {
    return this.cache?.tally.profiles ?? 0;
  }

  /** Counts this process just added to the store (on `day`'s scale), for the shares it serves until its next read. */
  counted(day: string, counts: PopularityCounts): void {
    const cache = this.cache;
    if (cache === undefined) return;
    cache.tally.addCounts(counts, decay(dayOfLabel(day), dayOfLabel(cache.day)));
    // Bounded between reads too: a sender inventing products in every batch cannot grow it.
    if (cache.tally.products.size > 2 * MAX_SHARED_PRODUCTS) cache.tally = Tally.of(cache.tally.counts(MAX_SHARED_PRODUCTS));
    cache.shares = undefined;
  }

  private async refresh(now: Date): Promise<void> {
    const days = windowDays(now, this.options.windowDays);
    const day = days[days.length - 1] as string;
    try {
      this.cache = { day, tally: Tally.of(await this.store.read(days)), checkedAt: now.getTime() };
    } catch (e) {
      this.options.onError?.(e as Error);
      if (this.cache === undefined) this.cache = { day, tally: new Tally(), checkedAt: now.getTime() };
      else this.cache.checkedAt = now.getTime();
    }
  }
}

/** Each popularity store's source in this process (a Lambda container keeps its stores between invocations). */
const sources = new WeakMap<ProductPopularityStore, PopularitySource>();

/**
 * The process's PopularitySource for these stores (one per popularity store, shared by every caller),
 * or undefined if the stores count no popularity. Its `shares(now)` is what the probable-link scorer
 * takes as a product's popularity beside last night's weights.
 */
export function popularityOf(stores: { popularity?: ProductPopularityStore }): PopularitySource | undefined {
  const store = stores.popularity;
  if (store === undefined) return undefined;
  let source = sources.get(store);
  if (source === undefined) sources.set(store, (source = new PopularitySource(store)));
  return source;
}
