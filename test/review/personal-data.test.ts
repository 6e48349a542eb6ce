import { collect, type EventStream, type Privacy } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { REDACTED_WITH, redactionFingerprint } from '../../lib/events/personal';
import { loadEventPolicy } from '../../lib/events/policy';
import { loadIdentityRules } from '../../lib/identity/rules';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import eventPolicy from '../../config/events.json';
import identityRules from '../../config/identity.json';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/** Review 2, area 5: personal data that reaches the stream and the tables in clear. */

const SALT = 'test-salt';
const received = new Date('2026-11-20T10:00:00.000Z');
const config = () => ingestConfig({ salt: SALT, now: () => received });

async function throughTheEngine(path: 'identify' | 'track', message: Record<string, unknown>) {
  const stores = new MemoryStores();
  const stream: string[] = [];
  const sink: EventStream = { putRecords: async (records) => (stream.push(...records.map((r) => r.data)), []) };
  const privacy: Privacy = { salt: SALT, personalData: config().events.personalData, identity: loadIdentityRules() };
  await collect(parseRequest(path, JSON.stringify(message)), received, { stream: sink, deadLetters: stores.deadLetters }, privacy);
  const seq = new SequenceFactory();
  const ingest = await ingestBatch(stream.map((data) => ({ shardId: 'shardId-000000000000', sequenceNumber: seq.take(), data: Buffer.from(data).toString('base64') })), stores, config());
  expect(ingest.failedSequenceNumbers).toEqual([]);
  return { stream: stream.join('\n'), events: JSON.stringify([...stores.eventItems.values()]) };
}

describe('an e-mail address the collector is sent outside traits, context.traits and properties', () => {
  it.each([
    ['a root field of an identify call (the schema keeps unknown fields)', 'identify', { userId: 'u-1', email: 'ann.smith@example.com', traits: { plan: 'gold' } }],
    ['context.email of a track call', 'track', { userId: 'u-2', event: 'Signed Up', context: { email: 'ann.smith@example.com' } }],
  ] as const)('is not on the stream nor in the events table in clear: %s', async (_what, path, message) => {
    const { stream, events } = await throughTheEngine(path, message as Record<string, unknown>);
    expect({ onStream: stream.includes('ann.smith@example.com'), inEventsTable: events.includes('ann.smith@example.com') }).toEqual({ onStream: false, inEventsTable: false });
  });
});

describe('a phone number or street address under a name the policy does not list', () => {
  it.each([
    ['traits.homePhone of an identify call', 'identify', { userId: 'u-4', traits: { homePhone: '+44 20 7946 0958' } }, '7946 0958'],
    ['traits.shippingAddress (one line) of an identify call', 'identify', { userId: 'u-5', traits: { shippingAddress: '1 Acacia Avenue, Leeds' } }, 'Acacia'],
    ['properties.billing_address of an order', 'track', { userId: 'u-6', event: 'Order Completed', properties: { total: 10, billing_address: '1 Acacia Avenue, Leeds' } }, 'Acacia'],
  ] as const)('is not on the stream nor in the events table in clear: %s', async (_what, path, message, clear) => {
    const { stream, events } = await throughTheEngine(path, message as Record<string, unknown>);
    expect({ onStream: stream.includes(clear), inEventsTable: events.includes(clear) }).toEqual({ onStream: false, inEventsTable: false });
  });
});

