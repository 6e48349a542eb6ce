import { randomUUID } from 'node:crypto';
import { badRequest, HttpError } from '../http/errors';
import type { AuditEntry, Stores } from '../store/ports';
import { erasePerson, type ErasureResult } from './erase';
import { exportPerson, type PersonalDataExport } from './export';
import { splitProfile, type SplitConfig, type SplitRequest, type SplitResult } from './split';

/**
 * The privacy API's operations, each recorded in the audit log (the privacy table, apart from the
 * data): who asked (the admin key's fingerprint), when, what, for which profile id, and the outcome
 * (counts and statuses, never the data). A request that fails is recorded too, with its status only.
 */
export interface PrivacyRequest {
  stores: Stores;
  /** The admin key's fingerprint (lib/http/keys.ts requireApiKey). */
  who: string;
  salt: string;
  now: Date;
}

export async function auditedExport(profileId: string, r: PrivacyRequest): Promise<PersonalDataExport> {
  return audited('export', profileId, r, () => exportPerson(r.stores, profileId, r.salt, r.now), (x) => ({
    liveProfileId: x.liveProfileId,
    mergedProfiles: x.mergedProfiles.length,
    identifiers: x.identifiers.length,
    events: x.events.length,
    decisions: x.decisions.length,
    offerFeedback: x.offerFeedback.length,
    deadLetters: x.deadLetters.length,
    truncated: x.truncated,
  }));
}

export async function auditedErasure(profileId: string, r: PrivacyRequest): Promise<ErasureResult> {
  return audited('erase', profileId, r, () => erasePerson(r.stores, profileId, r.salt, r.now), (x) => ({
    erasedProfileId: x.erasedProfileId,
    alreadyErased: x.alreadyErased,
    ...x.removed,
    suppressedIdentifiers: x.suppressedIdentifiers,
  }));
}

export async function auditedSplit(profileId: string, request: SplitRequest, r: PrivacyRequest & { config: Omit<SplitConfig, 'salt'> }): Promise<SplitResult> {
  return audited('split', profileId, r, () => splitProfile(r.stores, profileId, request, { ...r.config, salt: r.salt }), (x) => ({
    profileId: x.profileId,
    splitProfileId: x.splitProfileId,
    identifiers: x.identifiers.length,
    ...x.events,
  }));
}

async function audited<T>(action: AuditEntry['action'], profileId: string, r: PrivacyRequest, run: () => Promise<T>, outcome: (result: T) => Record<string, unknown>): Promise<T> {
  const entry = (o: Record<string, unknown>): AuditEntry => ({ id: randomUUID(), at: r.now.toISOString(), who: r.who, action, profileId, outcome: o });
  let result: T;
  try {
    result = await run();
  } catch (e) {
    // The status only: a message can hold what was asked for (an identifier), and the log keeps no data.
    await r.stores.privacy.audit(entry({ status: e instanceof HttpError ? e.statusCode : 500 })).catch(() => undefined);
    throw e;
  }
  await r.stores.privacy.audit(entry({ status: 200, ...outcome(result) }));
  return result;
}

/** The audit log of one UTC day (`day` YYYY-MM-DD, default today). */
export async function auditLog(stores: Stores, day: string | undefined, now: Date): Promise<{ day: string; entries: AuditEntry[] }> {
  const d = day ?? now.toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`))) throw badRequest('day must be a date (YYYY-MM-DD)');
  return { day: d, entries: await stores.privacy.auditLog(d) };
}
