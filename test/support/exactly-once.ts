/** What the exactly-once tests share: an aggregate that counts each messageId, and a throttle on one profile's writes. */
import defaults from '../../config/aggregates.json';
import type { IngestConfig } from '../../lib/ingest/pipeline';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';
import type { MemoryStores } from '../../lib/store/memory';
import type { Stores } from '../../lib/store/ports';
import { ingestConfig } from './factories';

/** The shipped aggregates plus one that counts each messageId per profile (a loss is 0, a double count 2). */
export const aggregates = loadAggregates({ ...defaults, aggregates: [...defaults.aggregates, { name: 'perMessage', op: 'topk', field: 'messageId', size: 50 }] });
export const config = (overrides: Partial<IngestConfig> = {}): IngestConfig => ({ ...ingestConfig(), aggregates, profileRules: loadProfileRules(aggregates), ...overrides });
export const S0 = 'shardId-000000000000';
export const S1 = 'shardId-000000000001';

/** How often each messageId was folded, summed over live profiles (or in one profile only). */
export function foldCounts(stores: MemoryStores, onlyIn?: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of stores.profileItems.values()) {
    if (p.mergedInto !== undefined || (onlyIn !== undefined && p.profileId !== onlyIn)) continue;
    for (const [id, n] of Object.entries((p.aggregates.perMessage ?? {}) as Record<string, number>)) counts.set(id, (counts.get(id) ?? 0) + n);
  }
  return counts;
}

/** Throttles the next `times` writes of this live profile (not its tombstone). */
export function throttleProfile(stores: Stores, profileId: string, times = 1): void {
  const put = stores.profiles.put;
  let left = times;
  stores.profiles.put = async (p, ...rest) => {
    if (p.profileId === profileId && p.mergedInto === undefined && left-- > 0) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    return put(p, ...rest);
  };
}
