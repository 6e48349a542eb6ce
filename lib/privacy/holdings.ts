import { createHash } from 'node:crypto';
import { NAMESPACES } from '../identity/rules';
import type { Profile } from '../profile/profile';
import type { ActivationInstance, DeadLetter, LedgerDay, StoredEvent, Stores } from '../store/ports';
import { lettersCarrying, MAX_PERSON_LETTERS } from './letters';

/**
 * Everything held about one person, found from her live profile: one search shared by the export
 * (which shows it) and the erasure (which removes it), so that what is erased is exactly what an export
 * shows. Found through the profile's members (the tombstones merged into it), their identifiers and
 * networks; the dead letters are searched for her identifiers.
 */
export interface Holdings {
  profile: Profile;
  /** The profiles merged into hers (tombstones: each keeps its state as of the merge). */
  tombstones: Profile[];
  /** Her live profile's id and every tombstone's. */
  profileIds: string[];
  /** Her identifiers as stored (`ns:value`, e-mail and phone as salted hashes), each with the profile its link names (absent: no link). */
  identifiers: Array<{ key: string; linkedTo?: string }>;
  /** Her entries in the network index. */
  networkVisits: Array<{ network: string; profileId: string; lastSeen: string }>;
  /** Her stored events, oldest first: what she did, the decisions made for her and her feedback on offers. */
  events: StoredEvent[];
  /** Dead letters that carry one of her identifiers (at most MAX_PERSON_LETTERS; beyond, `truncated`). */
  deadLetters: DeadLetter[];
  /** Other profiles whose cluster context names one of hers (what their decisions borrow). */
  clusterContexts: Profile[];
  /** Her campaign entries (lib/campaign/): what was planned, sent or held back, and why. */
  campaignEntries: ActivationInstance[];
  /** Her contact ledger's days (lib/decision/contact-ledger.ts): how often she was contacted, per profile and day. */
  contactLedger: Array<{ profileId: string; day: string } & LedgerDay>;
  /** The identifier keys under which a sealed contact address of hers is kept (only the send function can open one). */
  contactAddresses: string[];
}

/** At most this many events are read for one person (400 days of a busy customer); beyond, `truncated`. */
export const MAX_PERSON_EVENTS = 50_000;
/** Network index entries read per network when looking for hers and for contexts naming her. */
const MAX_VISITS_PER_NETWORK = 1_000;

/** The salted hash a suppressed identifier is kept as: the identifier itself is never stored again. */
export function suppressionHash(key: string, salt: string): string {
  return createHash('sha256').update(`${salt}\u0000suppressed\u0000${key}`).digest('hex');
}

/** Which of these identifier keys are suppressed (erased at the person's request), each with when, by their salted hashes. */
export function suppressionsAmong(privacy: Pick<Stores['privacy'], 'suppressed'>, salt: string) {
  return async (keys: string[]): Promise<Map<string, string>> => {
    if (keys.length === 0) return new Map();
    const hashes = new Map(keys.map((k) => [suppressionHash(k, salt), k]));
    const found = await privacy.suppressed([...hashes.keys()]);
    return new Map([...found].map(([h, at]) => [hashes.get(h) as string, at]));
  };
}

export async function holdingsOf(stores: Stores, profile: Profile, salt: string): Promise<Holdings & { truncated: boolean }> {
  // Only tombstones merged into hers: a member brought back by a split is someone else's live profile.
  const tombstones = [...(await stores.profiles.getMany(profile.members)).values()].filter((p) => p.mergedInto !== undefined);
  const people = [profile, ...tombstones];
  const profileIds = [...new Set(people.map((p) => p.profileId))];
  const mine = new Set(profileIds);
  const keys = [...new Set(people.flatMap((p) => NAMESPACES.flatMap((ns) => (p.identities[ns] ?? []).map((value) => `${ns}:${value}`))))].sort();
  const links = keys.length > 0 ? await stores.graph.links(keys) : new Map();
  const identifiers = keys.map((key) => ({ key, ...(links.get(key) ? { linkedTo: links.get(key)?.profileId } : {}) }));

  const networks = [...new Set(people.flatMap((p) => Object.keys(p.signals.networks)))].sort();
  const networkVisits: Holdings['networkVisits'] = [];
  const neighbours = new Set<string>();
  for (const network of networks) {
    for (const v of await stores.graph.visitsOn(network, MAX_VISITS_PER_NETWORK)) {
      if (mine.has(v.profileId)) networkVisits.push({ network, profileId: v.profileId, lastSeen: v.lastSeen });
      else neighbours.add(v.profileId);
    }
  }
  const clusterContexts = neighbours.size === 0 ? [] : [...(await stores.profiles.getMany([...neighbours])).values()].filter((p) => p.cluster !== undefined && mine.has(p.cluster.profileId));

  const events = await stores.events.byProfiles(profileIds, MAX_PERSON_EVENTS + 1);
  // Through the index on her identifiers' hashes (lib/privacy/letters.ts), never a read of the whole table.
  const deadLetters = await lettersCarrying(stores.deadLetters, keys, salt, MAX_PERSON_LETTERS + 1);
  const campaignEntries = (await Promise.all(profileIds.map((id) => stores.activations.ofProfile(id)))).flat();
  // Every day item kept (they expire days after the day): the whole of her ledger partition.
  const contactLedger = (await Promise.all(profileIds.map(async (id) => [...(await stores.ledger.around(id, '0000-01-01', '9999-12-31'))].map(([day, d]) => ({ profileId: id, day, ...d }))))).flat();
  const addressKeys = keys.filter((k) => k.startsWith('email:') || k.startsWith('phone:'));
  const contactAddresses = addressKeys.length === 0 ? [] : [...(await stores.contacts.get(addressKeys)).keys()].sort();
  return {
    profile,
    tombstones,
    profileIds,
    identifiers,
    networkVisits,
    events: events.slice(0, MAX_PERSON_EVENTS),
    deadLetters: deadLetters.slice(0, MAX_PERSON_LETTERS),
    clusterContexts,
    campaignEntries,
    contactLedger,
    contactAddresses,
    truncated: events.length > MAX_PERSON_EVENTS || deadLetters.length > MAX_PERSON_LETTERS,
  };
}
