import type { ModelConfig } from '../../lib/decision/model';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { createRandom } from '../../lib/learn/metrics';
import type { TargetReport } from '../../lib/learn/nightly';
import type { NightlyPorts } from '../../lib/learn/nightly-job';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';
import { ScanExporter } from '../../lib/store/exports';
import { MemoryStores } from '../../lib/store/memory';
import { runNightlyLocally } from '../../local/nightly-runner';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { memoryBlobs } from '../support/stores';

const night = '2026-11-27';
const aggregates = loadAggregates();
const paintViews = { name: 'paintViews30d', path: 'aggregates.categoryViews30d', keys: ['paint'], transform: 'log1p' as const };
const views30d = { name: 'views30d', path: 'aggregates.productViews30d', transform: 'log1p' as const };

/**
 * 1,200 people, each with a phone and a laptop browsing anonymously before the cut-off (20 November):
 * a few paint views on each. Those who buy sign in on both devices at checkout, after the cut-off,
 * so their devices merge then; the others never sign in, and stay two profiles. Who buys is either
 * random (independent of everything before the cut-off) or driven by the paint views.
 */
async function shop(stores: MemoryStores, buys: (views: number, random: () => number) => boolean): Promise<void> {
  const random = createRandom(5);
  const at = (d: number, h: number, m = 0) => new Date(Date.UTC(2026, 10, d, h, m)).toISOString();
  const events: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 1200; i++) {
    const devices = [`p${i}-phone`, `p${i}-laptop`];
    let views = 0;
    for (const [k, anonymousId] of devices.entries()) {
      const n = Math.floor(random() * 5);
      views += n;
      for (let v = 0; v < n; v++) events.push(segmentEvent({ anonymousId, event: 'Product Viewed', properties: { product_id: 'paint-sage', category: 'Paint' }, timestamp: at(6 + v, 9 + k, i % 60) }));
      events.push(segmentEvent({ anonymousId, event: 'Product Viewed', properties: { product_id: 'hose', category: 'Garden' }, timestamp: at(5, 9 + k, i % 60) }));
    }
    if (!buys(views, random)) continue;
    for (const [k, anonymousId] of devices.entries()) events.push(segmentEvent({ type: 'identify', anonymousId, userId: `buyer-${i}`, timestamp: at(22, 10 + k, i % 60) }));
    events.push(segmentEvent({ userId: `buyer-${i}`, anonymousId: devices[1], event: 'Order Completed', properties: { total: 40, products: [{ product_id: 'paint-sage', category: 'Paint' }] }, timestamp: at(22, 12, i % 60) }));
  }
  events.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)));
  const seq = new SequenceFactory();
  for (let i = 0; i < events.length; i += 250) {
    const result = await ingestBatch(events.slice(i, i + 250).map((e) => toRecord(e, seq.take())), stores, ingestConfig({ now: () => new Date(`${night}T01:00:00Z`) }));
    expect(result.failedSequenceNumbers).toEqual([]);
  }
}

async function purchaseReport(stores: MemoryStores): Promise<TargetReport> {
  let artifact = { version: 'champion-1', kind: 'logistic', features: [paintViews, views30d].map((f) => ({ default: 0, ...f })), targets: { default: { intercept: -1, weights: {} } } } as unknown as ModelConfig;
  const blobs = memoryBlobs();
  const ports: NightlyPorts = {
    stores,
    blobs,
    exporter: new ScanExporter(stores, blobs, 2000),
    champion: async () => artifact,
    publish: async (a) => void (artifact = a),
    config: {
      features: [paintViews, views30d],
      targets: [{ name: 'default', target: { kind: 'purchase' } }],
      horizonDays: 7,
      rules: { minSupport: 0.5, minConfidence: 0.5, maxRules: 0 },
      challenge: { confidence: 0.95, resamples: 1000, minHoldoutBuyers: 30 },
      minPositives: 20,
      aggregates,
      profileRules: loadProfileRules(aggregates),
    },
    shards: 2,
  };
  const run = await runNightlyLocally(ports, night);
  expect(run.succeeded).toBe(true);
  return (run.output as { targets: TargetReport[] }).targets[0] as TargetReport;
}

describe('the nightly learns from what was known at the cut-off: no label leaks in through a later merge', () => {
  it('finds nothing where buying is random, though buyers merged their second device at checkout', async () => {
    const stores = new MemoryStores();
    await shop(stores, (_, random) => random() < 0.3);
    const report = await purchaseReport(stores);
    expect(report.challenger?.topDecileLift).toBeLessThan(1.5);
    expect(report.challenger?.auc).toBeLessThan(0.6);
    // A row per device as it stood at the cut-off: 2,400, buyers' and others' alike.
    expect(report.rows).toBe(2400);
    expect(report.outcome).toBe('champion kept');
  });

  it('still finds buying that the browsing before the cut-off drives', async () => {
    const stores = new MemoryStores();
    await shop(stores, (views, random) => random() < 1 / (1 + Math.exp(-(-3 + 0.6 * views))));
    const report = await purchaseReport(stores);
    expect(report.challenger?.topDecileLift).toBeGreaterThan(1.5);
    expect(report.challenger?.auc).toBeGreaterThan(0.6);
  });
});
