import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { segmentEvent, SequenceFactory, signedFeedback, toRecord } from '../support/factories';
import { FaultyStores, firstCallGate } from '../support/faults';
import { config, foldCounts, S0, S1, throttleProfile } from '../support/exactly-once';

/** Found in the second review: the move history on identifier links, and the recent messageIds of a profile. */

describe('a device that moves twice in one batch', () => {
  it("folds an anonymous order once when the retried batch had the tablet move from u1 to u2 and then to u3", async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const identify = (userId: string, messageId: string, timestamp: string) => segmentEvent({ type: 'identify', userId, anonymousId: 'tablet', messageId, event: undefined, timestamp });
    expect((await ingestBatch([toRecord(identify('u1', 'login-1', '2026-11-20T09:00:00.000Z'), seq.take())], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // One batch: an anonymous order on u1's tablet, then u2 logs in on it, then u3.
    const batch = [
      toRecord(segmentEvent({ anonymousId: 'tablet', event: 'Order Completed', messageId: 'order-1', properties: { total: 50 }, timestamp: '2026-11-20T09:01:00.000Z' }), seq.take()),
      toRecord(identify('u2', 'login-2', '2026-11-20T09:02:00.000Z'), seq.take()),
      toRecord(identify('u3', 'login-3', '2026-11-20T09:03:00.000Z'), seq.take()),
    ];
    // Profiles and links are written, the events table write fails: the mapping retries the batch.
    faulty.arm({ kind: 'throttle', on: 'events', nth: 1 });
    expect((await ingestBatch(batch, faulty.stores, config())).failedSequenceNumbers.length).toBeGreaterThan(0);
    expect(faulty.inner.profileItems.get(deriveProfileId('userId:u1'))?.aggregates.orderCount).toBe(1);
    faulty.arm({ kind: 'none' });
    expect((await ingestBatch(batch, faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    const orders = (u: string) => faulty.inner.profileItems.get(deriveProfileId(`userId:${u}`))?.aggregates.orderCount ?? 0;
    expect({ folded: foldCounts(faulty.inner).get('order-1'), u1: orders('u1'), u2: orders('u2'), u3: orders('u3'), movedFrom: faulty.inner.moves.get('anonymousId:tablet')?.map((m) => m.profileId) }).toEqual({
      folded: 1,
      u1: 1,
      u2: 0,
      u3: 0,
      movedFrom: expect.arrayContaining([deriveProfileId('userId:u1')]),
    });
  });
});

describe('a device that moves while the profile it leaves cannot be written (found by the reliability run)', () => {
  it("leaves the tablet in one profile when the first customer's write failed as the second logged in on it", async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const identify = (userId: string, messageId: string, timestamp: string) => segmentEvent({ type: 'identify', userId, anonymousId: 'tablet', messageId, event: undefined, timestamp });
    const u1 = deriveProfileId('userId:u1');
    const u2 = deriveProfileId('userId:u2');
    expect((await ingestBatch([toRecord(identify('u1', 'login-1', '2026-11-20T09:00:00.000Z'), seq.take())], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // u2 logs in on the tablet: its link moves to u2, whose profile is written; u1's write (without the tablet) is throttled.
    const batch = [toRecord(identify('u2', 'login-2', '2026-11-20T09:02:00.000Z'), seq.take())];
    throttleProfile(faulty.stores, u1);
    expect((await ingestBatch(batch, faulty.stores, config())).failedSequenceNumbers).toEqual([batch[0]!.sequenceNumber]);
    expect(faulty.inner.owners.get('anonymousId:tablet')).toBe(u2);
    expect((await ingestBatch(batch, faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    const tablets = (id: string) => faulty.inner.profileItems.get(id)?.identities.anonymousId ?? [];
    expect({ owner: faulty.inner.owners.get('anonymousId:tablet'), u1: tablets(u1), u2: tablets(u2) }).toEqual({ owner: u2, u1: [], u2: ['tablet'] });
  });
});

describe('a producer copy on another shard and offer statistics', () => {
  it("counts an impression once when the first copy's statistics write failed and its producer copy on another shard was stored first", async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const event = signedFeedback(segmentEvent({ anonymousId: 'visitor-z', event: 'Promotion Viewed', messageId: 'imp-z', properties: { decision_id: 'd-9', promotion_id: 'garden-season', variant: 'personalised' }, timestamp: '2026-11-20T09:01:00.000Z' }));
    // Shard 0: the profile is written (the message is among its recent ones), the offer statistics write is throttled.
    const first = toRecord(event, s0.take(), S0);
    faulty.arm({ kind: 'throttle', on: 'stats', nth: 1 });
    expect((await ingestBatch([first], faulty.stores, config())).failedSequenceNumbers).toEqual([first.sequenceNumber]);
    faulty.arm({ kind: 'none' });
    // The producer's copy on shard 1 is processed before shard 0's retry.
    expect((await ingestBatch([toRecord(event, s1.take(), S1)], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Shard 0 retries.
    expect((await ingestBatch([first], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    const [stats] = await faulty.inner.offerStats.range('garden-season', '2026-11-20', '2026-11-20');
    expect({ counts: stats?.counts ?? {}, folded: foldCounts(faulty.inner).get('imp-z') }).toEqual({ counts: { impressions_personalised: 1 }, folded: 1 });
  });
});

describe('a batch whose later record moved a device out of a profile whose own write failed (found by the interleaving property)', () => {
  it("keeps the first customer's anonymous history with her when her login's write failed and the second customer's login on the same tablet, later in the batch, was written", async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const alias = (userId: string, previousId: string, messageId: string, timestamp: string) =>
      segmentEvent({ type: 'alias', userId, anonymousId: 'tablet', previousId, messageId, event: undefined, timestamp });
    const tablet = deriveProfileId('anonymousId:tablet');
    expect((await ingestBatch([toRecord(segmentEvent({ anonymousId: 'tablet', messageId: 'visit', timestamp: '2026-11-20T09:00:00.000Z' }), seq.take())], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // One batch: u1 logs in on the tablet (its anonymous profile becomes hers), then u0 does (the tablet moves to u0).
    const batch = [toRecord(alias('u1', 'phone-1', 'login-1', '2026-11-20T09:01:00.000Z'), seq.take()), toRecord(alias('u0', 'phone-0', 'login-0', '2026-11-20T09:02:00.000Z'), seq.take())];
    // The write of u1's link for her phone is throttled; u0's writes go through.
    const putOwner = faulty.stores.graph.putOwner;
    let throttled = false;
    faulty.stores.graph.putOwner = async (key, ...rest) => {
      if (!throttled && key === 'anonymousId:phone-1') {
        throttled = true;
        throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      }
      return putOwner(key, ...rest);
    };
    expect((await ingestBatch(batch, faulty.stores, config())).failedSequenceNumbers.length).toBeGreaterThan(0);
    for (let i = 0; i < 2; i++) await ingestBatch(batch, faulty.stores, config());
    const live = [...faulty.inner.profileItems.values()].filter((p) => p.mergedInto === undefined);
    const holding = (ns: 'userId' | 'anonymousId', value: string) => live.filter((p) => (p.identities[ns] ?? []).includes(value)).map((p) => p.profileId);
    expect({ visitWith: live.filter((p) => (p.aggregates.perMessage as Record<string, number> | undefined)?.visit).map((p) => p.identities.userId), tablet: holding('anonymousId', 'tablet'), u1: holding('userId', 'u1') }).toEqual({
      visitWith: [['u1']],
      tablet: [faulty.inner.owners.get('anonymousId:tablet')],
      u1: [tablet],
    });
  });
});

describe('a link read just before another shard moved it (found by the interleaving property)', () => {
  it("never leaves a device in two profiles when a visit read the device's link before a login on another shard moved it", async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const login = (userId: string, messageId: string, timestamp: string) => segmentEvent({ type: 'identify', userId, anonymousId: 'tablet', messageId, event: undefined, timestamp });
    expect((await ingestBatch([toRecord(login('w', 'login-w', '2026-11-20T09:00:00.000Z'), s0.take(), S0)], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Shard 0: an anonymous visit on the tablet reads its link (to w's profile), and is held before it loads the profiles.
    const load = faulty.stores.profiles.load;
    const gate = firstCallGate();
    faulty.stores.profiles.load = async (ids) => {
      await gate.pass();
      return load(ids);
    };
    const visit = [toRecord(segmentEvent({ anonymousId: 'tablet', messageId: 'visit', timestamp: '2026-11-20T09:30:00.000Z' }), s0.take(), S0)];
    const visitRun = ingestBatch(visit, faulty.stores, config());
    await gate.reached;
    // Shard 1 meanwhile: u logs in on the tablet; it moves to her, and w's profile is written without it.
    expect((await ingestBatch([toRecord(login('u', 'login-u', '2026-11-20T09:31:00.000Z'), s1.take(), S1)], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    gate.release();
    const attempts = [await visitRun];
    for (let i = 0; i < 3 && (attempts.at(-1)?.failedSequenceNumbers ?? []).length > 0; i++) attempts.push(await ingestBatch(visit, faulty.stores, config()));
    const listing = [...faulty.inner.profileItems.values()].filter((p) => p.mergedInto === undefined && (p.identities.anonymousId ?? []).includes('tablet'));
    expect({
      done: attempts.at(-1)?.failedSequenceNumbers,
      listing: listing.map((p) => p.profileId),
      link: faulty.inner.owners.get('anonymousId:tablet'),
      visit: foldCounts(faulty.inner).get('visit'),
    }).toEqual({ done: [], listing: [deriveProfileId('userId:u')], link: deriveProfileId('userId:u'), visit: 1 });
  });
});
