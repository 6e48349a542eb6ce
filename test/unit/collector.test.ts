import { parseRequest, publish, validateMessages, type EventStream } from '../../lib/collect/collector';
import { HttpError } from '../../lib/http/errors';
import { MAX_BATCH_BYTES } from '../../lib/events/segment';

const received = new Date('2026-11-24T10:00:00.000Z');

function rejects(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HttpError);
    return e as HttpError;
  }
  throw new Error('expected a rejection');
}

describe('collector request parsing (Segment HTTP Tracking API)', () => {
  it('takes the message type from the endpoint', () => {
    const { messages } = parseRequest('track', JSON.stringify({ anonymousId: 'a1', event: 'Product Viewed' }));
    expect(messages).toEqual([{ anonymousId: 'a1', event: 'Product Viewed', type: 'track' }]);
  });

  it('applies batch-level context and integrations to every message, the message winning', () => {
    const body = { batch: [{ type: 'page', anonymousId: 'a', context: { ip: '2.2.2.2' } }], context: { ip: '1.1.1.1', locale: 'en-GB' } };
    const { messages } = parseRequest('batch', JSON.stringify(body));
    expect(messages[0]).toMatchObject({ context: { ip: '2.2.2.2', locale: 'en-GB' } });
  });

  it.each([
    ['{"anonymousId":', /not valid JSON/],
    ['[1,2]', /must be a JSON object/],
    ['', /empty/],
  ])('answers 400 for body %j', (body, message) => {
    const error = rejects(() => parseRequest('track', body));
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(message);
  });

  it('answers 400 when a batch is not an array or too large', () => {
    expect(rejects(() => parseRequest('batch', '{"batch":{}}')).message).toBe('batch must be an array of messages');
    const big = JSON.stringify({ batch: [{ type: 'track', anonymousId: 'a', event: 'x', properties: { pad: 'x'.repeat(MAX_BATCH_BYTES) } }] });
    expect(rejects(() => parseRequest('batch', big)).message).toMatch(/limit is 512000 bytes per batch/);
  });

  it('answers 400 for a single message over 32 KB', () => {
    const body = JSON.stringify({ anonymousId: 'a', event: 'x', properties: { pad: 'x'.repeat(33 * 1024) } });
    expect(rejects(() => parseRequest('track', body)).message).toMatch(/limit is 32768 bytes per message/);
  });
});

describe('collector validation', () => {
  it('adds messageId and receivedAt and corrects the device clock skew', () => {
    const [event] = validateMessages(
      [{ type: 'track', anonymousId: 'a', event: 'Order Completed', timestamp: '2026-11-24T09:59:00.000Z', sentAt: '2026-11-24T10:04:00.000Z' }],
      received,
    );
    expect(event?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event?.receivedAt).toBe('2026-11-24T10:00:00.000Z');
    // The device clock ran 4 minutes ahead: the event happened 5 minutes before it was sent.
    expect(event?.timestamp).toBe('2026-11-24T09:55:00.000Z');
  });

  it('keeps a messageId sent by the SDK (so retries can be deduplicated)', () => {
    const [event] = validateMessages([{ type: 'page', userId: 'u1', messageId: 'm-1' }], received);
    expect(event?.messageId).toBe('m-1');
  });

  it('names every problem in a batch, by position and field', () => {
    const error = rejects(() =>
      validateMessages(
        [
          { type: 'track', anonymousId: 'a', event: 'ok' },
          { type: 'track', event: 'no identity' },
          { type: 'bogus', anonymousId: 'a' },
          { type: 'track', anonymousId: 'a', event: 5 },
          { type: 'identify', userId: 'u', timestamp: 'yesterday' },
        ],
        received,
      ),
    );
    expect(error.statusCode).toBe(400);
    expect(error.message).toContain('batch[1]: userId or anonymousId is required');
    expect(error.message).toContain('batch[2].type must be one of track, identify, page, screen, alias, group');
    expect(error.message).toMatch(/batch\[3\]\.event: /);
    expect(error.message).toMatch(/batch\[4\]\.timestamp: must be an ISO-8601 date-time/);
    expect(error.message).not.toContain('batch[0]');
  });

  it('accepts numeric user ids as Segment does, as strings', () => {
    const [event] = validateMessages([{ type: 'identify', userId: 42 }], received);
    expect(event?.userId).toBe('42');
  });
});

describe('publishing to the stream', () => {
  const events = validateMessages(
    Array.from({ length: 3 }, (_, i) => ({ type: 'track', anonymousId: `a${i}`, event: 'x' })),
    received,
  );

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

  it('answers 503 when the stream keeps refusing, so the SDK retries', async () => {
    const stream: EventStream = { putRecords: async (records) => records.map((_, i) => i) };
    await expect(publish(stream, events)).rejects.toMatchObject({ statusCode: 503 });
  });
});
