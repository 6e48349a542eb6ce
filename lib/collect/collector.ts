import { badRequest, HttpError } from '../http/errors';
import {
  completeMessage,
  MAX_BATCH_BYTES,
  MAX_MESSAGE_BYTES,
  parseMessage,
  partitionKeyOf,
  ValidationError,
  type CollectedEvent,
  type MessageType,
} from '../events/segment';
import { asObject } from '../events/json';

/** Where accepted events go: the Kinesis stream in every environment. */
export interface EventStream {
  /** Puts records; returns the indexes of the entries that failed (a partial failure), empty when all went in. */
  putRecords(records: Array<{ data: string; partitionKey: string }>): Promise<number[]>;
}

export type CollectorPath = MessageType | 'batch' | 'import';

export interface CollectResult {
  accepted: number;
  messageIds: string[];
}

const MAX_PUT_RECORDS = 500;
const MAX_PUT_ATTEMPTS = 6;


/**
 * Parses a Segment Tracking API request body into messages: one message for `/v1/<type>` (the path
 * sets the type), a list for `/v1/batch` (and `/v1/import`), whose top-level `context` and
 * `integrations` apply to every message. Throws a 400 that names each problem.
 */
export function parseRequest(path: CollectorPath, body: string): { messages: unknown[]; writeKey?: unknown } {
  const size = Buffer.byteLength(body, 'utf8');
  const batch = path === 'batch' || path === 'import';
  if (size > (batch ? MAX_BATCH_BYTES : MAX_MESSAGE_BYTES)) {
    throw badRequest(`body is ${size} bytes; the limit is ${batch ? MAX_BATCH_BYTES : MAX_MESSAGE_BYTES} bytes ${batch ? 'per batch' : 'per message'}`);
  }
  if (body.trim() === '') throw badRequest('body is empty: send a JSON object');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw badRequest(`body is not valid JSON: ${(e as Error).message}`);
  }
  const root = asObject(json);
  if (root === undefined) throw badRequest('body must be a JSON object');
  if (!batch) return { messages: [{ ...root, type: path }], writeKey: root.writeKey };
  if (!Array.isArray(root.batch)) throw badRequest('batch must be an array of messages');
  if (root.batch.length === 0) throw badRequest('batch is empty');
  const context = asObject(root.context);
  const integrations = asObject(root.integrations);
  const messages = root.batch.map((m) => {
    const message = asObject(m);
    if (message === undefined) return m;
    return {
      ...message,
      context: context ? { ...context, ...asObject(message.context) } : message.context,
      integrations: integrations ? { ...integrations, ...asObject(message.integrations) } : message.integrations,
    };
  });
  return { messages, writeKey: root.writeKey };
}

/** Validates every message and completes it (messageId, receivedAt, skew-corrected timestamp). */
export function validateMessages(messages: unknown[], receivedAt: Date): CollectedEvent[] {
  const problems: string[] = [];
  const events: CollectedEvent[] = [];
  const batch = messages.length > 1;
  messages.forEach((m, i) => {
    const where = batch ? `batch[${i}]` : '';
    try {
      const size = Buffer.byteLength(JSON.stringify(m) ?? '', 'utf8');
      if (size > MAX_MESSAGE_BYTES) throw new ValidationError(`${where || 'message'} is ${size} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes per message`);
      events.push(completeMessage(parseMessage(m, where), receivedAt));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(e.message);
    }
  });
  if (problems.length > 0) throw badRequest(problems.join('; '), { problems });
  return events;
}

const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(800, 25 * 2 ** attempt) * (0.5 + Math.random() / 2)));

/**
 * Puts events on the stream, retrying only the entries that failed in a partial failure (throttling
 * of one shard must not resend what already went in). Throws 503 if entries are still failing after
 * the retries, so the SDK retries the request (ingest dedupes by messageId).
 */
export async function publish(stream: EventStream, events: CollectedEvent[]): Promise<void> {
  for (let start = 0; start < events.length; start += MAX_PUT_RECORDS) {
    let pending = events.slice(start, start + MAX_PUT_RECORDS).map((e) => ({ data: JSON.stringify(e), partitionKey: partitionKeyOf(e) }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_PUT_ATTEMPTS) {
        throw new HttpError(503, `the event stream did not accept ${pending.length} message(s); retry the request`);
      }
      if (attempt > 0) await pause(attempt);
      const failed = await stream.putRecords(pending);
      pending = failed.map((i) => pending[i] as (typeof pending)[number]);
    }
  }
}
