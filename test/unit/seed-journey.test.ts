import { hashedNetwork } from '../../lib/events/personal';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { readProfile } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, SequenceFactory, toRecord } from '../support/factories';
import { SEED, seedEvents } from '../support/journey';

const { ann, ben } = SEED.people;

/** Delivers the journey in batches of `size` records, on one or two shards (split by device). */
async function replay(size: number, shards: number): Promise<MemoryStores> {
  const stores = new MemoryStores();
  const seqs = [new SequenceFactory(), new SequenceFactory()];
  const records = seedEvents().map((e) => {
    const shard = shards === 1 ? 0 : (e.anonymousId ?? e.userId ?? '').length % 2;
    return toRecord(e, seqs[shard]!.take(), `shardId-00000000000${shard}`);
  });
  for (const shard of ['shardId-000000000000', 'shardId-000000000001']) {
    const mine = records.filter((r) => r.shardId === shard);
    for (let i = 0; i < mine.length; i += size) {
      const result = await ingestBatch(mine.slice(i, i + size), stores, ingestConfig());
      expect(result.failedSequenceNumbers).toEqual([]);
    }
  }
  return stores;
}

describe.each([
  ['one record per batch', 1, 1],
  ['the whole journey in one batch', 100, 1],
  ['batches of three on two shards', 3, 2],
])('the seed journey, %s', (_name, size, shards) => {
  it('stitches Ann: account and tablet deterministically, phone and laptop as probable links; Ben stays apart', async () => {
    const stores = await replay(size, shards);
    const annId = stores.owners.get(`userId:${ann.userId}`)!;
    const tabletOwner = stores.owners.get(`anonymousId:${ann.devices.tablet}`)!;
    const profile = await readProfile(stores, tabletOwner, ingestConfig());

    expect(profile.profileId).toBe(annId);
    expect(profile.identities.userId).toEqual([ann.userId]);
    expect(profile.identities.anonymousId).toEqual([ann.devices.tablet]);
    expect(profile.identities.email).toHaveLength(1);
    expect(profile.traits).toMatchObject({ store: 'Leeds Kirkstall' });
    expect(profile.traits.firstName).toBeUndefined(); // personal data: removed before anything is stored
    expect(profile.aggregates).toMatchObject({ orderCount: 1, revenue: 64.99 });

    const phone = stores.owners.get(`anonymousId:${ann.devices.phone}`)!;
    const laptop = stores.owners.get(`anonymousId:${ann.devices.laptop}`)!;
    const benLaptop = stores.owners.get(`anonymousId:${ben.devices.laptop}`)!;
    expect(new Set([phone, laptop, benLaptop, annId]).size).toBe(4);
    expect(profile.probableLinks.map((l) => l.profileId).sort()).toEqual([laptop, phone].sort());
    const phoneLink = profile.probableLinks.find((l) => l.profileId === phone)!;
    // The phone shares two networks with Ann (home, then the store's Wi-Fi): the strongest evidence.
    // Networks are IP addresses, hashed before anything is stored.
    expect(phoneLink.reasons.join('; ')).toContain(hashedNetwork(SEED.networks.home, 'test-salt'));
    expect(phoneLink.reasons.join('; ')).toContain(hashedNetwork(SEED.networks.store, 'test-salt'));
    expect(phoneLink.score).toBeGreaterThan(profile.probableLinks.find((l) => l.profileId === laptop)!.score);

    const benView = await readProfile(stores, benLaptop, ingestConfig());
    expect(benView.probableLinks).toEqual([]);
    expect(benView.identities).toEqual({ anonymousId: [ben.devices.laptop] });
  });
});
