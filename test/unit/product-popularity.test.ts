import { ingestBatch, type IngestResult } from '../../lib/ingest/pipeline';
import { MAX_COUNTED_PRODUCTS, MAX_SHARED_PRODUCTS, PopularitySource, popularityOf, sharesOf, sightingsOf } from '../../lib/identity/popularity';
import { MemoryStores } from '../../lib/store/memory';
import type { ProductPopularityStore } from '../../lib/store/ports';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * Product popularity is counted as the ingest folds events (lib/identity/popularity.ts), so the
 * probable-link scorer knows a best-seller from a niche product before any night: the share of
 * profiles that researched each product, decayed by event time, whatever the batching and order.
 */
const config = ingestConfig();
const NOW = config.now?.() as Date;
const at = (month: number, d: number, hour: number, minute = 0) => new Date(Date.UTC(2026, month - 1, d, hour, minute)).toISOString();

const view = (anonymousId: string, product: string, timestamp: string) =>
  segmentEvent({ anonymousId, timestamp, properties: { product_id: product, category: product.split('-')[0] } });

/** 40 shoppers, each looking at the best-seller and at one product of her own, on one November day. */
function shoppers(): Array<Record<string, unknown>> {
  return Array.from({ length: 40 }, (_, i) => [view(`shopper-${i}`, 'paint-bestseller', at(11, 20, 9 + (i % 8), i)), view(`shopper-${i}`, `tools-${100 + i}`, at(11, 20, 10 + (i % 8), i))]).flat();
}

/** Ingests the events in the order given (their sequence numbers follow it), `batch` records at a time; every record succeeds. */
async function ingest(stores: MemoryStores, events: Array<Record<string, unknown>>, batch = 100): Promise<IngestResult[]> {
  const seq = new SequenceFactory();
  const records = events.map((e) => toRecord(e, seq.take()));
  const results: IngestResult[] = [];
  for (let i = 0; i < records.length; i += batch) {
    const result = await ingestBatch(records.slice(i, i + batch), stores, config);
    expect(result.failedSequenceNumbers).toEqual([]);
    results.push(result);
  }
  return results;
}

/** The shares as a fresh process reads them from the store. */
const sharesIn = (stores: MemoryStores) => new PopularitySource(stores.popularity).shares(NOW);

/** A deterministic shuffle (a linear congruential generator), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('product popularity, counted at ingest', () => {
  it('knows the best-seller from the first events, before any night: about 1 for it, about 1/40 for each shopper\'s own product', async () => {
    const stores = new MemoryStores();
    await ingest(stores, shoppers());

    const shares = await sharesIn(stores);
    expect(shares['paint-bestseller']).toBeCloseTo(1, 9);
    for (let i = 0; i < 40; i++) expect(shares[`tools-${100 + i}`]).toBeCloseTo(1 / 40, 9);
    expect(Object.keys(shares)).toHaveLength(41);
    // The ingest's own process sees the same, through the source shared by its stores.
    expect(await popularityOf(stores)?.shares(NOW)).toEqual(shares);
  });

  it.each([1, 7, 100])('gives the same shares in batches of %i, in time order, reversed or shuffled', async (batch) => {
    const reference = await sharesIn(await (async () => {
      const s = new MemoryStores();
      await ingest(s, shoppers());
      return s;
    })());
    const events = shoppers();
    for (const order of [events, [...events].reverse(), shuffled(events, 7), shuffled(events, 2026)]) {
      const stores = new MemoryStores();
      await ingest(stores, order, batch);
      const shares = await sharesIn(stores);
      expect(Object.keys(shares).sort()).toEqual(Object.keys(reference).sort());
      for (const [product, share] of Object.entries(reference)) expect(shares[product]).toBeCloseTo(share, 9);
    }
  });

  it('decays by event time: a product last researched 60 days before another weighs a quarter as much', async () => {
    const stores = new MemoryStores();
    const events = [
      ...Array.from({ length: 10 }, (_, i) => view(`early-${i}`, 'paint-autumn', at(9, 21, 12, i))),
      ...Array.from({ length: 10 }, (_, i) => view(`late-${i}`, 'paint-winter', at(11, 20, 12, i))),
    ];
    await ingest(stores, events);

    const shares = await sharesIn(stores);
    expect((shares['paint-autumn'] as number) / (shares['paint-winter'] as number)).toBeCloseTo(0.25, 9);
    // Each is researched by every profile that counts at its time: a share of the decayed whole.
    expect(shares['paint-autumn']).toBeCloseTo(0.2, 9);
    expect(shares['paint-winter']).toBeCloseTo(0.8, 9);
  });

  it('counts a returning shopper again in a later period, with what she researches then, so a share stays a share', () => {
    const before = { 'paint-sage': at(10, 1, 12), 'tools-drill': at(10, 2, 12) };
    // Forty days later she looks at the sage paint again, and at a brush for the first time.
    const after = { ...before, 'paint-sage': at(11, 10, 12), 'brush-set': at(11, 10, 13) };
    const counts = sightingsOf([{ before, after }], '2026-11-10');
    expect(counts.profiles).toBeCloseTo(1, 9);
    expect(counts.products).toEqual({ 'paint-sage': expect.closeTo(1, 9), 'brush-set': expect.closeTo(1, 9) });
    // Within the same period, more of the same counts nothing; a profile never counts more than once.
    expect(sightingsOf([{ before: after, after: { ...after, 'paint-sage': at(11, 11, 9) } }], '2026-11-11')).toEqual({ profiles: 0, products: {} });
  });

  it('keeps shares within 0..1 and never lists __proto__', () => {
    expect(sharesOf({ profiles: 2, products: { a: 3, b: 1, ['__proto__']: 2 } })).toEqual({ a: 1, b: 0.5 });
    expect(sharesOf({ profiles: 0, products: { a: 1 } })).toEqual({});
    const counts = sightingsOf([{ after: JSON.parse('{"__proto__": "2026-11-20T12:00:00.000Z", "paint-sage": "2026-11-20T12:00:00.000Z"}') as Record<string, string> }], '2026-11-20');
    expect(Object.keys(counts.products)).toEqual(['paint-sage']);
  });

  it('keeps the stored counts within their bound when a sender invents 100,000 product ids, and the best-seller stays known', async () => {
    const stores = new MemoryStores();
    await ingest(stores, shoppers());
    // 5,000 made-up devices, each "ordering" 20 made-up products (a profile keeps 20): 100,000 ids.
    const flood = Array.from({ length: 5000 }, (_, i) =>
      segmentEvent({ anonymousId: `bot-${i}`, event: 'Order Completed', timestamp: at(11, 20, 18, i % 60), properties: { products: Array.from({ length: 20 }, (_, k) => ({ product_id: `fake-${i}-${k}` })) } }),
    );
    await ingest(stores, flood, 1000);

    for (const item of stores.popularityItems.values()) {
      expect(Object.keys(item.products).length).toBeLessThanOrEqual(MAX_COUNTED_PRODUCTS);
      expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(64 * 1024);
    }
    const shares = await sharesIn(stores);
    expect(Object.keys(shares).length).toBeLessThanOrEqual(MAX_SHARED_PRODUCTS);
    expect(shares['paint-bestseller']).toBeCloseTo(40 / 5040, 9);
  });

  it('fails no record when the popularity store cannot count (a statistic): the batch is written and the failure reported', async () => {
    const stores = new MemoryStores();
    const failing: ProductPopularityStore = {
      add: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
      },
      read: async () => ({ profiles: 0, products: {} }),
    };
    (stores as { popularity: ProductPopularityStore }).popularity = failing;

    const [result] = await ingest(stores, shoppers());
    expect(result?.stats).toMatchObject({ records: 80, folded: 80, profilesWritten: 40, groupsFailed: 0, popularityNotCounted: 1 });
    expect(result?.errors).toEqual([]);
    expect(result?.warnings.map((e) => e.message)).toEqual(['Rate exceeded']);
    expect(stores.eventItems.size).toBe(80);
  });
});
