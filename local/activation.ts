import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { webhookSignature } from '../lib/campaign/channels';
import { durationMs } from '../lib/campaign/time';
import type { ActivationInstance, ActivationStore } from '../lib/store/ports';
import { CHANGE_DETAIL_TYPE, CHANGE_SOURCE } from '../lib/store/eventbridge';

/**
 * Campaigns in the embedded stack: the same trigger and send functions as on AWS, with local
 * stand-ins for the AWS parts between them.
 *
 * - **The activation bus**: a small EventBridge API (PutEvents, over HTTP, for the real SDK client
 *   the ingest and the send function use): profile changes go to the trigger function; campaign
 *   messages (the EventBridge channel) are kept for the outbox.
 * - **The scheduler**: instead of EventBridge Scheduler and the send queues, it reads the due index of
 *   the activations table and hands each due entry to the send function as an SQS event. With
 *   `LOCAL_CLOCK=manual` it keeps its own clock, moved only by `POST /local/clock`.
 * - **The webhook sink and the outbox**: `POST /local/webhook-sink/{channel}` checks the signature and
 *   keeps what a webhook channel sent; `GET /local/outbox` lists every entry and every delivery.
 */

/** The most deliveries the outbox keeps (the oldest go first). */
export const MAX_KEPT = 1000;

export type LocalClock = { mode: 'real' | 'manual'; now(): Date; set(at: Date): void };

export function localClock(mode: string | undefined, start?: string): LocalClock {
  if (mode !== undefined && mode !== 'real' && mode !== 'manual') throw new Error(`LOCAL_CLOCK: "${mode}" is not real or manual`);
  if (mode !== 'manual') {
    return { mode: 'real', now: () => new Date(), set: () => { throw new Error('the clock is real: start the stack with LOCAL_CLOCK=manual to move it'); } };
  }
  let at = start ? new Date(start) : new Date();
  if (Number.isNaN(at.getTime())) throw new Error(`LOCAL_CLOCK_START: "${start}" is not a date`);
  return { mode: 'manual', now: () => new Date(at), set: (next) => void (at = new Date(next)) };
}

/** What a channel handed over, as the outbox shows it. */
export interface Delivery {
  channel: string;
  adapter: 'webhook' | 'eventbridge' | 'ses' | 'sns';
  /** For e-mail and SMS: the address, masked (the outbox shows what went where without keeping it). */
  to?: string;
  at: string;
  /** For a webhook: whether its x-moment-signature verified with the development secret. */
  signatureValid?: boolean;
  message: unknown;
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * The local EventBridge (PutEvents only, delivering changes to the trigger function before it
 * answers, so the ingest's retry covers a failed trigger), and on the same port the two calls the
 * e-mail and SMS channels make: SES v2 SendEmail and SNS Publish, kept for the outbox.
 */
export class LocalBus {
  private server?: Server;
  private target?: Handler<unknown, unknown>;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  readonly messages: Delivery[] = [];

  constructor(
    private readonly context: (name: string) => Context,
    /** The stack's clock: when a message was handed over, as the campaigns see time. */
    private readonly now: () => Date = () => new Date(),
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  /** The trigger function (set once the handlers are loaded; requests wait for it). */
  deliverTo(handler: Handler<unknown, unknown>): void {
    this.target = handler;
    this.markReady();
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void (async () => {
        try {
          const text = (await readAll(req)).toString('utf8');
          if (req.url?.startsWith('/v2/email/outbound-emails')) return this.sendEmail(JSON.parse(text), res);
          if (String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) return this.publishSms(new URLSearchParams(text), res);
          const body = JSON.parse(text) as { Entries?: Array<{ Source?: string; DetailType?: string; Detail?: string; EventBusName?: string }> };
          if (!String(req.headers['x-amz-target']).endsWith('PutEvents')) throw new Error(`not supported: ${req.headers['x-amz-target']}`);
          const entries = [];
          for (const [n, e] of (body.Entries ?? []).entries()) entries.push(await this.put(e, n));
          const failed = entries.filter((e) => 'ErrorCode' in e).length;
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ FailedEntryCount: failed, Entries: entries }));
        } catch (e) {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ __type: 'ValidationException', message: (e as Error).message }));
        }
      })();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async put(e: { Source?: string; DetailType?: string; Detail?: string }, n: number): Promise<{ EventId: string } | { ErrorCode: string; ErrorMessage: string }> {
    const detail = JSON.parse(e.Detail ?? '{}') as unknown;
    const id = `local-${Date.now()}-${n}`;
    if (e.Source === CHANGE_SOURCE && e.DetailType === CHANGE_DETAIL_TYPE) {
      await this.ready;
      try {
        await this.target!({ version: '0', id, source: e.Source, 'detail-type': e.DetailType, account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail }, this.context('trigger'));
      } catch (err) {
        return { ErrorCode: 'InternalFailure', ErrorMessage: `the trigger function failed: ${(err as Error).message}` };
      }
    } else {
      const message = detail as { channel?: string; at?: string };
      if (this.messages.length >= MAX_KEPT) this.messages.shift();
      this.messages.push({ channel: message.channel ?? '?', adapter: 'eventbridge', at: message.at ?? this.now().toISOString(), message });
    }
    return { EventId: id };
  }

  /** SES v2 SendEmail with a template: kept with the recipient masked and the template's data. */
  private sendEmail(body: { Destination?: { ToAddresses?: string[] }; Content?: { Template?: { TemplateName?: string; TemplateData?: string } }; FromEmailAddress?: string }, res: ServerResponse): void {
    const data = JSON.parse(body.Content?.Template?.TemplateData ?? '{}') as { campaignId?: string };
    if (this.messages.length >= MAX_KEPT) this.messages.shift();
    this.messages.push({ channel: 'email', adapter: 'ses', to: maskAddress(body.Destination?.ToAddresses?.[0] ?? ''), at: this.now().toISOString(), message: { ...data, template: body.Content?.Template?.TemplateName, from: body.FromEmailAddress } });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ MessageId: `local-${this.messages.length}` }));
  }

  /** SNS Publish to a phone number (SMS): kept with the number masked and the text. */
  private publishSms(form: URLSearchParams, res: ServerResponse): void {
    if (form.get('Action') !== 'Publish') throw new Error(`not supported: SNS ${form.get('Action')}`);
    if (this.messages.length >= MAX_KEPT) this.messages.shift();
    this.messages.push({ channel: 'sms', adapter: 'sns', to: maskAddress(form.get('PhoneNumber') ?? ''), at: this.now().toISOString(), message: { text: form.get('Message') } });
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>local-${this.messages.length}</MessageId></PublishResult><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></PublishResponse>`);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** An address with all but its first character and its domain (or last two digits) masked. */
export function maskAddress(address: string): string {
  const at = address.indexOf('@');
  if (at > 0) return `${address[0]}***${address.slice(at)}`;
  return address.length > 4 ? `${address.slice(0, 3)}${'*'.repeat(address.length - 5)}${address.slice(-2)}` : '***';
}

/** How many invocations of the send function the local scheduler runs at once (the shipped push channel's `maxConcurrency`). */
export const SENDS_AT_ONCE = 10;

/** The local scheduler: due entries to the send function, on a timer (real clock) or when the clock is moved (manual). */
export class LocalScheduler {
  private timer?: NodeJS.Timeout;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    readonly clock: LocalClock,
    private readonly activations: () => ActivationStore,
    private readonly send: Handler<SQSEvent, SQSBatchResponse>,
    private readonly context: (name: string) => Context,
  ) {}

  start(intervalMs = 1000): void {
    if (this.clock.mode === 'real') this.timer = setInterval(() => void this.runDue().catch(() => undefined), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Sends what is due now, in due order, rounds until nothing is (a deferral to a time already
   * passed runs again). One run at a time; within it, as on AWS, one wake-up per invocation of the
   * send function and up to SENDS_AT_ONCE invocations at once (a send queue's `maxConcurrency`), so
   * sends due together run concurrently here too.
   */
  runDue(): Promise<Array<{ campaignId: string; profileId: string; dueAt: string }>> {
    const run = this.running.then(async () => {
      const ran: Array<{ campaignId: string; profileId: string; dueAt: string }> = [];
      for (let round = 0; round < 20; round++) {
        const due = await this.activations().due(this.clock.now().toISOString(), 100);
        if (due.length === 0) break;
        let failures = 0;
        const next = [...due];
        const invoke = async (): Promise<void> => {
          for (let i = next.shift(); i !== undefined; i = next.shift()) failures += (await this.send(sqsEvent([i]), this.context('send'))).batchItemFailures.length;
        };
        await Promise.all(Array.from({ length: Math.min(SENDS_AT_ONCE, due.length) }, invoke));
        ran.push(...due.map((i) => ({ campaignId: i.campaignId, profileId: i.profileId, dueAt: i.dueAt as string })));
        if (failures === due.length) break; // Nothing moved: try again at the next tick.
      }
      return ran;
    });
    this.running = run.catch(() => undefined);
    return run;
  }

  /** Moves a manual clock (an ISO 8601 duration, or to an instant) and sends what became due. */
  async move(request: unknown): Promise<{ now: string; ran: Array<{ campaignId: string; profileId: string; dueAt: string }> }> {
    if (this.clock.mode !== 'manual') throw new ClockError('the clock is real: start the stack with LOCAL_CLOCK=manual to move it');
    if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new ClockError('the body must be an object: { "advance": "PT65M" } or { "set": "<instant>" }');
    const { advance, set } = request as { advance?: unknown; set?: unknown };
    if (set === undefined && advance === undefined) throw new ClockError('give advance (an ISO 8601 duration such as PT65M) or set (an instant)');
    let at = this.clock.now().getTime();
    if (set !== undefined) {
      at = typeof set === 'string' ? Date.parse(set) : Number.NaN;
      if (Number.isNaN(at)) throw new ClockError(`set: "${String(set)}" is not a date`);
    }
    if (advance !== undefined) {
      const ms = typeof advance === 'string' ? durationMs(advance) : undefined;
      if (ms === undefined) throw new ClockError(`advance: "${String(advance)}" is not an ISO 8601 duration such as PT65M or P1D`);
      at += ms;
    }
    // Within the years a Date can say (and the clock is left as it was otherwise).
    if (!(Math.abs(at) <= 8.64e15)) throw new ClockError('that moves the clock beyond the dates it can hold');
    this.clock.set(new Date(at));
    return { now: this.clock.now().toISOString(), ran: await this.runDue() };
  }
}

export class ClockError extends Error {}

function sqsEvent(due: ActivationInstance[]): SQSEvent {
  return {
    Records: due.map((i, n) => ({
      messageId: `local-${n}-${i.occurrence}`,
      receiptHandle: 'local',
      body: JSON.stringify({ profileId: i.profileId, campaignId: i.campaignId, occurrence: i.occurrence }),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'local', ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:send',
      awsRegion: 'us-east-1',
    })),
  };
}

/** An entry as the outbox lists it: what would have been sent, or why not. */
export function outboxEntry(i: ActivationInstance, channelOf: (campaignId: string) => string | undefined) {
  const last = i.history.at(-1);
  return {
    campaignId: i.campaignId,
    profileId: i.profileId,
    channel: channelOf(i.campaignId) ?? null,
    status: i.status === 'planned' && i.deferrals > 0 ? 'deferred' : i.status,
    reason: i.reason ?? null,
    at: last?.at ?? i.enteredAt,
    enteredAt: i.enteredAt,
    ...(i.dueAt ? { dueAt: i.dueAt } : {}),
    ...(i.sentAt ? { sentAt: i.sentAt } : {}),
    ...(i.offerId ? { offerId: i.offerId } : {}),
    group: i.group,
    ...(i.convertedAt ? { convertedAt: i.convertedAt } : {}),
    history: i.history,
  };
}

/** The webhook sink's check of a delivery's signature, as a receiver should do it. */
export function signatureValid(body: string, header: string | undefined, secret: string): boolean {
  const t = Number(/t=(\d+)/.exec(header ?? '')?.[1]);
  if (!Number.isFinite(t)) return false;
  const expected = Buffer.from(webhookSignature(body, secret, t));
  const given = Buffer.from(header ?? '');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
