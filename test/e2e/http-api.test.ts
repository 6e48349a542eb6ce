import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { MAX_BATCH_MESSAGES, MAX_JSON_DEPTH } from '../../lib/collect/request';
import { STREAM } from '../../lib/store/tables';
import type { DeadLetter } from '../../lib/store/ports';
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
const auth = { authorization: basic('dev-write-key') };

async function post(path: string, body: string | Buffer, headers: Record<string, string> = auth) {
  const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as { success?: boolean; message?: string } };
}

async function get(path: string, headers: Record<string, string> = { 'x-api-key': path.startsWith('/v1/dead-letters') ? 'dev-admin-key' : 'dev-read-key' }) {
  const res = await fetch(`${stack.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** GET /v1/dead-letters (it lists at most 100 letters: the fuzz test, which writes many, runs last). */
const deadLetters = async () => (await get('/v1/dead-letters')).body.deadLetters as DeadLetter[];

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

  it('answers 200 to a batch with an invalid message: enqueues the valid ones and lists the invalid one with its index and reason', async () => {
    // Act
    const sent = await post('/v1/batch', JSON.stringify({ batch: [{ type: 'track', anonymousId: 'http-mixed-1', event: 'ok' }, { type: 'track', event: 'no id' }] }));
    // Assess
    expect(sent).toEqual({ status: 200, body: { success: true, accepted: 1, rejected: [{ index: 1, reason: 'batch[1]: userId or anonymousId is required' }] } });
    await stack.poller.idle();
    expect((await get('/v1/identities/anonymousId/http-mixed-1')).status).toBe(200);
    expect(await deadLetters()).toContainEqual(
      expect.objectContaining({ source: 'collect', reason: 'batch[1]: userId or anonymousId is required', data: '{"type":"track","event":"no id"}' }),
    );
  });

  it('keeps the valid events of a batch that @segment/analytics-node sends with one invalid message, and dead-letters that one', async () => {
    // Prepare: an event name longer than the collector takes passes the SDK's own checks.
    const analytics = new Analytics({ writeKey: 'dev-write-key', host: stack.url, flushAt: 3, flushInterval: 10_000 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    // Act
    analytics.track({ anonymousId: 'sdk-mixed-1', event: 'Product Viewed', properties: { product_id: 'lamp-arc' } });
    analytics.track({ anonymousId: 'sdk-mixed-bad', event: 'x'.repeat(201) });
    analytics.page({ anonymousId: 'sdk-mixed-2', name: 'Home' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    await stack.poller.idle();
    // Assess
    expect(errors).toEqual([]);
    for (const id of ['sdk-mixed-1', 'sdk-mixed-2']) expect((await get(`/v1/identities/anonymousId/${id}`)).status).toBe(200);
    expect((await get('/v1/identities/anonymousId/sdk-mixed-bad')).status).toBe(404);
    const letter = (await deadLetters()).find((l) => l.data.includes('sdk-mixed-bad'));
    expect(letter).toMatchObject({ source: 'collect', id: expect.stringMatching(/^collect#/), reason: expect.stringMatching(/^batch\[1\]\.event: /) });
  });

  it('accepts a gzipped batch (Content-Encoding: gzip)', async () => {
    const body = gzipSync(JSON.stringify({ batch: [{ type: 'track', anonymousId: 'http-gzip-1', event: 'Product Viewed' }] }));
    const sent = await post('/v1/batch', body, { ...auth, 'content-encoding': 'gzip' });
    expect(sent).toEqual({ status: 200, body: { success: true, accepted: 1, rejected: [] } });
    await stack.poller.idle();
    expect((await get('/v1/identities/anonymousId/http-gzip-1')).status).toBe(200);
  });

  it('takes the batches of @rudderstack/rudder-sdk-node, which gzips every batch', async () => {
    // Prepare
    const rudder = new RudderAnalytics('dev-write-key', { dataPlaneUrl: stack.url, flushAt: 2, flushInterval: 10_000, retryCount: 0, logLevel: 'error' });
    // Act
    rudder.track({ anonymousId: 'rudder-1', event: 'Product Viewed', properties: { product_id: 'lamp-arc' } });
    rudder.identify({ anonymousId: 'rudder-1', userId: 'rudder-user-1', traits: { plan: 'pro' } });
    await rudder.flush();
    await stack.poller.idle();
    // Assess
    const found = await get('/v1/identities/userId/rudder-user-1');
    expect(found.status).toBe(200);
    expect((await get(`/v1/profiles/${found.body.profileId as string}`)).body).toMatchObject({ identities: { anonymousId: ['rudder-1'] }, aggregates: { eventCount: 2 } });
  });

  it('refuses a gzip bomb with 413: the size limits apply to the decompressed body', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, ' '));
    const sent = await post('/v1/batch', bomb, { ...auth, 'content-encoding': 'gzip' });
    expect(sent).toEqual({ status: 413, body: { success: false, message: expect.stringMatching(/limit is 512000 bytes per batch/) } });
  });

  it.each([
    ['invalid gzip', Buffer.from('{"batch":[]}'), 'gzip', 400],
    ['an encoding it does not decode', Buffer.from('{"batch":[]}'), 'br', 415],
    ['a body that is not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'identity', 400],
  ])('answers %s with a JSON 4xx naming the problem', async (_what, body, encoding, status) => {
    const sent = await post('/v1/batch', body, { ...auth, 'content-encoding': encoding });
    expect(sent).toMatchObject({ status, body: { success: false, message: expect.any(String) } });
  });

  it(`answers 413 for more than ${MAX_BATCH_MESSAGES} messages and 400 for JSON nested deeper than ${MAX_JSON_DEPTH} levels`, async () => {
    const many = await post('/v1/batch', JSON.stringify({ batch: Array.from({ length: MAX_BATCH_MESSAGES + 1 }, () => 0) }));
    expect(many.status).toBe(413);
    const deep = await post('/v1/batch', `{"batch":[{"type":"track","anonymousId":"a","event":"x","properties":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`);
    expect(deep).toEqual({ status: 400, body: { success: false, message: `body is nested deeper than ${MAX_JSON_DEPTH} levels` } });
  });

  it('answers 400, not 500, for a sentAt/timestamp pair out of range; in a batch it rejects only that message', async () => {
    const far = { anonymousId: 'http-far', event: 'x', timestamp: '+275760-09-13T00:00:00.000Z', sentAt: '-271821-04-20T00:00:00.000Z' };
    expect((await post('/v1/track', JSON.stringify(far))).status).toBe(400);
    const sent = await post('/v1/batch', JSON.stringify({ batch: [{ type: 'page', anonymousId: 'http-near' }, { type: 'track', ...far }] }));
    expect(sent).toEqual({ status: 200, body: { success: true, accepted: 1, rejected: [{ index: 1, reason: expect.stringMatching(/^batch\[1\]/) }] } });
  });

  it('counts a retried batch without messageIds once (the ids derive from the content)', async () => {
    // Prepare
    const batch = [
      { type: 'track', anonymousId: 'http-retry-1', event: 'Product Viewed' },
      { type: 'track', anonymousId: 'http-retry-1', event: 'Product Viewed' },
    ];
    // Act: the request, then the client's retry of it (only sentAt differs).
    expect((await post('/v1/batch', JSON.stringify({ batch, sentAt: '2026-11-24T10:00:00.000Z' }))).status).toBe(200);
    await stack.poller.idle();
    expect((await post('/v1/batch', JSON.stringify({ batch, sentAt: '2026-11-24T10:00:05.000Z' }))).status).toBe(200);
    await stack.poller.idle();
    // Assess: two views, not four.
    const found = await get('/v1/identities/anonymousId/http-retry-1');
    expect((await get(`/v1/profiles/${found.body.profileId as string}`)).body).toMatchObject({ aggregates: { eventCount: 2, productViews: 2 } });
  });

  it('answers 503 when the rejected messages cannot be dead-lettered, and takes the retry', async () => {
    // Prepare: the dead-letter table refuses writes.
    const client = resources().getDynamoClient();
    client.middlewareStack.add(
      (next, ctx) => async (args) => {
        const tables = Object.keys((args.input as { RequestItems?: object }).RequestItems ?? {});
        if (/BatchWrite/.test(ctx.commandName ?? '') && tables.some((t) => t.includes('dead-letters'))) {
          throw Object.assign(new Error('We currently do not have sufficient capacity'), { name: 'InternalServerError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'deadLettersDown' },
    );
    const body = JSON.stringify({ batch: [{ type: 'page', anonymousId: 'http-dlq-down' }, { type: 'page' }] });
    try {
      // Act
      const refused = await post('/v1/batch', body);
      // Assess
      expect(refused).toEqual({ status: 503, body: { success: false, message: 'could not record 1 rejected message(s); retry the request' } });
    } finally {
      client.middlewareStack.remove('deadLettersDown');
    }
    expect((await post('/v1/batch', body)).status).toBe(200);
    expect(await deadLetters()).toContainEqual(expect.objectContaining({ source: 'collect', data: '{"type":"page"}' }));
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
    expect(await get('/v2/nothing')).toEqual({ status: 404, body: { success: false, message: 'no route GET /v2/nothing: see /openapi.json for the routes' } });
    expect((await get('/v1/profiles/p_x/journey?limit=0')).status).toBe(400);
  });

  it('answers another method on a path with 405 and Allow, in the same error shape, before asking for a key', async () => {
    const wrong = await fetch(`${stack.url}/v1/decisions`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toEqual({ success: false, message: 'GET is not allowed on /v1/decisions: it takes POST' });
    const put = await fetch(`${stack.url}/v1/track`, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST');
  });

  it('answers a body over a route\'s limit with 413, in the same shape', async () => {
    const res = await fetch(`${stack.url}/v1/decisions`, { method: 'POST', headers: { 'x-api-key': 'dev-api-key' }, body: JSON.stringify({ placement: 'home', pad: 'x'.repeat(20_000) }) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ success: false, message: 'body is 20 KB; this route takes at most 16 KB' });
  });

  it('says the same about an empty body on every route that reads one', async () => {
    const empty = async (method: string, path: string, headers: Record<string, string>) => {
      const res = await fetch(`${stack.url}${path}`, { method, headers, body: '' });
      return { status: res.status, body: await res.json() };
    };
    const expected = { status: 400, body: { success: false, message: 'body is empty: send a JSON object' } };
    expect(await empty('POST', '/v1/track', auth)).toEqual(expected);
    expect(await empty('POST', '/v1/batch', auth)).toEqual(expected);
    for (const [method, path, key] of [['POST', '/v1/decisions', 'dev-api-key'], ['PUT', '/v1/catalog', 'dev-admin-key'], ['PUT', '/v1/model', 'dev-admin-key']] as const) expect(await empty(method, path, { 'x-api-key': key })).toEqual(expected);
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

// Last in the file: it writes many dead letters, and GET /v1/dead-letters lists at most 100.
describe('collector under arbitrary input (fuzz)', () => {
  const paths = fc.constantFrom('/v1/track', '/v1/identify', '/v1/page', '/v1/screen', '/v1/alias', '/v1/group', '/v1/batch', '/v1/import');
  /** Own keys named `__proto__`, `constructor` and `prototype`, as JSON.parse makes them. */
  const prototypeKeys = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"toString":1}') as object;
  const dates = fc.constantFrom('+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z', '+999999-01-01T00:00:00Z', '0000-00-00', '2026-11-24T10:00:00Z', 'NaN');
  const message = fc.record(
    {
      type: fc.constantFrom('track', 'identify', 'page', 'screen', 'alias', 'group', '__proto__', 'constructor'),
      anonymousId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      userId: fc.oneof(fc.string(), fc.constant('toString')),
      event: fc.string(),
      previousId: fc.string(),
      groupId: fc.string(),
      messageId: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()),
      timestamp: dates,
      sentAt: dates,
      originalTimestamp: dates,
      properties: fc.oneof(fc.jsonValue(), fc.constant(prototypeKeys), fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'), fc.jsonValue())),
      context: fc.oneof(fc.jsonValue(), fc.constant(prototypeKeys), fc.record({ ip: fc.string(), network: fc.string(), timezone: fc.string(), device: fc.jsonValue() })),
    },
    { requiredKeys: [] },
  );
  /**
   * Bodies: JSON of all sorts, messages with awkward values, and (built from a small description, so
   * a counterexample stays readable) deep nesting, huge arrays, gzip garbage and bombs, invalid UTF-8.
   */
  const body = fc.oneof(
    fc.json().map((s) => ({ text: s })),
    fc.string().map((s) => ({ text: s })),
    fc.jsonValue().map((v) => ({ text: JSON.stringify({ batch: [v] }) })),
    message.map((m) => ({ text: JSON.stringify(m) })),
    fc.array(message, { minLength: 1, maxLength: 20 }).map((batch) => ({ text: JSON.stringify({ batch, context: prototypeKeys, integrations: prototypeKeys }) })),
    fc.record({ deep: fc.integer({ min: 1, max: 60_000 }) }),
    fc.record({ messages: fc.integer({ min: 2_000, max: 200_000 }) }),
    fc.record({ bytes: fc.uint8Array({ maxLength: 200 }) }),
    fc.constant({ bytes: Uint8Array.from(Buffer.from('{"anonymousId":"\xc3\x28","event":"x"}', 'latin1')) }),
    fc.record({ gzipHeaderThen: fc.uint8Array({ maxLength: 200 }) }),
    fc.record({ bombOf: fc.integer({ min: 1, max: 64 }) }),
  );
  type Body = { text?: string; deep?: number; messages?: number; bytes?: Uint8Array; gzipHeaderThen?: Uint8Array; bombOf?: number };
  const bytesOf = (b: Body): Buffer => {
    if (b.text !== undefined) return Buffer.from(b.text);
    if (b.deep !== undefined) return Buffer.from(`{"batch":[{"type":"track","anonymousId":"a","event":"x","properties":${'{"a":'.repeat(b.deep)}1${'}'.repeat(b.deep)}}]}`);
    if (b.messages !== undefined) return Buffer.from(`{"batch":[${Array(b.messages).fill('{}').join(',')}]}`);
    if (b.gzipHeaderThen !== undefined) return Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), b.gzipHeaderThen]);
    if (b.bombOf !== undefined) return gzipSync(Buffer.alloc(b.bombOf * 1024 * 1024, '{'));
    return Buffer.from(b.bytes ?? []);
  };
  const encoding = fc.constantFrom(undefined, 'gzip', 'identity', 'deflate', 'gzip, gzip', '');
  /** With `gzip` declared, a body that is not gzip already is gzipped (so both the valid and the garbage cases come up). */
  const encoded = (bytes: Buffer, coding: string | undefined) => (coding === 'gzip' && bytes[0] !== 0x1f ? gzipSync(bytes) : bytes);

  it('answers every body with a 2xx or 4xx JSON response, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(paths, body, encoding, async (path, b, coding) => {
        const headers: Record<string, string> = { ...auth, ...(coding === undefined ? {} : { 'content-encoding': coding }) };
        const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers, body: encoded(bytesOf(b), coding) });
        expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
        expect(await res.json()).toEqual(expect.any(Object));
      }),
      { numRuns: 200 },
    );
  });
});
