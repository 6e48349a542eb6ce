import fc from 'fast-check';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { STREAM } from '../../lib/store/tables';
import { localKinesis } from '../../local/emulators';
import { writeBatchAttributes } from '../../lib/profile/batch';
import { startLocalStack, type LocalStack } from '../../local/stack';

/** The handlers' own resources (loaded by the stack), to write batch attributes as the nightly job will. */
const resources = () => require('../../functions/commons/resources') as typeof import('../../functions/commons/resources.js');

/** The HTTP API through the local stack: Segment endpoints, auth, validation, read API, routing. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0, quiet: true });
});
afterAll(async () => {
  await stack?.stop();
});

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

async function post(path: string, body: string, headers: Record<string, string> = { authorization: basic('dev-write-key') }) {
  const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as { success?: boolean; message?: string } };
}

async function get(path: string, headers: Record<string, string> = { 'x-api-key': 'dev-api-key' }) {
  const res = await fetch(`${stack.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('collector', () => {
  it('accepts a Segment track call and the profile appears', async () => {
    const sent = await post('/v1/track', JSON.stringify({ anonymousId: 'http-1', event: 'Product Viewed', properties: { category: 'Paint' } }));
    expect(sent).toEqual({ status: 200, body: { success: true } });
    await stack.poller.idle();
    const found = await get('/v1/identities/anonymousId/http-1');
    expect(found.status).toBe(200);
    const profile = await get(`/v1/profiles/${found.body.profileId as string}`);
    expect(profile.body).toMatchObject({ aggregates: { eventCount: 1, productViews: 1 }, identities: { anonymousId: ['http-1'] } });
  });

  it('accepts the write key in the body, as Segment does', async () => {
    const sent = await post('/v1/batch', JSON.stringify({ writeKey: 'dev-write-key', batch: [{ type: 'page', userId: 'u-body-key' }] }), {});
    expect(sent.status).toBe(200);
  });

  it.each([
    [{ authorization: basic('wrong-key') }, 'invalid write key'],
    [{}, 'missing write key: send it as the Basic auth user name'],
  ])('answers 401 for a wrong or missing write key', async (headers, message) => {
    const sent = await post('/v1/track', JSON.stringify({ anonymousId: 'a', event: 'x' }), headers);
    expect(sent).toEqual({ status: 401, body: { success: false, message } });
  });

  it('answers 400 naming the field and enqueues nothing from an invalid batch', async () => {
    const sent = await post('/v1/batch', JSON.stringify({ batch: [{ type: 'track', anonymousId: 'http-bad-1', event: 'ok' }, { type: 'track', event: 'no id' }] }));
    expect(sent.status).toBe(400);
    expect(sent.body.message).toBe('batch[1]: userId or anonymousId is required');
    await stack.poller.idle();
    expect((await get('/v1/identities/anonymousId/http-bad-1')).status).toBe(404);
  });

  it('answers every body with a 2xx or 4xx JSON response, never a 5xx (fuzz)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/track', '/v1/identify', '/v1/page', '/v1/screen', '/v1/alias', '/v1/group', '/v1/batch'),
        fc.oneof(fc.json(), fc.string(), fc.jsonValue().map((v) => JSON.stringify({ batch: [v] })), fc.record({ anonymousId: fc.string(), event: fc.string(), type: fc.string() }).map((v) => JSON.stringify(v))),
        async (path, body) => {
          const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { authorization: basic('dev-write-key') }, body });
          expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
          expect(await res.json()).toEqual(expect.any(Object));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('read API', () => {
  it('shows live aggregates, the journey stage with its reason, segments and batch attributes in one view', async () => {
    // Prepare: a DIY enthusiast with a cart, and a nightly score written for her.
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const batch = [
      ...['Tools', 'Paint', 'Tools', 'Paint', 'Tools'].map((category, i) => ({
        type: 'track', anonymousId: 'diy-1', event: 'Product Viewed', timestamp: at(200 - i), properties: { product_id: `sku-${i}`, category },
      })),
      { type: 'track', anonymousId: 'diy-1', event: 'Product Added', timestamp: at(120), properties: { product_id: 'sku-4' } },
    ];
    expect((await post('/v1/batch', JSON.stringify({ batch }))).status).toBe(200);
    await stack.poller.idle();
    const { profileId } = (await get('/v1/identities/anonymousId/diy-1')).body as { profileId: string };
    await writeBatchAttributes(resources().getStores(), profileId, { propensity: { value: 0.62, asOf: '2026-11-23' } });
    // Act
    const view = (await get(`/v1/profiles/${profileId}`)).body;
    // Assess
    expect(view).toMatchObject({
      aggregates: { productViews: 5, cart: [{ item: 'sku-4' }], categoryViews30d: [{ value: 'tools', count: 3 }, { value: 'paint', count: 2 }] },
      stage: { name: 'cart abandoned', reason: expect.stringMatching(/^1 item in the cart for 1[12]\d minutes without an order/) },
      segments: { diyEnthusiasts: { enteredAt: expect.any(String) } },
      segmentHistory: expect.arrayContaining([expect.objectContaining({ segment: 'diyEnthusiasts', change: 'entered' })]),
      batch: { propensity: { value: 0.62, asOf: '2026-11-23' } },
    });
  });

  it('needs an API key, except for /health', async () => {
    expect((await get('/health', {})).body).toEqual({ status: 'ok' });
    expect((await get('/v1/profiles/p_x', {})).status).toBe(401);
    expect((await get('/v1/profiles/p_x', { 'x-api-key': 'nope' })).status).toBe(401);
  });

  it('answers 404 for unknown profiles and identifiers, 400 for an unknown namespace, 404 for unknown routes', async () => {
    expect((await get('/v1/profiles/p_does_not_exist')).status).toBe(404);
    expect((await get('/v1/identities/anonymousId/nobody')).status).toBe(404);
    const bad = await get('/v1/identities/cookie/x');
    expect(bad).toEqual({ status: 400, body: { success: false, message: 'namespace must be one of userId, email, phone, deviceId, anonymousId' } });
    expect(await get('/v2/nothing')).toEqual({ status: 404, body: { message: 'Not Found' } });
    expect((await get('/v1/profiles/p_x/journey?limit=0')).status).toBe(400);
  });

  it('lists a malformed stream record in the dead letters with its reason, and the shard moves on', async () => {
    // Prepare: a producer that bypasses the collector puts garbage on the stream, then a good event.
    const kinesis = localKinesis(stack.emulators.kinesisEndpoint);
    await kinesis.send(new PutRecordsCommand({ StreamName: STREAM.localName, Records: [{ Data: Buffer.from('{oops'), PartitionKey: 'dlq-1' }] }));
    kinesis.destroy();
    await post('/v1/track', JSON.stringify({ anonymousId: 'dlq-1', event: 'Product Viewed' }));
    // Act
    await stack.poller.idle();
    // Assess
    const res = await get('/v1/dead-letters');
    expect(res.body.deadLetters).toContainEqual(
      expect.objectContaining({ reason: 'invalid JSON', source: 'ingest', data: Buffer.from(JSON.stringify({ undecodable: true, bytes: 5, preview: '{oops' })).toString('base64') }),
    );
    expect((await get('/v1/identities/anonymousId/dlq-1')).status).toBe(200);
  });
});
