import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeliveryError, EventBridgeChannel, WebhookChannel, type CampaignMessage } from '../../lib/campaign/channels';
import { durationMs, intoWindow, nextLocalTime } from '../../lib/campaign/time';
import { signatureValid } from '../../local/activation';

/** Channel adapters against a real HTTP receiver on loopback, and the time arithmetic of waits. */
const message: CampaignMessage = { id: 'campaign-abc', campaignId: 'cart-abandoned', profileId: 'p_1', userId: 'cust-1', channel: 'push', offer: { offerId: 'cart-reminder', content: 'offers/cart-reminder', items: ['lamp-arc'] }, decisionId: 'd-1', at: '2026-11-20T10:00:00.000Z' };

describe('the webhook channel', () => {
  let server: Server;
  let url: string;
  let answers: number[] = [];
  const received: Array<{ body: string; signature: string; idempotencyKey: string }> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString(), signature: String(req.headers['x-moment-signature']), idempotencyKey: String(req.headers['idempotency-key']) });
        res.writeHead(answers.shift() ?? 200);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    received.length = 0;
    answers = [];
  });

  it('posts the message with an HMAC signature the receiver verifies with the shared secret, and the idempotency key', async () => {
    await new WebhookChannel({ url, secret: 's3cret' }).deliver(message);
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.body)).toEqual(message);
    expect(received[0]!.idempotencyKey).toBe('campaign-abc');
    expect(signatureValid(received[0]!.body, received[0]!.signature, 's3cret')).toBe(true);
    expect(signatureValid(received[0]!.body, received[0]!.signature, 'another')).toBe(false);
    expect(signatureValid(received[0]!.body.replace('lamp-arc', 'free-tv'), received[0]!.signature, 's3cret')).toBe(false);
  });

  it('retries 5xx and 429 with backoff, then delivers', async () => {
    answers = [503, 429, 200];
    await new WebhookChannel({ url, secret: 's', baseDelayMs: 5 }).deliver(message);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.idempotencyKey))).toEqual(new Set(['campaign-abc']));
  });

  it('gives up after its attempts, and does not retry a 4xx (permanent)', async () => {
    answers = [500, 500, 500];
    await expect(new WebhookChannel({ url, secret: 's', attempts: 3, baseDelayMs: 5 }).deliver(message)).rejects.toMatchObject({ permanent: false, message: 'webhook failed after 3 attempts: HTTP 500' });
    received.length = 0;
    answers = [400];
    const refused = new WebhookChannel({ url, secret: 's', baseDelayMs: 5 }).deliver(message);
    await expect(refused).rejects.toBeInstanceOf(DeliveryError);
    await expect(refused).rejects.toMatchObject({ permanent: true, message: 'webhook answered HTTP 400' });
    expect(received).toHaveLength(1);
  });

  it('fails when nothing listens, after its attempts', async () => {
    await expect(new WebhookChannel({ url: 'http://127.0.0.1:9/hook', secret: 's', attempts: 2, baseDelayMs: 5 }).deliver(message)).rejects.toMatchObject({ permanent: false });
  });
});

describe('the EventBridge channel', () => {
  it('puts one Campaign Message event from moment.campaigns, and fails when the bus refuses it', async () => {
    const put: unknown[] = [];
    await new EventBridgeChannel(async (e) => void put.push(e)).deliver(message);
    expect(put).toEqual([{ Source: 'moment.campaigns', DetailType: 'Campaign Message', Detail: JSON.stringify(message) }]);
    await expect(new EventBridgeChannel(async () => Promise.reject(new Error('refused'))).deliver(message)).rejects.toThrow('refused');
  });
});

describe('time for waits', () => {
  it('reads ISO 8601 durations and refuses other text', () => {
    expect(durationMs('PT65M')).toBe(65 * 60_000);
    expect(durationMs('P1DT2H')).toBe(26 * 3_600_000);
    expect(durationMs('P2W')).toBe(14 * 86_400_000);
    expect(durationMs('PT0S')).toBe(0);
    for (const bad of ['P', 'PT', '65 minutes', 'PT1.5H', '-PT1H', 'P1Y']) expect(durationMs(bad)).toBeUndefined();
  });

  it('finds the next local time of day in her time zone, across daylight saving changes', () => {
    expect(nextLocalTime(new Date('2026-11-20T15:30:00Z'), 9, 0, 'America/New_York').toISOString()).toBe('2026-11-21T14:00:00.000Z');
    expect(nextLocalTime(new Date('2026-11-20T13:00:00Z'), 9, 0, 'America/New_York').toISOString()).toBe('2026-11-20T14:00:00.000Z');
    expect(nextLocalTime(new Date('2026-11-20T00:00:00Z'), 9, 0, 'Asia/Tokyo').toISOString()).toBe('2026-11-20T00:00:00.000Z');
    // London moves to summer time on 29 March 2026: 09:00 is 08:00 UTC from then on.
    expect(nextLocalTime(new Date('2026-03-28T12:00:00Z'), 9, 0, 'Europe/London').toISOString()).toBe('2026-03-29T08:00:00.000Z');
    // 01:30 does not exist that night in London: the next existing minute is taken, never a day late.
    const skipped = nextLocalTime(new Date('2026-03-29T00:00:00Z'), 1, 30, 'Europe/London');
    expect(skipped.getTime() - Date.parse('2026-03-29T00:00:00Z')).toBeLessThan(2 * 3_600_000);
    expect(nextLocalTime(new Date('2026-11-20T15:30:00Z'), 9, 0, 'Not/AZone').toISOString()).toBe('2026-11-21T09:00:00.000Z');
  });

  it('moves a due time outside a window to the window\'s next start, wrapping midnight', () => {
    expect(intoWindow(new Date('2026-11-20T21:30:00Z'), { from: 9, to: 21 }, 'Europe/London').toISOString()).toBe('2026-11-21T09:00:00.000Z');
    expect(intoWindow(new Date('2026-11-20T12:00:00Z'), { from: 9, to: 21 }, 'Europe/London').toISOString()).toBe('2026-11-20T12:00:00.000Z');
    expect(intoWindow(new Date('2026-11-20T12:00:00Z'), { from: 22, to: 6 }, 'UTC').toISOString()).toBe('2026-11-20T22:00:00.000Z');
  });
});
