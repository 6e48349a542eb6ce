import { HttpError } from '../../lib/http/errors';
import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { auditedErasure, auditedExport, auditLog } from '../../lib/privacy/audited';
import { erasePerson } from '../../lib/privacy/erase';
import { splitProfile } from '../../lib/privacy/split';
import type { Profile } from '../../lib/profile/profile';
import { MemoryStores } from '../../lib/store/memory';
import type { Stores } from '../../lib/store/ports';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord, withClusterContext } from '../support/factories';

/**
 * Erasure and export on the in-memory stores: what the end-to-end test (test/e2e/privacy.test.ts)
 * cannot arrange, such as a batch writing her profile in the middle of her erasure, cluster contexts
 * naming her, and audit entries for requests that find nobody.
 */
/** Borrowing is off by default; these tests show what an erasure does to a device that borrowed from her. */
const config = withClusterContext(ingestConfig());
const seq = new SequenceFactory();
const day = (d: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 10, d, hour, minute)).toISOString();
const NOW = new Date('2026-11-30T12:00:00Z');

async function ingest(stores: Stores, events: Array<Record<string, unknown>>) {
  const result = await ingestBatch(events.map((e) => toRecord(e, seq.take())), stores, config);
  expect(result.failedSequenceNumbers).toEqual([]);
  return result;
}
const view = (anonymousId: string, timestamp: string, product: string, ip = 'home-1') =>
  segmentEvent({ anonymousId, timestamp, properties: { product_id: product, category: product.split('-')[0] }, context: { ip, locale: 'en-GB', timezone: 'Europe/London' } });
const login = (anonymousId: string, userId: string, timestamp: string) => segmentEvent({ type: 'identify', anonymousId, userId, timestamp, context: { ip: 'home-1' } });
const ownerOf = (stores: MemoryStores, key: string) => {
  let id = stores.owners.get(key) as string;
  for (let p = stores.profileItems.get(id); p?.mergedInto; p = stores.profileItems.get(id)) id = p.mergedInto;
  return id;
};

/** Gwen: a phone and a laptop she logged in on (merged), and a tablet she never logged in on, researching the same paint at home. */
async function gwen(): Promise<MemoryStores> {
  const stores = new MemoryStores();
  await ingest(stores, [2, 3].flatMap((d) => ['gwen-phone', 'gwen-laptop'].flatMap((dev) => [view(dev, day(d, 20), 'paint-41'), view(dev, day(d, 20, 10), 'paint-42')])));
  await ingest(stores, [login('gwen-phone', 'user-gwen', day(3, 21)), login('gwen-laptop', 'user-gwen', day(3, 22))]);
  await ingest(stores, [2, 4].flatMap((d) => [view('gwen-tablet', day(d, 22), 'paint-41'), view('gwen-tablet', day(d, 22, 5), 'paint-42')]));
  return stores;
}

describe('erasure', () => {
  it('clears the cluster context of a device that borrowed from her, and keeps that device', async () => {
    const stores = await gwen();
    const customer = ownerOf(stores, 'userId:user-gwen');
    const tablet = ownerOf(stores, 'anonymousId:gwen-tablet');
    expect(stores.profileItems.get(tablet)?.cluster?.profileId).toBe(customer);
    const result = await erasePerson(stores, customer, config.salt, NOW);
    expect(result.removed).toMatchObject({ profiles: 2, identifierLinks: 3, clusterContexts: 1 });
    expect(stores.profileItems.get(tablet)?.cluster).toBeUndefined();
    expect(stores.profileItems.has(tablet)).toBe(true);
    expect([...stores.owners.keys()]).toEqual(['anonymousId:gwen-tablet']);
    expect([...stores.eventItems.values()].every((e) => e.profileId === tablet)).toBe(true);
  });

  it('reads and removes again what a batch wrote to her profile while she was being erased', async () => {
    const stores = await gwen();
    const customer = ownerOf(stores, 'userId:user-gwen');
    // The moment her erasure goes to remove her profile, a batch lands a new event on it (its write came first).
    let landed = false;
    const racing: Stores = {
      ...stores,
      profiles: {
        ...stores.profiles,
        remove: async (id, version) => {
          if (!landed && id === customer) {
            landed = true;
            await ingest(stores, [segmentEvent({ userId: 'user-gwen', timestamp: day(5, 9), properties: { product_id: 'lamp-7', category: 'lighting' } })]);
          }
          return stores.profiles.remove(id, version);
        },
      },
    };
    const result = await erasePerson(racing, customer, config.salt, NOW);
    expect(landed).toBe(true);
    expect(result.alreadyErased).toBe(false);
    expect(stores.profileItems.has(customer)).toBe(false);
    expect([...stores.eventItems.values()].filter((e) => e.profileId === customer)).toEqual([]);
    // The event of the batch that raced is gone with the rest.
    expect([...stores.eventItems.values()].some((e) => JSON.stringify(e.event).includes('lamp-7'))).toBe(false);
  });

  it('erases through a merged-away id, recognises every one of her ids afterwards, and sweeps events stored since', async () => {
    const stores = await gwen();
    const customer = ownerOf(stores, 'userId:user-gwen');
    const phone = stores.profileItems.get(customer)?.members[0] as string;
    expect(phone).toBeDefined();
    expect((await erasePerson(stores, phone, config.salt, NOW)).erasedProfileId).toBe(customer);
    // A batch in flight stored an event under her id after the erasure: erasing again removes it.
    await stores.events.put([{ profileId: customer, event: segmentEvent({ userId: 'user-gwen', timestamp: day(6, 9) }) as never }]);
    for (const id of [customer, phone]) {
      const again = await erasePerson(stores, id, config.salt, NOW);
      expect(again.alreadyErased).toBe(true);
    }
    expect([...stores.eventItems.values()].filter((e) => e.profileId === customer)).toEqual([]);
  });

  it('does not let a batch that linked her new device during her erasure bring her back (found in review)', async () => {
    const stores = new MemoryStores();
    await ingest(stores, [segmentEvent({ userId: 'erin', anonymousId: 'erin-phone', timestamp: day(20, 9), properties: { product_id: 'p1', category: 'garden' } })]);
    const erin = ownerOf(stores, 'userId:erin');
    // A batch in flight links her laptop to her profile; the erasure runs just before that write, so the batch's profile write fails.
    const racing: Stores = {
      ...stores,
      graph: {
        ...stores.graph,
        putOwner: async (...args) => {
          if (stores.profileItems.has(erin)) await erasePerson(stores, erin, config.salt, NOW);
          return stores.graph.putOwner(...args);
        },
      },
    };
    const first = await ingestBatch([toRecord(segmentEvent({ type: 'identify', userId: 'erin', anonymousId: 'erin-laptop', timestamp: day(20, 10) }), seq.take())], racing, config);
    expect(first.failedSequenceNumbers).toHaveLength(1);
    expect(stores.owners.get('anonymousId:erin-laptop')).toBe(erin);
    // Her laptop's next event: the stale link is removed and the event dead-lettered; her profile does not come back.
    const next = await ingest(stores, [segmentEvent({ anonymousId: 'erin-laptop', timestamp: day(21, 10), properties: { product_id: 'p2', category: 'kitchen' } })]);
    expect(next.stats.erased).toBe(1);
    expect(stores.profileItems.has(erin)).toBe(false);
    expect(stores.owners.has('anonymousId:erin-laptop')).toBe(false);
    // The laptop is suppressed like her other identifiers: its later events do not make a profile of her device.
    const later = await ingest(stores, [segmentEvent({ anonymousId: 'erin-laptop', timestamp: day(22, 10), properties: { product_id: 'p3', category: 'kitchen' } })]);
    expect(later.stats.erased).toBe(1);
    expect([...stores.profileItems.values()].filter((p) => p.identities.anonymousId?.includes('erin-laptop'))).toEqual([]);
  });

  it("finds her dead letters whatever form her id took in them: padded, a number, too long to keep in clear (found in review)", async () => {
    const stores = new MemoryStores();
    const long = `erin-${'x'.repeat(200)}`;
    for (const userId of ['erin-7', '4242', long]) {
      await ingest(stores, [segmentEvent({ userId, timestamp: day(20, 9), properties: { product_id: 'p1', category: 'garden' } })]);
    }
    // Records the ingest refuses (no event name), carrying her ids as a sender might write them.
    const refused = [' erin-7 ', 4242, long].map((userId) => toRecord({ type: 'track', userId, messageId: `bad-${String(userId).length}`, timestamp: day(20, 10), receivedAt: day(20, 10) }, seq.take()));
    expect((await ingestBatch(refused, stores, config)).stats.deadLettered).toBe(3);
    for (const key of ['userId:erin-7', 'userId:4242']) await erasePerson(stores, ownerOf(stores, key), config.salt, NOW);
    const longKey = [...stores.owners.keys()].find((k) => k.startsWith('userId:h:')) as string;
    await erasePerson(stores, ownerOf(stores, longKey), config.salt, NOW);
    expect([...stores.letters.values()]).toEqual([]);
  });

  it('dead-letters her replayed events keeping nothing of them, and lets new people in', async () => {
    const stores = await gwen();
    await erasePerson(stores, ownerOf(stores, 'userId:user-gwen'), config.salt, NOW);
    const result = await ingest(stores, [view('gwen-phone', day(2, 20), 'paint-41'), login('gwen-laptop', 'user-gwen', day(3, 22)), view('hugo-phone', day(7, 9), 'paint-41')]);
    expect(result.stats.erased).toBe(2);
    const letters = [...stores.letters.values()].filter((l) => l.reason.startsWith('erased'));
    expect(letters.map((l) => l.data)).toEqual(['', '']);
    expect(stores.owners.has('userId:user-gwen')).toBe(false);
    expect(stores.owners.has('anonymousId:hugo-phone')).toBe(true);
  });
});

describe('audit', () => {
  it('records who exported and erased whom, and a request that found nobody, never the data', async () => {
    const stores = await gwen();
    const customer = ownerOf(stores, 'userId:user-gwen');
    const request = { stores, who: 'key:0123456789ab', salt: config.salt, now: NOW };
    const exported = await auditedExport(customer, request);
    expect(exported.identifiers.map((i) => i.namespace).sort()).toEqual(['anonymousId', 'anonymousId', 'userId']);
    expect(exported.probableOtherDevices).toEqual([{ profileId: ownerOf(stores, 'anonymousId:gwen-tablet'), probability: expect.any(Number) }]);
    await auditedErasure(customer, request);
    await expect(auditedExport(customer, request)).rejects.toBeInstanceOf(HttpError);
    const log = await auditLog(stores, '2026-11-30', NOW);
    expect(log.entries.map((e) => [e.who, e.action, e.profileId, e.outcome.status])).toEqual([
      ['key:0123456789ab', 'export', customer, 200],
      ['key:0123456789ab', 'erase', customer, 200],
      ['key:0123456789ab', 'export', customer, 404],
    ]);
    expect(JSON.stringify(log)).not.toMatch(/user-gwen|gwen-phone|paint-41/);
    await expect(auditLog(stores, 'yesterday', NOW)).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe('split: undoing a wrong merge', () => {
  /**
   * Ann browses on her phone; Bob, on the family tablet, researches garden tools without logging in;
   * then Ann logs in on the tablet, which merges the tablet (and Bob's research) into Ann, and browses
   * a little more on it. `apart`: the same events, with the tablet never tied to Ann (no userId on its events).
   */
  const household = (apart: boolean) => {
    const ann = (e: Record<string, unknown>) => segmentEvent({ userId: 'ann-1', anonymousId: 'ann-phone', ...e, context: { ip: 'home-9', timezone: 'Europe/London' } });
    const tablet = (e: Record<string, unknown>) =>
      segmentEvent({ anonymousId: 'family-tablet', ...(apart ? {} : { userId: 'ann-1' }), ...e, context: { ip: 'home-9', timezone: 'Europe/London' } });
    return [
      ann({ messageId: 'a1', timestamp: day(10, 9), properties: { product_id: 'paint-12', category: 'paint' } }),
      ann({ messageId: 'a2', timestamp: day(10, 9, 5), event: 'Order Completed', properties: { total: 42, products: [{ product_id: 'paint-12' }] } }),
      segmentEvent({ anonymousId: 'family-tablet', messageId: 't1', timestamp: day(11, 19), properties: { product_id: 'spade-3', category: 'garden' }, context: { ip: 'home-9' } }),
      segmentEvent({ anonymousId: 'family-tablet', messageId: 't2', timestamp: day(11, 19, 10), event: 'Product Added', properties: { product_id: 'spade-3', category: 'garden', price: 30 }, context: { ip: 'home-9' } }),
      tablet({ type: 'identify', messageId: 't3', timestamp: day(12, 8), traits: { plan: 'family' } }),
      tablet({ messageId: 't4', timestamp: day(12, 8, 5), properties: { product_id: 'rake-1', category: 'garden' } }),
      ann({ messageId: 'a3', timestamp: day(13, 18), properties: { product_id: 'lamp-7', category: 'lighting' } }),
    ];
  };

  async function run(apart: boolean) {
    const stores = new MemoryStores();
    const events = household(apart);
    const records = events.map((e) => toRecord(e, seq.take()));
    // Two batches, as a stream delivers them.
    for (const part of [records.slice(0, 4), records.slice(4)]) expect((await ingestBatch(part, stores, config)).failedSequenceNumbers).toEqual([]);
    return { stores, records };
  }
  const comparable = (p: Profile | undefined) => p && { aggregates: p.aggregates, traits: p.traits, createdAt: p.createdAt, updatedAt: p.updatedAt, interests: p.signals.interests };

  it("gives each profile the aggregates of a clean run with the tablet kept apart, and keeps both people's history", async () => {
    const merged = await run(false);
    const clean = await run(true);
    const ann = ownerOf(merged.stores, 'userId:ann-1');
    expect(merged.stores.profileItems.get(ann)?.identities.anonymousId).toEqual(['ann-phone', 'family-tablet']);

    const result = await splitProfile(merged.stores, ann, { identifier: { namespace: 'anonymousId', value: 'family-tablet' } }, config);
    expect(result).toMatchObject({ profileId: ann, identifiers: ['anonymousId:family-tablet'], events: { stayed: 3, moved: 4 } });

    const tabletAfter = ownerOf(merged.stores, 'anonymousId:family-tablet');
    expect(tabletAfter).toBe(result.splitProfileId);
    expect(tabletAfter).not.toBe(ann);
    expect(ownerOf(merged.stores, 'anonymousId:ann-phone')).toBe(ann);
    expect(comparable(merged.stores.profileItems.get(ann))).toEqual(comparable(clean.stores.profileItems.get(ownerOf(clean.stores, 'userId:ann-1'))));
    expect(comparable(merged.stores.profileItems.get(tabletAfter))).toEqual(comparable(clean.stores.profileItems.get(ownerOf(clean.stores, 'anonymousId:family-tablet'))));
    expect(merged.stores.profileItems.get(ann)?.identities).toEqual({ userId: ['ann-1'], anonymousId: ['ann-phone'] });
    expect(merged.stores.profileItems.get(tabletAfter)).toMatchObject({ identities: { anonymousId: ['family-tablet'] } });
    expect(merged.stores.profileItems.get(tabletAfter)?.mergedInto).toBeUndefined();
    // The journeys follow: the tablet's events are stored under the tablet's profile now.
    expect([...merged.stores.eventItems.values()].filter((e) => e.profileId === tabletAfter).map((e) => e.event.messageId).sort()).toEqual(['t1', 't2', 't3', 't4']);
  });

  it('folds a redelivered record once after the split, and sends the tablet\'s next event to the tablet', async () => {
    const merged = await run(false);
    const ann = ownerOf(merged.stores, 'userId:ann-1');
    const { splitProfileId } = await splitProfile(merged.stores, ann, { identifier: { namespace: 'anonymousId', value: 'family-tablet' } }, config);
    const before = merged.stores.profileItems.get(splitProfileId)?.aggregates.eventCount;
    // The stream delivers the tablet's last record again, then the tablet is used again, anonymously.
    expect((await ingestBatch([merged.records[5] as StreamRecord], merged.stores, config)).failedSequenceNumbers).toEqual([]);
    expect(merged.stores.profileItems.get(splitProfileId)?.aggregates.eventCount).toBe(before);
    await ingest(merged.stores, [segmentEvent({ anonymousId: 'family-tablet', timestamp: day(14, 20), properties: { product_id: 'hose-2', category: 'garden' } })]);
    expect(merged.stores.profileItems.get(splitProfileId)?.aggregates.eventCount).toBe((before as number) + 1);
    expect(merged.stores.profileItems.get(ann)?.aggregates.eventCount).toBe(3);
  });

  it('never merges them again: when she logs in on the tablet again, her events are hers and the tablet stays apart', async () => {
    const merged = await run(false);
    const ann = ownerOf(merged.stores, 'userId:ann-1');
    const { splitProfileId } = await splitProfile(merged.stores, ann, { identifier: { namespace: 'anonymousId', value: 'family-tablet' } }, config);
    await ingest(merged.stores, [
      segmentEvent({ type: 'identify', anonymousId: 'family-tablet', userId: 'ann-1', timestamp: day(15, 8) }),
      segmentEvent({ anonymousId: 'family-tablet', userId: 'ann-1', timestamp: day(15, 8, 5), properties: { product_id: 'vase-1', category: 'home' } }),
    ]);
    expect(merged.stores.profileItems.get(ann)?.aggregates.eventCount).toBe(5);
    expect(merged.stores.profileItems.get(splitProfileId)?.mergedInto).toBeUndefined();
    expect(ownerOf(merged.stores, 'anonymousId:family-tablet')).toBe(splitProfileId);
    expect(merged.stores.profileItems.get(ann)?.identities.anonymousId).toEqual(['ann-phone']);
  });

  it('waits for a batch whose events are not stored yet, then splits without losing what it folded (found in review)', async () => {
    const merged = await run(false);
    const ann = ownerOf(merged.stores, 'userId:ann-1');
    // Her purchase is folded into her profile, but the batch's events write is throttled: the stream will deliver it again.
    const record = toRecord(segmentEvent({ userId: 'ann-1', anonymousId: 'ann-phone', timestamp: day(14, 9), properties: { product_id: 'lamp-7', category: 'lighting' } }), seq.take());
    const throttled: Stores = { ...merged.stores, events: { ...merged.stores.events, put: async () => Promise.reject(new Error('throttled')) } };
    expect((await ingestBatch([record], throttled, config)).failedSequenceNumbers).toHaveLength(1);
    const split = () => splitProfile(merged.stores, ann, { identifier: { namespace: 'anonymousId', value: 'family-tablet' } }, config);
    await expect(split()).rejects.toMatchObject({ statusCode: 409 });
    // The redelivery stores it; the split then goes through and keeps it.
    expect((await ingestBatch([record], merged.stores, config)).failedSequenceNumbers).toEqual([]);
    await split();
    expect(merged.stores.profileItems.get(ann)?.signals.products).toHaveProperty('lamp-7');
  });

  it('goes on from where it stopped when a batch wrote her profile in the middle of a split (found in review)', async () => {
    const merged = await run(false);
    const ann = ownerOf(merged.stores, 'userId:ann-1');
    let landed = false;
    const racing: Stores = {
      ...merged.stores,
      profiles: {
        ...merged.stores.profiles,
        // Once the tablet's profile is written (step 1), a batch lands an event on Ann's profile before the split writes it (step 3).
        put: async (profile, version, write) => {
          await merged.stores.profiles.put(profile, version, write);
          if (!landed && profile.profileId !== ann) {
            landed = true;
            await ingest(merged.stores, [segmentEvent({ userId: 'ann-1', timestamp: day(14, 9), properties: { product_id: 'vase-1', category: 'home' } })]);
          }
        },
      },
    };
    const result = await splitProfile(racing, ann, { identifier: { namespace: 'anonymousId', value: 'family-tablet' } }, config);
    expect(landed).toBe(true);
    expect(result.events).toEqual({ stayed: 4, moved: 4 });
    expect(merged.stores.profileItems.get(ann)?.identities.anonymousId).toEqual(['ann-phone']);
    expect(merged.stores.profileItems.get(ann)?.signals.products).toHaveProperty('vase-1');
    expect(ownerOf(merged.stores, 'anonymousId:family-tablet')).toBe(result.splitProfileId);
  });

  it('takes out the device the customer profile was first made from, giving it a profile of its own', async () => {
    const stores = new MemoryStores();
    await ingest(stores, [view('first-tablet', day(10, 19), 'spade-3'), segmentEvent({ type: 'identify', anonymousId: 'first-tablet', userId: 'kim-1', timestamp: day(11, 8) })]);
    await ingest(stores, [segmentEvent({ userId: 'kim-1', anonymousId: 'kim-phone', timestamp: day(12, 9), properties: { product_id: 'paint-1', category: 'paint' } })]);
    const kim = ownerOf(stores, 'userId:kim-1');
    expect(kim).toBe(ownerOf(stores, 'anonymousId:first-tablet'));
    const result = await splitProfile(stores, kim, { identifier: { namespace: 'anonymousId', value: 'first-tablet' } }, config);
    expect(result.splitProfileId).not.toBe(kim);
    expect(ownerOf(stores, 'anonymousId:first-tablet')).toBe(result.splitProfileId);
    expect(stores.profileItems.get(kim)?.identities).toEqual({ userId: ['kim-1'], anonymousId: ['kim-phone'] });
    // Her next login on the tablet stays hers, and the tablet stays apart.
    await ingest(stores, [segmentEvent({ anonymousId: 'first-tablet', userId: 'kim-1', timestamp: day(13, 8), properties: { product_id: 'vase-1', category: 'home' } })]);
    expect(ownerOf(stores, 'anonymousId:first-tablet')).toBe(result.splitProfileId);
    expect(stores.profileItems.get(kim)?.signals.products).toHaveProperty('vase-1');
  });

  it('takes out a merged member by its id, and refuses what cannot be split', async () => {
    const merged = await run(false);
    const ann = ownerOf(merged.stores, 'userId:ann-1');
    const member = merged.stores.profileItems.get(ann)?.members[0] as string;
    expect(member).toBeDefined();
    const result = await splitProfile(merged.stores, ann, { member }, config);
    expect(result.splitProfileId).toBe(member);
    expect(ownerOf(merged.stores, 'anonymousId:family-tablet')).toBe(member);
    expect(merged.stores.profileItems.get(ann)?.members).toEqual([]);
    await expect(splitProfile(merged.stores, ann, { identifier: { namespace: 'anonymousId', value: 'family-tablet' } }, config)).rejects.toMatchObject({ statusCode: 400 });
    await expect(splitProfile(merged.stores, ann, { member: 'p_nobody' }, config)).rejects.toMatchObject({ statusCode: 400 });
    await expect(splitProfile(merged.stores, ann, { identifier: { namespace: 'userId', value: 'ann-1' } }, config)).rejects.toMatchObject({ statusCode: 400 });
  });
});
