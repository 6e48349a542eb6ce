import { identifierKey, type Identifier } from '../events/identifiers';
import type { Profile } from './profile';

/**
 * When one of her e-mail addresses or phone numbers became hers, which is what decides the address a
 * campaign message goes to (lib/campaign/addresses.ts rankAddresses). Not when anyone first sent the
 * address: anyone holding the public write key can seal an address anonymously first, and name it
 * beside her userId later. Times are the collector's receipt times (server time), never the client's
 * `timestamp`, so no sender can date an address back.
 */
export interface AddressAttachment {
  /** The receipt time of the first message that carried it for her (her profile or one merged into it). */
  at: string;
  /** The earliest receipt time of a message that carried it with her userId: given while logged in. */
  loggedInAt?: string;
}

/**
 * Her attachments by identifier key (`email:<hash>`, `phone:<hash>`): only for identifiers her profile
 * holds, so they are bounded by the per-namespace limits of her identities.
 */
export type AttachedAddresses = Record<string, AddressAttachment>;

/**
 * Per kind, the first address she gave while logged in: the earliest receipt time at which a message
 * with her userId carried an address of that kind, and which (its identifier key). Kept whether or not
 * the identifier is still linked to her: another customer's login may take the link (anyone with the
 * write key can name her address beside another userId), and her messages still go to the address
 * she gave, never to one named beside her userId later nor to one attached without her login.
 */
export type GivenLoggedIn = Partial<Record<'email' | 'phone', { at: string; key: string }>>;

/** The first of two givings (the earlier; at the same moment the smaller key): a merge in any order agrees. */
const firstGiven = (a: { at: string; key: string } | undefined, b: { at: string; key: string } | undefined) =>
  a === undefined || typeof a !== 'object' ? b : b === undefined || typeof b !== 'object' ? a : a.at < b.at || (a.at === b.at && a.key <= b.key) ? a : b;

const ADDRESS_NAMESPACES = new Set(['email', 'phone']);

const earliest = (a: string | undefined, b: string | undefined): string | undefined => (a === undefined ? b : b === undefined ? a : a < b ? a : b);

const holds = (p: Pick<Profile, 'identities'>, id: Identifier): boolean => (p.identities[id.ns] ?? []).includes(id.value);

/** The same attachments, keys in order: one state always serialises one way, whatever order merges came in. */
function sorted(addresses: AttachedAddresses): AttachedAddresses {
  return Object.fromEntries(Object.entries(addresses).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function attach(addresses: AttachedAddresses, key: string, a: AddressAttachment): void {
  const was = Object.hasOwn(addresses, key) ? addresses[key] : undefined;
  const loggedInAt = earliest(was?.loggedInAt, a.loggedInAt);
  addresses[key] = { at: earliest(was?.at, a.at) as string, ...(loggedInAt !== undefined ? { loggedInAt } : {}) };
}

/**
 * Records what one folded message says about her addresses: each e-mail or phone identifier it
 * carries that her profile holds was hers at `receivedAt` at the latest, and given while logged in if
 * the message also carried her userId. The earliest of each is kept, so folding a message again
 * (a redelivery) changes nothing. Mutates `p`.
 */
export function attachAddresses(p: Profile, ids: Identifier[], receivedAt: string): void {
  const loggedIn = ids.some((id) => id.ns === 'userId' && holds(p, id));
  const named = ids.filter((id) => ADDRESS_NAMESPACES.has(id.ns));
  if (loggedIn && named.length > 0) {
    const given = { ...p.addressGivenLoggedIn };
    for (const id of named) given[id.ns as 'email' | 'phone'] = firstGiven(given[id.ns as 'email' | 'phone'], { at: receivedAt, key: identifierKey(id) });
    p.addressGivenLoggedIn = given;
  }
  const carried = named.filter((id) => holds(p, id));
  if (carried.length === 0) return;
  const addresses = { ...p.addresses };
  for (const id of carried) attach(addresses, identifierKey(id), { at: receivedAt, ...(loggedIn ? { loggedInAt: receivedAt } : {}) });
  p.addresses = sorted(addresses);
}

/**
 * Her attachments restricted to the identifiers she holds (one that moved to another profile, or was
 * split off, takes its attachment with it no further): what the fold keeps after resolution.
 */
export function heldAddresses(addresses: AttachedAddresses | undefined, identities: Profile['identities']): Pick<Profile, 'addresses'> {
  const kept = Object.entries(addresses ?? {}).filter(([key]) => {
    const at = key.indexOf(':');
    const ns = key.slice(0, at) as Identifier['ns'];
    return ADDRESS_NAMESPACES.has(ns) && (identities[ns] ?? []).includes(key.slice(at + 1));
  });
  return kept.length === 0 ? {} : { addresses: Object.fromEntries(kept) };
}

/** Drops the attachments of identifiers the profile no longer holds. Mutates `p`. */
export function keepHeldAddresses(p: Profile): void {
  const { addresses } = heldAddresses(p.addresses, p.identities);
  if (addresses === undefined) delete p.addresses;
  else p.addresses = addresses;
}

type Attached = Pick<Profile, 'addresses' | 'addressGivenLoggedIn'>;

/** Two profiles' attachments merged: the earliest of each time (associative and commutative, as every merge). */
export function mergeAttachedAddresses(a: Attached, b: Attached): Attached {
  const out: Attached = {};
  if (a.addresses !== undefined || b.addresses !== undefined) {
    const addresses = { ...a.addresses };
    for (const [key, attachment] of Object.entries(b.addresses ?? {})) attach(addresses, key, attachment);
    out.addresses = sorted(addresses);
  }
  if (a.addressGivenLoggedIn !== undefined || b.addressGivenLoggedIn !== undefined) {
    const email = firstGiven(a.addressGivenLoggedIn?.email, b.addressGivenLoggedIn?.email);
    const phone = firstGiven(a.addressGivenLoggedIn?.phone, b.addressGivenLoggedIn?.phone);
    out.addressGivenLoggedIn = { ...(email !== undefined ? { email } : {}), ...(phone !== undefined ? { phone } : {}) };
  }
  return out;
}

/**
 * What a profile keeps of the first addresses given while logged in when identifiers leave it (a split
 * by an operator): one that left goes with them, and the first given among what stays (`rebuilt`,
 * folded again from the events that stayed) takes its place.
 */
export function givenLoggedInWithout(given: GivenLoggedIn | undefined, rebuilt: GivenLoggedIn | undefined, leaving: ReadonlySet<string>): Pick<Profile, 'addressGivenLoggedIn'> {
  const out: GivenLoggedIn = {};
  for (const kind of ['email', 'phone'] as const) {
    const was = given?.[kind];
    const kept = was !== undefined && typeof was === 'object' && !leaving.has(was.key) ? was : rebuilt?.[kind];
    if (kept !== undefined) out[kind] = kept;
  }
  return Object.keys(out).length === 0 ? {} : { addressGivenLoggedIn: out };
}
