import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { badRequest, payloadTooLarge, unsupportedMediaType, EMPTY_BODY } from '../http/errors';
import { MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, type MessageType } from '../events/segment';
import { asObject } from '../events/json';
import type { RequestOrigin } from './network';

/**
 * A Segment HTTP Tracking API request, read as Segment reads it: the body (gzip or not) within the
 * size limits, a JSON object, one message for `/v1/<type>` (the path sets the type) or a `batch`
 * array for `/v1/batch` and `/v1/import`, whose top-level `context` and `integrations` apply to
 * every message, and whose top-level `sentAt` is the time of sending of every message without one. Whatever makes the request as a whole unreadable is answered here (400, 413, 415);
 * whether each message is valid is the collector's business (lib/collect/collector.ts).
 */

export type CollectorPath = MessageType | 'batch' | 'import';

/**
 * At most this many messages in one batch (413 beyond). 500 KB of the smallest messages an SDK
 * sends (~200 bytes) is about 2,500; every Segment and RudderStack SDK flushes far fewer by default.
 */
export const MAX_BATCH_MESSAGES = 2_500;

/**
 * The most a batch may come to once its shared `context` and `integrations` are copied into each of
 * its messages: 5 MiB. Without it a 500 KB body could put some 80 MB on the stream (2,500 messages,
 * each given a 32 KB context). 5 MiB is ten times the body limit, so an honest shared context (the
 * library, page, user agent and locale, 1 to 2 KB) still fits on every one of 2,500 small messages
 * (200 bytes + 1.5 KB each is 4.3 MB); it is also one PutRecords call's size limit, and five seconds
 * of one shard's write capacity.
 */
export const MAX_BATCH_EXPANDED_BYTES = 5 * 1024 * 1024;

/** JSON nested deeper than this (objects and arrays; the body itself is level 1) is refused before it is parsed. */
export const MAX_JSON_DEPTH = 32;

/** One message of a request. */
export interface SentMessage {
  /** Its position in the batch (0 on the single-message endpoints). */
  index: number;
  /** The message as the client sent it, less the write key (what a dead letter keeps). */
  sent: unknown;
  /** The message to validate: the endpoint's type or the batch's context, integrations and sentAt applied, no write key. */
  message: unknown;
  /**
   * Derived from the request's content and the position: the messageId when the message has none,
   * and the id of its dead letter, so a client's retry of the same request is recognised.
   */
  contentId: string;
}

export interface CollectRequest {
  path: CollectorPath;
  /** `/v1/batch` or `/v1/import`: each message is accepted or rejected on its own. */
  batch: boolean;
  messages: SentMessage[];
  /** Segment's body `writeKey` (SDKs send it as the Basic auth user name instead). */
  writeKey?: unknown;
  /**
   * The kind of write key it came with and the address it came from (set by the handler): what its
   * messages' `context.ip` may be (lib/collect/network.ts). None: a client key seen from nowhere.
   */
  origin?: RequestOrigin;
}

export const isBatchPath = (path: CollectorPath): boolean => path === 'batch' || path === 'import';

/** The size limit of a body once decoded: 32 KB for one message, 500 KB for a batch (Segment's limits). */
const limitOf = (path: CollectorPath) => (isBatchPath(path) ? { bytes: MAX_BATCH_BYTES, per: 'per batch' } : { bytes: MAX_MESSAGE_BYTES, per: 'per message' });

function checkSize(path: CollectorPath, bytes: number): void {
  const limit = limitOf(path);
  if (bytes > limit.bytes) throw payloadTooLarge(`body is ${bytes} bytes; the limit is ${limit.bytes} bytes ${limit.per}`);
}

/**
 * The request body as text: decompressed if its Content-Encoding is gzip (RudderStack's SDKs gzip
 * every batch), within the size limits, which apply to what the body decompresses to (so a small
 * compressed bomb is refused with 413 as soon as it passes the limit), and valid UTF-8.
 */
export function decodeBody(path: CollectorPath, body: Buffer, contentEncoding?: string): string {
  const bytes = contentCoding(contentEncoding) === 'gzip' && body.length > 0 ? gunzip(path, body) : body;
  checkSize(path, bytes.length);
  return utf8(bytes);
}

/** `identity` (or none) and one `gzip` (`x-gzip`) are understood; anything else is 415, naming it. */
function contentCoding(header: string | undefined): 'gzip' | 'identity' {
  const codings = (header ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length === 1 && (codings[0] === 'gzip' || codings[0] === 'x-gzip')) return 'gzip';
  throw unsupportedMediaType(`Content-Encoding "${(header ?? '').slice(0, 100)}" is not supported: send the body as it is or gzip it`);
}

function gunzip(path: CollectorPath, body: Buffer): Buffer {
  const limit = limitOf(path);
  try {
    return gunzipSync(body, { maxOutputLength: limit.bytes });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw payloadTooLarge(`body decompresses to more than ${limit.bytes} bytes; the limit is ${limit.bytes} bytes ${limit.per}`);
    }
    throw badRequest(`body is not valid gzip: ${(e as Error).message}`);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** JSON is UTF-8 (RFC 8259); replacing bad bytes would silently change identifiers, so they are refused. */
function utf8(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw badRequest('body is not valid UTF-8');
  }
}

/**
 * Parses a request body into its messages. Throws 400 for an empty, too deeply nested, malformed or
 * non-object body and for a `batch` that is not a non-empty array; 413 for a body over the size limit,
 * a batch of more than MAX_BATCH_MESSAGES messages, or one over MAX_BATCH_EXPANDED_BYTES once its
 * shared context is copied into each message.
 */
/**
 * Parses a collector request. `authenticate` is given the body's `writeKey` (Segment's alternative to
 * Basic auth) once the JSON is parsed and before any message is validated, so a request without a
 * valid key costs no more than the parse.
 */
export function parseRequest(path: CollectorPath, body: string, authenticate: (bodyWriteKey: unknown) => void = () => undefined): CollectRequest {
  checkSize(path, Buffer.byteLength(body, 'utf8'));
  const root = parseObject(body);
  authenticate(root.writeKey);
  return isBatchPath(path) ? batchRequest(path, root) : singleRequest(path as MessageType, root);
}

function parseObject(body: string): Record<string, unknown> {
  if (body.trim() === '') throw badRequest(EMPTY_BODY);
  if (nestedDeeperThan(body, MAX_JSON_DEPTH)) throw badRequest(`body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw badRequest(`body is not valid JSON: ${(e as Error).message}`);
  }
  const root = asObject(json);
  if (root === undefined) throw badRequest('body must be a JSON object');
  return root;
}

/**
 * Whether JSON text opens more than `max` objects and arrays inside one another: one pass over the
 * characters, brackets inside strings skipped, no recursion (so no depth can overflow the stack).
 * On malformed text the answer may be wrong either way; JSON.parse then says what is wrong.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function singleRequest(path: MessageType, root: Record<string, unknown>): CollectRequest {
  const sent = withoutWriteKey(root);
  const contentId = contentIds(path, withoutTransportFields(root));
  return { path, batch: false, writeKey: root.writeKey, messages: [{ index: 0, sent, message: { ...asObject(sent), type: path }, contentId: contentId(0) }] };
}

function batchRequest(path: CollectorPath, root: Record<string, unknown>): CollectRequest {
  const batch = root.batch;
  if (!Array.isArray(batch)) throw badRequest('batch must be an array of messages');
  if (batch.length === 0) throw badRequest('batch is empty');
  if (batch.length > MAX_BATCH_MESSAGES) throw payloadTooLarge(`batch has ${batch.length} messages; the limit is ${MAX_BATCH_MESSAGES} per batch`);
  const shared = sharedFields(root);
  // What becomes the messages: the batch and its shared context and integrations (not sentAt, writeKey or other fields).
  const contentId = contentIds('batch', { context: root.context, integrations: root.integrations, batch: batch.map(withoutTransportFields) });
  const messages = batch.map((m: unknown, index): SentMessage => {
    const sent = withoutWriteKey(m);
    return { index, sent, message: withShared(sent, shared), contentId: contentId(index) };
  });
  if (shared.context !== undefined || shared.integrations !== undefined) checkExpandedSize(messages);
  return { path, batch: true, writeKey: root.writeKey, messages };
}

/** What a batch gives each of its messages: its context and integrations (within the per-message limit) and its sentAt. */
interface SharedFields {
  context?: Record<string, unknown>;
  integrations?: Record<string, unknown>;
  sentAt?: string;
}

function sharedFields(root: Record<string, unknown>): SharedFields {
  const context = asObject(root.context);
  const integrations = asObject(root.integrations);
  checkSharedSize(context, integrations);
  return { context, integrations, sentAt: batchSentAt(root.sentAt) };
}

/** A message with the batch's shared fields: the message's own context keys, integrations and sentAt win. */
function withShared(sent: unknown, shared: SharedFields): unknown {
  const message = asObject(sent);
  if (message === undefined) return sent;
  return {
    ...message,
    ...(shared.sentAt !== undefined && message.sentAt === undefined ? { sentAt: shared.sentAt } : {}),
    context: shared.context ? { ...shared.context, ...asObject(message.context) } : message.context,
    integrations: shared.integrations ? { ...shared.integrations, ...asObject(message.integrations) } : message.integrations,
  };
}

const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * The batch's `sentAt`, which corrects the clock skew of every message that has none:
 * `@segment/analytics-node` 3.x sends it only there. It is transport metadata, outside the derived
 * messageIds (a retry sends a new one); one that is not a date is ignored rather than failing
 * messages that are good (they are then taken at their own timestamps, uncorrected).
 */
function batchSentAt(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= FIRST_INSTANT && ms <= LAST_INSTANT ? value : undefined;
}

/**
 * A batch whose messages, once given the shared context and integrations, come to more than
 * MAX_BATCH_EXPANDED_BYTES is refused (413), counting no further than the limit.
 */
function checkExpandedSize(messages: SentMessage[]): void {
  let bytes = 0;
  for (const m of messages) {
    bytes += Buffer.byteLength(JSON.stringify(m.message) ?? '', 'utf8');
    if (bytes > MAX_BATCH_EXPANDED_BYTES) {
      throw payloadTooLarge(
        `the batch's messages come to more than ${MAX_BATCH_EXPANDED_BYTES} bytes once its context and integrations are copied into each; the limit is ${MAX_BATCH_EXPANDED_BYTES} bytes per batch: send smaller batches`,
      );
    }
  }
}

/**
 * The batch's context and integrations are copied into every message, so each message would be over
 * the per-message limit if they are: refused at once (413) rather than copied thousands of times.
 */
function checkSharedSize(context: object | undefined, integrations: object | undefined): void {
  const bytes = Buffer.byteLength(JSON.stringify({ context, integrations }), 'utf8');
  if (bytes > MAX_MESSAGE_BYTES) {
    throw payloadTooLarge(`the batch's context and integrations are ${bytes} bytes; every message gets them, and the limit is ${MAX_MESSAGE_BYTES} bytes per message`);
  }
}

/** The write key is a credential: it authenticates the request and goes no further (not on the stream, not in a dead letter). */
function withoutWriteKey(m: unknown): unknown {
  const o = asObject(m);
  if (o === undefined || !('writeKey' in o)) return m;
  const { writeKey: _key, ...rest } = o;
  return rest;
}

/** A message less what an SDK may change when it retries (`sentAt`) and the credential. */
function withoutTransportFields(m: unknown): unknown {
  const o = asObject(m);
  if (o === undefined) return m;
  const { sentAt: _sentAt, writeKey: _key, ...rest } = o;
  return rest;
}

/**
 * Ids derived from a request's content: a SHA-256 of the endpoint kind and the content, then of that
 * digest and the message's position, shaped as a UUID (version 8, "custom", RFC 9562). The same
 * request sent again gives the same ids; two identical messages at two positions, or in two requests
 * that differ anywhere else, do not collide.
 */
function contentIds(kind: string, content: unknown): (index: number) => string {
  const digest = createHash('sha256').update(`${kind}\n`).update(JSON.stringify(content)).digest();
  return (index) => uuidFrom(createHash('sha256').update(digest).update(`#${index}`).digest());
}

function uuidFrom(hash: Buffer): string {
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
