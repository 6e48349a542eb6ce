import fc from 'fast-check';
import { LIMITS, loadAggregates } from '../../lib/profile/aggregates';
import { updateSegments } from '../../lib/profile/facts';
import { foldEvent, MAX_NETWORKS, MAX_PRODUCTS, MAX_TRAITS, newProfile, type Profile } from '../../lib/profile/profile';
import { loadProfileRules } from '../../lib/profile/segments';
import type { CollectedEvent } from '../../lib/events/segment';

const model = loadAggregates();
const rules = loadProfileRules(model);
/** DynamoDB's item limit is 400 KB; a profile must stay far below it whatever the traffic. */
const BUDGET_BYTES = 100 * 1024;

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
