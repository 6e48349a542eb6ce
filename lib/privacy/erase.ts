import { conflict, notFound } from '../http/errors';
import { followMerges } from '../profile/read';
import { ConflictError, type StoredEvent, type Stores } from '../store/ports';
import { holdingsOf, MAX_PERSON_EVENTS, suppressionHash, type Holdings } from './holdings';
import { letterHashesOf, MAX_LETTERS_PER_ERASURE, MAX_RECORDED_LETTER_HASHES, removeLettersIndexedUnder } from './letters';

/**
 * Erasure (the right to be forgotten): everything held about the person, across every profile merged
 * into hers, is removed, and her identifiers are suppressed so that late or replayed events carrying
 * them do not bring her back (the ingest dead-letters them, keeping no data).
 *
 * The order makes it safe against a batch in flight:
 * 1. The identifiers are suppressed first.
 * 2. Then her links are removed, so that a batch resolving her now finds no link and meets the
 *    suppression.
 * 3. Then her profile, conditional on the version this erasure read. A batch that wrote her
 *    profile meanwhile makes the erasure read and remove again.
 *
 * Then every link still naming one of her profiles is swept, found by owner: a batch in flight may
 * have linked a new device of hers after her holdings were read.
 *
 * Her dead letters go last, at most MAX_LETTERS_PER_ERASURE a call (lib/privacy/letters.ts): anyone
 * with the write key can make thousands of refused messages name her, and they must not make her
 * erasure run out of time with her profile still there. If more remain the answer says so
 * (`deadLettersRemaining`), and the erasure record keeps the salted hashes her letters are indexed
 * under (never her identifiers) so that erasing again goes on.
 *
 * Erasing again is harmless. For an erased id it sweeps the recorded profile ids once more (events and
 * links a batch in flight stored after the first pass are removed then), and removes her letters.
 */
export interface ErasureResult {
  /** The id asked for, and the live profile it led to (the same unless it was merged away). */
  profileId: string;
  erasedProfileId: string;
  /** True when the person was erased before: this pass only swept what came since. */
  alreadyErased: boolean;
  removed: { profiles: number; identifierLinks: number; networkVisits: number; events: number; deadLetters: number; clusterContexts: number; campaignEntries: number; contactAddresses: number };
  /** Identifiers now suppressed (kept only as salted hashes). */
  suppressedIdentifiers: number;
  /** True when letters of hers remain beyond what one call removes (MAX_LETTERS_PER_ERASURE): erase again to go on. */
  deadLettersRemaining: boolean;
}

const ATTEMPTS = 5;

export async function erasePerson(stores: Stores, profileId: string, salt: string, now: Date): Promise<ErasureResult> {
  const at = now.toISOString();
  const removed: ErasureResult['removed'] = { profiles: 0, identifierLinks: 0, networkVisits: 0, events: 0, deadLetters: 0, clusterContexts: 0, campaignEntries: 0, contactAddresses: 0 };
  let suppressed = 0;
  // Her letters' index hashes, from every attempt's read of her (a batch in flight may add identifiers).
  const letterHashes = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    const profile = await followMerges(stores, profileId);
    if (profile === undefined) {
      const record = await stores.privacy.erasure(profileId);
      if (record === undefined) throw notFound(`profile ${profileId} not found`);
      removed.events += await removeEvents(stores, record.profileIds);
      removed.identifierLinks += await sweepLinks(stores, record.profileIds, salt, record.at);
      // A trigger in flight during the erasure may have entered her since: swept too.
      for (const id of record.profileIds) removed.campaignEntries += await stores.activations.removeProfile(id);
      const letters = await removeLettersIndexedUnder(stores.deadLetters, record.letterHashes ?? []);
      removed.deadLetters += letters.removed;
      return { profileId, erasedProfileId: record.profileIds[0] ?? profileId, alreadyErased: attempt === 0, removed, suppressedIdentifiers: suppressed, deadLettersRemaining: letters.remaining };
    }
    const held = await holdingsOf(stores, profile, salt);
    const keys = held.identifiers.map((i) => i.key);
    await stores.privacy.suppress(keys.map((k) => suppressionHash(k, salt)), at);
    suppressed = Math.max(suppressed, keys.length);
    for (const h of letterHashesOf(keys, salt)) letterHashes.add(h);
    // One record per id, so erasing again through any of her ids (a tombstone's too) is recognised, and goes on removing her letters.
    const record = { at, profileIds: [profile.profileId, ...held.profileIds.filter((id) => id !== profile.profileId)], letterHashes: [...letterHashes].slice(0, MAX_RECORDED_LETTER_HASHES) };
    for (const id of new Set([profileId, ...held.profileIds])) await stores.privacy.recordErasure({ profileId: id, ...record });
    await removeHoldings(stores, held, removed, salt);
    try {
      for (const t of held.tombstones) await stores.profiles.remove(t.profileId, t.version);
      await stores.profiles.remove(profile.profileId, profile.version);
    } catch (e) {
      // A batch wrote her profile since it was read: read what it holds now, and remove that too.
      if (!(e instanceof ConflictError)) throw e;
      if (attempt + 1 >= ATTEMPTS) throw conflict(`profile ${profileId} kept changing while it was erased (${e.message}); erase again`);
      continue;
    }
    removed.profiles += held.profileIds.length;
    removed.events += await removeEvents(stores, held.profileIds, held.events);
    removed.identifierLinks += await sweepLinks(stores, held.profileIds, salt, at);
    // Last, and bounded: whatever anyone sent, the rest of her is gone by now.
    const letters = await removeLettersIndexedUnder(stores.deadLetters, record.letterHashes, MAX_LETTERS_PER_ERASURE, held.deadLetters);
    removed.deadLetters += letters.removed;
    return { profileId, erasedProfileId: profile.profileId, alreadyErased: false, removed, suppressedIdentifiers: suppressed, deadLettersRemaining: letters.remaining };
  }
}

async function removeHoldings(stores: Stores, held: Holdings, removed: ErasureResult['removed'], salt: string): Promise<void> {
  const mine = new Set(held.profileIds);
  for (const { key, linkedTo } of held.identifiers) {
    if (linkedTo !== undefined && mine.has(linkedTo) && (await stores.graph.removeOwner(key, linkedTo))) removed.identifierLinks += 1;
  }
  if (held.networkVisits.length > 0) await stores.graph.removeVisits(held.networkVisits);
  removed.networkVisits += held.networkVisits.length;
  for (const other of held.clusterContexts) {
    const { cluster: _cluster, clusterCheckedAt: _checked, ...rest } = other;
    // A context is a cache: if its profile changed meanwhile, its next refresh drops the context (her visits are gone).
    await stores.profiles.put({ ...rest, version: other.version + 1 }, other.version).then(
      () => (removed.clusterContexts += 1),
      (e: unknown) => {
        if (!(e instanceof ConflictError)) throw e;
      },
    );
  }
  // Her campaign entries and re-entry records: a wake-up still scheduled finds nothing, and sends nothing.
  for (const id of held.profileIds) removed.campaignEntries += await stores.activations.removeProfile(id);
  // Her sealed addresses, by her e-mail and phone identifiers.
  const addresses = held.identifiers.map((i) => i.key).filter((k) => k.startsWith('email:') || k.startsWith('phone:'));
  if (addresses.length > 0) {
    removed.contactAddresses += (await stores.contacts.get(addresses)).size;
    await stores.contacts.remove(addresses);
  }
}

/**
 * Removes every link that still names one of her profiles, found by owner: also those a batch in flight
 * wrote for a device of hers that her profile never listed (its profile write then failed). Each such
 * identifier is suppressed as of the erasure first, as the ingest does when it meets one.
 */
async function sweepLinks(stores: Stores, profileIds: string[], salt: string, at: string): Promise<number> {
  const mine = new Set(profileIds);
  const keys = await stores.graph.linkedTo(profileIds);
  if (keys.length === 0) return 0;
  const links = await stores.graph.links(keys);
  const hers = keys.filter((k) => mine.has(links.get(k)?.profileId ?? ''));
  if (hers.length === 0) return 0;
  await stores.privacy.suppress(hers.map((k) => suppressionHash(k, salt)), at);
  let removed = 0;
  for (const key of hers) if (await stores.graph.removeOwner(key, links.get(key)?.profileId as string)) removed += 1;
  return removed;
}

/**
 * Removes every stored event of these profiles: those already read (`known`, the holdings' own), then
 * whatever a read still lists. The index by profile is eventually consistent, so the events just
 * removed can still be listed: only ids not removed yet count, and a read that finds none ends it.
 */
async function removeEvents(stores: Stores, profileIds: string[], known: StoredEvent[] = []): Promise<number> {
  const removed = new Set<string>();
  const remove = async (events: StoredEvent[]): Promise<number> => {
    const ids = [...new Set(events.map((e) => e.event.messageId))].filter((id) => !removed.has(id));
    if (ids.length > 0) await stores.events.remove(ids);
    for (const id of ids) removed.add(id);
    return ids.length;
  };
  await remove(known);
  while ((await remove(await stores.events.byProfiles(profileIds, MAX_PERSON_EVENTS))) > 0);
  return removed.size;
}
