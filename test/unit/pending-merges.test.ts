import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { writeBatchAttributes } from '../../lib/profile/batch';
import { segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { FaultyStores, firstCallGate } from '../support/faults';
import { config, foldCounts, S0, S1, throttleProfile } from '../support/exactly-once';

/**
 * Merges marked pending on the survivor's item (found in the second review): the mark must survive
 * every other writer of the survivor (another shard, the nightly scores), chains of pending merges and
 * survivors that exist only as their mark, so a merged profile's history is counted once.
 */

const view = (partial: Record<string, unknown>) => segmentEvent(partial);
const login = (userId: string, anonymousId: string, messageId: string, timestamp: string) =>
  segmentEvent({ type: 'identify', userId, anonymousId, messageId, event: undefined, timestamp });


/** Holds back the first write (its profile or a link to it) of a profile; `waiting` settles when it is held. */
function holdFirstWrite(faulty: FaultyStores, profileId: string): { waiting: Promise<void>; release: () => void } {
  const put = faulty.stores.profiles.put;
  const putOwner = faulty.stores.graph.putOwner;
  const gate = firstCallGate();
  faulty.stores.profiles.put = async (p, v, w) => {
    if (p.profileId === profileId) await gate.pass();
    return put(p, v, w);
  };
  faulty.stores.graph.putOwner = async (key, owner, expected, moves) => {
    if (owner === profileId) await gate.pass();
    return putOwner(key, owner, expected, moves);
  };
  return { waiting: gate.reached, release: gate.release };
}

/** The live profile a profile id leads to, following tombstones. */
function rootIn(faulty: FaultyStores, id: string | undefined): string | undefined {
  let at = id;
  while (at !== undefined && faulty.inner.profileItems.get(at)?.mergedInto !== undefined) at = faulty.inner.profileItems.get(at)?.mergedInto;
  return at;
}

describe('a pending merge and other writers of the survivor', () => {
  const cust = deriveProfileId('userId:cust-c');
  const visitor = deriveProfileId('anonymousId:visitor-c');

  /** The visitor and the customer are known; the customer logs in on the visitor's device; the customer's write is throttled. */
  async function loginWhoseSurvivorWriteFailed(faulty: FaultyStores, seq: SequenceFactory): Promise<StreamRecord[]> {
    const first = await ingestBatch(
      [toRecord(view({ anonymousId: 'visitor-c', messageId: 'c-0', timestamp: '2026-11-20T09:00:00.000Z' }), seq.take()), toRecord(view({ userId: 'cust-c', messageId: 's-0', timestamp: '2026-11-20T09:01:00.000Z' }), seq.take())],
      faulty.stores,
      config(),
    );
    expect(first.failedSequenceNumbers).toEqual([]);
    const batch = [toRecord(login('cust-c', 'visitor-c', 'login-c', '2026-11-20T09:05:00.000Z'), seq.take())];
    throttleProfile(faulty.stores, cust);
    const attempt = await ingestBatch(batch, faulty.stores, config());
    expect(attempt.failedSequenceNumbers).toEqual([batch[0]!.sequenceNumber]);
    expect(faulty.inner.profileItems.get(visitor)?.mergedInto).toBe(cust);
    expect([...(faulty.inner.pendingMerges.get(cust) ?? [])]).toEqual([visitor]);
    return batch;
  }

  it("keeps the visitor's history when the nightly job writes the customer's scores between the failed merge and its retry", async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const batch = await loginWhoseSurvivorWriteFailed(faulty, seq);
    // The nightly job publishes a score for the customer (PutItem of the survivor's item).
    await writeBatchAttributes(faulty.stores, cust, { propensity: { value: 0.4, asOf: '2026-11-21T02:00:00.000Z' } });
    const retry = await ingestBatch(batch, faulty.stores, config());
    expect(retry.failedSequenceNumbers).toEqual([]);
    expect({ visitorsView: foldCounts(faulty.inner).get('c-0') ?? 0, eventCount: faulty.inner.profileItems.get(cust)?.aggregates.eventCount }).toEqual({ visitorsView: 1, eventCount: 3 });
  });

  it("keeps the visitor's history when another shard's batch writes the customer while the merge's tombstone is being written", async () => {
    const faulty = new FaultyStores();
    const seq = new SequenceFactory();
    const other = new SequenceFactory();
    expect(
      (
        await ingestBatch(
          [toRecord(view({ anonymousId: 'visitor-c', messageId: 'c-0', timestamp: '2026-11-20T09:00:00.000Z' }), seq.take()), toRecord(view({ userId: 'cust-c', messageId: 's-0', timestamp: '2026-11-20T09:01:00.000Z' }), seq.take())],
          faulty.stores,
          config(),
        )
      ).failedSequenceNumbers,
    ).toEqual([]);
    // Shard 0 merges the visitor into the customer. Just before its tombstone write lands, shard 1's
    // invocation (a server-side event of the customer) runs to its end: two Lambda invocations at once.
    const put = faulty.stores.profiles.put;
    let raced = false;
    faulty.stores.profiles.put = async (p, v, w) => {
      if (!raced && p.profileId === visitor && p.mergedInto !== undefined) {
        raced = true;
        const concurrent = await ingestBatch([toRecord(view({ userId: 'cust-c', messageId: 's-1', timestamp: '2026-11-20T09:06:00.000Z' }), other.take(), S1)], faulty.stores, config());
        expect(concurrent.failedSequenceNumbers).toEqual([]);
      }
      return put(p, v, w);
    };
    const batch = [toRecord(login('cust-c', 'visitor-c', 'login-c', '2026-11-20T09:05:00.000Z'), seq.take(), S0)];
    const attempt = await ingestBatch(batch, faulty.stores, config());
    expect(raced).toBe(true);
    // The customer's conditional write lost the race: the group is retried.
    expect(attempt.failedSequenceNumbers).toEqual([batch[0]!.sequenceNumber]);
    const retry = await ingestBatch(batch, faulty.stores, config());
    expect(retry.failedSequenceNumbers).toEqual([]);
    expect({ visitorsView: foldCounts(faulty.inner).get('c-0') ?? 0, eventCount: faulty.inner.profileItems.get(cust)?.aggregates.eventCount }).toEqual({ visitorsView: 1, eventCount: 4 });
  });
});

describe('chains of pending merges', () => {
  it("keeps a merged visitor's history when the survivor of her pending merge is itself merged away and that survivor's write fails too", async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const L = deriveProfileId('deviceId:dev-l'); // a profile's id comes from its first identifier by priority
    const M = deriveProfileId('anonymousId:m');
    const cust = deriveProfileId('userId:cust');
    // Three profiles: the customer (server events), an older visitor L with a device, and a newer visitor M.
    const setup = [
      view({ userId: 'cust', messageId: 's-0', timestamp: '2026-11-20T09:00:00.000Z' }),
      view({ anonymousId: 'l', context: { device: { id: 'dev-l' } }, messageId: 'l-0', timestamp: '2026-11-20T10:00:00.000Z' }),
      view({ anonymousId: 'm', messageId: 'm-0', timestamp: '2026-11-20T11:00:00.000Z' }),
    ];
    expect((await ingestBatch(setup.map((e) => toRecord(e, s0.take(), S0)), faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    expect(faulty.inner.owners.get('anonymousId:l')).toBe(L);
    // Shard 0: M shows up on L's device: M merges into L (the older); L's write is throttled (pending M on L).
    const a = [toRecord(view({ anonymousId: 'm', context: { device: { id: 'dev-l' } }, messageId: 'join-ml', timestamp: '2026-11-20T11:05:00.000Z' }), s0.take(), S0)];
    throttleProfile(faulty.stores, L);
    expect((await ingestBatch(a, faulty.stores, config())).failedSequenceNumbers).toEqual([a[0]!.sequenceNumber]);
    expect(faulty.inner.profileItems.get(M)?.mergedInto).toBe(L);
    // Shard 1: the customer logs in on L's cookie: L (with M, finished from the pending mark) merges into the
    // customer; the customer's write is throttled.
    const b = [toRecord(login('cust', 'l', 'login', '2026-11-20T11:10:00.000Z'), s1.take(), S1)];
    throttleProfile(faulty.stores, cust);
    expect((await ingestBatch(b, faulty.stores, config())).failedSequenceNumbers).toEqual([b[0]!.sequenceNumber]);
    // Both shards retry.
    expect((await ingestBatch(a, faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    expect((await ingestBatch(b, faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    const counts = foldCounts(faulty.inner);
    expect({ 'm-0': counts.get('m-0') ?? 0, 'l-0': counts.get('l-0') ?? 0, 'join-ml': counts.get('join-ml') ?? 0, customerEvents: faulty.inner.profileItems.get(cust)?.aggregates.eventCount }).toEqual({
      'm-0': 1,
      'l-0': 1,
      'join-ml': 1,
      customerEvents: 5,
    });
  });
});

describe('a new survivor that exists only as its pending mark (a stub item)', () => {
  it("counts a visitor's history once when the stub survivor of her pending merge is merged into another profile before its own retry", async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const L = deriveProfileId('deviceId:dev-l'); // a profile's id comes from its first identifier by priority
    const S = deriveProfileId('userId:cust2');
    const T = deriveProfileId('deviceId:dev-t');
    // Two visitors: L (cookie l, device dev-l) and an older T (cookie t, device dev-t).
    const setup = [
      view({ anonymousId: 't', context: { device: { id: 'dev-t' } }, messageId: 't-0', timestamp: '2026-11-20T08:00:00.000Z' }),
      view({ anonymousId: 'l', context: { device: { id: 'dev-l' } }, messageId: 'l-0', timestamp: '2026-11-20T10:00:00.000Z' }),
    ];
    expect((await ingestBatch(setup.map((e) => toRecord(e, s0.take(), S0)), faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    expect([faulty.inner.owners.get('anonymousId:l'), faulty.inner.owners.get('anonymousId:t')]).toEqual([L, T]);
    // Shard 0: a new customer (server event), who then logs in on cookie l: L merges into the new S; S's first write is throttled.
    const a = [
      toRecord(view({ userId: 'cust2', messageId: 'srv-0', timestamp: '2026-11-20T10:30:00.000Z' }), s0.take(), S0),
      toRecord(login('cust2', 'l', 'login', '2026-11-20T10:31:00.000Z'), s0.take(), S0),
    ];
    throttleProfile(faulty.stores, S);
    expect((await ingestBatch(a, faulty.stores, config())).failedSequenceNumbers).toEqual([a[0]!.sequenceNumber]);
    expect(faulty.inner.profileItems.has(S)).toBe(false);
    expect(faulty.inner.profileItems.get(L)?.mergedInto).toBe(S);
    // Shard 1, before shard 0's retry: cookie l is seen on T's device (the pending merge is finished into S, and S merges into the older T).
    expect((await ingestBatch([toRecord(view({ anonymousId: 'l', context: { device: { id: 'dev-t' } }, messageId: 'join', timestamp: '2026-11-20T10:40:00.000Z' }), s1.take(), S1)], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Shard 0 retries.
    expect((await ingestBatch(a, faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    const counts = foldCounts(faulty.inner);
    const live = [...faulty.inner.profileItems.values()].filter((p) => p.mergedInto === undefined).map((p) => p.profileId);
    expect({ 'l-0': counts.get('l-0') ?? 0, 't-0': counts.get('t-0') ?? 0, liveProfilesHoldingL: live.filter((id) => (faulty.inner.profileItems.get(id)?.aggregates.perMessage as Record<string, number> | undefined)?.['l-0']).length }).toEqual({
      'l-0': 1,
      't-0': 1,
      liveProfilesHoldingL: 1,
    });
  });
});

describe("a customer's logins on two devices on two shards at once (found by the reliability run)", () => {
  it('leaves one profile for her when one login is held at its first write while the other is folded', async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const phone = deriveProfileId('anonymousId:phone');
    // Two anonymous devices of one customer, the laptop seen first (so it is the older profile).
    const setup = [
      toRecord(view({ anonymousId: 'laptop', messageId: 'l-0', timestamp: '2026-11-20T09:00:00.000Z' }), s0.take(), S0),
      toRecord(view({ anonymousId: 'phone', messageId: 'p-0', timestamp: '2026-11-20T09:10:00.000Z' }), s1.take(), S1),
    ];
    expect((await ingestBatch(setup, faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Shard 1 folds her login on the phone; its first write (the profile or the userId's link) is held back
    // while shard 0 folds her login on the laptop, with the laptop profile's own retries.
    const { waiting, release } = holdFirstWrite(faulty, phone);
    const onPhone = [toRecord(login('cust', 'phone', 'login-phone', '2026-11-20T10:00:00.000Z'), s1.take(), S1)];
    const phoneRun = ingestBatch(onPhone, faulty.stores, config());
    await waiting;
    const onLaptop = [toRecord(login('cust', 'laptop', 'login-laptop', '2026-11-20T10:01:00.000Z'), s0.take(), S0)];
    for (let i = 0; i < 3; i++) if ((await ingestBatch(onLaptop, faulty.stores, config())).failedSequenceNumbers.length === 0) break;
    release();
    await phoneRun;
    // Both shards deliver their record again until nothing fails (a success is delivered again harmlessly).
    for (let i = 0; i < 3; i++) {
      await ingestBatch(onPhone, faulty.stores, config());
      await ingestBatch(onLaptop, faulty.stores, config());
    }
    const live = [...faulty.inner.profileItems.values()].filter((p) => p.mergedInto === undefined);
    const rootOf = (id: string | undefined) => rootIn(faulty, id);
    expect({
      liveWithHerUserId: live.filter((p) => (p.identities.userId ?? []).includes('cust')).length,
      phoneWithHer: rootOf(faulty.inner.owners.get('anonymousId:phone')) === rootOf(faulty.inner.owners.get('userId:cust')),
      laptopWithHer: rootOf(faulty.inner.owners.get('anonymousId:laptop')) === rootOf(faulty.inner.owners.get('userId:cust')),
      folded: Object.fromEntries(['l-0', 'p-0', 'login-phone', 'login-laptop'].map((id) => [id, foldCounts(faulty.inner).get(id) ?? 0])),
    }).toEqual({ liveWithHerUserId: 1, phoneWithHer: true, laptopWithHer: true, folded: { 'l-0': 1, 'p-0': 1, 'login-phone': 1, 'login-laptop': 1 } });
  });
});

describe('an identifier whose owner is not written yet (found by the reliability run)', () => {
  it("leaves one profile for the customer when her first login's writes are still in flight as her login on another device is folded", async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const cust = deriveProfileId('userId:cust');
    // Her laptop is known, anonymously.
    expect((await ingestBatch([toRecord(view({ anonymousId: 'laptop', messageId: 'l-0', timestamp: '2026-11-20T09:00:00.000Z' }), s0.take(), S0)], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Shard 1: she logs in first on a new phone: a new profile, whose first write (the profile or its link) is held back.
    const { waiting, release } = holdFirstWrite(faulty, cust);
    const onPhone = [toRecord(login('cust', 'phone', 'login-phone', '2026-11-20T10:00:00.000Z'), s1.take(), S1)];
    const phoneRun = ingestBatch(onPhone, faulty.stores, config());
    await waiting;
    // Shard 0 folds her login on the laptop meanwhile; then the phone's write lands.
    const onLaptop = [toRecord(login('cust', 'laptop', 'login-laptop', '2026-11-20T10:01:00.000Z'), s0.take(), S0)];
    const attempts = [await ingestBatch(onLaptop, faulty.stores, config())];
    release();
    const phoneAttempts = [await phoneRun];
    // Each shard retries what failed, until nothing does.
    for (let i = 0; i < 3; i++) {
      if ((attempts.at(-1)?.failedSequenceNumbers ?? []).length > 0) attempts.push(await ingestBatch(onLaptop, faulty.stores, config()));
      if ((phoneAttempts.at(-1)?.failedSequenceNumbers ?? []).length > 0) phoneAttempts.push(await ingestBatch(onPhone, faulty.stores, config()));
    }
    expect([attempts.at(-1)?.failedSequenceNumbers, phoneAttempts.at(-1)?.failedSequenceNumbers]).toEqual([[], []]);
    const live = [...faulty.inner.profileItems.values()].filter((p) => p.mergedInto === undefined);
    const rootOf = (id: string | undefined) => rootIn(faulty, id);
    const hers = rootOf(faulty.inner.owners.get('userId:cust'));
    expect({
      liveWithHerUserId: live.filter((p) => (p.identities.userId ?? []).includes('cust')).length,
      herLinkLive: live.some((p) => p.profileId === hers),
      phoneWithHer: rootOf(faulty.inner.owners.get('anonymousId:phone')) === hers,
      laptopWithHer: rootOf(faulty.inner.owners.get('anonymousId:laptop')) === hers,
      folded: Object.fromEntries(['l-0', 'login-phone', 'login-laptop'].map((id) => [id, foldCounts(faulty.inner).get(id) ?? 0])),
    }).toEqual({ liveWithHerUserId: 1, herLinkLive: true, phoneWithHer: true, laptopWithHer: true, folded: { 'l-0': 1, 'login-phone': 1, 'login-laptop': 1 } });
  });
});

describe("a customer's profile whose first write failed, on a device another customer logs in on (found in review)", () => {
  it("never merges her unwritten profile into his, so her retry does not land in his profile", async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const V = deriveProfileId('userId:v');
    const P = deriveProfileId('userId:u');
    expect((await ingestBatch([toRecord(login('v', 'vdev', 'v-0', '2026-11-20T09:00:00.000Z'), s0.take(), S0)], faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Shard 1: u logs in first on a new device d: d is linked to her new profile P, whose write is throttled.
    throttleProfile(faulty.stores, P);
    const onD = [toRecord(login('u', 'd', 'login-u', '2026-11-20T10:00:00.000Z'), s1.take(), S1)];
    expect((await ingestBatch(onD, faulty.stores, config())).failedSequenceNumbers).toHaveLength(1);
    // Shard 0, before shard 1's retry: v logs in on the same device d.
    const onV = [toRecord(login('v', 'd', 'login-v', '2026-11-20T10:01:00.000Z'), s0.take(), S0)];
    for (let i = 0; i < 3; i++) if ((await ingestBatch(onV, faulty.stores, config())).failedSequenceNumbers.length === 0) break;
    // Shard 1 retries until nothing fails.
    for (let i = 0; i < 3; i++) if ((await ingestBatch(onD, faulty.stores, config())).failedSequenceNumbers.length === 0) break;
    const live = [...faulty.inner.profileItems.values()].filter((p) => p.mergedInto === undefined);
    const hers = rootIn(faulty, faulty.inner.owners.get('userId:u'));
    expect({
      liveWithU: live.filter((p) => (p.identities.userId ?? []).includes('u')).length,
      liveWithV: live.filter((p) => (p.identities.userId ?? []).includes('v')).length,
      herLinkLive: live.some((p) => p.profileId === hers && (p.identities.userId ?? []).includes('u')),
      hersIsHis: hers === rootIn(faulty, V),
      folded: Object.fromEntries(['v-0', 'login-u', 'login-v'].map((id) => [id, foldCounts(faulty.inner).get(id) ?? 0])),
      loginUWithHer: foldCounts(faulty.inner, hers).get('login-u') ?? 0,
    }).toEqual({ liveWithU: 1, liveWithV: 1, herLinkLive: true, hersIsHis: false, folded: { 'v-0': 1, 'login-u': 1, 'login-v': 1 }, loginUWithHer: 1 });
  });
});

describe('two merges of the same two profiles at once, each the other way round (found by the interleaving property)', () => {
  it('never makes two profiles tombstones of each other, and keeps one profile for the visitor when both shards retry', async () => {
    const faulty = new FaultyStores();
    const s0 = new SequenceFactory();
    const s1 = new SequenceFactory();
    const A = deriveProfileId('deviceId:dev-a');
    const B = deriveProfileId('deviceId:dev-b');
    const setup = [
      toRecord(view({ anonymousId: 'a', context: { device: { id: 'dev-a' } }, messageId: 'a-0', timestamp: '2026-11-20T09:00:00.000Z' }), s0.take(), S0),
      toRecord(view({ anonymousId: 'b', context: { device: { id: 'dev-b' } }, messageId: 'b-0', timestamp: '2026-11-20T09:10:00.000Z' }), s0.take(), S0),
    ];
    expect((await ingestBatch(setup, faulty.stores, config())).failedSequenceNumbers).toEqual([]);
    // Shard 0: she logs in on b, then b is seen with a's device: a merges into b (b has her userId now).
    const x = [
      toRecord(login('u', 'b', 'login-b', '2026-11-20T10:00:00.000Z'), s0.take(), S0),
      toRecord(view({ anonymousId: 'b', context: { device: { id: 'dev-a' } }, messageId: 'b-with-dev-a', timestamp: '2026-11-20T10:01:00.000Z' }), s0.take(), S0),
    ];
    // Shard 1, at the same time: a is seen with b's device: b merges into a (the older, neither has a userId in its view).
    const y = [toRecord(view({ anonymousId: 'a', context: { device: { id: 'dev-b' } }, messageId: 'a-with-dev-b', timestamp: '2026-11-20T10:02:00.000Z' }), s1.take(), S1)];
    // Both mark their merge before either writes a tombstone; neither survivor is written before both tombstones are tried.
    const mark = faulty.stores.profiles.markPendingMerge;
    const put = faulty.stores.profiles.put;
    let yRun: Promise<unknown> | undefined;
    let yAtWrite = () => undefined as void;
    const yWaiting = new Promise<void>((r) => (yAtWrite = r));
    let xDone = () => undefined as void;
    const xFinished = new Promise<void>((r) => (xDone = r));
    faulty.stores.profiles.markPendingMerge = async (survivor, losers) => {
      await mark(survivor, losers);
      if (survivor === B && yRun === undefined) {
        yRun = ingestBatch(y, faulty.stores, config());
        await Promise.race([yWaiting, yRun]);
      }
    };
    faulty.stores.profiles.put = async (...args) => {
      if (args[0].profileId === A && args[0].mergedInto === undefined && yRun !== undefined) {
        yAtWrite();
        await xFinished;
      }
      return put(...args);
    };
    await ingestBatch(x, faulty.stores, config());
    xDone();
    await yRun;
    faulty.stores.profiles.markPendingMerge = mark;
    faulty.stores.profiles.put = put;
    expect({ A: faulty.inner.profileItems.get(A)?.mergedInto, B: faulty.inner.profileItems.get(B)?.mergedInto }).not.toEqual({ A: B, B: A });
    // Both shards retry until nothing fails.
    for (let i = 0; i < 3; i++) {
      await ingestBatch(x, faulty.stores, config());
      await ingestBatch(y, faulty.stores, config());
    }
    const live = [...faulty.inner.profileItems.values()].filter((p) => p.mergedInto === undefined);
    expect({
      live: live.length,
      folded: Object.fromEntries(['a-0', 'b-0', 'login-b', 'b-with-dev-a', 'a-with-dev-b'].map((id) => [id, foldCounts(faulty.inner).get(id) ?? 0])),
    }).toEqual({ live: 1, folded: { 'a-0': 1, 'b-0': 1, 'login-b': 1, 'b-with-dev-a': 1, 'a-with-dev-b': 1 } });
  });
});
