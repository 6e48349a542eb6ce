import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MAX_COUNTED_PRODUCTS, POPULARITY_HALF_LIFE_DAYS, PopularitySource } from '../../lib/identity/popularity';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { DynamoStores } from '../../lib/store/dynamo';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { localTables, useEmulators } from '../support/stores';

/**
 * Product popularity in DynamoDB (dynalite, through the real SDK): one item per day and shard in the
 * identity graph table, read-modify-written once per batch under a condition on its version, read
 * back for a window of days in one query.
 */
const emulators = useEmulators();

describe('product popularity in DynamoDB', () => {
  it('adds up what shards count per day, the same item again and again (also three at once), and reads a window of days back', async () => {
    const { popularity } = new DynamoStores(emulators.client(), localTables);
    await popularity.add('shardId-000000000000', '2026-11-19', { profiles: 2, products: { 'paint-bestseller': 2, 'tools-drill': 1 } });
    await Promise.all([1, 2, 3].map((i) => popularity.add('shardId-000000000001', '2026-11-20', { profiles: 1, products: { 'paint-bestseller': 1, [`brush-${i}`]: 1 } })));
    await popularity.add('shardId-000000000001', '2026-11-20', { profiles: 1, products: { 'paint-bestseller': 1 } });
    // A day outside the window read is left out.
    await popularity.add('shardId-000000000000', '2026-10-01', { profiles: 100, products: { 'paint-bestseller': 100 } });

    const counts = await popularity.read(['2026-11-19', '2026-11-20']);
    // Counted relative to their day, read back relative to the window's last: the 19th's decay by a day.
    const dayBefore = 2 ** (-1 / POPULARITY_HALF_LIFE_DAYS);
    expect(counts.profiles).toBeCloseTo(2 * dayBefore + 4, 9);
    expect(counts.products['paint-bestseller']).toBeCloseTo(2 * dayBefore + 4, 9);
    expect(counts.products['tools-drill']).toBeCloseTo(dayBefore, 9);
    expect(counts.products['brush-2']).toBeCloseTo(1, 9);
    expect(await new PopularitySource(popularity).shares(new Date('2026-11-20T18:00:00Z'))).toMatchObject({ 'paint-bestseller': 1, 'tools-drill': expect.closeTo(dayBefore / (2 * dayBefore + 4), 9) });

    // Each item expires a little after the window that reads it.
    const doc = DynamoDBDocumentClient.from(emulators.client());
    const item = (await doc.send(new GetCommand({ TableName: localTables.graph, Key: { pk: 'POPULARITY', sk: '2026-11-20#shardId-000000000001' } }))).Item;
    expect(item?.expiresAt).toBeGreaterThan(Date.parse('2026-12-20T00:00:00Z') / 1000);
    expect(item?.expiresAt).toBeLessThan(Date.parse('2026-12-31T00:00:00Z') / 1000);
  });

  it('keeps an item within its bound however many products are counted into it', async () => {
    const { popularity } = new DynamoStores(emulators.client(), localTables);
    for (let b = 0; b < 3; b++) {
      const products = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`made-up-${b}-${i}`, 1]));
      await popularity.add('shardId-000000000009', '2026-11-21', { profiles: 1000, products: { ...products, 'paint-bestseller': 50 } });
    }
    const counts = await popularity.read(['2026-11-21']);
    expect(Object.keys(counts.products).length).toBeLessThanOrEqual(MAX_COUNTED_PRODUCTS);
    expect(counts.products['paint-bestseller']).toBe(150);
    expect(counts.profiles).toBe(3000);
  });

  it('is counted by the ingest against DynamoDB', async () => {
    const stores = new DynamoStores(emulators.client(), localTables);
    const seq = new SequenceFactory();
    const at = (i: number) => new Date(Date.UTC(2027, 2, 1, 12, i)).toISOString();
    const events = Array.from({ length: 10 }, (_, i) => [
      segmentEvent({ anonymousId: `dyn-shopper-${i}`, timestamp: at(i), properties: { product_id: 'lamp-arc' } }),
      segmentEvent({ anonymousId: `dyn-shopper-${i}`, timestamp: at(i + 1), properties: { product_id: `lamp-${i}` } }),
    ]).flat();
    // A day of its own, so the other tests' items are not in its window.
    const config = ingestConfig({ now: () => new Date('2027-03-01T13:00:00Z') });
    const result = await ingestBatch(events.map((e) => toRecord(e, seq.take())), stores, config);
    expect(result.failedSequenceNumbers).toEqual([]);
    expect(result.stats.popularityNotCounted).toBe(0);
    const shares = await new PopularitySource(stores.popularity).shares(new Date('2027-03-01T13:00:00Z'));
    expect(shares['lamp-arc']).toBeCloseTo(1, 9);
    expect(shares['lamp-3']).toBeCloseTo(0.1, 9);
  });
});
