/**
 * The nightly job's tasks (lib/learn/state-machine.ts), each a function of its state input and the
 * job's ports, so a Lambda handler on AWS and the local runner call the same code. Data between
 * tasks goes through the blob store, under the night's name; a task run again (a retry) writes the
 * same keys, so every task is idempotent.
 */
import type { ModelConfig } from '../decision/model';
import { writeBatchAttributes } from '../profile/batch';
import { followMerges } from '../profile/read';
import type { BatchAttribute } from '../profile/profile';
import type { Stores } from '../store/ports';
import { valueAttributes, type ValueAttributeOptions } from './attributes';
import { liftChartSvg } from './chart';
import { learnNightly, type NightlyConfig, type NightlyResult, type TargetReport } from './nightly';
import type { NightlyTask } from './state-machine';
import type { CustomerHistory } from './training-set';

/** Where the job keeps its data: S3 on AWS, a directory locally. */
export interface BlobStore {
  put(key: string, value: unknown): Promise<void>;
  get<T>(key: string): Promise<T | undefined>;
  /** Writes the key only if it does not exist yet; whether it did. */
  claim(key: string, value: unknown): Promise<boolean>;
}

/** A night's execution, claimed by its Snapshot: a second execution for the same night stops there. */
export const executionMarker = (night: string): string => `executions/nightly-${night}.json`;

/** Thrown by Snapshot when the night has run already; the state machine neither retries nor catches it. */
export class NightAlreadyRan extends Error {
  constructor(night: string) {
    super(`the night of ${night} has run already (a night runs once)`);
    this.name = 'NightAlreadyRan';
  }
}

export interface NightlyPorts {
  stores: Stores;
  blobs: BlobStore;
  /** The model artifact that serves now (the champion). */
  champion(): Promise<ModelConfig>;
  /** Publishes an artifact so decisions pick it up (the config table). */
  publish(artifact: ModelConfig): Promise<void>;
  config: NightlyConfig;
  value?: ValueAttributeOptions;
  /** Customers per batch of the scoring Map (default 500). */
  batchSize?: number;
}

type State = { night: string; snapshot?: { customers: number; events: number; batches: number[] }; failure?: { Error?: string; Cause?: string } } & Record<string, unknown>;

/** The night's date: the input may be a date or the scheduler's timestamp (its UTC date is the night). */
const dayOf = (state: State): string => String(state.night).slice(0, 10);
/** Customers per batch of the scoring Map, unless configured. */
const DEFAULT_BATCH_SIZE = 500;

const nightOf = (state: State): Date => new Date(`${dayOf(state)}T00:00:00Z`);
const keys = (night: string) => ({
  snapshot: `snapshots/${night}.json`,
  candidate: `candidates/${night}.json`,
  /** One file per scoring batch, so a batch reads only its own customers' attributes. */
  attributes: (batch: number) => `attributes/${night}/${batch}.json`,
  report: `reports/${night}.json`,
  chart: (target: string) => `reports/${night}-${target.replace(/[^A-Za-z0-9_-]+/g, '_')}.svg`,
});

const registryKey = (version: string): string => `registry/${version}.json`;

/** A registry entry: a model version published (or replaced) by the nightly job, with its lineage. */
export interface RegistryEntry {
  version: string;
  replaces?: string;
  night?: string;
  artifact: ModelConfig;
}

/**
 * Publishes an earlier version from the registry again (a rollback), recording what it replaced.
 * The decision function serves it from its next refresh, as any published model.
 */
export async function rollback(ports: Pick<NightlyPorts, 'blobs' | 'champion' | 'publish'>, version: string): Promise<{ version: string; replaced: string }> {
  const entry = await ports.blobs.get<RegistryEntry>(registryKey(version));
  if (entry === undefined) throw new Error(`no model ${version} in the registry`);
  const replaced = (await ports.champion()).version;
  await ports.publish(entry.artifact);
  await ports.blobs.put(`registry/rollbacks/${new Date().toISOString().replace(/[:.]/g, "-")}.json`, { version, replaced });
  return { version, replaced };
}

export function nightlyTasks(ports: NightlyPorts): Record<NightlyTask, (input: State) => Promise<Record<string, unknown>>> {
  return {
    Snapshot: async (state) => {
      if (!(await ports.blobs.claim(executionMarker(dayOf(state)), { night: dayOf(state), startedAt: new Date().toISOString() }))) throw new NightAlreadyRan(dayOf(state));
      return snapshot(ports, dayOf(state));
    },
    Train: async (state) => {
      const customers = await readSnapshot(ports, dayOf(state));
      const result = learnNightly(customers, await ports.champion(), ports.config, nightOf(state));
      await ports.blobs.put(keys(dayOf(state)).candidate, result);
      return { changed: result.changed, version: result.report.version, targets: result.report.targets.map((t) => ({ name: t.name, outcome: t.outcome })) };
    },
    Value: async (state) => {
      const customers = await readSnapshot(ports, dayOf(state));
      const attributes = valueAttributes(customers, nightOf(state), ports.value);
      // Split as the scoring Map's batches split the snapshot's customers.
      const size = ports.batchSize ?? DEFAULT_BATCH_SIZE;
      for (let batch = 0; batch * size < customers.length; batch++) {
        const slice = customers.slice(batch * size, (batch + 1) * size).flatMap((c) => (attributes.has(c.profileId) ? [[c.profileId, attributes.get(c.profileId)] as const] : []));
        await ports.blobs.put(keys(dayOf(state)).attributes(batch), Object.fromEntries(slice));
      }
      return { customers: attributes.size };
    },
    WriteAttributes: (state) => writeAttributes(ports, dayOf(state), Number(state.batch)),
    Publish: (state) => publish(ports, dayOf(state)),
    Report: (state) => report(ports, state),
    KeepChampion: (state) => report(ports, state),
  };
}

/** Every stored event, grouped by the live profile it belongs to now (merges followed); batches of customers for the scoring Map. */
async function snapshot(ports: NightlyPorts, night: string) {
  const byRoot = new Map<string, CustomerHistory>();
  const roots = new Map<string, string | undefined>();
  let events = 0;
  let cursor: string | undefined;
  do {
    const page = await ports.stores.events.scan(cursor);
    for (const e of page.events) {
      if (!roots.has(e.profileId)) roots.set(e.profileId, (await followMerges(ports.stores, e.profileId))?.profileId);
      const root = roots.get(e.profileId);
      if (root === undefined) continue;
      const customer = byRoot.get(root) ?? { profileId: root, events: [] };
      customer.events.push(e.event);
      byRoot.set(root, customer);
      events += 1;
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  const customers = [...byRoot.values()].sort((a, b) => (a.profileId < b.profileId ? -1 : 1));
  await ports.blobs.put(keys(night).snapshot, customers);
  const size = ports.batchSize ?? DEFAULT_BATCH_SIZE;
  return { customers: customers.length, events, batches: Array.from({ length: Math.ceil(customers.length / size) }, (_, i) => i) };
}

async function readSnapshot(ports: NightlyPorts, night: string): Promise<CustomerHistory[]> {
  const customers = await ports.blobs.get<CustomerHistory[]>(keys(night).snapshot);
  if (customers === undefined) throw new Error(`no snapshot for ${night}`);
  return customers;
}

/** One batch of customers' value attributes (its own file), written merge-safely onto their profiles. */
async function writeAttributes(ports: NightlyPorts, night: string, batch: number) {
  const attributes = await ports.blobs.get<Record<string, Record<string, BatchAttribute>>>(keys(night).attributes(batch));
  if (attributes === undefined) throw new Error(`no attributes for batch ${batch} of ${night}`);
  for (const [profileId, values] of Object.entries(attributes)) await writeBatchAttributes(ports.stores, profileId, values);
  return { batch, written: Object.keys(attributes).length };
}

/** A target's outcome for the registry and the report: the challenger's figures without its decile table. */
const brief = ({ challenger, ...t }: TargetReport) => ({ ...t, ...(challenger ? { challenger: { model: challenger.model, auc: challenger.auc, topDecileLift: challenger.topDecileLift } } : {}) });

/** Publishes the night's artifact if it changed, with its registry entry (metrics, data window, lineage). */
async function publish(ports: NightlyPorts, night: string) {
  const candidate = await ports.blobs.get<NightlyResult>(keys(night).candidate);
  if (candidate === undefined) throw new Error(`no candidate model for ${night}`);
  if (!candidate.changed) return { published: false, version: candidate.report.version };
  const serving = (await ports.champion()).version;
  const replaces = candidate.championVersion;
  // A retry after the publish landed finds its own version serving; another model published since Train read the champion is not overwritten.
  if (serving === candidate.artifact.version) return { published: true, version: serving, replaces };
  if (serving !== replaces) throw new Error(`model ${serving} was published after tonight's training began (against ${replaces}); tonight's model is not published over it`);
  // The registry keeps every published artifact with its lineage, and the first champion it replaced, so any of them can be published again.
  const champion = await ports.champion();
  await ports.blobs.claim(registryKey(champion.version), { version: champion.version, artifact: champion });
  const targets = candidate.report.targets.map(brief);
  await ports.blobs.put(registryKey(candidate.artifact.version), { version: candidate.artifact.version, replaces, night, cutoff: candidate.report.cutoff, targets, artifact: candidate.artifact });
  await ports.publish(candidate.artifact);
  return { published: true, version: candidate.artifact.version, replaces };
}

/** The night's report: what was published or kept and why, the lift chart of each target trained, or the failure. */
async function report(ports: NightlyPorts, state: State) {
  const night = dayOf(state);
  const candidate = await ports.blobs.get<NightlyResult>(keys(night).candidate);
  const failure = state.failure === undefined ? undefined : { error: state.failure.Error ?? 'unknown', cause: String(state.failure.Cause ?? '').slice(0, 2000) };
  for (const t of candidate?.report.targets ?? []) {
    if (t.challenger === undefined) continue;
    await ports.blobs.put(keys(night).chart(t.name), liftChartSvg(t.challenger.deciles, { title: `Lift by decile: ${t.name}`, subtitle: `${t.challenger.model}, cross-validated: ${t.rows} customers, ${t.positives} buyers; ${t.outcome}` }));
  }
  const summary = {
    night,
    outcome: failure ? 'failed: the champion stays published' : (state.published as { published?: boolean } | undefined)?.published ? 'published' : 'champion kept',
    ...(failure ? { failure } : {}),
    ...(state.snapshot ? { snapshot: { customers: state.snapshot.customers, events: state.snapshot.events, batches: state.snapshot.batches.length } } : {}),
    published: state.published,
    targets: candidate?.report.targets.map(brief),
  };
  await ports.blobs.put(keys(night).report, summary);
  return summary;
}
