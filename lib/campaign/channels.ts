import { createHmac } from 'node:crypto';

/**
 * Channel adapters: how a campaign's message leaves. The message names the customer by profile id and
 * userId, never by a contact address: a webhook or EventBridge receiver (a push provider, your own
 * service) knows her by those. The e-mail and SMS adapters (lib/store/messaging.ts) are given her
 * address apart, opened from its seal just before the call (lib/campaign/addresses.ts).
 */
export interface CampaignMessage {
  /** Stable per trigger occurrence: the receiver's idempotency key. */
  id: string;
  campaignId: string;
  profileId: string;
  userId?: string;
  channel: string;
  offer: { offerId: string; content: string; items?: string[] };
  decisionId: string;
  at: string;
}

/** A delivery that failed: `permanent` ones are not retried (a 4xx), others were retried and gave up. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface Channel {
  /** `to`: the opened address, for the channels that need one (e-mail, SMS). */
  deliver(message: CampaignMessage, to?: string): Promise<void>;
}

/**
 * The signature header of a webhook body: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, as
 * Stripe signs: the receiver recomputes it with the shared secret and refuses an old `t` (replays).
 */
export function webhookSignature(body: string, secret: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export interface WebhookOptions {
  url: string;
  secret: string;
  /** Attempts in all (default 4), with exponential backoff and jitter from `baseDelayMs` (default 200). */
  attempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * POSTs the message as JSON with an HMAC signature and an idempotency key; retries network errors,
 * timeouts, 429 and 5xx with backoff; a 4xx other than 429 is permanent.
 */
export class WebhookChannel implements Channel {
  constructor(private readonly options: WebhookOptions) {}

  async deliver(message: CampaignMessage): Promise<void> {
    const { url, secret, attempts = 4, baseDelayMs = 200, timeoutMs = 5000 } = this.options;
    const send = this.options.fetch ?? fetch;
    const body = JSON.stringify(message);
    let last = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
      try {
        const res = await send(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': message.id, 'x-moment-signature': webhookSignature(body, secret, Math.floor(Date.now() / 1000)) },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.ok) return;
        last = `HTTP ${res.status}`;
        if (res.status < 500 && res.status !== 429) throw new DeliveryError(`webhook answered ${last}`, true);
      } catch (e) {
        if (e instanceof DeliveryError) throw e;
        last = (e as Error).message;
      }
    }
    throw new DeliveryError(`webhook failed after ${attempts} attempts: ${last}`, false);
  }
}

/** Puts one event on an EventBridge bus (any tool takes it from there); the AWS client is the caller's. */
export class EventBridgeChannel implements Channel {
  constructor(private readonly put: (entry: { Source: string; DetailType: string; Detail: string }) => Promise<void>) {}

  async deliver(message: CampaignMessage): Promise<void> {
    await this.put({ Source: 'moment.campaigns', DetailType: 'Campaign Message', Detail: JSON.stringify(message) });
  }
}
