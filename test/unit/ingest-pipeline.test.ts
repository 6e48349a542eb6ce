import { ingestBatch } from '../../lib/ingest/pipeline';
import { deriveProfileId } from '../../lib/identity/resolver';
import { MemoryStores } from '../../lib/store/memory';
import { viewAggregates } from '../../lib/profile/aggregates';
import { ingestConfig, rawRecord, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

describe('ingestBatch', () => {
  it('creates one profile per anonymous visitor with deterministic ids and aggregates', async () => {
    // Prepare
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const records = [
      toRecord(segmentEvent({ anonymousId: 'anon-1' }), seq.take()),
      toRecord(segmentEvent({ anonymousId: 'anon-1', event: 'Order Completed', properties: { total: 42.5 } }), seq.take()),
      toRecord(segmentEvent({ anonymousId: 'anon-2' }), seq.take()),
    ];
    // Act
    const result = await ingestBatch(records, stores, ingestConfig());
    // Assess
    expect(result.failedSequenceNumbers).toEqual([]);
    const p1 = stores.profileItems.get(deriveProfileId('anonymousId:anon-1'));
    expect(p1).toBeDefined();
    expect(viewAggregates(p1!.aggregates)).toMatchObject({ eventCount: 2, orderCount: 1, revenue: 42.5, productViews: 1 });
    expect(stores.profileItems.size).toBe(2);
    expect(stores.eventItems.size).toBe(3);
    expect(stores.owners.get('anonymousId:anon-1')).toBe(p1!.profileId);
  });

  it('puts the engine\'s own decision events in the journey without folding or rewriting the profile', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingestBatch([toRecord(segmentEvent({ userId: 'cust-d', timestamp: '2026-11-20T10:00:00.000Z' }), seq.take())], stores, ingestConfig());
    const id = deriveProfileId('userId:cust-d');
    const before = structuredClone(stores.profileItems.get(id));
    const decision = segmentEvent({ userId: 'cust-d', event: 'Decision Made', messageId: 'decision-1', properties: { decision_id: '1', offers: ['a'] }, timestamp: '2026-11-20T11:00:00.000Z' });
    const first = await ingestBatch([toRecord(decision, seq.take())], stores, ingestConfig());
    expect(first.stats).toMatchObject({ folded: 0, profilesWritten: 0 });
    expect(stores.profileItems.get(id)).toEqual(before);
    expect([...stores.eventItems.values()].filter((e) => e.profileId === id).map((e) => e.event.event)).toEqual(['Product Viewed', 'Decision Made']);
    // Redelivered: recognised by its messageId, stored once.
    const again = await ingestBatch([toRecord(decision, seq.take())], stores, ingestConfig());
    expect(again.stats.duplicates).toBe(1);
    expect([...stores.eventItems.values()].filter((e) => e.profileId === id)).toHaveLength(2);
    // A visitor first seen through a decision still gets a profile, so her journey has the decision.
    await ingestBatch([toRecord({ ...decision, userId: undefined, anonymousId: 'new-visitor', messageId: 'decision-2' }, seq.take())], stores, ingestConfig());
    expect(stores.profileItems.has(deriveProfileId('anonymousId:new-visitor'))).toBe(true);
  });

  it('merges an anonymous history into the customer profile when she logs in', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingestBatch([toRecord(segmentEvent({ anonymousId: 'tab-1', timestamp: '2026-11-20T10:00:00.000Z' }), seq.take())], stores, ingestConfig());
    await ingestBatch([toRecord(segmentEvent({ userId: 'cust-9', type: 'identify', traits: { email: 'Ann@Example.com', name: 'Ann' }, timestamp: '2026-11-20T09:00:00.000Z' }), seq.take())], stores, ingestConfig());
    const result = await ingestBatch(
      [toRecord(segmentEvent({ userId: 'cust-9', anonymousId: 'tab-1', type: 'identify', timestamp: '2026-11-20T18:00:00.000Z' }), seq.take())],
      stores,
      ingestConfig(),
    );
    expect(result.stats.merges).toBe(1);
    const survivorId = deriveProfileId('userId:cust-9');
    const survivor = stores.profileItems.get(survivorId)!;
    expect(survivor.identities.anonymousId).toEqual(['tab-1']);
    expect(survivor.members).toEqual([deriveProfileId('anonymousId:tab-1')]);
    expect(viewAggregates(survivor.aggregates)).toMatchObject({ eventCount: 3 });
    // Names are personal data (config/events.json): removed before anything is stored; e-mail is an identifier.
    expect(survivor.traits.name).toBeUndefined();
    expect(survivor.traits.email).toBeUndefined();
    expect(survivor.identities.email?.[0]).toMatch(/^[0-9a-f]{64}$/);
    const tomb = stores.profileItems.get(deriveProfileId('anonymousId:tab-1'))!;
    expect(tomb.mergedInto).toBe(survivorId);
  });

  it('dead-letters invalid records with their reason and still processes the rest', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const result = await ingestBatch(
      [
        rawRecord('{not json', seq.take()),
        toRecord(segmentEvent({ anonymousId: 'null' }), seq.take()),
        toRecord({ type: 'track', anonymousId: 'x' }, seq.take()),
        toRecord(segmentEvent({ anonymousId: 'ok-1' }), seq.take()),
      ],
      stores,
      ingestConfig(),
    );
    expect(result.failedSequenceNumbers).toEqual([]);
    const reasons = [...stores.letters.values()].map((l) => l.reason);
    expect(reasons).toEqual([
      'invalid JSON',
      'no usable identity: every identifier is empty or a junk value',
      expect.stringMatching(/^schema violation: .*event/),
    ]);
    expect(stores.profileItems.size).toBe(1);
  });
});
