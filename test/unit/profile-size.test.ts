import fc from 'fast-check';
import { LIMITS, loadAggregates } from '../../lib/profile/aggregates';
import { updateSegments } from '../../lib/profile/facts';
import { foldEvent, MAX_NETWORKS, MAX_PRODUCTS, MAX_TRAITS, newProfile, type Profile } from '../../lib/profile/profile';
import type { StreamRecord } from '../../lib/ingest/pipeline';
import { loadProfileRules } from '../../lib/profile/segments';
import type { CollectedEvent } from '../../lib/events/segment';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { fitBudget, PROFILE_BUDGET_BYTES } from '../../lib/profile/size';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

const model = loadAggregates();
const rules = loadProfileRules(model);
/** DynamoDB's item limit is 400 KB; a profile must stay far below it whatever the traffic. */
const BUDGET_BYTES = PROFILE_BUDGET_BYTES;

function mulberry(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('profile size', () => {
  it('stays far below the DynamoDB item limit for a very active customer over a simulated year', () => {
    const rnd = mulberry(42);
    const p: Profile = newProfile('p_heavy');
    const agents = ['Mozilla/5.0 (iPhone) Mobile', 'Mozilla/5.0 (iPad)', 'Mozilla/5.0 (Windows NT 10.0)', 'Mozilla/5.0 (Macintosh)'];
    let events = 0;
    for (let day = 0; day < 365; day++) {
      for (let i = 0; i < 80; i++) {
        events += 1;
        const timestamp = new Date(Date.UTC(2026, 0, 1) + day * 86_400_000 + i * 600_000).toISOString();
        const r = rnd();
        const event = r < 0.7 ? 'Product Viewed' : r < 0.85 ? 'Product Added' : r < 0.9 ? 'Product Removed' : r < 0.95 ? 'Order Completed' : 'Signed In';
        const product = `sku-${Math.floor(rnd() * 50_000)}`;
        foldEvent(
          p,
          {
            type: event === 'Signed In' ? 'identify' : 'track',
            event,
            messageId: `h-${events}`,
            anonymousId: `cookie-${Math.floor(rnd() * 1000)}`,
            timestamp,
            receivedAt: timestamp,
            // A misbehaving app sends a new trait name on every identify.
            traits: { [`trait${events}`]: 'x'.repeat(100), firstName: 'Heavy' },
            properties: { product_id: product, category: `cat-${Math.floor(rnd() * 300)}`, total: Math.round(rnd() * 50000) / 100, products: [{ product_id: product }] },
            context: {
              ip: `198.51.100.${Math.floor(rnd() * 250)}`,
              timezone: rnd() < 0.5 ? 'Europe/London' : 'Europe/Paris',
              userAgent: agents[Math.floor(rnd() * agents.length)],
              location: { latitude: 50 + rnd() * 5, longitude: -3 + rnd() * 5 },
              channel: rnd() < 0.1 ? 'store' : undefined,
            },
          } as unknown as CollectedEvent,
          model,
        );
      }
      updateSegments(p, model, rules);
    }
    const bytes = Buffer.byteLength(JSON.stringify(p));
    console.log(`one customer, ${events} events over a year: profile item ${(bytes / 1024).toFixed(1)} KB`);
    expect(bytes).toBeLessThan(BUDGET_BYTES);
    expect(Object.keys(p.traits).length).toBeLessThanOrEqual(MAX_TRAITS);
  });

  it('keeps every bounded part within its bound for any event stream (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ product: fc.string({ maxLength: 8 }), category: fc.string({ maxLength: 6 }), ip: fc.nat(5000), minutes: fc.nat(60 * 24 * 400), kind: fc.constantFrom('Product Viewed', 'Product Added', 'Order Completed') }), {
          maxLength: 400,
        }),
        (specs) => {
          const p = newProfile('p_prop');
          specs.forEach((s, i) => {
            const timestamp = new Date(Date.UTC(2026, 0, 1) + s.minutes * 60_000).toISOString();
            foldEvent(p, { type: 'track', event: s.kind, messageId: `m${i}`, anonymousId: `a${i % 7}`, timestamp, receivedAt: timestamp, properties: { product_id: s.product, category: s.category, total: 1 }, context: { ip: `10.${s.ip}` } } as CollectedEvent, model);
          });
          const a = p.aggregates as Record<string, unknown>;
          expect(Object.keys(p.signals.products ?? {}).length).toBeLessThanOrEqual(MAX_PRODUCTS);
          expect(Object.keys(p.signals.networks).length).toBeLessThanOrEqual(MAX_NETWORKS);
          expect((a.sessions as string[] | undefined)?.length ?? 0).toBeLessThanOrEqual(LIMITS.distinct);
          expect(Object.keys((a.cart as { items?: object } | undefined)?.items ?? {}).length).toBeLessThanOrEqual(LIMITS.set);
          expect((a.recentlyViewed as unknown[] | undefined)?.length ?? 0).toBeLessThanOrEqual(10);
          for (const w of ['categoryViews30d', 'productViews30d'] as const) {
            const buckets = (a[w] as { b?: Record<string, object> } | undefined)?.b ?? {};
            expect(Object.keys(buckets).length).toBeLessThanOrEqual(31);
            for (const counts of Object.values(buckets)) expect(Object.keys(counts).length).toBeLessThanOrEqual(LIMITS.topkKeys);
          }
          expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThan(BUDGET_BYTES);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('a profile under hostile input (issue #13, defect 2)', () => {
  const big = (n: number, c = 'x') => c.repeat(n);

  it('stays within its budget through oversized values, and the next normal event is folded', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const hostile = [
      // Ten views of 30 KB product ids, three identifies with 30 KB trait keys (the reported case)...
      ...Array.from({ length: 10 }, (_, i) => segmentEvent({ anonymousId: 'hostile-1', properties: { product_id: big(30_000, String(i)), category: big(30_000, String(i)) } })),
      ...Array.from({ length: 3 }, (_, i) => segmentEvent({ type: 'identify', anonymousId: 'hostile-1', event: undefined, traits: { [big(30_000, String(i))]: 'v', plan: big(30_000) } })),
      // ...and a huge locale, time zone, user agent, session, location, cart items and dismissed offers.
      segmentEvent({ anonymousId: 'hostile-1', context: { locale: big(30_000), timezone: big(30_000), userAgent: big(30_000), sessionId: big(30_000), location: { city: big(30_000), latitude: 1, longitude: 2 } } }),
      ...Array.from({ length: 60 }, (_, i) => segmentEvent({ anonymousId: 'hostile-1', event: 'Product Added', messageId: `${big(190)}-${i}`, properties: { product_id: `${big(400, 'c')}${i}` } })),
      ...Array.from({ length: 60 }, (_, i) => segmentEvent({ anonymousId: 'hostile-1', event: 'Promotion Dismissed', properties: { promotion_id: `${big(400, 'p')}${i}` } })),
    ];
    for (let i = 0; i < hostile.length; i += 10) {
      const result = await ingestBatch(hostile.slice(i, i + 10).map((e) => toRecord(e, seq.take())), stores, ingestConfig());
      expect(result.errors.map(String)).toEqual([]);
    }
    const id = deriveProfileId('anonymousId:hostile-1');
    const after = await ingestBatch([toRecord(segmentEvent({ anonymousId: 'hostile-1', event: 'Order Completed', properties: { total: 12 } }), seq.take())], stores, ingestConfig());
    expect(after.failedSequenceNumbers).toEqual([]);
    const profile = stores.profileItems.get(id)!;
    expect(profile.aggregates.orderCount).toBe(1);
    const bytes = Buffer.byteLength(JSON.stringify(profile));
    console.log(`hostile profile: ${(bytes / 1024).toFixed(1)} KB (budget ${PROFILE_BUDGET_BYTES / 1024} KB)`);
    expect(bytes).toBeLessThanOrEqual(PROFILE_BUDGET_BYTES);
  });

  it('is trimmed to its budget when every bound of the shipped aggregates is filled, and keeps folding', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const events: Array<Record<string, unknown>> = [];
    for (let day = 0; day < 32; day++) {
      for (let k = 0; k < 42; k++) {
        const key = `${String(day).padStart(2, '0')}-${String(k).padStart(2, '0')}-${big(120, 'k')}`;
        const timestamp = new Date(Date.UTC(2026, 9, 20) + day * 86_400_000 + k * 60_000).toISOString();
        const context = { sessionId: key, channel: key, timezone: 'Europe/London' };
        events.push(segmentEvent({ anonymousId: 'bounds-1', timestamp, context, properties: { product_id: key, category: key } }));
        events.push(segmentEvent({ anonymousId: 'bounds-1', timestamp, context, event: 'Promotion Viewed', properties: { promotion_id: key.slice(0, 20), decision_id: 'd' } }));
      }
    }
    let trimmed = 0;
    for (let i = 0; i < events.length; i += 100) {
      const result = await ingestBatch(events.slice(i, i + 100).map((e) => toRecord(e, seq.take())), stores, ingestConfig());
      expect(result.errors.map(String)).toEqual([]);
      trimmed += result.stats.profilesTrimmed;
    }
    const after = await ingestBatch([toRecord(segmentEvent({ anonymousId: 'bounds-1', event: 'Order Completed', properties: { total: 12 }, timestamp: '2026-11-21T10:00:00.000Z' }), seq.take())], stores, ingestConfig());
    expect(after.failedSequenceNumbers).toEqual([]);
    const profile = stores.profileItems.get(deriveProfileId('anonymousId:bounds-1'))!;
    const bytes = Buffer.byteLength(JSON.stringify(profile));
    console.log(`every bound filled: ${(bytes / 1024).toFixed(1)} KB after ${trimmed} trims (budget ${PROFILE_BUDGET_BYTES / 1024} KB)`);
    expect(trimmed).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(PROFILE_BUDGET_BYTES);
    expect(profile.aggregates.orderCount).toBe(1);
    expect(profile.aggregates.eventCount).toBe(events.length + 1);
  });

  it('never exceeds the budget, whatever arrives (property)', async () => {
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: 1, max: 6 }).map((k) => 'y'.repeat(10 ** k / 2)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            kind: fc.constantFrom('Product Viewed', 'Product Added', 'Order Completed', 'Promotion Dismissed', 'identify'),
            product: value,
            category: value,
            trait: value,
            traitValue: value,
            messageId: value,
            day: fc.integer({ min: 0, max: 40 }),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        async (specs) => {
          const stores = new MemoryStores();
          const seq = new SequenceFactory();
          const events = specs.map((s, i) =>
            segmentEvent({
              type: s.kind === 'identify' ? 'identify' : 'track',
              event: s.kind === 'identify' ? undefined : s.kind,
              anonymousId: 'prop-1',
              messageId: `${s.messageId.slice(0, 150)}-${i}`,
              timestamp: new Date(Date.UTC(2026, 9, 1) + s.day * 86_400_000).toISOString(),
              traits: { [s.trait.slice(0, 30_000) || 't']: s.traitValue.slice(0, 30_000) },
              properties: { product_id: s.product.slice(0, 30_000), category: s.category.slice(0, 30_000), promotion_id: s.product.slice(0, 30_000), total: 1, products: [{ product_id: s.product.slice(0, 30_000) }] },
              context: { locale: s.category.slice(0, 30_000), timezone: s.trait.slice(0, 30_000) },
            }),
          );
          for (let i = 0; i < events.length; i += 7) {
            const result = await ingestBatch(events.slice(i, i + 7).map((e) => toRecord(e, seq.take())), stores, ingestConfig());
            expect(result.errors.map(String)).toEqual([]);
          }
          for (const p of stores.profileItems.values()) expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(PROFILE_BUDGET_BYTES);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('a profile that absorbs visitor after visitor (found in review)', () => {
  // A shop assistant logs in on each visitor's session (the visitor's profile merges into hers), then
  // the visitor logs in (her device follows her): the assistant's profile gains a merged member each time.
  const OWNER = deriveProfileId('userId:shop-assistant');
  const t = (i: number) => new Date(Date.UTC(2026, 10, 20, 9) + i * 1000).toISOString();

  it('stays within its budget and keeps being written as merged members pile up', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingestBatch([toRecord(segmentEvent({ type: 'identify', userId: 'shop-assistant', messageId: 'assistant', event: undefined, timestamp: '2026-11-20T08:00:00.000Z' }), seq.take())], stores, ingestConfig());
    let cycle = 0;
    for (let batch = 0; batch < 60; batch++) {
      const records: StreamRecord[] = [];
      for (let i = 0; i < 100; i++, cycle++) {
        const visitor = `visitor-${cycle}`;
        records.push(toRecord(segmentEvent({ anonymousId: visitor, messageId: `view-${cycle}`, timestamp: t(3 * cycle) }), seq.take()));
        records.push(toRecord(segmentEvent({ type: 'identify', userId: 'shop-assistant', anonymousId: visitor, messageId: `assist-${cycle}`, event: undefined, timestamp: t(3 * cycle + 1) }), seq.take()));
        records.push(toRecord(segmentEvent({ type: 'identify', userId: `customer-${cycle}`, anonymousId: visitor, messageId: `login-${cycle}`, event: undefined, timestamp: t(3 * cycle + 2) }), seq.take()));
      }
      const result = await ingestBatch(records, stores, ingestConfig());
      expect(result.errors.map(String)).toEqual([]);
    }
    const owner = stores.profileItems.get(OWNER)!;
    expect(owner.aggregates.eventCount).toBe(1 + 3 * cycle - cycle);
    expect(Buffer.byteLength(JSON.stringify(owner))).toBeLessThanOrEqual(PROFILE_BUDGET_BYTES);
  }, 60_000);

  it('never cuts a time stamp when trimming (a cut one would no longer be a date)', () => {
    const config = ingestConfig();
    const p = newProfile('p_over');
    foldEvent(p, segmentEvent({ userId: 'u', event: 'Order Completed', properties: { total: 10 }, timestamp: '2026-11-20T10:00:00.000Z' }) as unknown as CollectedEvent, config.aggregates);
    p.identities = { anonymousId: Array.from({ length: 1100 }, (_, i) => `id-${String(i).padStart(120, '0')}`) };
    fitBudget(p, config.aggregates);
    for (const name of ['lastOrderAt', 'firstSeen', 'lastSeen']) expect((p.aggregates[name] as { v: string }).v).toBe('2026-11-20T10:00:00.000Z');
  });
});
