import { badRequest, HttpError, serviceUnavailable } from '../http/errors';
import { cutText, MAX_DEAD_LETTER_DATA_BYTES } from '../events/letters';
import { REDACTED_WITH, redactForDeadLetter, redactionSeal, redactPersonalData } from '../events/personal';
import type { EventPolicy } from '../events/policy';
import { defaultIdentityRules, type IdentityRules } from '../identity/rules';
import { contactAddresses, extractIdentifiers, identifierKey, parseIdentifierKey, type Identifier } from '../events/identifiers';
import { messageMoment, suppressionVerdict } from '../privacy/suppression';
import { maskAddress, type AddressSealer } from '../campaign/addresses';
import { completeMessage, MAX_MESSAGE_BYTES, parseMessage, partitionKeyOf, ValidationError, type CollectedEvent } from '../events/segment';
import { identifiersIn, indexedLetter } from '../privacy/letters';
import type { ContactStore, DeadLetterStore, IndexedDeadLetter } from '../store/ports';
import { packBySize } from '../store/packing';
import { MAX_BATCH_MESSAGES, type CollectRequest, type SentMessage } from './request';
import { UNKNOWN_ORIGIN, withTrustedNetwork } from './network';

/**
 * The collector: validates each message of a request on its own, puts the valid ones on the event
 * stream and, in a batch, dead-letters each invalid one with its position and reason, as Segment's
 * HTTP API does (a batch keeps its good messages when some are bad). A single-message endpoint
 * answers 400 for an invalid message instead: there is nothing else to keep, and the client learns why.
 */

/** Where accepted events go: the Kinesis stream in every environment. */
export interface EventStream {
  /** Puts records; returns the indexes of the entries that failed (a partial failure), empty when all went in. */
  putRecords(records: Array<{ data: string; partitionKey: string }>): Promise<number[]>;
}

/** A message the collector did not accept: its position in the batch and why (naming the position and field). */
export interface Rejection {
  index: number;
  reason: string;
}

export interface Validation {
  events: CollectedEvent[];
  /** The contact addresses the accepted messages give about their senders (when asked for), in clear: sealed before they are stored. */
  addresses: Array<{ key: string; kind: 'email' | 'phone'; value: string; from?: MessageIdentity }>;
  rejected: Array<Rejection & Pick<SentMessage, 'sent' | 'contentId'>>;
  /** Errors other than a ValidationError met while validating a message (each rejected its message): for the log. */
  unexpected: unknown[];
}

/** Who a message names and when it is from: what a suppression needs to judge it (lib/privacy/suppression.ts). */
export interface MessageIdentity {
  ids: Identifier[];
  moment: number;
}

export interface CollectResult {
  accepted: number;
  rejected: Rejection[];
  unexpected: unknown[];
}

/**
 * What the collector needs to keep personal data off the stream and out of dead letters: the policy
 * (config/events.json) and the identity salt, so hashed e-mails and phones still match identifiers.
 */
export interface Privacy {
  salt: string;
  personalData: EventPolicy['personalData'];
  /**
   * Which e-mail addresses and phone numbers identify nobody (placeholders, the blocklist): the
   * collector removes them while it still has them in clear, as the ingest would only see their hash.
   * The shipped rules (config/identity.json) by default.
   */
  identity?: IdentityRules;
}

export { MAX_DEAD_LETTER_DATA_BYTES };

/** Kinesis PutRecords takes at most 500 records and 5 MiB (data and partition keys) per call. */
const MAX_PUT_RECORDS = 500;
const MAX_PUT_BYTES = 5 * 1024 * 1024;
const MAX_PUT_ATTEMPTS = 6;

/**
 * Validates every message on its own and completes the valid ones (messageId, receivedAt,
 * skew-corrected timestamp, the network its request's origin vouches for: lib/collect/network.ts), without their personal data (hashed or removed as the policy says,
 * before anything is put on the stream). Nothing one message carries fails the others: a
 * ValidationError is that message's reason, and any other exception is contained the same way (and
 * reported as unexpected).
 */
export function validateMessages(request: Pick<CollectRequest, 'batch' | 'messages' | 'origin'>, receivedAt: Date, privacy: Privacy, withAddresses = false): Validation {
  const validation: Validation = { events: [], addresses: [], rejected: [], unexpected: [] };
  for (const sent of request.messages) {
    const where = request.batch ? `batch[${sent.index}]` : '';
    try {
      const valid = withTrustedNetwork(validateMessage(sent, where, receivedAt), request.origin ?? UNKNOWN_ORIGIN);
      const addresses = withAddresses ? contactAddresses(valid, privacy.identity ?? defaultIdentityRules(), privacy.salt) : [];
      const redacted = redactPersonalData(valid, privacy.personalData, privacy.salt, { identity: privacy.identity });
      if (addresses.length > 0) {
        const from = { ids: extractIdentifiers(redacted, privacy.identity ?? defaultIdentityRules(), privacy.salt), moment: messageMoment(redacted) };
        validation.addresses.push(...addresses.map((a) => ({ ...a, from })));
      }
      validation.events.push({ ...redacted, [REDACTED_WITH]: redactionSeal(redacted.messageId, privacy.personalData, privacy.salt, privacy.identity) });
    } catch (e) {
      validation.rejected.push({ index: sent.index, reason: reasonOf(e, where), sent: sent.sent, contentId: sent.contentId });
      if (!(e instanceof ValidationError)) validation.unexpected.push(e);
    }
  }
  return validation;
}

/**
 * Events only the engine writes, straight onto the stream (`publish`): a decision's `Decision Made`
 * (with the offers a holdout decision withheld), a campaign's `Message Sent` and `Message Held Out`.
 * The nightly job reads them as who was offered what and who was held out (the uplift's arms), and the
 * contact ledger counts a send; the write key is public, so a message sent with it under one of these
 * names would forge them. The collector refuses them, from any write key.
 */
export const ENGINE_RECORDS: ReadonlySet<string> = new Set(['Decision Made', 'Message Sent', 'Message Held Out']);

function validateMessage(sent: SentMessage, where: string, receivedAt: Date): CollectedEvent {
  const size = Buffer.byteLength(JSON.stringify(sent.message) ?? '', 'utf8');
  if (size > MAX_MESSAGE_BYTES) throw new ValidationError(`${where || 'message'} is ${size} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes per message`);
  const event = completeMessage(parseMessage(sent.message, where), receivedAt, () => sent.contentId);
  if (event.type === 'track' && ENGINE_RECORDS.has(event.event ?? '')) {
    throw new ValidationError(`${where ? `${where}.` : ''}event: "${event.event}" is the engine's own record (decisions and campaigns write it); a write key cannot send it`);
  }
  return event;
}

/** The reason a message was rejected, always naming its position in a batch (completeMessage's errors do not know it). */
function reasonOf(error: unknown, where: string): string {
  if (error instanceof ValidationError) return where === '' || error.message.startsWith(where) ? error.message : `${where}: ${error.message}`;
  const detail = error instanceof Error ? error.message : String(error);
  return `${where || 'message'}: could not be validated (${detail.slice(0, 200)})`;
}

/**
 * What a collector dead letter keeps of a rejected message: its JSON without personal data, cut at
 * MAX_DEAD_LETTER_DATA_BYTES (whole characters, with a note of the full size). A message is often
 * rejected for its shape (traits sent as a list, a context that is not an object): those parts are
 * redacted too, as hard as their shape allows (lib/events/personal.ts redactForDeadLetter).
 */
export function deadLetterData(message: unknown, privacy: Privacy): string {
  return cutText(JSON.stringify(redactForDeadLetter(message, privacy.personalData, privacy.salt, { identity: privacy.identity })) ?? 'null');
}

/**
 * One dead letter per rejected message; its id derives from the request's content, so a retried
 * request rewrites it. Indexed under the hashes of the identifiers it carries (lib/privacy/letters.ts),
 * so her export and erasure find it without reading the table.
 */
function deadLettersOf(rejected: Validation['rejected'], receivedAt: Date, privacy: Privacy): IndexedDeadLetter[] {
  return rejected.map((r) =>
    indexedLetter({ id: `collect#${r.contentId}`, reason: r.reason, source: 'collect', data: deadLetterData(r.sent, privacy), at: receivedAt.toISOString() }, privacy.salt),
  );
}

/**
 * Dead-letters the rejected messages. A refused message that names an identifier of a person erased at
 * her request (a replay of hers the collector refuses) keeps no data, only its reason: refused, it is
 * no accepted event, and its letter must not keep her identifiers (the ingest's letters for her
 * messages keep nothing either). One suppression look-up for the request's letters.
 */
async function deadLetterRejected(sinks: { deadLetters: Pick<DeadLetterStore, 'put'>; suppressions?: Suppressions }, rejected: Validation['rejected'], receivedAt: Date, privacy: Privacy): Promise<void> {
  let letters = deadLettersOf(rejected, receivedAt, privacy);
  if (letters.length > 0 && sinks.suppressions) {
    const carried = letters.map((l) => identifiersIn(l.data, privacy.salt));
    let found: ReadonlyMap<string, string>;
    try {
      found = await sinks.suppressions([...new Set(carried.flat())]);
    } catch (e) {
      throw serviceUnavailable(`could not record ${letters.length} rejected message(s); retry the request`, e);
    }
    letters = letters.map((l, i) =>
      carried[i]?.some((k) => found.has(k)) ? { ...l, data: '', identifierHashes: [], reason: `${l.reason} (not kept: it names an identifier of a person erased at her request)` } : l,
    );
  }
  await deadLetter(sinks.deadLetters, letters);
}

/**
 * Collects a parsed request: validates, then puts the valid messages on the stream and dead-letters
 * the invalid ones, both before answering. Throws 400 for an invalid message on a single-message
 * endpoint, and 503 if the stream or the dead-letter store fails, so the SDK retries the request
 * rather than be told that messages were taken which went nowhere (the retry has the same messageIds
 * and dead-letter ids, and the ingest skips messageIds it already has).
 */
export async function collect(
  request: CollectRequest,
  receivedAt: Date,
  sinks: { stream: EventStream; deadLetters: Pick<DeadLetterStore, 'put'>; contacts?: ContactSink; suppressions?: Suppressions },
  privacy: Privacy,
): Promise<CollectResult> {
  const { events, addresses, rejected, unexpected } = validateMessages(request, receivedAt, privacy, sinks.contacts !== undefined);
  if (!request.batch && rejected.length > 0) {
    const problems = rejected.map((r) => r.reason);
    throw badRequest(problems.join('; '), { problems });
  }
  await allOrFirstFailure([
    publish(sinks.stream, events),
    deadLetterRejected(sinks, rejected, receivedAt, privacy),
    ...(sinks.contacts && addresses.length > 0 ? [sealAddresses(sinks.contacts, sinks.suppressions, addresses, receivedAt)] : []),
  ]);
  return { accepted: events.length, rejected: rejected.map(({ index, reason }) => ({ index, reason })), unexpected };
}

/** Waits for every step to finish (none is left running behind the answer), then throws the first failure. */
async function allOrFirstFailure(steps: Array<Promise<void>>): Promise<void> {
  const failure = (await Promise.allSettled(steps)).find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/** Where the collector keeps contact addresses: sealed, never for an identifier erased at the person's request. */
export interface ContactSink {
  sealer: AddressSealer;
  store: Pick<ContactStore, 'put'>;
}

/**
 * The suppressed identifiers among these keys, each with when it was suppressed (lib/privacy/): an
 * erased person's address is not kept again, nor her identifiers in a dead letter, as the ingest
 * holds back her messages (lib/privacy/suppression.ts).
 */
export type Suppressions = (keys: string[]) => Promise<ReadonlyMap<string, string>>;

/**
 * Which of these messages a suppression holds back what they say of someone: a message whose
 * identifiers the suppression rule would drop or take out. Looked up in two waves, both small: the
 * keys asked about first, then, only for messages where one of those is suppressed, the rest of their
 * identifiers (a userId of hers drops the message, another customer's takes the identifier over).
 */
async function heldBack(suppressions: Suppressions, messages: Array<{ keys: string[]; from: MessageIdentity }>): Promise<boolean[]> {
  const first = await suppressions([...new Set(messages.flatMap((m) => m.keys))]);
  if (first.size === 0) return messages.map(() => false);
  const touched = messages.filter((m) => m.keys.some((k) => first.has(k)));
  const rest = [...new Set(touched.flatMap((m) => m.from.ids.map(identifierKey)))].filter((k) => !first.has(k));
  const all = new Map([...first, ...(rest.length > 0 ? await suppressions(rest) : [])]);
  return messages.map((m) => {
    if (!m.keys.some((k) => all.has(k))) return false;
    const verdict = suppressionVerdict(m.from.ids, all, m.from.moment);
    return verdict.drop || verdict.strip.some((k) => m.keys.includes(k));
  });
}

/**
 * The most distinct addresses one request keeps: one e-mail address and one phone number per message
 * of the largest batch. A message may name several (traits spelled `email`, `Email`, `e_mail`...),
 * so without a bound one request of the public write key could ask for tens of thousands of seals
 * and writes. Past it, the request's further addresses are not kept (its messages still are).
 */
export const MAX_ADDRESSES_PER_REQUEST = 2 * MAX_BATCH_MESSAGES;

/**
 * Seals the addresses (lib/campaign/addresses.ts), each with its coarse mask, and stores them under
 * their identifier keys: the latest sealing replaces the one kept (the same identifier is the same
 * address); an identifier erased at the person's request keeps none. One suppression look-up for the
 * request, one batched write (lib/store: 25 to a request, several in flight), at most
 * MAX_ADDRESSES_PER_REQUEST addresses. A failure is a 503, so the SDK retries the request (the ingest
 * skips the messageIds it already has, and sealing again is harmless).
 */
async function sealAddresses(contacts: ContactSink, suppressions: Suppressions | undefined, addresses: Validation['addresses'], receivedAt: Date): Promise<void> {
  try {
    const at = receivedAt.toISOString();
    const distinct = [...new Map(addresses.map((a) => [a.key, a])).values()].slice(0, MAX_ADDRESSES_PER_REQUEST);
    // Sealed while the suppressions are looked up (both finished before going on): an address the
    // suppression rule holds back (hers, from before her erasure or given by nobody else) is dropped
    // unstored; one a customer gives with her own userId after the erasure is hers.
    const looking = suppressions ? heldBack(suppressions, distinct.map((a) => ({ keys: [a.key], from: a.from ?? { ids: [parseIdentifierKey(a.key)], moment: receivedAt.getTime() } }))) : Promise.resolve(distinct.map(() => false));
    const sealing = Promise.all(distinct.map(async (a) => ({ key: a.key, sealed: await contacts.sealer.seal(a.value, a.key), mask: maskAddress(a.kind, a.value), at })));
    await Promise.allSettled([looking, sealing]);
    const held = await looking;
    const kept = (await sealing).filter((_e, i) => !held[i]);
    if (kept.length > 0) await contacts.store.put(kept);
  } catch (e) {
    throw serviceUnavailable(`could not keep ${addresses.length} contact address(es); retry the request`, e);
  }
}

async function deadLetter(store: Pick<DeadLetterStore, 'put'>, letters: IndexedDeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  try {
    await store.put(letters);
  } catch (e) {
    throw serviceUnavailable(`could not record ${letters.length} rejected message(s); retry the request`, e);
  }
}

const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(800, 25 * 2 ** attempt) * (0.5 + Math.random() / 2)));

/**
 * Puts events on the stream, retrying only the entries that failed in a partial failure (throttling
 * of one shard must not resend what already went in). Throws 503 if entries are still failing after
 * the retries, so the SDK retries the request (ingest dedupes by messageId).
 */
export async function publish(stream: EventStream, events: CollectedEvent[]): Promise<void> {
  for (const chunk of putRecordsChunks(events.map((e) => ({ data: JSON.stringify(e), partitionKey: partitionKeyOf(e) })))) {
    let pending = chunk;
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

type StreamRecord = { data: string; partitionKey: string };

/**
 * Records in order, in calls within PutRecords' limits: a batch's shared context is copied into each
 * of its messages, so 500 KB sent can be many megabytes on the stream.
 */
function putRecordsChunks(records: StreamRecord[]): StreamRecord[][] {
  return packBySize(records, (r) => Buffer.byteLength(r.data, 'utf8') + Buffer.byteLength(r.partitionKey, 'utf8'), MAX_PUT_RECORDS, MAX_PUT_BYTES);
}
