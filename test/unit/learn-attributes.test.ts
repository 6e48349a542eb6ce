import { ingestBatch } from '../../lib/ingest/pipeline';
import type { CollectedEvent } from '../../lib/events/segment';
import { customerAttributes, fitValue, valueAttributes, valueReport } from '../../lib/learn/attributes';
import { backtestValue, type BacktestResult } from '../../lib/learn/clv';
import { populationMeanValue } from '../../lib/learn/gamma-gamma';
import { createRandom } from '../../lib/learn/metrics';
import { nightlyTasks, type NightlyPorts } from '../../lib/learn/nightly-job';
import { DAY_MS, type CustomerHistory } from '../../lib/learn/training-set';
import { loadModel, type ModelConfig } from '../../lib/decision/model';
import * as bgnbd from '../../lib/learn/bgnbd';
import { ScanExporter } from '../../lib/store/exports';
import { runNightlyLocally } from '../../local/nightly-runner';
import { writeBatchAttributes } from '../../lib/profile/batch';
import { factsOf } from '../../lib/profile/facts';
import { loadAggregates } from '../../lib/profile/aggregates';
import { compileCondition, loadProfileRules } from '../../lib/profile/segments';
import { deriveProfileId } from '../../lib/identity/resolver';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { simulateBgNbd } from '../support/purchases';
import { memoryBlobs } from '../support/stores';

// BG/NBD's fit, made to throw on demand (standing in for any failure inside the value models).
jest.mock('../../lib/learn/bgnbd', () => {
  const real = jest.requireActual('../../lib/learn/bgnbd');
  const control: { fail?: string } = {};
  return { ...real, control, fitBgNbd: (...args: unknown[]) => {
    if (control.fail !== undefined) throw new RangeError(control.fail);
    return real.fitBgNbd(...args);
  } };
});

const night = new Date('2026-11-27T02:00:00Z');
const day = (d: number, h = 12) => new Date(Date.UTC(2026, 10, d, h)).toISOString();
const order = (userId: string, d: number, total: number) => segmentEvent({ userId, event: 'Order Completed', properties: { total }, timestamp: day(d) });
const view = (userId: string, d: number) => segmentEvent({ userId, event: 'Product Viewed', properties: { product_id: 'p1', category: 'Paint' }, timestamp: day(d) });

/** Customers through the ingest, as the nightly job reads them: each profile's stored events. */
async function throughIngest(users: string[], events: ReturnType<typeof segmentEvent>[]) {
  const stores = new MemoryStores();
  const seq = new SequenceFactory();
  for (let i = 0; i < events.length; i += 200) {
    const result = await ingestBatch(events.slice(i, i + 200).map((e) => toRecord(e, seq.take())), stores, ingestConfig({ now: () => night }));
    expect(result.failedSequenceNumbers).toEqual([]);
  }
  const ids = users.map((u) => deriveProfileId(`userId:${u}`));
  const stored = await stores.events.byProfiles(ids, 100_000);
  const customers = ids.map((profileId) => ({ profileId, events: stored.filter((e) => e.profileId === profileId).map((e) => e.event) }));
  return { stores, ids, customers };
}

/** Four customers to follow: a big spender ordering weekly, a regular, a one-time small buyer, a browser who never ordered. */
const followed = ['big', 'regular', 'small', 'browser'];
const followedEvents = [
  ...[3, 10, 17, 24].map((d) => order('big', d, 400)),
  ...[5, 12, 19].map((d) => order('regular', d, 40)),
  order('small', 6, 10),
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((d) => view('browser', d)),
];
/** A crowd of 60 buyers in November for the value models to be fitted on: every third comes back once or twice. */
const crowd = Array.from({ length: 60 }, (_, i) => `crowd-${i}`);
const crowdEvents = crowd.flatMap((u, i) => [1 + (i % 20), ...(i % 3 === 0 ? [22] : []), ...(i % 6 === 0 ? [25] : [])].map((d) => order(u, d, 30 + (i % 7) * 5)));

describe("the nightly job's value attributes on real profiles", () => {
  it('writes clv, valueTier and cluster onto each profile, where segments read them', async () => {
    // Prepare: the four customers among the crowd, through the ingest.
    const { stores, ids, customers } = await throughIngest([...followed, ...crowd], [...followedEvents, ...crowdEvents]);

    // Act
    const attributes = valueAttributes(customers, night, { clusters: 2 });
    for (const [profileId, values] of attributes) await writeBatchAttributes(stores, profileId, values);

    // Assess
    const batchOf = (i: number) => stores.profileItems.get(ids[i] as string)?.batch ?? {};
    expect(batchOf(0).valueTier?.value).toBe('high');
    expect(batchOf(2).valueTier?.value).toBe('low');
    expect(batchOf(3).valueTier).toBeUndefined();
    // clv: the big spender's expected value over the year above the regular's, above the one-time
    // small buyer's; nothing expected of a browser before her first order.
    expect(batchOf(3).clv?.value).toBe(0);
    expect(batchOf(0).clv?.value as number).toBeGreaterThan(batchOf(1).clv?.value as number);
    expect(batchOf(1).clv?.value as number).toBeGreaterThan(batchOf(2).clv?.value as number);
    expect(batchOf(2).clv?.value as number).toBeGreaterThan(0);
    expect(batchOf(0).clv?.asOf).toBe(night.toISOString());
    expect(new Set(ids.map((_, i) => batchOf(i).cluster?.value)).size).toBe(2);
    const aggregates = loadAggregates();
    const highValue = compileCondition({ path: 'batch.valueTier', op: 'eq', value: 'high' });
    const facts = (i: number) => factsOf(stores.profileItems.get(ids[i] as string)!, aggregates, loadProfileRules(aggregates), night);
    expect([highValue(facts(0)), highValue(facts(1))]).toEqual([true, false]);
  });

  it('writes no clv where too few customers came back to fit the models, says why, and still writes tiers and clusters', async () => {
    const { customers } = await throughIngest(followed, followedEvents);
    const model = fitValue(customers, night);
    expect(model.clv).toMatchObject({ fitted: false, reason: '3 customers with a purchase; at least 50 are needed' });
    expect(valueReport(model)).toMatchObject({ customers: { seen: 4, buyers: 3, repeatBuyers: 2 }, clv: { notFitted: '3 customers with a purchase; at least 50 are needed' }, backtest: { done: false } });
    const written = valueAttributes(customers, night);
    expect([...written.values()].every((a) => a.clv === undefined && a.cluster !== undefined)).toBe(true);
    expect(written.get(customers[0]?.profileId as string)?.valueTier?.value).toBe('high');
    // The report sums up the tiers and the clusters as the attributes written say.
    const report = valueReport(model) as { tiers: { customers: Record<string, number> }; clusters: Array<{ customers: number; ordersInYear: number }> };
    const tiers = [...written.values()].map((a) => a.valueTier?.value).filter((t) => t !== undefined);
    expect(report.tiers.customers).toEqual({ low: tiers.filter((t) => t === 'low').length, medium: tiers.filter((t) => t === 'medium').length, high: tiers.filter((t) => t === 'high').length });
    expect(report.clusters.reduce((n, c) => n + c.customers, 0)).toBe(4);
    expect(report.clusters.every((c) => c.ordersInYear >= 0)).toBe(true);
  });

  it('leaves out customers with no event before the night', () => {
    const later = { profileId: 'p', events: [segmentEvent({ userId: 'x', timestamp: day(28) }) as never] };
    expect(valueAttributes([later], night).size).toBe(0);
  });
});

describe("the night's report of customer value", () => {
  it('carries the back-test on the night’s own history: the purchases forecast for its last 90 days against those made', async () => {
    // Prepare: 1,500 customers who buy as BG/NBD says (in days), acquired over the 540 days before the night.
    const random = createRandom(5);
    const nightDay = Date.parse('2026-11-27T00:00:00Z') / DAY_MS;
    const acquired = Array.from({ length: 1500 }, () => 1 + Math.floor(random() * 540));
    const simulated = simulateBgNbd({ r: 0.5, alpha: 20, a: 0.8, b: 3 }, acquired, 0, random);
    const customers: CustomerHistory[] = simulated.map(({ T, times }, i) => ({
      profileId: `p${String(i).padStart(4, '0')}`,
      events: times.map((t, k) => ({ type: 'track', event: 'Order Completed', userId: `u${i}`, messageId: `m${i}-${k}`, properties: { total: 20 + Math.round(random() * 40) }, timestamp: new Date((nightDay - T + t) * DAY_MS).toISOString(), receivedAt: new Date(nightDay * DAY_MS).toISOString() }) as CollectedEvent),
    }));
    const blobs = memoryBlobs();
    const night = '2026-11-27';
    await blobs.put(`work/${night}/files.json`, { shards: 1, events: [], profiles: [] });
    await blobs.put(`work/${night}/sample/0.json`, customers);
    const tasks = nightlyTasks({ blobs, value: { backtestDays: 90 } } as unknown as NightlyPorts);

    // Act: the night's Value task, then its Report.
    await tasks.Value({ night });
    const report = (await tasks.Report({ night })) as { value: ReturnType<typeof valueReport> & { backtest: BacktestResult; clv: { purchases: { params: Record<string, number> } } } };

    // Assess: the models are fitted, and the back-test foresaw the holdout's purchases in total and by customer.
    const { backtest, clv } = report.value;
    if (!backtest.done) throw new Error(backtest.reason);
    expect(backtest.holdoutDays).toBe(90);
    expect(backtest.customers).toBeGreaterThan(1000);
    expect(Math.abs(backtest.predicted / backtest.actual - 1)).toBeLessThan(0.15);
    expect(backtest.pearson).toBeGreaterThan(0.3);
    expect(backtest.spearman).toBeGreaterThan(0.3);
    expect(backtest.meanAbsoluteError).toBeGreaterThan(0);
    expect(clv.purchases.params.r).toBeGreaterThan(0.3);
    expect(clv.purchases.params.r).toBeLessThan(0.8);
    expect(blobs.items.get(`reports/${night}.json`)).toMatchObject({ value: { backtest: { done: true } } });
  });
});

describe('a hostile order total', () => {
  /** The crowd and the four followed customers, plus one who sends two orders of 1e308 on a repeat day (a public write key can send any total). */
  const hostileEvents = [order('hostile', 2, 20), order('hostile', 9, 1e308), order('hostile', 9, 1e308)];

  it('fails neither the night nor its value model: every customer gets clv, tier and cluster, and the report says how many totals were capped', async () => {
    // Prepare: everyone through the ingest, then the whole night on the local state machine.
    const { stores, ids } = await throughIngest([...followed, ...crowd, 'hostile'], [...followedEvents, ...crowdEvents, ...hostileEvents]);
    const blobs = memoryBlobs();
    const aggregates = loadAggregates();
    let published = { version: 'champion-1', kind: 'logistic', features: [], targets: { default: { intercept: -3, weights: {} } } } as unknown as ModelConfig;
    const ports: NightlyPorts = {
      stores,
      blobs,
      exporter: new ScanExporter(stores, blobs, 400),
      champion: async () => published,
      publish: async (artifact) => void (published = artifact),
      config: { features: [], targets: [], horizonDays: 7, rules: { minSupport: 0.05, minConfidence: 0.5, maxRules: 100 }, challenge: { confidence: 0.95, resamples: 200, minHoldoutBuyers: 30 }, minPositives: 10, aggregates, profileRules: loadProfileRules(aggregates) },
      value: { clusters: 2 },
      shards: 2,
    };
    const nightName = night.toISOString().slice(0, 10);

    // Act
    const run = await runNightlyLocally(ports, nightName);

    // Assess: the night succeeded; the hostile customer's clv is finite and no larger than the big spender's order rhythm allows.
    expect(run.succeeded).toBe(true);
    loadModel(published);
    const batchOf = (i: number) => stores.profileItems.get(ids[i] as string)?.batch ?? {};
    const hostile = batchOf(ids.length - 1);
    expect(Number.isFinite(hostile.clv?.value as number)).toBe(true);
    expect(hostile.valueTier?.value).toBe('high');
    expect(hostile.cluster).toBeDefined();
    expect(batchOf(0).clv?.value as number).toBeGreaterThan(batchOf(1).clv?.value as number);
    for (let i = 0; i < ids.length; i++) expect(Number.isFinite(batchOf(i).clv?.value as number)).toBe(true);
    const report = blobs.items.get(`reports/${nightName}.json`) as { value: { orderValues: { capped: number; cap: number }; clv: { spend: { params: Record<string, number> } } } };
    expect(report.value.orderValues.capped).toBe(2);
    expect(report.value.orderValues.cap).toBeLessThan(10_000);
    expect(Number.isFinite(report.value.clv.spend.params.p)).toBe(true);
  });

  it('writes no clv when the value model fails, says why in the report, and still writes tiers and clusters', async () => {
    // Prepare: the crowd, and a fit that throws (standing in for any failure inside the value models).
    const { customers } = await throughIngest([...followed, ...crowd], [...followedEvents, ...crowdEvents]);
    const blobs = memoryBlobs();
    const nightName = night.toISOString().slice(0, 10);
    await blobs.put(`work/${nightName}/files.json`, { shards: 1, events: [], profiles: [] });
    await blobs.put(`work/${nightName}/sample/0.json`, customers);
    const tasks = nightlyTasks({ blobs, value: { clusters: 2 } } as unknown as NightlyPorts);
    const control = (bgnbd as unknown as { control: { fail?: string } }).control;
    control.fail = 'customer 7: something no model can read';

    // Act
    let value: Record<string, unknown>;
    let backtest: BacktestResult;
    try {
      value = await tasks.Value({ night: nightName });
      backtest = backtestValue(Array.from({ length: 60 }, (_, i) => [{ day: i, value: 30 }, ...(i % 3 === 0 ? [{ day: 100 + i, value: 30 }] : [])]), 300, 90);
    } finally {
      control.fail = undefined;
    }
    const report = (await tasks.Report({ night: nightName })) as { value: { clv: { notFitted: string }; tiers: { customers: Record<string, number> } } };
    const model = blobs.items.get(`work/${nightName}/value.json`) as Parameters<typeof customerAttributes>[0];

    // Assess: no clv tonight, the reason in the report; tiers and clusters as ever.
    expect(value).toMatchObject({ clv: expect.stringContaining('the value models failed: customer 7: something no model can read') });
    expect(report.value.clv.notFitted).toContain('customer 7: something no model can read');
    expect(backtest).toMatchObject({ done: false, reason: expect.stringContaining('the value models failed: customer 7: something no model can read') });
    expect(Object.values(report.value.tiers.customers).reduce((a, b) => a + b, 0)).toBe(63);
    const attributes = customers.map((c) => customerAttributes(model, c, night));
    expect(attributes.every((a) => a !== undefined && a.clv === undefined && a.cluster !== undefined)).toBe(true);
  });

  it('caps one buyer’s absurd totals before the value models read them, so her 1e12 does not decide everyone’s value', async () => {
    const whale = [order('whale', 2, 1e12), order('whale', 9, 1e12), order('whale', 16, 1e12)];
    const { customers } = await throughIngest([...crowd, 'whale'], [...crowdEvents, ...whale]);
    const model = fitValue(customers, night, { clusters: 2 });
    if (!model.clv.fitted) throw new Error(model.clv.reason);
    expect(model.orderValues).toEqual({ cap: 100 * 45, orders: 93, capped: 3, unreadable: 0 });
    expect(model.clv.models.spend?.converged).toBe(true);
    expect(populationMeanValue(model.clv.models.spend!.params)).toBeLessThan(100);
    // A configured maximum takes the place of the median's multiple.
    expect(fitValue(customers, night, { clusters: 2, maxOrderValue: 500 }).orderValues).toMatchObject({ cap: 500, capped: 3 });
  });

  it.each([
    ['negative', -50],
    ['NaN', Number.NaN],
    ['a string', '49.99'],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an object', { amount: 3 }],
  ])('reads a total that is %s as no value, and breaks nothing', async (_, total) => {
    const odd = [order('odd', 3, 30), segmentEvent({ userId: 'odd', event: 'Order Completed', properties: { total }, timestamp: day(12) }), order('odd', 20, 30)];
    const { customers, ids } = await throughIngest([...crowd, 'odd'], [...crowdEvents, ...odd]);
    const model = fitValue(customers, night, { clusters: 2 });
    expect(model.clv.fitted).toBe(true);
    const attributes = valueAttributes(customers, night, { clusters: 2 }).get(ids[ids.length - 1] as string);
    expect(Number.isFinite(attributes?.clv?.value as number)).toBe(true);
    expect((attributes?.clv?.value as number) >= 0).toBe(true);
    expect(attributes?.valueTier).toBeDefined();
    expect(attributes?.cluster).toBeDefined();
  });
});
