import type { IncomingHttpHeaders } from 'node:http';
import type { Campaigns } from '../lib/campaign/campaign';
import { HttpError } from '../lib/http/errors';
import { requireApiKey, type Keys } from '../lib/http/keys';
import type { ActivationStore } from '../lib/store/ports';
import { ClockError, MAX_KEPT, outboxEntry, signatureValid, type Delivery, type LocalBus, type LocalScheduler } from './activation';

/**
 * The routes only the embedded stack has, never the CDK app: `POST /local/clock` (move a manual
 * clock: `{ "advance": "PT65M" }` or `{ "set": "<instant>" }`), `GET /local/outbox` (every campaign
 * entry with its status and reason, and every delivery), both with an admin key checked as the API
 * checks it (lib/http/keys.ts: `sha256:<hex>` entries are digests, 401 for none or an unknown key,
 * 403 for a key of another kind); and `POST /local/webhook-sink/{channel}`, where webhook channels
 * deliver (it checks their signature).
 */
export function localRoutes(parts: {
  scheduler: LocalScheduler;
  bus: LocalBus;
  webhooks: Delivery[];
  activations: () => ActivationStore;
  campaigns: () => Promise<Campaigns>;
  /** The API's keys, as its functions read them. */
  keys: () => Promise<Keys>;
}) {
  const refused = async (headers: IncomingHttpHeaders): Promise<{ statusCode: number; body: unknown } | undefined> => {
    const key = headers['x-api-key'];
    try {
      requireApiKey(await parts.keys(), { 'x-api-key': typeof key === 'string' ? key : undefined }, 'admin');
      return undefined;
    } catch (e) {
      if (e instanceof HttpError) return { statusCode: e.statusCode, body: { success: false, message: e.message } };
      throw e;
    }
  };
  return async (method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<{ statusCode: number; body: unknown } | undefined> => {
    const sink = /^\/local\/webhook-sink\/([a-z][a-z0-9-]{0,31})$/.exec(path);
    if (sink && method === 'POST') {
      const text = body.toString('utf8');
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        return { statusCode: 400, body: { success: false, message: 'not JSON' } };
      }
      // As a receiver should: a post whose signature does not verify is refused, and not kept.
      if (!signatureValid(text, headers['x-moment-signature'] as string | undefined, process.env.WEBHOOK_SECRET ?? '')) return { statusCode: 401, body: { success: false, message: 'bad signature' } };
      if (parts.webhooks.length >= MAX_KEPT) parts.webhooks.shift();
      parts.webhooks.push({ channel: sink[1] as string, adapter: 'webhook', at: (message as { at?: string } | null)?.at ?? parts.scheduler.clock.now().toISOString(), signatureValid: true, message });
      return { statusCode: 200, body: { success: true } };
    }
    if (path === '/local/clock' && method === 'POST') {
      const denied = await refused(headers);
      if (denied) return denied;
      try {
        const request: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
        return { statusCode: 200, body: await parts.scheduler.move(request) };
      } catch (e) {
        if (e instanceof ClockError || e instanceof SyntaxError) return { statusCode: 400, body: { success: false, message: e.message } };
        throw e;
      }
    }
    if (path === '/local/clock' && method === 'GET') return { statusCode: 200, body: { mode: parts.scheduler.clock.mode, now: parts.scheduler.clock.now().toISOString() } };
    if (path === '/local/outbox' && method === 'GET') {
      const denied = await refused(headers);
      if (denied) return denied;
      const campaigns = await parts.campaigns();
      const entries = await parts.activations().all(1000);
      return {
        statusCode: 200,
        body: {
          now: parts.scheduler.clock.now().toISOString(),
          messages: entries.map((i) => outboxEntry(i, (id) => campaigns.byId.get(id)?.action.channel)),
          deliveries: [...parts.webhooks, ...parts.bus.messages].sort((a, b) => a.at.localeCompare(b.at)),
        },
      };
    }
    return { statusCode: 404, body: { success: false, message: `no local route ${method} ${path}: the embedded stack has POST /local/clock, GET /local/outbox and POST /local/webhook-sink/{channel}` } };
  };
}
