import { parseIdentifierKey } from '../events/identifiers';
import type { CollectedEvent } from '../events/segment';
import { notFound } from '../http/errors';
import { FEEDBACK_EVENTS } from '../ingest/feedback';
import { viewConsent } from '../profile/consent';
import type { Profile } from '../profile/profile';
import { followMerges } from '../profile/read';
import type { ActivationInstance, Stores } from '../store/ports';
import { holdingsOf, type Holdings } from './holdings';

/**
 * The right of access: one JSON document with everything held about the person, across her live
 * profile and every profile merged into it, found by the same search the erasure removes by
 * (lib/privacy/holdings.ts). A merged-away id answers with the person it became part of.
 */
export interface PersonalDataExport {
  exportedAt: string;
  /** The id asked for, and the live profile it led to. */
  profileId: string;
  liveProfileId: string;
  /** Her profile as stored: identities, traits, aggregates, signals, segments, batch attributes, consent, merge log. */
  profile: Profile;
  /** The profiles merged into hers, each as stored when it was merged (tombstones). */
  mergedProfiles: Profile[];
  /** Identifiers as stored: e-mail and phone as salted hashes (`hashed`), with the profile each one's link names. */
  identifiers: Array<{ namespace: string; value: string; hashed: boolean; linkedTo: string | null }>;
  consent: ReturnType<typeof viewConsent>;
  consentHistory: NonNullable<Profile['consentHistory']>;
  batchAttributes: NonNullable<Profile['batch']>;
  /** What she did, oldest first (without the two kinds below). */
  events: Array<CollectedEvent & { storedUnder: string }>;
  /** Decisions made for her (`Decision Made`): the offers, variant and model. */
  decisions: Array<CollectedEvent & { storedUnder: string }>;
  /** Her feedback on offers (`Promotion Viewed`, `Clicked`, `Dismissed`, `Converted`). */
  offerFeedback: Array<CollectedEvent & { storedUnder: string }>;
  /** Her entries in the network index (networks as salted hashes of addresses). */
  networkVisits: Array<{ network: string; profileId: string; lastSeen: string }>;
  /** Messages of hers the engine could not accept, with the reason (their data without personal data), found by the index on her identifiers. */
  deadLetters: Array<{ id: string; reason: string; source: string; at: string; data: unknown }>;
  /** Her campaign entries: what was planned, sent or held back for her, and why. */
  campaignEntries: ActivationInstance[];
  /** Her contact ledger: per profile and day, how often she was contacted, per channel and offer (what the caps count). */
  contactLedger: Holdings['contactLedger'];
  /** Which of her e-mail and phone identifiers have a contact address kept for sending (sealed: the export cannot open it). */
  contactAddresses: Array<{ namespace: string; identifier: string; sealed: true }>;
  /** Anonymous profiles (probably her other devices) whose decisions use her interests. */
  probableOtherDevices: Array<{ profileId: string; probability: number }>;
  /** More events or dead letters than one export holds (MAX_PERSON_EVENTS, the oldest given; lib/privacy/letters.ts MAX_PERSON_LETTERS). */
  truncated: boolean;
}

export async function exportPerson(stores: Stores, profileId: string, salt: string, now: Date): Promise<PersonalDataExport> {
  const profile = await followMerges(stores, profileId);
  if (profile === undefined) throw notFound(`profile ${profileId} not found`);
  const held = await holdingsOf(stores, profile, salt);
  const stored = held.events.map((e) => ({ ...e.event, storedUnder: e.profileId }));
  const isDecision = (e: CollectedEvent) => e.type === 'track' && e.event === 'Decision Made';
  const isFeedback = (e: CollectedEvent) => e.type === 'track' && Object.hasOwn(FEEDBACK_EVENTS, e.event);
  return {
    exportedAt: now.toISOString(),
    profileId,
    liveProfileId: profile.profileId,
    profile,
    mergedProfiles: held.tombstones,
    identifiers: held.identifiers.map(({ key, linkedTo }) => {
      const { ns, value } = parseIdentifierKey(key);
      return { namespace: ns, value, hashed: ns === 'email' || ns === 'phone', linkedTo: linkedTo ?? null };
    }),
    consent: viewConsent(profile),
    consentHistory: profile.consentHistory ?? [],
    batchAttributes: profile.batch ?? {},
    events: stored.filter((e) => !isDecision(e) && !isFeedback(e)),
    decisions: stored.filter(isDecision),
    offerFeedback: stored.filter(isFeedback),
    networkVisits: held.networkVisits,
    deadLetters: held.deadLetters.map((l) => ({ id: l.id, reason: l.reason, source: l.source, at: l.at, data: readable(l.data) })),
    campaignEntries: held.campaignEntries,
    contactLedger: held.contactLedger,
    contactAddresses: held.contactAddresses.map((key) => ({ namespace: key.slice(0, key.indexOf(':')), identifier: key.slice(key.indexOf(':') + 1), sealed: true as const })),
    probableOtherDevices: held.clusterContexts.map((p) => ({ profileId: p.profileId, probability: p.cluster?.probability ?? 0 })),
    truncated: held.truncated,
  };
}

/** A letter's data as JSON where it can be read (the ingest keeps base64 of JSON, the collector JSON). */
function readable(data: string): unknown {
  for (const text of [Buffer.from(data, 'base64').toString('utf8'), data]) {
    try {
      return JSON.parse(text);
    } catch {
      // not this encoding
    }
  }
  return data;
}
