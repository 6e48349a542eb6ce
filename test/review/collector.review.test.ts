import { collect, validateMessages, type Privacy } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { defaultEventPolicy } from '../../lib/events/policy';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, SequenceFactory } from '../support/factories';

/**
 * Event time corrected by sentAt (DESIGN.md; issue #13, defect 3). @segment/analytics-node 3.x sends
 * `sentAt` once, at the root of the batch body (`{ batch, writeKey, sentAt }`, see
 * node_modules/@segment/analytics-node/dist/cjs/plugins/segmentio/publisher.js), not in each message.
 */
const privacy: Privacy = { salt: 'test-salt', personalData: defaultEventPolicy().personalData };

describe('review: clock-skew correction of a batch', () => {
  it("corrects each message's timestamp by the batch's root sentAt (a server clock 45 minutes fast)", () => {
    const received = new Date('2026-11-24T10:00:00.000Z');
    // Happened one minute before it was sent; the sender's clock is 45 minutes fast.
    const body = { sentAt: '2026-11-24T10:45:00.000Z', batch: [{ type: 'track', event: 'Order Completed', userId: 'u1', timestamp: '2026-11-24T10:44:00.000Z' }] };
    const { events } = validateMessages(parseRequest('batch', JSON.stringify(body)), received, privacy);
    expect(events.map((e) => e.timestamp)).toEqual(['2026-11-24T09:59:00.000Z']);
  });
});

describe('review: derived messageIds', () => {
  it('keeps two identical heartbeats without messageId or timestamp, sent five minutes apart, as two events (not one request retried)', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const body = JSON.stringify({ anonymousId: 'kiosk-7', event: 'Door Opened' });
    for (const at of ['2026-11-24T10:00:00.000Z', '2026-11-24T10:05:00.000Z']) {
      const stream: string[] = [];
      await collect(parseRequest('track', body), new Date(at), { stream: { putRecords: async (r) => (stream.push(...r.map((x) => x.data)), []) }, deadLetters: stores.deadLetters }, privacy);
      await ingestBatch(stream.map((d) => ({ shardId: 'shardId-000000000000', sequenceNumber: seq.take(), data: Buffer.from(d).toString('base64') })), stores, ingestConfig({ salt: privacy.salt }));
    }
    expect(stores.profileItems.get(deriveProfileId('anonymousId:kiosk-7'))?.aggregates.eventCount).toBe(2);
  });
});
