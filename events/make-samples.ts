/**
 * Writes the sample Kinesis and API Gateway events in events/ from the seed journey, so handlers can
 * be invoked by hand (`sam local invoke -e`, the Lambda console) with realistic input.
 * `npx tsx events/make-samples.ts`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import seed from './journeys/seed.json';
import { completeMessage, parseMessage, partitionKeyOf } from '../lib/events/segment';

const here = __dirname;
const write = (file: string, value: unknown) => writeFileSync(join(here, file), `${JSON.stringify(value, null, 2)}\n`);

const collected = seed.messages.map((m, i) => completeMessage(parseMessage({ ...m, messageId: `seed-${i}` }), new Date(m.timestamp)));
let seq = 49_656_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;
write('kinesis/seed-journey-batch.json', {
  Records: collected.map((e) => {
    seq += 1_000n;
    return {
      eventID: `shardId-000000000000:${seq}`,
      eventName: 'aws:kinesis:record',
      eventSource: 'aws:kinesis',
      eventSourceARN: 'arn:aws:kinesis:eu-west-2:123456789012:stream/moment-events',
      eventVersion: '1.0',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/ingest',
      awsRegion: 'eu-west-2',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: partitionKeyOf(e),
        sequenceNumber: seq.toString(),
        data: Buffer.from(JSON.stringify(e)).toString('base64'),
        approximateArrivalTimestamp: Date.parse(e.receivedAt) / 1000,
      },
    };
  }),
});

const request = (routeKey: string, rawPath: string, body: unknown, headers: Record<string, string>) => ({
  version: '2.0',
  routeKey,
  rawPath,
  rawQueryString: '',
  headers: { 'content-type': 'application/json', host: 'api.example.com', ...headers },
  requestContext: {
    accountId: '123456789012',
    apiId: 'abc123',
    domainName: 'api.example.com',
    domainPrefix: 'api',
    http: { method: routeKey.split(' ')[0], path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.54', userAgent: 'analytics-node' },
    requestId: 'req-1',
    routeKey,
    stage: '$default',
    time: '20/Nov/2026:19:31:00 +0000',
    timeEpoch: Date.parse('2026-11-20T19:31:00.000Z'),
  },
  body: body === undefined ? undefined : JSON.stringify(body),
  isBase64Encoded: false,
});
const basic = `Basic ${Buffer.from('dev-write-key:').toString('base64')}`;
write('apigw/track.json', request('POST /v1/track', '/v1/track', seed.messages[1], { authorization: basic }));
write('apigw/batch.json', request('POST /v1/batch', '/v1/batch', { batch: seed.messages }, { authorization: basic }));
write('apigw/get-profile-by-user-id.json', {
  ...request('GET /v1/identities/{namespace}/{value}', '/v1/identities/userId/cust-1001', undefined, { 'x-api-key': 'dev-read-key' }),
  pathParameters: { namespace: 'userId', value: 'cust-1001' },
});
for (const [name, message] of [
  ['track-order-completed', seed.messages[7]],
  ['identify-login', seed.messages[9]],
  ['page', seed.messages[0]],
] as const) {
  write(`segment/${name}.json`, message);
}
write('segment/alias.json', { type: 'alias', previousId: 'ann-tablet-4b8e', userId: 'cust-1001', timestamp: '2026-11-20T19:31:00.000Z' });
write('segment/screen.json', { type: 'screen', anonymousId: 'ann-phone-91d2', name: 'Product', properties: { product_id: 'brush-set-pro' }, timestamp: '2026-11-21T11:04:00.000Z' });
console.log('wrote samples to events/');
