import { randomUUID } from 'node:crypto';
import { badRequest, HttpError } from '../http/errors';
import { presentedApiKey, requireApiKey, type Keys } from '../http/keys';
import { isProfileId } from '../identity/resolver';
import type { AuditEntry, Stores } from '../store/ports';
import { erasePerson, type ErasureResult } from './erase';
import { exportPerson, type PersonalDataExport } from './export';
import { splitProfile, type SplitConfig, type SplitRequest, type SplitResult } from './split';

/**
 * The privacy API's operations, each recorded in the audit log (the privacy table, apart from the
 * data): who asked (the admin key's fingerprint), when, what, for which profile id, and the outcome
 * (counts and statuses, never the data). A request that fails is recorded too, with its status only;
 * one that names no profile id in a profile id's shape is refused (400) and recorded without it, so
 * an e-mail address pasted in its place is never kept.
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
    // An erasure that left letters to a later call is found in the log.
    deadLettersRemaining: x.deadLettersRemaining,
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
  const entry = (o: Record<string, unknown>): AuditEntry => ({ id: randomUUID(), at: r.now.toISOString(), who: r.who, action, ...(isProfileId(profileId) ? { profileId } : {}), outcome: o });
  let result: T;
  try {
    if (!isProfileId(profileId)) throw badRequest('profileId: must be a profile id (p_ and 24 hex digits, as GET /v1/identities/{namespace}/{value} answers), not an identifier');
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

/** Refused calls are kept one entry per key, action and UTC hour: the write key is public, and must not be able to fill the log. */
const REFUSALS_PER = 3_600_000;

/**
 * The admin key a privacy call needs (lib/http/keys.ts requireApiKey), returning its fingerprint. A
 * call refused because its key is one of ours of another kind (403) is recorded: that key's
 * fingerprint and kind, the action, and nothing of the request (not even the profile id), as one
 * entry per key, action and UTC hour, dated at the start of the hour. A call with no key or an unknown
 * one (401) names nobody and is not recorded.
 */
export async function requirePrivacyKey(keys: Keys, headers: Record<string, string | undefined>, action: AuditEntry['action'], stores: Stores, now: Date): Promise<string> {
  try {
    return requireApiKey(keys, headers, 'admin');
  } catch (e) {
    const presented = presentedApiKey(keys, headers);
    if (e instanceof HttpError && e.statusCode === 403 && presented !== undefined) {
      const hour = new Date(Math.floor(now.getTime() / REFUSALS_PER) * REFUSALS_PER).toISOString();
      await stores.privacy.audit({ id: `refused:${presented.fingerprint}:${action}`, at: hour, who: presented.fingerprint, action, outcome: { status: 403, keyKind: presented.kind, period: 'hour' } }).catch(() => undefined);
    }
    throw e;
  }
}
