import { asObject } from '../events/json';
import { canonicalKey } from '../events/policy';
import { extractIdentifiers, identifierKey, type Identifier } from '../events/identifiers';
import type { IdentityRules } from '../identity/rules';
import type { CollectedEvent } from '../events/segment';

/**
 * What a suppression means for one message: the rule the ingest and the collector share.
 *
 * An erasure suppresses every identifier the person was known by. Only one of them is verified as
 * hers: the userId (the privacy officer erased the customer account it names). The others (devices,
 * cookies, e-mail addresses, phone numbers) may have been shared (a family tablet) or claimed by
 * somebody else (anyone with the public write key can send `identify` with any address). So:
 *
 * - **Her userId** suppresses the whole message, whenever it comes: her own authenticated messages
 *   are her data (as Segment's suppression of a userId).
 * - **Any other suppressed identifier** is taken out of the message, and the rest of the message is
 *   kept, when the message is from before the erasure (her data, replayed or late) or names no other
 *   customer. A message from after the erasure that carries a customer's userId (not suppressed) is
 *   that customer's: the identifier is released to them (Ben, who logs in on the tablet Ann used; the
 *   woman whose address Mallory claimed and then had erased).
 *
 * When a message is from is the earlier of when the collector received it and when its event happened
 * (its timestamp, as the collector corrected it): a replay through the collector is received anew but
 * happened before; a redrive from the archive keeps its receipt. A client that stamps its message in
 * the past only makes the rule stricter for its own message.
 * - A message left with no identifier is dropped (dead-lettered, keeping nothing of it).
 */
export interface SuppressionVerdict {
  /** The message is dropped whole: it carries a suppressed userId, or nothing is left once suppressed identifiers are out. */
  drop: boolean;
  /** The identifier keys taken out of the message. */
  strip: string[];
  /** Suppressed identifier keys the message keeps: released to the customer whose userId it carries. */
  release: string[];
}

/** When a message is from, for suppressions: the earlier of its receipt and its (corrected) event time, in ms. */
export function messageMoment(event: Pick<CollectedEvent, 'receivedAt' | 'timestamp'>): number {
  const times = [Date.parse(event.receivedAt), Date.parse(event.timestamp)].filter(Number.isFinite);
  return times.length === 0 ? Number.NaN : Math.min(...times);
}

/**
 * The verdict for a message's identifiers, given the suppressions among them (identifier key -> when
 * it was suppressed) and when the message is from (`messageMoment`).
 */
export function suppressionVerdict(ids: Identifier[], suppressedAt: ReadonlyMap<string, string>, moment: number): SuppressionVerdict {
  const verdict: SuppressionVerdict = { drop: false, strip: [], release: [] };
  const keys = ids.map(identifierKey);
  const suppressed = keys.filter((k) => suppressedAt.has(k));
  if (suppressed.length === 0) return verdict;
  if (ids.some((id) => id.ns === 'userId' && suppressedAt.has(identifierKey(id)))) return { ...verdict, drop: true };
  const authenticated = ids.some((id) => id.ns === 'userId');
  for (const key of suppressed) {
    const after = Number.isFinite(moment) && moment > Date.parse(suppressedAt.get(key) as string);
    (after && authenticated ? verdict.release : verdict.strip).push(key);
  }
  verdict.drop = verdict.strip.length === keys.length;
  return verdict;
}

/**
 * The event without the identifiers named: each field that holds one (userId, anonymousId, an
 * alias's previousId, context.device.id, an e-mail or phone trait) is removed, so nothing stored
 * with the event (its journey, a split's rebuild) can link it back. The event is copied, not changed.
 */
export function withoutIdentifiers(event: CollectedEvent, keys: ReadonlySet<string>, rules: IdentityRules, salt: string): CollectedEvent {
  const names = (e: CollectedEvent) => new Set(extractIdentifiers(e, rules, salt).map(identifierKey));
  const holds = (probe: Partial<CollectedEvent>) => [...names({ ...probe, type: event.type } as CollectedEvent)].some((k) => keys.has(k));
  const out = structuredClone(event) as CollectedEvent & Record<string, unknown>;
  if (out.userId !== undefined && holds({ userId: out.userId })) delete out.userId;
  if (out.anonymousId !== undefined && holds({ anonymousId: out.anonymousId })) delete out.anonymousId;
  if (out.type === 'alias' && out.previousId !== undefined && holds({ anonymousId: out.previousId } as Partial<CollectedEvent>)) delete (out as Record<string, unknown>).previousId;
  const context = asObject(out.context);
  const device = asObject(context?.device);
  if (device?.id !== undefined && holds({ context: { device: { id: device.id } } } as Partial<CollectedEvent>)) delete device.id;
  for (const traits of [asObject(context?.traits), out.type === 'identify' ? asObject(out.traits) : undefined]) {
    for (const [name, value] of Object.entries(traits ?? {})) {
      const ns = canonicalKey(name);
      if ((ns === 'email' || ns === 'phone') && holds({ context: { traits: { [name]: value } } } as Partial<CollectedEvent>)) delete (traits as Record<string, unknown>)[name];
    }
  }
  return out;
}
