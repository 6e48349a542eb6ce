import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defaultEventPolicy, type EventPolicy } from './policy';

/**
 * The Segment HTTP Tracking API message format (track, identify, page, screen, alias, group),
 * validated at the edge so that existing Segment and RudderStack SDKs can send to the collector
 * unchanged. Unknown fields are kept: the spec lets sources add their own.
 */

/** Segment's documented limits. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
/**
 * The largest record the ingest takes from the stream: a message within the collector's limit plus
 * what the collector adds (ids, times, hashes). A larger record came from another producer; it would
 * not fit the events table, so it is dead-lettered.
 */
export const MAX_STREAM_RECORD_BYTES = MAX_MESSAGE_BYTES + 8 * 1024;

export const MESSAGE_TYPES = ['track', 'identify', 'page', 'screen', 'alias', 'group'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** The instants the engine represents: ISO-8601 years 0001 to 9999 (beyond, dates print as +010000-...). */
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');
const representable = (ms: number): boolean => Number.isFinite(ms) && ms >= FIRST_INSTANT && ms <= LAST_INSTANT;

const isoDate = z
  .string()
  .max(64)
  .refine((s) => representable(Date.parse(s)), { message: 'must be an ISO-8601 date-time between the years 0001 and 9999' });

/** SDKs send ids as strings; some send numeric user ids, which Segment accepts and stringifies. */
const id = z.union([z.string(), z.number().finite()]).transform((v) => String(v));

const record = z.record(z.string(), z.unknown());

const common = {
  messageId: z.string().min(1).max(200).optional(),
  anonymousId: id.optional().nullable(),
  userId: id.optional().nullable(),
  timestamp: isoDate.optional(),
  sentAt: isoDate.optional(),
  originalTimestamp: isoDate.optional(),
  context: record.optional(),
  integrations: record.optional(),
};

const track = z.looseObject({
  ...common,
  type: z.literal('track'),
  event: z.string().min(1, 'must be a non-empty string').max(200),
  properties: record.optional(),
});
const identify = z.looseObject({ ...common, type: z.literal('identify'), traits: record.optional() });
const page = z.looseObject({
  ...common,
  type: z.literal('page'),
  name: z.string().optional().nullable(),
  category: z.string().optional().nullable(),
  properties: record.optional(),
});
const screen = z.looseObject({
  ...common,
  type: z.literal('screen'),
  name: z.string().optional().nullable(),
  properties: record.optional(),
});
const alias = z.looseObject({ ...common, type: z.literal('alias'), previousId: id });
const group = z.looseObject({ ...common, type: z.literal('group'), groupId: id, traits: record.optional() });

const messageSchema = z.discriminatedUnion('type', [track, identify, page, screen, alias, group]);

export type SegmentMessage = z.output<typeof messageSchema>;

/** When the sent timestamp was not trusted: what was sent, and why the receipt time was taken instead. */
export interface TimestampCorrection {
  sent: string;
  reason: string;
}

/** A message as it travels on the stream: always has a messageId, receivedAt and a corrected timestamp. */
export type CollectedEvent = SegmentMessage & {
  messageId: string;
  receivedAt: string;
  timestamp: string;
  timestampCorrection?: TimestampCorrection;
};

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

function describeIssue(issue: z.core.$ZodIssue, prefix: string): string {
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  if (issue.code === 'invalid_union' && 'discriminator' in issue) {
    return `${path ? `${path}.` : ''}type must be one of ${MESSAGE_TYPES.join(', ')}`;
  }
  return `${path || 'message'}: ${issue.message}`;
}

/** Validates one message; the error names the field and, inside a batch, the position. */
export function parseMessage(input: unknown, where = ''): SegmentMessage {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError(`${where || 'message'} must be a JSON object`);
  }
  const typed = input as Record<string, unknown>;
  if (typeof typed.type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(typed.type)) {
    throw new ValidationError(`${where ? `${where}.` : ''}type must be one of ${MESSAGE_TYPES.join(', ')}`);
  }
  const result = messageSchema.safeParse(input);
  if (!result.success) {
    throw new ValidationError(result.error.issues.map((i) => describeIssue(i, where)).join('; '));
  }
  const message = result.data;
  if (!nonEmpty(message.userId) && !nonEmpty(message.anonymousId)) {
    throw new ValidationError(`${where ? `${where}: ` : ''}userId or anonymousId is required`);
  }
  if (message.type === 'alias' && !nonEmpty(message.userId)) {
    throw new ValidationError(`${where ? `${where}: ` : ''}alias needs a userId and a previousId`);
  }
  return message;
}

function nonEmpty(v: string | null | undefined): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

/**
 * Event time is trusted within limits: a timestamp more than the tolerance after receipt, or before
 * the floor, would move every window (a far-future order empties the rolling windows for good), so
 * the receipt time is taken instead, with the reason.
 */
export function trustedTime(timestamp: number, received: number, policy: EventPolicy = defaultEventPolicy()): { at: number; reason?: string } {
  const { futureToleranceMs, earliestMs } = policy.eventTime;
  if (!Number.isFinite(timestamp)) return { at: received, reason: 'not a date' };
  if (timestamp > received + futureToleranceMs) {
    return { at: received, reason: `more than ${futureToleranceMs / 60_000} minutes after receipt` };
  }
  if (timestamp < earliestMs) return { at: received, reason: `before ${new Date(earliestMs).toISOString()}` };
  return { at: timestamp };
}

/**
 * Completes a message as Segment's API does: a messageId if missing, receivedAt, and a timestamp
 * corrected for the device's clock skew (receivedAt - (sentAt - timestamp)) when the SDK sent sentAt;
 * then trusted only within the policy's limits (else the receipt time, noted in timestampCorrection).
 */
export function completeMessage(message: SegmentMessage, receivedAt: Date, newId: () => string = randomUUID, policy: EventPolicy = defaultEventPolicy()): CollectedEvent {
  const received = receivedAt.getTime();
  const original = message.timestamp ?? message.originalTimestamp;
  let timestamp = received;
  if (original !== undefined) {
    timestamp = Date.parse(original);
    if (message.sentAt !== undefined) timestamp = received - (Date.parse(message.sentAt) - timestamp);
  }
  const trusted = trustedTime(timestamp, received, policy);
  // Only the collector notes corrections: a note sent by the client is dropped.
  const { timestampCorrection: _sent, ...fields } = message as SegmentMessage & { timestampCorrection?: unknown };
  return {
    ...fields,
    messageId: message.messageId ?? newId(),
    receivedAt: new Date(received).toISOString(),
    timestamp: new Date(trusted.at).toISOString(),
    ...(trusted.reason !== undefined && original !== undefined ? { timestampCorrection: { sent: original, reason: trusted.reason } } : {}),
  } as CollectedEvent;
}

/**
 * The stream partition key: the device-level identity first, so one device's events stay in order on
 * one shard even across login (an identify carries both ids).
 */
export function partitionKeyOf(message: SegmentMessage): string {
  const key = nonEmpty(message.anonymousId) ? message.anonymousId : (message.userId as string);
  return key.slice(0, 256);
}

/**
 * Validates a stored/streamed event (ingest side): the same schema plus the fields the collector adds,
 * and the same trust in event time relative to receipt (for records from any other producer). Receipt
 * itself is trusted only up to the ingest's clock (`now`): the collector received every record before
 * the ingest reads it, so a later receivedAt was set by someone else.
 */
export function parseCollectedEvent(input: unknown, policy: EventPolicy = defaultEventPolicy(), now: Date = new Date()): CollectedEvent {
  const message = parseMessage(input);
  const raw = input as Record<string, unknown>;
  if (typeof raw.messageId !== 'string' || raw.messageId === '') throw new ValidationError('messageId is required on the stream');
  const receivedAt = typeof raw.receivedAt === 'string' ? raw.receivedAt : '';
  const claimed = Date.parse(receivedAt);
  if (!representable(claimed)) throw new ValidationError('receivedAt must be an ISO-8601 date-time between the years 0001 and 9999');
  if (typeof raw.timestamp !== 'string') throw new ValidationError('timestamp is required on the stream');
  const received = Math.min(claimed, now.getTime());
  const sent = Date.parse(raw.timestamp);
  const trusted = trustedTime(sent, received, policy);
  const earlier = asCorrection(raw.timestampCorrection);
  return {
    ...message,
    messageId: raw.messageId,
    receivedAt: iso(receivedAt, claimed, received),
    timestamp: iso(raw.timestamp, sent, trusted.at),
    ...(trusted.reason !== undefined ? { timestampCorrection: { sent: raw.timestamp.slice(0, 64), reason: trusted.reason } } : earlier ? { timestampCorrection: earlier } : {}),
  } as CollectedEvent;
}

/** An instant in the canonical ISO form: the text as given when it already is that instant in that form. */
function iso(text: string, parsed: number, instant: number): string {
  return parsed === instant && text.length === 24 && text.endsWith('Z') && text[10] === 'T' ? text : new Date(instant).toISOString();
}

function asCorrection(v: unknown): TimestampCorrection | undefined {
  const c = v as Partial<TimestampCorrection> | undefined;
  return typeof c?.sent === 'string' && typeof c.reason === 'string' ? { sent: c.sent.slice(0, 64), reason: c.reason.slice(0, 200) } : undefined;
}
