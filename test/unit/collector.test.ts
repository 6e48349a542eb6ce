import { gzipSync } from 'node:zlib';
import {
  collect,
  deadLetterData,
  MAX_DEAD_LETTER_DATA_BYTES,
  publish,
  validateMessages,
  type EventStream,
  type Privacy,
} from '../../lib/collect/collector';
import { defaultEventPolicy } from '../../lib/events/policy';
import { decodeBody, MAX_BATCH_EXPANDED_BYTES, MAX_BATCH_MESSAGES, MAX_JSON_DEPTH, parseRequest, type CollectorPath } from '../../lib/collect/request';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { HttpError } from '../../lib/http/errors';
import { openApiDocument } from '../../lib/http/openapi';
import { completeMessage, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, ValidationError } from '../../lib/events/segment';
import { MemoryStores } from '../../lib/store/memory';
import type { DeadLetter, DeadLetterStore } from '../../lib/store/ports';
import { ingestConfig, SequenceFactory } from '../support/factories';

// completeMessage as it is, but replaceable in one test (it may throw a ValidationError that cannot name the position).
jest.mock('../../lib/events/segment', () => {
  const actual = jest.requireActual('../../lib/events/segment');
  return { ...actual, completeMessage: jest.fn(actual.completeMessage) };
});

const received = new Date('2026-11-24T10:00:00.000Z');
const privacy: Privacy = { salt: 'test-salt', personalData: defaultEventPolicy().personalData };

function rejects(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HttpError);
    return e as HttpError;
  }
  throw new Error('expected a rejection');
}

/** The messages of a request, validated as the collector does. */
const validate = (path: CollectorPath, body: unknown) => validateMessages(parseRequest(path, JSON.stringify(body)), received, privacy);

/** A stream that keeps what it is given. */
function recordingStream(): EventStream & { data: string[] } {
  const data: string[] = [];
  return { data, putRecords: async (records) => (data.push(...records.map((r) => r.data)), []) };
}

/** A stream and a dead-letter store that keep what they are given (the store is the in-memory adapter). */
function sinks() {
  return { stream: recordingStream(), deadLetters: new MemoryStores().deadLetters };
}

/** Numbers nested `depth` levels deep: [[[1]]] is depth 3. */
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('collector request parsing (Segment HTTP Tracking API)', () => {
  it('takes the message type from the endpoint', () => {
    const { messages } = parseRequest('track', JSON.stringify({ anonymousId: 'a1', event: 'Product Viewed' }));
    expect(messages.map((m) => m.message)).toEqual([{ anonymousId: 'a1', event: 'Product Viewed', type: 'track' }]);
  });

  it('applies batch-level context and integrations to every message, the message winning, and keeps the message as sent', () => {
    const sent = { type: 'page', anonymousId: 'a', context: { ip: '2.2.2.2' } };
    const { messages } = parseRequest('batch', JSON.stringify({ batch: [sent], context: { ip: '1.1.1.1', locale: 'en-GB' } }));
    expect(messages[0]).toMatchObject({ index: 0, sent, message: { context: { ip: '2.2.2.2', locale: 'en-GB' } } });
  });

  it('does not put the write key on the stream', () => {
    const single = parseRequest('track', JSON.stringify({ writeKey: 'k', anonymousId: 'a', event: 'x' }));
    const batch = parseRequest('batch', JSON.stringify({ writeKey: 'k', batch: [{ type: 'page', anonymousId: 'a', writeKey: 'k' }] }));
    expect(single.writeKey).toBe('k');
    expect(batch.writeKey).toBe('k');
    expect(single.messages[0]?.message).not.toHaveProperty('writeKey');
    expect(batch.messages[0]?.message).not.toHaveProperty('writeKey');
  });

  it.each([
    ['{"anonymousId":', /not valid JSON/],
    ['[1,2]', /must be a JSON object/],
    ['"text"', /must be a JSON object/],
    ['', /empty/],
  ])('answers 400 for body %j', (body, message) => {
    const error = rejects(() => parseRequest('track', body));
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(message);
  });

  it.each([
    ['{"batch":{}}', 'batch must be an array of messages'],
    ['{"batch":[]}', 'batch is empty'],
    ['[{"type":"page"}]', 'body must be a JSON object'],
  ])('answers 400 for the batch body %s', (body, message) => {
    expect(rejects(() => parseRequest('batch', body))).toMatchObject({ statusCode: 400, message });
  });

  it('answers 413 for a batch over 500 KB', () => {
    const big = JSON.stringify({ batch: [{ type: 'track', anonymousId: 'a', event: 'x', properties: { pad: 'x'.repeat(MAX_BATCH_BYTES) } }] });
    const error = rejects(() => parseRequest('batch', big));
    expect(error.statusCode).toBe(413);
    expect(error.message).toMatch(/limit is 512000 bytes per batch/);
  });

  it('answers 413 for a single message over 32 KB', () => {
    const body = JSON.stringify({ anonymousId: 'a', event: 'x', properties: { pad: 'x'.repeat(33 * 1024) } });
    const error = rejects(() => parseRequest('track', body));
    expect(error.statusCode).toBe(413);
    expect(error.message).toMatch(/limit is 32768 bytes per message/);
  });

  it('answers 413 for a batch whose shared context alone would put every message over 32 KB', () => {
    const body = JSON.stringify({ context: { pad: 'x'.repeat(MAX_MESSAGE_BYTES) }, batch: [{ type: 'page', anonymousId: 'a' }] });
    expect(rejects(() => parseRequest('batch', body))).toMatchObject({ statusCode: 413, message: /^the batch's context and integrations are \d+ bytes/ });
  });

  it(`answers 413 for a batch that the shared context would amplify past ${MAX_BATCH_EXPANDED_BYTES} bytes, and takes an honest shared context on ${MAX_BATCH_MESSAGES} messages`, () => {
    // Prepare: a 30 KB context (under 500 KB sent) copied into 200 messages would put 6 MB on the stream.
    const amplified = JSON.stringify({ context: { page: { pad: 'x'.repeat(30 * 1024) } }, batch: Array.from({ length: 200 }, (_, i) => ({ type: 'page', anonymousId: `a${i}` })) });
    // Library, page, user agent and locale (about 1.5 KB) on each of 2,500 small messages: 4.3 MB.
    const honest = JSON.stringify({
      context: { library: { name: 'analytics-python', version: '2.3.2' }, userAgent: 'Mozilla/5.0 '.padEnd(300, 'x'), page: { url: 'https://shop.example/'.padEnd(600, 'p'), title: 'Shop'.padEnd(400, 't') }, locale: 'en-GB' },
      batch: Array.from({ length: MAX_BATCH_MESSAGES }, (_, i) => ({ type: 'track', anonymousId: `a${i}`, event: 'Product Viewed', properties: { product_id: `p${i}` } })),
    });
    expect(Buffer.byteLength(amplified)).toBeLessThan(MAX_BATCH_BYTES);
    expect(rejects(() => parseRequest('batch', amplified))).toMatchObject({ statusCode: 413, message: /^the batch's messages come to more than 5242880 bytes once its context and integrations are copied into each/ });
    expect(parseRequest('batch', honest).messages).toHaveLength(MAX_BATCH_MESSAGES);
  });

  it(`answers 413 for a batch of more than ${MAX_BATCH_MESSAGES} messages, and takes ${MAX_BATCH_MESSAGES}`, () => {
    const batch = (n: number) => JSON.stringify({ batch: Array.from({ length: n }, () => ({})) });
    expect(parseRequest('batch', batch(MAX_BATCH_MESSAGES)).messages).toHaveLength(MAX_BATCH_MESSAGES);
    expect(rejects(() => parseRequest('import', batch(MAX_BATCH_MESSAGES + 1)))).toMatchObject({
      statusCode: 413,
      message: `batch has ${MAX_BATCH_MESSAGES + 1} messages; the limit is ${MAX_BATCH_MESSAGES} per batch`,
    });
  });

  it(`answers 400 for JSON nested deeper than ${MAX_JSON_DEPTH} levels, however deep, and takes ${MAX_JSON_DEPTH}`, () => {
    // The body is level 1, the batch 2, a message 3, its properties 4.
    const body = (depth: number) => `{"batch":[{"type":"track","anonymousId":"a","event":"x","properties":{"p":${nested(depth - 4)}}}]}`;
    expect(parseRequest('batch', body(MAX_JSON_DEPTH)).messages).toHaveLength(1);
    for (const depth of [MAX_JSON_DEPTH + 1, 10_000, 200_000]) {
      expect(rejects(() => parseRequest('batch', body(depth)))).toMatchObject({
        statusCode: 400,
        message: `body is nested deeper than ${MAX_JSON_DEPTH} levels`,
      });
    }
  });

  it('counts brackets inside strings as text, not as nesting', () => {
    const body = JSON.stringify({ anonymousId: 'a', event: 'x', properties: { text: '['.repeat(100), quoted: '"\\[{' } });
    expect(parseRequest('track', body).messages).toHaveLength(1);
  });
});

describe('request bodies: Content-Encoding and the limits on what they decode to', () => {
  const batch = JSON.stringify({ batch: [{ type: 'track', anonymousId: 'gz', event: 'Product Viewed' }] });

  it.each([undefined, '', 'identity', 'IDENTITY'])('takes a plain body with Content-Encoding %p', (encoding) => {
    expect(decodeBody('batch', Buffer.from(batch), encoding)).toBe(batch);
  });

  it.each(['gzip', 'x-gzip', 'GZip', 'gzip, identity'])('decompresses a body sent with Content-Encoding %p', (encoding) => {
    expect(decodeBody('batch', gzipSync(batch), encoding)).toBe(batch);
  });

  it('applies the size limits to the decompressed body, so a small gzip bomb is refused with 413', () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, ' '));
    expect(bomb.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(rejects(() => decodeBody('batch', bomb, 'gzip'))).toMatchObject({ statusCode: 413, message: /limit is 512000 bytes per batch/ });
    expect(rejects(() => decodeBody('track', gzipSync(' '.repeat(MAX_MESSAGE_BYTES + 1)), 'gzip'))).toMatchObject({ statusCode: 413 });
    expect(decodeBody('track', gzipSync(' '.repeat(MAX_MESSAGE_BYTES)), 'gzip')).toHaveLength(MAX_MESSAGE_BYTES);
  });

  it('answers 413 for a plain body over the limit', () => {
    expect(rejects(() => decodeBody('batch', Buffer.alloc(MAX_BATCH_BYTES + 1, ' ')))).toMatchObject({ statusCode: 413 });
  });

  it.each([
    ['not gzip at all', Buffer.from(batch)],
    ['a truncated gzip stream', gzipSync(batch).subarray(0, 20)],
  ])('answers 400 for a body declared gzip that is %s', (_what, body) => {
    expect(rejects(() => decodeBody('batch', body, 'gzip'))).toMatchObject({ statusCode: 400, message: /^body is not valid gzip/ });
  });

  it.each(['br', 'deflate', 'compress', 'gzip, gzip', 'zstd'])('answers 415 naming the encoding for Content-Encoding %p', (encoding) => {
    expect(rejects(() => decodeBody('batch', Buffer.from(batch), encoding))).toMatchObject({
      statusCode: 415,
      message: `Content-Encoding "${encoding}" is not supported: send the body as it is or gzip it`,
    });
  });

  it('answers 400 for a body that is not UTF-8, and drops a byte-order mark', () => {
    expect(rejects(() => decodeBody('track', Buffer.from([0x7b, 0xff, 0x7d])))).toMatchObject({ statusCode: 400, message: 'body is not valid UTF-8' });
    expect(decodeBody('track', Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe('{}');
  });

  it('reads an empty gzip body as an empty body', () => {
    expect(decodeBody('batch', Buffer.alloc(0), 'gzip')).toBe('');
  });
});

describe('collector validation', () => {
  it('adds messageId and receivedAt and corrects the device clock skew', () => {
    const { events } = validate('track', { anonymousId: 'a', event: 'Order Completed', timestamp: '2026-11-24T09:59:00.000Z', sentAt: '2026-11-24T10:04:00.000Z' });
    const [event] = events;
    expect(event?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event?.receivedAt).toBe('2026-11-24T10:00:00.000Z');
    // The device clock ran 4 minutes ahead: the event happened 5 minutes before it was sent.
    expect(event?.timestamp).toBe('2026-11-24T09:55:00.000Z');
  });

  it("corrects each message's timestamp by the batch's root sentAt, as @segment/analytics-node 3.x sends it (a sender clock 45 minutes fast)", () => {
    // Happened one minute before it was sent; the sender's clock is 45 minutes fast.
    const body = { sentAt: '2026-11-24T10:45:00.000Z', batch: [{ type: 'track', event: 'Order Completed', userId: 'u1', timestamp: '2026-11-24T10:44:00.000Z' }] };
    expect(validate('batch', body).events.map((e) => e.timestamp)).toEqual(['2026-11-24T09:59:00.000Z']);
  });

  it("prefers a message's own sentAt to the batch's, and ignores a batch sentAt that is not a date rather than reject good messages", () => {
    const message = { type: 'track', event: 'Order Completed', userId: 'u1', timestamp: '2026-11-24T10:44:00.000Z' };
    const own = validate('batch', { sentAt: '2026-11-24T10:45:00.000Z', batch: [{ ...message, sentAt: '2026-11-24T10:46:00.000Z' }] });
    expect(own.events.map((e) => e.timestamp)).toEqual(['2026-11-24T09:58:00.000Z']);
    const garbled = validate('batch', { sentAt: 'yesterday', batch: [message] });
    expect(garbled).toMatchObject({ rejected: [], events: [{ timestamp: '2026-11-24T10:44:00.000Z' }] });
  });

  it('keeps a messageId sent by the SDK (so retries can be deduplicated)', () => {
    expect(validate('page', { userId: 'u1', messageId: 'm-1' }).events[0]?.messageId).toBe('m-1');
  });

  it('keeps the valid messages of a batch and rejects each invalid one, by position and field', () => {
    const { events, rejected } = validate('batch', {
      batch: [
        { type: 'track', anonymousId: 'a', event: 'ok' },
        { type: 'track', event: 'no identity' },
        { type: 'bogus', anonymousId: 'a' },
        { type: 'track', anonymousId: 'a', event: 5 },
        { type: 'identify', userId: 'u', timestamp: 'yesterday' },
        'not a message',
        { type: 'page', userId: 'u2' },
      ],
    });
    expect(events.map((e) => e.anonymousId ?? e.userId)).toEqual(['a', 'u2']);
    expect(rejected.map(({ index, reason }) => ({ index, reason }))).toEqual([
      { index: 1, reason: 'batch[1]: userId or anonymousId is required' },
      { index: 2, reason: 'batch[2].type must be one of track, identify, page, screen, alias, group' },
      { index: 3, reason: expect.stringMatching(/^batch\[3\]\.event: /) },
      { index: 4, reason: expect.stringMatching(/^batch\[4\]\.timestamp: must be an ISO-8601 date-time/) },
      { index: 5, reason: 'batch[5] must be a JSON object' },
    ]);
  });

  it('names the position even in a batch of one message', () => {
    expect(validate('batch', { batch: [{ type: 'track', event: 'x' }] }).rejected[0]?.reason).toBe('batch[0]: userId or anonymousId is required');
  });

  it('rejects a message over 32 KB in a batch, and only that message', () => {
    const { events, rejected } = validate('batch', {
      batch: [{ type: 'track', anonymousId: 'a', event: 'x', properties: { pad: 'x'.repeat(MAX_MESSAGE_BYTES) } }, { type: 'page', anonymousId: 'b' }],
    });
    expect(events).toHaveLength(1);
    expect(rejected[0]?.reason).toMatch(/^batch\[0\] is \d+ bytes; the limit is 32768 bytes per message$/);
  });

  it('rejects only the message whose sentAt and timestamp put its time out of range, whatever the validation throws', () => {
    const outOfRange = { type: 'track', anonymousId: 'far', event: 'x', timestamp: '+275760-09-13T00:00:00.000Z', sentAt: '-271821-04-20T00:00:00.000Z' };
    const { events, rejected } = validate('batch', { batch: [{ type: 'page', anonymousId: 'near' }, outOfRange] });
    expect(events.map((e) => e.anonymousId)).toEqual(['near']);
    expect(rejected).toEqual([expect.objectContaining({ index: 1, reason: expect.stringMatching(/^batch\[1\]/) })]);
  });

  it('names the position when completing a message fails with a ValidationError that does not', () => {
    jest.mocked(completeMessage).mockImplementationOnce(() => {
      throw new ValidationError('sentAt: with timestamp, puts the event out of the representable range');
    });
    const { rejected } = validate('batch', { batch: [{ type: 'page', anonymousId: 'a' }, { type: 'page', anonymousId: 'b' }] });
    expect(rejected).toEqual([expect.objectContaining({ index: 0, reason: 'batch[0]: sentAt: with timestamp, puts the event out of the representable range' })]);
  });

  it('accepts numeric user ids as Segment does, as strings', () => {
    expect(validate('identify', { userId: 42 }).events[0]?.userId).toBe('42');
  });
});

describe('messageIds derived from the content (a retry of the same request is a duplicate)', () => {
  const body = { batch: [{ type: 'track', anonymousId: 'a', event: 'Product Added' }, { type: 'track', anonymousId: 'a', event: 'Product Added' }] };
  const ids = (path: CollectorPath, b: unknown) => validate(path, b).events.map((e) => e.messageId);

  it('gives the same ids to a retry of the same request, whatever its sentAt and write key', () => {
    const retry = { ...body, sentAt: '2026-11-24T10:00:09.000Z', writeKey: 'other', batch: body.batch.map((m) => ({ ...m, sentAt: '2026-11-24T10:00:09.000Z' })) };
    expect(ids('batch', retry)).toEqual(ids('batch', body));
    expect(ids('import', body)).toEqual(ids('batch', body));
  });

  it('tells apart two identical messages at two positions, and the same message in two different requests', () => {
    const [first, second] = ids('batch', body);
    expect(first).not.toBe(second);
    const other = { batch: [...body.batch, { type: 'page', anonymousId: 'a' }] };
    expect(ids('batch', other)[0]).not.toBe(first);
    expect(ids('batch', { ...body, context: { locale: 'fr-FR' } })[0]).not.toBe(first);
  });

  it("derives the same ids whatever the batch's root sentAt, which now corrects the timestamps", () => {
    expect(ids('batch', { ...body, sentAt: '2026-11-24T10:00:09.000Z' })).toEqual(ids('batch', body));
  });

  /**
   * A message without messageId or timestamp is told from a retry only by its content. Keeping the
   * receipt time out of the derived id keeps a retry counting once however late it comes (an SDK's
   * backoff, a queue flushed after a night offline); a coarse receipt-time bucket would count a retry
   * twice whenever it crossed a bucket boundary. The cost: identical requests without either field
   * count once, however far apart, so such a sender must send a messageId or a timestamp (every
   * Segment and RudderStack SDK sends both).
   */
  it('counts two identical heartbeats without messageId or timestamp once, however far apart (they cannot be told from a retry), and twice when they carry timestamps', async () => {
    const kiosk = async (bodies: object[]) => {
      const stores = new MemoryStores();
      const seq = new SequenceFactory();
      for (const [i, body] of bodies.entries()) {
        const at = new Date(Date.parse('2026-11-24T10:00:00.000Z') + i * 5 * 60_000);
        const stream = recordingStream();
        await collect(parseRequest('track', JSON.stringify(body)), at, { stream, deadLetters: stores.deadLetters }, privacy);
        await ingestBatch(stream.data.map((d) => ({ shardId: 'shardId-000000000000', sequenceNumber: seq.take(), data: Buffer.from(d).toString('base64') })), stores, ingestConfig({ salt: privacy.salt }));
      }
      return stores.profileItems.get(deriveProfileId('anonymousId:kiosk-7'))?.aggregates.eventCount;
    };
    const heartbeat = { anonymousId: 'kiosk-7', event: 'Door Opened' };
    await expect(kiosk([heartbeat, heartbeat])).resolves.toBe(1);
    await expect(kiosk([{ ...heartbeat, timestamp: '2026-11-24T10:00:00.000Z' }, { ...heartbeat, timestamp: '2026-11-24T10:05:00.000Z' }])).resolves.toBe(2);
  });

  it('tells apart the same body sent to two single-message endpoints', () => {
    expect(ids('track', { anonymousId: 'a', event: 'x' })).not.toEqual(ids('page', { anonymousId: 'a', event: 'x' }));
    expect(ids('track', { anonymousId: 'a', event: 'x' })).toEqual(ids('track', { anonymousId: 'a', event: 'x', sentAt: '2026-11-24T10:00:00.000Z' }));
  });
});

describe('collecting a request: valid messages to the stream, invalid ones to the dead letters', () => {
  const mixed = {
    batch: [
      { type: 'track', anonymousId: 'ok-1', event: 'Product Viewed' },
      { type: 'track', anonymousId: 'bad-1', event: '' },
      { type: 'page', anonymousId: 'ok-2' },
    ],
  };

  it('enqueues the valid messages, dead-letters the invalid one with its index and reason, and reports both', async () => {
    // Prepare
    const { stream, deadLetters } = sinks();
    // Act
    const result = await collect(parseRequest('batch', JSON.stringify(mixed)), received, { stream, deadLetters }, privacy);
    // Assess
    expect(result).toEqual({ accepted: 2, rejected: [{ index: 1, reason: 'batch[1].event: must be a non-empty string' }], unexpected: [] });
    expect(stream.data.map((d) => JSON.parse(d).anonymousId)).toEqual(['ok-1', 'ok-2']);
    const letters = await deadLetters.list(10);
    expect(letters).toEqual([
      {
        id: expect.stringMatching(/^collect#[0-9a-f-]{36}$/),
        source: 'collect',
        reason: 'batch[1].event: must be a non-empty string',
        data: deadLetterData(mixed.batch[1], privacy),
        at: received.toISOString(),
      },
    ]);
  });

  it("refuses the engine's own records from a write key: a forged holdout decision or campaign hold-out would make a control arm", async () => {
    const { stream, deadLetters } = sinks();
    const forged = {
      batch: [
        { type: 'track', anonymousId: 'x', event: 'Decision Made', properties: { variant: 'holdout', offers: [], withheld: ['cart-reminder'] } },
        { type: 'track', anonymousId: 'x', event: 'Message Held Out', properties: { promotion_id: 'cart-reminder' } },
        { type: 'track', anonymousId: 'x', event: 'Message Sent', properties: { promotion_id: 'cart-reminder' } },
        { type: 'track', anonymousId: 'x', event: 'Promotion Viewed', properties: { promotion_id: 'cart-reminder' } },
      ],
    };
    const result = await collect(parseRequest('batch', JSON.stringify(forged)), received, { stream, deadLetters }, privacy);
    expect(result.accepted).toBe(1);
    expect(result.rejected).toEqual([0, 1, 2].map((index) => ({ index, reason: `batch[${index}].event: "${forged.batch[index]?.event}" is the engine's own record (decisions and campaigns write it); a write key cannot send it` })));
    expect(stream.data.map((d) => JSON.parse(d).event)).toEqual(['Promotion Viewed']);
    await expect(collect(parseRequest('track', JSON.stringify(forged.batch[0])), received, { stream, deadLetters }, privacy)).rejects.toMatchObject({ statusCode: 400 });
    // The engine itself puts them on the stream.
    await publish(stream, [{ ...(forged.batch[0] as object), messageId: 'd-1', timestamp: received.toISOString(), receivedAt: received.toISOString(), context: {} } as never]);
    expect(JSON.parse(stream.data.at(-1) as string).event).toBe('Decision Made');
  });

  it('writes the same dead letter again for a retry of the request, not a second one', async () => {
    const { stream, deadLetters } = sinks();
    await collect(parseRequest('batch', JSON.stringify(mixed)), received, { stream, deadLetters }, privacy);
    await collect(parseRequest('batch', JSON.stringify({ ...mixed, sentAt: new Date().toISOString() })), new Date(), { stream, deadLetters }, privacy);
    expect(await deadLetters.list(10)).toHaveLength(1);
  });

  it('answers 200 with every message rejected when none is valid (the request itself is well formed)', async () => {
    const { stream, deadLetters } = sinks();
    const result = await collect(parseRequest('batch', JSON.stringify({ batch: [{}, { type: 'track' }] })), received, { stream, deadLetters }, privacy);
    expect(result.accepted).toBe(0);
    expect(result.rejected.map((r) => r.index)).toEqual([0, 1]);
    expect(stream.data).toEqual([]);
    expect(await deadLetters.list(10)).toHaveLength(2);
  });

  it('answers 400 naming the field for an invalid single message, and enqueues and dead-letters nothing', async () => {
    const { stream, deadLetters } = sinks();
    const request = parseRequest('track', JSON.stringify({ anonymousId: 'a', event: '' }));
    await expect(collect(request, received, { stream, deadLetters }, privacy)).rejects.toMatchObject({ statusCode: 400, message: 'event: must be a non-empty string' });
    expect(stream.data).toEqual([]);
    expect(await deadLetters.list(10)).toEqual([]);
  });

  it('answers 400, not 500, for a single message whose sentAt and timestamp are out of range', async () => {
    const request = parseRequest('track', JSON.stringify({ anonymousId: 'a', event: 'x', timestamp: '+275760-09-13T00:00:00.000Z', sentAt: '-271821-04-20T00:00:00.000Z' }));
    await expect(collect(request, received, sinks(), privacy)).rejects.toMatchObject({ statusCode: 400 });
  });

  it('answers 503 when the dead letters cannot be written, so the SDK retries the request', async () => {
    const failing: Pick<DeadLetterStore, 'put'> = { put: async () => Promise.reject(new Error('DynamoDB is unavailable')) };
    const stream = recordingStream();
    const error = await collect(parseRequest('batch', JSON.stringify(mixed)), received, { stream, deadLetters: failing }, privacy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ statusCode: 503, message: 'could not record 1 rejected message(s); retry the request' });
  });

  it('writes no dead letter when every message is valid', async () => {
    const put = jest.fn<Promise<void>, [DeadLetter[]]>();
    const result = await collect(parseRequest('batch', JSON.stringify({ batch: [mixed.batch[0]] })), received, {
      stream: recordingStream(),
      deadLetters: { put },
    }, privacy);
    expect(result).toEqual({ accepted: 1, rejected: [], unexpected: [] });
    expect(put).not.toHaveBeenCalled();
  });
});

describe('personal data on the stream', () => {
  it('is hashed or removed before anything is put on the stream: e-mail, phone and IP hashed, names removed', () => {
    // A server-side key, whose context.ip is kept (lib/collect/network.ts): kept, it is hashed.
    const request = parseRequest('identify', JSON.stringify({
      userId: 'u1',
      traits: { email: 'Ann.Smith@example.com', phone: '+44 20 7946 0958', firstName: 'Ann', lastName: 'Smith', plan: 'gold' },
      context: { ip: '203.0.113.7' },
    }));
    const { events } = validateMessages({ ...request, origin: { key: 'server' } }, received, privacy);
    const text = JSON.stringify(events);
    for (const clear of ['Ann', 'Smith', '7946', '203.0.113.7']) expect(text).not.toContain(clear);
    expect(events[0]).toMatchObject({ traits: { email: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), plan: 'gold' }, context: { ip: expect.stringMatching(/^sha256:/) } });
  });

  it('hashes again what a client sends in the hashed form, so nobody claims an identity by its hash', () => {
    const hash = `sha256:${'a'.repeat(64)}`;
    const { events } = validate('identify', { userId: 'u1', traits: { email: hash } });
    expect(events[0]?.traits).toEqual({});
  });
});

describe('dead-letter data', () => {
  it('is the message as sent, as JSON', () => {
    expect(deadLetterData({ type: 'track', event: '' }, privacy)).toBe('{"type":"track","event":""}');
  });

  it('holds no personal data: e-mail and phone hashed, names removed, and a message that is not an object only masked', () => {
    const data = deadLetterData({ type: 'identify', traits: { email: 'ann.smith@example.com', phone: '+44 20 7946 0958', firstName: 'Ann' }, context: { ip: '203.0.113.7' } }, privacy);
    for (const clear of ['ann.smith', '7946', 'Ann', '203.0.113.7']) expect(data).not.toContain(clear);
    expect(JSON.parse(data)).toMatchObject({ traits: { email: expect.stringMatching(/^sha256:/), phone: expect.stringMatching(/^sha256:/) } });
    expect(deadLetterData('write to ann.smith@example.com', privacy)).not.toContain('ann.smith');
  });

  it(`is cut at ${MAX_DEAD_LETTER_DATA_BYTES} bytes, whole characters only`, () => {
    const data = deadLetterData({ pad: 'é'.repeat(MAX_MESSAGE_BYTES) }, privacy);
    expect(Buffer.byteLength(data, 'utf8')).toBeLessThanOrEqual(MAX_DEAD_LETTER_DATA_BYTES);
    expect(data).not.toContain('\uFFFD');
    expect(data).toMatch(/…\[cut: \d+ bytes in all\]$/);
  });
});

describe('publishing to the stream', () => {
  const { events } = validate('batch', { batch: Array.from({ length: 3 }, (_, i) => ({ type: 'track', anonymousId: `a${i}`, event: 'x' })) });

  it('retries only the entries that failed in a partial failure', async () => {
    const calls: string[][] = [];
    const stream: EventStream = {
      putRecords: async (records) => {
        calls.push(records.map((r) => r.partitionKey));
        return calls.length === 1 ? [1] : [];
      },
    };
    await publish(stream, events);
    expect(calls).toEqual([['a0', 'a1', 'a2'], ['a1']]);
  });

  it('keeps each PutRecords call within 500 records and 5 MiB, in order', async () => {
    // Prepare: 2,000 messages of ~30 KB each (60 MB on the stream). The collector refuses a batch that
    // comes to this (MAX_BATCH_EXPANDED_BYTES), but publishing does not rely on it.
    const context = { page: { pad: 'x'.repeat(30 * 1024) } };
    const messages = Array.from({ length: 2_000 }, (_, i) => ({ index: i, sent: {}, message: { type: 'page', anonymousId: `p${i}`, context }, contentId: `id-${i}` }));
    const { events: many } = validateMessages({ batch: true, messages }, received, privacy);
    const calls: Array<{ records: number; bytes: number; first: string }> = [];
    const stream: EventStream = {
      putRecords: async (records) => {
        const bytes = records.reduce((n, r) => n + Buffer.byteLength(r.data) + r.partitionKey.length, 0);
        calls.push({ records: records.length, bytes, first: records[0]!.partitionKey });
        return [];
      },
    };
    // Act
    await publish(stream, many);
    // Assess
    expect(calls.reduce((n, c) => n + c.records, 0)).toBe(2_000);
    for (const c of calls) {
      expect(c.records).toBeLessThanOrEqual(500);
      expect(c.bytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    }
    expect(calls.length).toBeGreaterThan(4);
    expect(calls[0]!.first).toBe('p0');
  });

  it('answers 503 when the stream keeps refusing, so the SDK retries', async () => {
    const stream: EventStream = { putRecords: async (records) => records.map((_, i) => i) };
    await expect(publish(stream, events)).rejects.toMatchObject({ statusCode: 503 });
  });
});

describe('the OpenAPI document of the collector', () => {
  type Operation = { summary: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
  const doc = openApiDocument() as { paths: Record<string, { post: Operation }>; components: { schemas: Record<string, unknown> } };

  it('documents what a batch answers: 200 with what was taken and rejected, 413, 415 and 503, and the message cap', () => {
    const batch = doc.paths['/v1/batch']!.post;
    expect(batch.summary).toContain(`${MAX_BATCH_MESSAGES.toLocaleString('en-US')} messages at most`);
    expect(Object.keys(batch.responses).sort()).toEqual(['200', '400', '401', '403', '405', '413', '415', '503']);
    expect(batch.responses['200']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/BatchResult' });
    expect(doc.components.schemas.BatchResult).toMatchObject({ required: ['success', 'accepted', 'rejected'] });
  });

  it('documents 413 for a single message too', () => {
    expect(Object.keys(doc.paths['/v1/track']!.post.responses)).toContain('413');
  });
});
