import { completeMessage, parseCollectedEvent, parseMessage, ValidationError } from '../../lib/events/segment';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { viewAggregates } from '../../lib/profile/aggregates';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * Event time is trusted only within limits (issue #13, defects 3 and 4): corrected by `sentAt` when
 * the SDK sent it, never more than a tolerance after receipt nor before a floor, and never a date the
 * engine cannot represent.
 */
const received = new Date('2026-11-24T10:00:00.000Z');

describe('event time at the collector', () => {
  it('takes the receipt time for a timestamp far in the future, and notes the correction', () => {
    const event = completeMessage(parseMessage({ type: 'track', anonymousId: 'a', event: 'Order Completed', timestamp: '2999-01-01T00:00:00.000Z' }), received);
    expect(event.timestamp).toBe(received.toISOString());
    expect(event.timestampCorrection).toEqual({ sent: '2999-01-01T00:00:00.000Z', reason: expect.stringMatching(/after receipt/) });
  });

  it('takes the receipt time for a timestamp before the floor (a device clock at the epoch)', () => {
    const event = completeMessage(parseMessage({ type: 'track', anonymousId: 'a', event: 'x', timestamp: '1970-01-01T00:00:00.000Z' }), received);
    expect(event.timestamp).toBe(received.toISOString());
    expect(event.timestampCorrection?.reason).toMatch(/before/);
  });

  it('keeps a timestamp within the tolerance, and corrects a skewed clock by sentAt (Segment\'s rule)', () => {
    const near = completeMessage(parseMessage({ type: 'track', anonymousId: 'a', event: 'x', timestamp: '2026-11-24T10:05:00.000Z' }), received);
    expect(near.timestamp).toBe('2026-11-24T10:05:00.000Z');
    expect(near.timestampCorrection).toBeUndefined();
    // The device clock is a year ahead: sentAt tells by how much.
    const skewed = completeMessage(
      parseMessage({ type: 'track', anonymousId: 'a', event: 'x', timestamp: '2027-11-24T09:59:00.000Z', sentAt: '2027-11-24T10:00:00.000Z' }),
      received,
    );
    expect(skewed.timestamp).toBe('2026-11-24T09:59:00.000Z');
  });

  it.each(['+010000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z'])('refuses a date it cannot represent: %s', (date) => {
    expect(() => parseMessage({ type: 'track', anonymousId: 'a', event: 'x', timestamp: date })).toThrow(ValidationError);
    expect(() => parseMessage({ type: 'track', anonymousId: 'a', event: 'x', sentAt: date })).toThrow(/sentAt: must be an ISO-8601 date-time between the years 0001 and 9999/);
  });

  it('never throws for a pair of representable dates far apart', () => {
    const event = completeMessage(
      parseMessage({ type: 'track', anonymousId: 'a', event: 'x', timestamp: '9999-12-31T23:59:59.999Z', sentAt: '0001-01-01T00:00:00.000Z' }),
      received,
    );
    expect(event.timestamp).toBe(received.toISOString());
  });
});

describe('event time at the ingest', () => {
  it('re-applies the limits to records it did not get from the collector', () => {
    const event = parseCollectedEvent({ type: 'track', anonymousId: 'a', event: 'x', messageId: 'm', receivedAt: received.toISOString(), timestamp: '2999-01-01T00:00:00.000Z' });
    expect(event.timestamp).toBe(received.toISOString());
    expect(event.timestampCorrection?.sent).toBe('2999-01-01T00:00:00.000Z');
  });

  it('an order dated 2999 neither empties the rolling windows nor pins the profile in the future', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const at = (timestamp: string, total: number, receivedAt = timestamp) =>
      toRecord(segmentEvent({ anonymousId: 'future-1', event: 'Order Completed', properties: { total }, timestamp, receivedAt }), seq.take());
    await ingestBatch([at('2026-11-20T10:00:00.000Z', 50)], stores, ingestConfig());
    await ingestBatch([at('2999-01-01T00:00:00.000Z', 70, '2026-11-21T10:00:00.000Z')], stores, ingestConfig());
    await ingestBatch([at('2026-11-22T10:00:00.000Z', 30)], stores, ingestConfig());
    const p = stores.profileItems.get(deriveProfileId('anonymousId:future-1'))!;
    expect(p.updatedAt).toBe('2026-11-22T10:00:00.000Z');
    expect(viewAggregates(p.aggregates, undefined, new Date('2026-11-23T00:00:00.000Z'))).toMatchObject({
      revenue30d: 150,
      orderCount30d: 3,
      revenue365d: 150,
      lastOrderAt: '2026-11-22T10:00:00.000Z',
    });
    const stored = [...stores.eventItems.values()].find((e) => e.event.timestampCorrection !== undefined);
    expect(stored?.event).toMatchObject({ timestamp: '2026-11-21T10:00:00.000Z', timestampCorrection: { sent: '2999-01-01T00:00:00.000Z' } });
  });

  it('dead-letters a record whose date it cannot represent, and folds the rest of the batch', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const records = [
      toRecord(segmentEvent({ anonymousId: 'year-10000', event: 'Promotion Viewed', properties: { decision_id: 'd', promotion_id: 'garden-season' }, timestamp: '+010000-01-01T00:00:00.000Z' }), seq.take()),
      toRecord(segmentEvent({ anonymousId: 'year-10000', timestamp: '2026-11-20T10:00:00.000Z' }), seq.take()),
    ];
    const result = await ingestBatch(records, stores, ingestConfig());
    expect(result.failedSequenceNumbers).toEqual([]);
    expect([...stores.letters.values()]).toEqual([expect.objectContaining({ id: `shardId-000000000000#${records[0]!.sequenceNumber}`, reason: expect.stringMatching(/timestamp/) })]);
    expect(stores.profileItems.get(deriveProfileId('anonymousId:year-10000'))?.aggregates.eventCount).toBe(1);
  });

  it("does not let a record's own receivedAt vouch for its timestamp: the ingest's clock bounds receipt (found in review)", async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const now = () => new Date('2026-11-22T12:00:00.000Z');
    const order = (timestamp: string, receivedAt: string, total: number) =>
      toRecord(segmentEvent({ anonymousId: 'future-2', event: 'Order Completed', properties: { total }, timestamp, receivedAt }), seq.take());
    await ingestBatch([order('2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.000Z', 50)], stores, ingestConfig({ now }));
    // Another producer claims it received a 2999 order in 2999.
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
