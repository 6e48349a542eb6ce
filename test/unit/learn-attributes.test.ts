import { ingestBatch } from '../../lib/ingest/pipeline';
import { valueAttributes } from '../../lib/learn/attributes';
import { writeBatchAttributes } from '../../lib/profile/batch';
import { factsOf } from '../../lib/profile/facts';
import { loadAggregates } from '../../lib/profile/aggregates';
import { compileCondition, loadProfileRules } from '../../lib/profile/segments';
import { deriveProfileId } from '../../lib/identity/resolver';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

const night = new Date('2026-11-27T02:00:00Z');
const day = (d: number, h = 12) => new Date(Date.UTC(2026, 10, d, h)).toISOString();
const order = (userId: string, d: number, total: number) => segmentEvent({ userId, event: 'Order Completed', properties: { total }, timestamp: day(d) });
const view = (userId: string, d: number) => segmentEvent({ userId, event: 'Product Viewed', properties: { product_id: 'p1', category: 'Paint' }, timestamp: day(d) });

describe("the nightly job's value attributes on real profiles", () => {
  it('writes clv, valueTier and cluster onto each profile, where segments read them', async () => {
    // Prepare: three customers through the ingest: a big spender, a regular, a browser who never ordered.
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const events = [
      ...[3, 10, 17, 24].map((d) => order('big', d, 400)),
      ...[5, 12, 19].map((d) => order('regular', d, 40)),
      order('small', 6, 10),
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((d) => view('browser', d)),
    ];
    const result = await ingestBatch(events.map((e) => toRecord(e, seq.take())), stores, ingestConfig({ now: () => night }));
    expect(result.failedSequenceNumbers).toEqual([]);
    const ids = ['big', 'regular', 'small', 'browser'].map((u) => deriveProfileId(`userId:${u}`));
    const stored = await stores.events.byProfiles(ids, 1000);
    const customers = ids.map((profileId) => ({ profileId, events: stored.filter((e) => e.profileId === profileId).map((e) => e.event) }));

    // Act
    const attributes = valueAttributes(customers, night, { clusters: 2 });
    for (const [profileId, values] of attributes) await writeBatchAttributes(stores, profileId, values);

    // Assess
    const batchOf = (i: number) => stores.profileItems.get(ids[i] as string)?.batch ?? {};
    expect(batchOf(0).valueTier?.value).toBe('high');
    expect(batchOf(2).valueTier?.value).toBe('low');
    expect(batchOf(3).valueTier).toBeUndefined();
    expect(batchOf(3).clv?.value).toBe(0);
    expect(batchOf(0).clv?.value as number).toBeGreaterThan(batchOf(1).clv?.value as number);
    expect(batchOf(0).clv?.asOf).toBe(night.toISOString());
    expect(new Set(ids.map((_, i) => batchOf(i).cluster?.value)).size).toBe(2);
    const aggregates = loadAggregates();
    const highValue = compileCondition({ path: 'batch.valueTier', op: 'eq', value: 'high' });
    const facts = (i: number) => factsOf(stores.profileItems.get(ids[i] as string)!, aggregates, loadProfileRules(aggregates), night);
    expect([highValue(facts(0)), highValue(facts(1))]).toEqual([true, false]);
  });

  it('leaves out customers with no event before the night', () => {
    const later = { profileId: 'p', events: [segmentEvent({ userId: 'x', timestamp: day(28) }) as never] };
    expect(valueAttributes([later], night).size).toBe(0);
  });
});
