import { StateMachine } from 'aws-local-stepfunctions';
import { loadModel, type ModelConfig } from '../../lib/decision/model';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { createRandom } from '../../lib/learn/metrics';
import { EXPORT_DEADLINE_MS, nightlyTasks, rollback, type BlobStore, type NightlyPorts } from '../../lib/learn/nightly-job';
import { nightlyDefinition, NIGHTLY_TASKS, type NightlyTask } from '../../lib/learn/state-machine';
import { loadNightlyConfig } from '../../lib/learn/nightly-config';
import { deriveProfileId } from '../../lib/identity/resolver';
import { followMerges } from '../../lib/profile/read';
import { loadAggregates } from '../../lib/profile/aggregates';
import { loadProfileRules } from '../../lib/profile/segments';
import type { IdentityWeights } from '../../lib/identity/weights';
import { MemoryStores } from '../../lib/store/memory';
import { AlreadyRan, localContext, localOverrides, runNightlyLocally } from '../../local/nightly-runner';
import { ScanExporter } from '../../lib/store/exports';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { memoryBlobs, throughGroup, twoDevicesLogIn } from '../support/stores';

const night = '2026-11-27';
const aggregates = loadAggregates();
const paintViews = { name: 'paintViews30d', path: 'aggregates.categoryViews30d', keys: ['paint'], transform: 'log1p' as const };

/** 300 customers through the ingest: paint views early in November, paint orders (with a brush) likelier in the last week for those who looked more. */
async function shop(stores: MemoryStores): Promise<void> {
  const random = createRandom(21);
  const seq = new SequenceFactory();
  const at = (d: number, h: number) => new Date(Date.UTC(2026, 10, d, h)).toISOString();
  const events = Array.from({ length: 300 }, (_, i) => {
    const userId = `c${i}`;
    const views = Math.floor(random() * 8);
    const list = [
      segmentEvent({ userId, event: 'Product Viewed', properties: { product_id: 'hose', category: 'Garden' }, timestamp: at(4, 9) }),
      ...Array.from({ length: views }, (_, k) => segmentEvent({ userId, event: 'Product Viewed', properties: { product_id: 'paint-sage', category: 'Paint' }, timestamp: at(5 + k, 10) })),
    ];
    if (random() < 1 / (1 + Math.exp(-(-3 + 0.7 * views)))) {
      list.push(segmentEvent({ userId, event: 'Order Completed', properties: { total: 40, products: [{ product_id: 'paint-sage', category: 'Paint' }, { product_id: 'brush-set', category: 'Paint' }] }, timestamp: at(21 + (i % 5), 12) }));
    }
    return list;
  }).flat();
  for (let i = 0; i < events.length; i += 200) {
    const result = await ingestBatch(events.slice(i, i + 200).map((e) => toRecord(e, seq.take())), stores, ingestConfig({ now: () => new Date(`${night}T01:00:00Z`) }));
    expect(result.failedSequenceNumbers).toEqual([]);
  }
}

function ports(stores: MemoryStores, blobs: BlobStore, published: { artifact: ModelConfig }): NightlyPorts {
  return {
    stores,
    blobs,
    // Small files, so the Maps over them have several items.
    exporter: new ScanExporter(stores, blobs, 400),
    champion: async () => published.artifact,
    publish: async (artifact) => void (published.artifact = artifact),
    config: {
      features: [paintViews],
      targets: [{ name: 'category:paint', target: { kind: 'category', category: 'Paint' } }],
      horizonDays: 7,
      rules: { minSupport: 0.05, minConfidence: 0.5, maxRules: 100 },
      challenge: { confidence: 0.95, resamples: 1000, minHoldoutBuyers: 30 },
      minPositives: 10,
      aggregates,
      profileRules: loadProfileRules(aggregates),
    },
    shards: 3,
  };
}

const uninformed = (): { artifact: ModelConfig } => ({
  artifact: { version: 'champion-1', kind: 'logistic', features: [{ ...paintViews, default: 0 }], targets: { 'category:paint': { intercept: -2, weights: {} }, default: { intercept: -3, weights: {} } } } as ModelConfig,
});

describe('the nightly state machine, run locally on real profiles', () => {
  it('runs every state, publishes the better model, writes batch attributes and reports, and runs once a night', async () => {
    const stores = new MemoryStores();
    await shop(stores);
    const blobs = memoryBlobs();
    const published = uninformed();
    const lines: string[] = [];
    const run = await runNightlyLocally(ports(stores, blobs, published), night, (l) => lines.push(l));
    expect(run.succeeded).toBe(true);
    for (const state of ['Snapshot', 'ExportStatus', 'Merges', 'Roots', 'Partition', 'Group', 'Learn', 'Train', 'Value', 'Score', 'Publish', 'Report']) expect(lines.some((l) => l.includes(`${state.padEnd(16)} done`))).toBe(true);
    expect(lines.filter((l) => /Score {12}shard \d of 3/.test(l))).toHaveLength(3);
    expect(lines.filter((l) => /Partition {8}events file \d of 4/.test(l))).toHaveLength(4);
    // The new model serves, with its rules; the champion's other targets stay.
    expect(published.artifact.version).toBe(`nightly-${night}`);
    expect(published.artifact.targets.default).toEqual({ intercept: -3, weights: {} });
    expect(loadModel(published.artifact).associations.byItem.get('brush-set')?.[0]?.then).toBe('paint-sage');
    expect(blobs.items.get(`registry/nightly-${night}.json`)).toMatchObject({ replaces: 'champion-1' });
    // Every customer has her value attributes, as of the night; no clv, as nobody has come back to
    // buy again yet (BG/NBD cannot tell a purchase rate from drop-out without repeats), which the report says.
    const profile = stores.profileItems.get(deriveProfileId('userId:c7'));
    expect(profile?.batch?.cluster?.asOf).toBe(`${night}T00:00:00.000Z`);
    expect(profile?.batch?.clv).toBeUndefined();
    expect(blobs.items.get(`reports/${night}.json`)).toMatchObject({ outcome: 'published', snapshot: { customers: 300 } });
    expect(blobs.items.get(`reports/${night}.json`)).toMatchObject({ value: { customers: { seen: 300, repeatBuyers: 0 }, clv: { notFitted: expect.stringMatching(/^0 customers with a repeat purchase/) }, backtest: { done: false } } });
    expect(String(blobs.items.get(`reports/${night}-category_paint.svg`))).toMatch(/^<svg/);
    // Each trained target's report has its decile table and its calibration on the holdout.
    const paint = (blobs.items.get(`reports/${night}.json`) as { targets: Array<{ name: string; challenger?: { deciles: Array<{ rows: number }>; calibration: { bins: unknown[] }; platt?: unknown } }> }).targets.find((t) => t.name === 'category:paint');
    expect(paint?.challenger?.deciles).toHaveLength(10);
    expect(paint?.challenger?.calibration.bins.length).toBeGreaterThan(0);
    expect(paint?.challenger?.platt).toBeDefined();
    // A second start the same night is refused.
    await expect(runNightlyLocally(ports(stores, blobs, published), night)).rejects.toThrow(AlreadyRan);
    // The registry keeps the champion it replaced: a rollback publishes it again.
    expect(await rollback(ports(stores, blobs, published), 'champion-1')).toEqual({ version: 'champion-1', replaced: `nightly-${night}` });
    expect(published.artifact).toEqual(uninformed().artifact);
    await expect(rollback(ports(stores, blobs, published), 'nightly-1999-01-01')).rejects.toThrow('no model nightly-1999-01-01 in the registry');
  });

  it('keeps the champion and reports the failure when a step fails after its retries', async () => {
    const stores = new MemoryStores();
    await shop(stores);
    const blobs = memoryBlobs();
    const published = uninformed();
    const broken = ports(stores, blobs, published);
    let attempts = 0;
    broken.champion = async () => {
      attempts += 1;
      throw new Error('the config table cannot be read');
    };
    const lines: string[] = [];
    const run = await runNightlyLocally(broken, night, (l) => lines.push(l));
    expect(run.succeeded).toBe(false);
    expect(attempts).toBe(4);
    expect(lines.some((l) => l.includes('retrying'))).toBe(true);
    expect(published.artifact.version).toBe('champion-1');
    expect(run.output).toMatchObject({ outcome: 'failed: the champion stays published', failure: { cause: expect.stringContaining('the config table cannot be read') } });
    expect(stores.profileItems.get(deriveProfileId('userId:c7'))?.batch?.clv).toBeUndefined();
  });
});

describe('the snapshot by table exports', () => {
  it('lets a retry of the same execution past its own claim (same exports), and stops another execution of the night', async () => {
    const stores = new MemoryStores();
    await shop(stores);
    const blobs = memoryBlobs();
    const tasks = nightlyTasks(ports(stores, blobs, uninformed()));
    const first = await tasks.Snapshot({ night, execution: 'exec-1' } as never);
    // The Lambda timed out after the claim: Step Functions retries the task in the same execution.
    expect(await tasks.Snapshot({ night, execution: 'exec-1' } as never)).toEqual(first);
    await expect(tasks.Snapshot({ night, execution: 'exec-2' } as never)).rejects.toThrow(/has run already/);
  });

  it('waits while an export is in progress, and keeps the champion when one fails', async () => {
    const stores = new MemoryStores();
    await shop(stores);
    const blobs = memoryBlobs();
    const published = uninformed();
    const slow = ports(stores, blobs, published);
    const real = slow.exporter;
    let looks = 0;
    slow.exporter = { start: (...args) => real.start(...args), describe: async (id) => (++looks <= 3 ? { status: 'IN_PROGRESS' } : real.describe(id)) };
    const lines: string[] = [];
    expect((await runNightlyLocally(slow, night, (l) => lines.push(l))).succeeded).toBe(true);
    expect(lines.filter((l) => l.includes('WaitForExport    done'))).toHaveLength(3);
    expect(published.artifact.version).toBe(`nightly-${night}`);

    // An export that says it completed but names no manifest, or one still running after the deadline, fails the night too.
    const odd = nightlyTasks({ ...ports(stores, memoryBlobs(), uninformed()), exporter: { start: async () => 'x', describe: async () => ({ status: 'COMPLETED' }) } });
    const snapshot = await odd.Snapshot({ night, execution: 'e' } as never);
    await expect(odd.ExportStatus({ night, snapshot } as never)).rejects.toMatchObject({ name: 'ExportFailed', message: expect.stringContaining('without a manifest') });
    const stuck = nightlyTasks({ ...ports(stores, memoryBlobs(), uninformed()), exporter: { start: async () => 'x', describe: async () => ({ status: 'IN_PROGRESS' }) } });
    const started = { ...(await stuck.Snapshot({ night, execution: 'e' } as never)), at: new Date(Date.now() - EXPORT_DEADLINE_MS - 1000).toISOString() };
    await expect(stuck.ExportStatus({ night, snapshot: started } as never)).rejects.toMatchObject({ name: 'ExportFailed', message: expect.stringContaining('not complete after 4 hours') });

    const failing = ports(stores, memoryBlobs(), uninformed());
    failing.exporter = { start: (...args) => real.start(...args), describe: async () => ({ status: 'FAILED', failure: 'PointInTimeRecoveryUnavailableException: PITR is off' }) };
    const run = await runNightlyLocally(failing, night);
    expect(run.succeeded).toBe(false);
    expect(run.output).toMatchObject({ outcome: 'failed: the champion stays published', failure: { error: 'ExportFailed', cause: expect.stringContaining('PITR is off') } });
  });

  it('groups every event under the live profile its merges lead to, and leaves out events of a profile that is not there', async () => {
    const stores = new MemoryStores();
    // She logs in on both: the two anonymous profiles become one customer.
    await twoDevicesLogIn(stores, night, { userId: 'ann', phone: 'phone-1', laptop: 'laptop-1' });
    const tombstones = [...stores.profileItems.values()].filter((p) => p.mergedInto !== undefined);
    expect(tombstones.length).toBeGreaterThan(0);
    // An event of a profile that is no longer there (as after an erasure) is in the table but not in the snapshot.
    await stores.events.put([{ profileId: 'gone', event: segmentEvent({ anonymousId: 'gone-device', messageId: 'orphan-1', timestamp: new Date(Date.UTC(2026, 10, 20, 13)).toISOString() }) as never }]);
    const blobs = memoryBlobs();
    const tasks = nightlyTasks({ ...ports(stores, blobs, uninformed()), exporter: new ScanExporter(stores, blobs, 2) });
    const state = await throughGroup(tasks, night);
    const customers = (state.snapshot as { shards: number[] }).shards.flatMap((shard) => blobs.items.get(`work/${night}/customers/${shard}.json`) as Array<{ profileId: string; events: Array<{ messageId: string; event?: string }> }>);
    const live = [...stores.profileItems.values()].find((p) => p.mergedInto === undefined && customers.some((c) => c.profileId === p.profileId));
    expect(customers).toHaveLength(1);
    expect(customers[0]?.profileId).toBe(live?.profileId);
    expect(customers[0]?.events.map((e) => e.event)).toEqual(['Product Viewed', 'Product Viewed', 'Signed In', 'Signed In']);
    // The survivor is hers (her userId), and both devices' profiles lead to it.
    expect(stores.profileItems.get(customers[0]?.profileId ?? '')?.identities.userId).toHaveLength(1);
    for (const device of ['phone-1', 'laptop-1']) expect((await followMerges(stores, deriveProfileId(`anonymousId:${device}`)))?.profileId).toBe(customers[0]?.profileId);
  });
});

describe('the Publish task', () => {
  it("publishes the night's identity weights: each product's share of the live profiles that researched it", async () => {
    const stores = new MemoryStores();
    await shop(stores);
    const blobs = memoryBlobs();
    const weights: IdentityWeights[] = [];
    const tasks = nightlyTasks({ ...ports(stores, blobs, uninformed()), publishIdentityWeights: async (w) => void weights.push(w) });
    await throughGroup(tasks, night);
    await tasks.Train({ night } as never);
    const out = await tasks.Publish({ night } as never);
    const live = [...stores.profileItems.values()].filter((p) => p.mergedInto === undefined);
    const share = (product: string) => Math.round((live.filter((p) => p.signals.products?.[product] !== undefined).length / live.length) * 1e6) / 1e6;
    expect(weights).toHaveLength(1);
    expect(weights[0]).toMatchObject({ version: `identity-${night}`, profiles: live.length });
    expect(weights[0]?.products).toEqual({ hose: 1, 'paint-sage': share('paint-sage'), 'brush-set': share('brush-set') });
    expect(share('brush-set')).toBeGreaterThan(0);
    expect(share('brush-set')).toBeLessThan(share('paint-sage'));
    expect(out).toMatchObject({ identityWeights: { version: `identity-${night}`, profiles: live.length, products: 3 } });
  });

  it('is idempotent on a retry, and never publishes over a model published since the night began', async () => {
    const stores = new MemoryStores();
    await shop(stores);
    const blobs = memoryBlobs();
    const published = uninformed();
    const tasks = nightlyTasks(ports(stores, blobs, published));
    await throughGroup(tasks, night);
    await tasks.Train({ night } as never);
    const first = await tasks.Publish({ night } as never);
    const again = await tasks.Publish({ night } as never);
    expect(first).toMatchObject({ published: true, version: `nightly-${night}`, replaces: 'champion-1' });
    expect(again).toEqual(first);
    expect(blobs.items.get(`registry/nightly-${night}.json`)).toMatchObject({ replaces: 'champion-1' });
    // An operator publishes by hand before tonight's Publish: tonight's model does not overwrite it.
    const other = memoryBlobs();
    const manual = uninformed();
    const otherTasks = nightlyTasks(ports(stores, other, manual));
    await throughGroup(otherTasks, night);
    await otherTasks.Train({ night } as never);
    manual.artifact = { ...manual.artifact, version: 'hand-published' };
    await expect(otherTasks.Publish({ night } as never)).rejects.toThrow(/model hand-published was published after tonight's training began/);
    expect(manual.artifact.version).toBe('hand-published');
  });
});

describe('the nightly state machine definition', () => {
  const resources = Object.fromEntries(NIGHTLY_TASKS.map((t) => [t, `arn:aws:lambda:us-east-1:123456789012:function:${t}`])) as Record<NightlyTask, string>;
  const definition = nightlyDefinition({ resources });

  it('is valid Amazon States Language (the interpreter validates it), and a broken one is not', () => {
    expect(() => new StateMachine(definition as never)).not.toThrow();
    expect(() => new StateMachine({ ...definition, States: { ...definition.States, Publish: { Type: 'Task', Resource: resources.Publish } } } as never)).toThrow();
  });

  it('retries every task with backoff and catches every step before publishing into KeepChampion', () => {
    const states = definition.States as Record<string, { Type: string; Retry?: Array<{ ErrorEquals: string[]; BackoffRate?: number; MaxAttempts: number }>; Catch?: Array<{ ErrorEquals: string[]; Next: string }> }>;
    const all = <T extends { ErrorEquals: string[] }>(list: T[] | undefined) => list?.find((x) => x.ErrorEquals.includes('States.ALL'));
    for (const name of ['Snapshot', 'Publish', 'Report', 'KeepChampion']) expect(all(states[name]?.Retry)).toMatchObject({ BackoffRate: 2, MaxAttempts: 3 });
    for (const name of ['Snapshot', 'ExportStatus', 'Merges', 'Roots', 'Partition', 'Group', 'Learn', 'Score', 'Publish']) expect(all(states[name]?.Catch)?.Next).toBe('KeepChampion');
    for (const name of ['Merges', 'Partition', 'Group', 'Score']) {
      const processor = (states[name] as unknown as { ItemProcessor: { ProcessorConfig: { Mode: string }; States: typeof states } }).ItemProcessor;
      expect(processor.ProcessorConfig.Mode).toBe('DISTRIBUTED');
      for (const inner of Object.values(processor.States)) expect(all(inner.Retry)).toMatchObject({ BackoffRate: 2, MaxAttempts: 3 });
    }
  });

  it('stops a second execution of the same night at its Snapshot, neither retried nor reported as a failure', async () => {
    const stores = new MemoryStores();
    await shop(stores);
    const blobs = memoryBlobs();
    const overrides = localOverrides(nightlyTasks(ports(stores, blobs, uninformed())));
    await new StateMachine(definition as never).run({ night } as never, { overrides, context: localContext('first') as never }).result;
    const report = JSON.stringify(blobs.items.get(`reports/${night}.json`));
    // A duplicate start that fails on its way to the claim (S3 throttled it, say) is caught, but does not overwrite the night's report.
    await nightlyTasks(ports(stores, blobs, uninformed())).KeepChampion({ night, execution: 'arn:duplicate', failure: { Error: 'SlowDown', Cause: 'throttled' } } as never);
    expect(JSON.stringify(blobs.items.get(`reports/${night}.json`))).toBe(report);
    // Started again (as a scheduler's retry could): the night is claimed, so it stops at once.
    await expect(new StateMachine(definition as never).run({ night: `${night}T02:00:00Z` } as never, { overrides, context: localContext('second') as never }).result).rejects.toThrow(/This night has run already/);
    expect(JSON.stringify(blobs.items.get(`reports/${night}.json`))).toBe(report);
  });
});

describe('the nightly job configuration (config/nightly.json)', () => {
  it('loads the shipped file, and names the field of a bad one', () => {
    expect(loadNightlyConfig().targets.map((t) => t.name)).toContain('category:paint');
    const shipped = loadNightlyConfig();
    expect(() => loadNightlyConfig({ ...shipped, targets: [{ name: 'paint', target: { kind: 'purchase' } }] })).toThrow(/target "paint" name: must be offer:<id>, category:<name> or default/);
    expect(() => loadNightlyConfig({ ...shipped, value: { ...shipped.value, tierQuantiles: [0.8, 0.2] } })).toThrow(/value.tierQuantiles: must rise/);
    expect(() => loadNightlyConfig({ ...shipped, schedule: { cron: '0 2 * * *', timezone: 'UTC' } })).toThrow(/schedule.cron: must be cron\(...\) or rate\(...\)/);
  });
});
