import { createHash } from 'node:crypto';
import { identifierKey, storedIdentifier } from '../events/identifiers';
import { NAMESPACES, type Namespace } from '../identity/rules';
import type { DeadLetter, DeadLetterStore, IndexedDeadLetter } from '../store/ports';

/**
 * A person's dead letters, found by the identifiers they carry. Anyone with the public write key can
 * fill the dead-letter table (2,500 letters a request, kept 14 days), so an export or erasure must not
 * read the table to find hers: each letter is written with the salted hashes of the identifier keys
 * it carries (computed once, when it is written), the store keeps an index entry per hash, and the
 * search looks up her keys' hashes and reads only the letters found.
 */

/**
 * A letter is indexed under at most this many identifiers: what its own sender's fields name first
 * (userId, anonymousId, previousId, the device id, hashed e-mails and phones among its traits: six at
 * most), then what it nests elsewhere, in the order found. A letter made to carry more is not found
 * under the rest. Each costs a write with the letter: a request's letters cost at most 11 writes each.
 */
export const MAX_LETTER_IDENTIFIERS = 10;

/**
 * An export shows at most this many of her letters (beyond, it says `truncated`); an erasure removes
 * all of them, this many at a time. Bounded because a write-key holder can make letters name her.
 */
export const MAX_PERSON_LETTERS = 1_000;

/**
 * One erasure call removes at most this many of her letters; if more remain it says so
 * (`deadLettersRemaining`), and erasing again goes on from there. A count, not a timer, so that what
 * one call costs does not depend on what anyone sent. Why 2,000: removing a letter costs at most
 * 1 + MAX_LETTER_IDENTIFIERS deletes and its share of a look-up; a hostile review timed 20,000 letters
 * at 28 s on the embedded stack (about 1.4 ms each), so 2,000 cost about 3 s there, a tenth of the
 * privacy function's 29 s timeout (cdk/constructs/http-api.ts), the rest left for her profile, events
 * and links. On AWS they are at most 22,000 deletes, 880 batch writes, 8 at a time. Two searches of
 * MAX_PERSON_LETTERS, and fewer than one /v1/batch of refused messages (2,500), so a write-key holder
 * can make her erasure take a few calls, never make one call run out of time.
 */
export const MAX_LETTERS_PER_ERASURE = 2 * MAX_PERSON_LETTERS;

/**
 * An erasure record keeps at most this many letter-index hashes (about 67 KB of its item, which
 * DynamoDB caps at 400 KB), so that erasing again can go on removing her letters. The shipped identity
 * rules allow 81 identifiers a person; only limits raised far beyond them reach this one, and then the
 * identifiers a sender names most (userId, e-mail, phone, then devices) are kept first.
 */
export const MAX_RECORDED_LETTER_HASHES = 1_000;

/**
 * The salted hash a letter is indexed under for an identifier key: never the identifier, and not the
 * suppression's hash of it. A hashed value (an e-mail's or phone's, 64 hex digits) is one entry
 * whatever namespace it is read in: a letter's `sha256:<hex>` may stand for an e-mail, a phone or an
 * id that held an address, and is found by any of her keys with that value.
 */
export function letterIndexHash(key: string, salt: string): string {
  const value = key.slice(key.indexOf(':') + 1);
  const entry = HEX64.test(value) ? `hashed:${value}` : key;
  return createHash('sha256').update(`${salt}\u0000dead-letter\u0000${entry}`).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The letter with the hashes of the identifiers it carries (at most MAX_LETTER_IDENTIFIERS), as the store indexes it. */
export function indexedLetter(letter: DeadLetter, salt: string): IndexedDeadLetter {
  const hashes = [...new Set(identifiersIn(letter.data, salt).map((k) => letterIndexHash(k, salt)))];
  return { ...letter, identifierHashes: hashes.slice(0, MAX_LETTER_IDENTIFIERS) };
}

/**
 * The hashes her letters are indexed under, one per identifier key (a hashed value once), in the
 * order of NAMESPACES (userId, e-mail, phone, device, anonymousId), at most `limit`.
 */
export function letterHashesOf(keys: string[], salt: string, limit = Number.POSITIVE_INFINITY): string[] {
  const rank = (key: string) => NAMESPACES.indexOf(key.slice(0, key.indexOf(':')) as Namespace);
  const ordered = [...keys].sort((a, b) => rank(a) - rank(b));
  return [...new Set(ordered.map((k) => letterIndexHash(k, salt)))].slice(0, limit);
}

/**
 * Dead letters that carry one of these identifier keys in an identifier's place: a userId,
 * anonymousId, previousId or device id equal to one of hers, or a hashed e-mail or phone (letters keep
 * personal data only hashed) equal to one of hers. Not a substring match: an order number that happens
 * to equal her userId is not hers. Found through the index, at most `limit`.
 */
export async function lettersCarrying(store: Pick<DeadLetterStore, 'carrying'>, keys: string[], salt: string, limit = MAX_PERSON_LETTERS): Promise<DeadLetter[]> {
  if (keys.length === 0) return [];
  return store.carrying([...new Set(keys.map((k) => letterIndexHash(k, salt)))], limit);
}

/**
 * Removes letters indexed under these hashes (letterHashesOf), with their index entries: at most
 * `budget` of them (MAX_LETTERS_PER_ERASURE). Those already found (`known`, her holdings') first, then
 * what the index still finds, MAX_PERSON_LETTERS at a time, each search asking for one more than it
 * removes so that it knows whether any remain without another look-up. How many were removed, and
 * whether letters remain beyond the budget (erasing again goes on).
 */
export async function removeLettersIndexedUnder(
  store: Pick<DeadLetterStore, 'carrying' | 'remove'>,
  hashes: string[],
  budget = MAX_LETTERS_PER_ERASURE,
  known: DeadLetter[] = [],
): Promise<{ removed: number; remaining: boolean }> {
  const first = known.slice(0, Math.max(0, budget));
  if (first.length > 0) await store.remove(first.map((l) => l.id));
  let removed = first.length;
  if (known.length > first.length) return { removed, remaining: true };
  if (hashes.length === 0) return { removed, remaining: false };
  for (;;) {
    const page = Math.min(MAX_PERSON_LETTERS, budget - removed);
    if (page <= 0) return { removed, remaining: (await store.carrying(hashes, 1)).length > 0 };
    const found = await store.carrying(hashes, page + 1);
    const now = found.slice(0, page);
    if (now.length > 0) await store.remove(now.map((l) => l.id));
    removed += now.length;
    if (found.length <= page) return { removed, remaining: false };
    if (removed >= budget) return { removed, remaining: true };
  }
}

const HASH = /^sha256:([0-9a-f]{64})$/;

/**
 * The identifier keys a letter's data holds, wherever it nests them (the ingest keeps base64 of JSON,
 * the collector JSON), in the form the ingest stores them (trimmed, numbers as text, long ones
 * hashed): first those in the message's own places (its userId, anonymousId and previousId, its
 * device id, its traits and context traits), then the others, each in the order found.
 */
export function identifiersIn(data: string, salt: string): string[] {
  let value: unknown;
  // JSON text first when it cannot be base64 (which has no braces or quotes): a failed parse costs far more than the check.
  const decoded = Buffer.from(data, 'base64').toString('utf8');
  for (const text of /^\s*[{["]/.test(data) ? [data, decoded] : [decoded, data]) {
    try {
      value = JSON.parse(text);
      break;
    } catch {
      // not this encoding
    }
  }
  const own = new Set<string>();
  const nested = new Set<string>();
  const stack: Array<[unknown, string[]]> = [[value, []]];
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string[]];
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, value] of Object.entries(v)) {
      const child = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      const at = [...path, k];
      if (typeof child !== 'string') {
        stack.push([child, at]);
        continue;
      }
      const out = ownPlace(at) ? own : nested;
      const stored = (ns: Namespace) => out.add(identifierKey(storedIdentifier(ns, child.trim(), salt, { trustHashed: true })));
      if (k === 'userId') stored('userId');
      if (k === 'anonymousId' || k === 'previousId') stored('anonymousId');
      if (k === 'id' && path[path.length - 1] === 'device') stored('deviceId');
      // A hashed e-mail or phone, or an id that held an e-mail address (hashed like one).
      const hashed = HASH.exec(child);
      if (hashed) for (const ns of ['email', 'phone', 'userId', 'anonymousId', 'deviceId']) out.add(`${ns}:${hashed[1]}`);
    }
  }
  return [...own, ...[...nested].filter((k) => !own.has(k))];
}

/** Where a message names its own sender (the Segment spec's places), as opposed to anything nested elsewhere. */
function ownPlace(path: string[]): boolean {
  const p = path.join('.');
  if (path.length === 1) return p === 'userId' || p === 'anonymousId' || p === 'previousId';
  if (p === 'context.device.id') return true;
  return (path.length === 2 && path[0] === 'traits') || (path.length === 3 && path[0] === 'context' && path[1] === 'traits');
}
