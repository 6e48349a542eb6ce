import nightOwl from '../../events/journeys/night-owl.json';
import { completeMessage, parseMessage } from '../../lib/events/segment';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { deriveProfileId } from '../../lib/identity/resolver';
import { readProfile } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, SequenceFactory, toRecord } from '../support/factories';
import { SEED, seedEvents } from '../support/journey';

/** Sample journeys replayed through the ingest, checked against values computed by hand. */
describe('hand-checked profiles from the sample journeys', () => {
  it('Maria, whose evening crosses midnight in New York and whose app sends an order a day late', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const events = nightOwl.messages.map((m, i) => completeMessage(parseMessage({ ...m, messageId: `owl-${i}` }), new Date(m.timestamp)));
    // The first five arrive on time; the offline order arrives in a later batch.
    await ingestBatch(events.slice(0, 5).map((e) => toRecord(e, seq.take())), stores, ingestConfig());
    await ingestBatch(events.slice(5).map((e) => toRecord(e, seq.take())), stores, ingestConfig());
    const id = deriveProfileId('anonymousId:maria-phone');

    // 22:00 on 2 Dec in New York: today holds the 00:10 order (80) and the 21:00 one (25.50).
    const evening = await readProfile(stores, id, ingestConfig(), new Date('2026-12-03T03:00:00Z'));
    expect(evening.timezone).toBe('America/New_York');
    expect(evening.aggregates).toMatchObject({
      ordersToday: 2,
      revenueToday: 105.5,
      orderCount: 3,
      revenue: 120.5,
      orderCount30d: 3,
      averageOrderValue: 40.17,
      largestOrder: 80,
      lastOrderAt: '2026-12-03T02:00:00.000Z',
      cart: [],
      cartOpenedAt: null,
      recentlyViewed: ['bulb-e27', 'lamp-arc'],
      categoryViews30d: [{ value: 'lighting', count: 2 }],
      devices: { count: 1, values: ['smartphone'] },
    });
    expect(evening.stage).toEqual({ name: 'repeat customer', reason: '3 orders, the last 0 days ago' });

    // 23:59 on 1 Dec in New York: that day only had the late app order (20:00 local).
    const dayBefore = await readProfile(stores, id, ingestConfig(), new Date('2026-12-02T04:59:00Z'));
    expect(dayBefore.aggregates).toMatchObject({ ordersToday: 1, revenueToday: 15 });
  });

  it('Ann after the seed journey: one cash order in the store, brushes viewed on her tablet', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingestBatch(seedEvents().map((e) => toRecord(e, seq.take())), stores, ingestConfig());
    const ann = await readProfile(stores, stores.owners.get(`userId:${SEED.people.ann.userId}`)!, ingestConfig(), new Date('2026-11-21T12:00:00Z'));
    expect(ann.aggregates).toMatchObject({
      orderCount: 1,
      revenue: 64.99,
      averageOrderValue: 64.99,
      ordersToday: 0,
      revenue30d: 64.99,
      productViews: 1,
      recentlyViewed: ['brush-set-pro'],
      recentlyBought: expect.arrayContaining(['paint-sage-2l', 'tape-50m']),
      channels: { count: 2, values: ['store', 'web'] },
      devices: { count: 1, values: ['tablet'] },
      timezone: 'Europe/London',
    });
    expect(ann.stage.name).toBe('purchased');
  });
});
