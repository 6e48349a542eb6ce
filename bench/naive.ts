import { extractIdentifiers, identifierKey } from '../lib/events/identifiers';
import { parseCollectedEvent } from '../lib/events/segment';
import type { IngestConfig, StreamRecord } from '../lib/ingest/pipeline';
import { deriveProfileId } from '../lib/identity/resolver';
import { addIdentifier, foldEvent, newProfile } from '../lib/profile/profile';
import type { Stores } from '../lib/store/ports';

/**
 * The baseline the ingest design is measured against: one record at a time, read the profile, fold,
 * write it back, store the event — one profile write per event. It does no merging (it is only a
 * cost baseline, not a resolver).
 */
export async function naiveIngest(records: StreamRecord[], stores: Stores, config: IngestConfig): Promise<void> {
  for (const record of records) {
    const event = parseCollectedEvent(JSON.parse(Buffer.from(record.data, 'base64').toString('utf8')));
    const ids = extractIdentifiers(event, config.rules, config.salt);
    const keys = ids.map(identifierKey);
    const owners = await stores.graph.getOwners(keys);
    const profileId = [...owners.values()][0] ?? deriveProfileId(keys[0] as string);
    const profile = (await stores.profiles.getMany([profileId])).get(profileId) ?? newProfile(profileId);
    for (const id of ids) addIdentifier(profile, id);
    foldEvent(profile, event, config.aggregates);
    await stores.profiles.put({ ...profile, version: profile.version + 1 }, profile.version);
    for (const key of keys) if (!owners.has(key)) await stores.graph.putOwner(key, profileId, undefined);
    await stores.events.put([{ profileId, event }]);
  }
}
