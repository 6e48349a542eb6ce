import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { viewAggregates } from '../../lib/profile/aggregates';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * Event time trusted within limits (issue #13, defect 3), at the ingest "for records from any other
 * producer": the limit is taken relative to the record's own receivedAt, which that producer also sets.
 */
describe('review: event time at the ingest', () => {
  it("does not let a record's own receivedAt (2999) vouch for its timestamp (2999): the ingest's clock bounds receipt", async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const now = () => new Date('2026-11-22T12:00:00.000Z');
    const order = (timestamp: string, receivedAt: string, total: number) =>
      toRecord(segmentEvent({ anonymousId: 'future-2', event: 'Order Completed', properties: { total }, timestamp, receivedAt }), seq.take());
    await ingestBatch([order('2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.000Z', 50)], stores, ingestConfig({ now }));
    await ingestBatch([order('2999-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z', 70)], stores, ingestConfig({ now }));
    await ingestBatch([order('2026-11-22T10:00:00.000Z', '2026-11-22T10:00:00.000Z', 30)], stores, ingestConfig({ now }));
    const p = stores.profileItems.get(deriveProfileId('anonymousId:future-2'))!;
    const view = viewAggregates(p.aggregates, undefined, new Date('2026-11-23T00:00:00.000Z')) as Record<string, unknown>;
    expect({ updatedAt: p.updatedAt, orderCount30d: view.orderCount30d, revenue30d: view.revenue30d, lastOrderAt: view.lastOrderAt }).toEqual({
      updatedAt: '2026-11-22T12:00:00.000Z',
      orderCount30d: 3,
      revenue30d: 150,
      lastOrderAt: '2026-11-22T12:00:00.000Z',
    });
  });
});
