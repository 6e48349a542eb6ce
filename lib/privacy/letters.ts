import { createHash } from 'node:crypto';
import { identifierKey, storedIdentifier } from '../events/identifiers';
import type { Namespace } from '../identity/rules';
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
 * Removes every letter that carries one of these keys, with its index entries: those already found
 * (`known`), then what the index still finds, MAX_PERSON_LETTERS at a time, until it finds none.
 * How many were removed.
 */
export async function removeLettersCarrying(store: Pick<DeadLetterStore, 'carrying' | 'remove'>, keys: string[], salt: string, known: DeadLetter[] = []): Promise<number> {
  let removed = 0;
  let found = known;
  for (;;) {
    if (found.length > 0) await store.remove(found.map((l) => l.id));
    removed += found.length;
    found = await lettersCarrying(store, keys, salt);
    if (found.length === 0) return removed;
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
