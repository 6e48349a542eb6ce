import { ConflictError, type Stores } from '../store/ports';
import { applyBatchAttributes, type BatchAttribute } from './profile';
import { followMerges } from './read';
import { fitBudget } from './size';
import { defaultModel } from './aggregates';

const MAX_ATTEMPTS = 5;

/**
 * Writes the nightly job's attributes (propensity, CLV, tier, cluster, each with its as-of time) onto
 * a profile — following merges, so a score computed for a since-merged profile lands on its survivor —
 * with optimistic locking, retrying when live ingest wrote the profile in between. An older value
 * never overwrites a newer one. Returns the id of the profile written.
 */
export async function writeBatchAttributes(stores: Stores, profileId: string, attributes: Record<string, BatchAttribute>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const profile = await followMerges(stores, profileId);
    if (profile === undefined) throw new Error(`profile ${profileId} not found`);
    const before = JSON.stringify(profile.batch ?? {});
    applyBatchAttributes(profile, attributes);
    if (JSON.stringify(profile.batch) === before) return profile.profileId;
    fitBudget(profile, defaultModel());
    try {
      await stores.profiles.put({ ...profile, version: profile.version + 1 }, profile.version);
      return profile.profileId;
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw e;
    }
  }
}
