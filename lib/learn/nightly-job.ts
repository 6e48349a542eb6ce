/**
 * The nightly job's tasks (lib/learn/state-machine.ts), each a function of its state input and the
 * job's ports, so a Lambda handler on AWS and the local runner call the same code. Data between
 * tasks goes through the blob store, under the night's name; a task run again (a retry) writes the
 * same keys, so every task is idempotent.
 */
import { createHash } from 'node:crypto';
import type { ModelConfig } from '../decision/model';
import { setOwn } from '../events/json';
import { writeBatchAttributes } from '../profile/batch';
import type { BatchAttribute } from '../profile/profile';
import { addCounts, countProducts, weightsOf, type IdentityWeights, type ProductCounts } from '../identity/weights';
import { exportedEvent, exportedFiles, exportedItems, exportedMergeLog, exportedProducts, exportedProfile, type ExportedTable, type TableExporter } from '../store/exports';
import type { StoredEvent, Stores } from '../store/ports';
import { mergeRoots } from './merge-roots';
import { customerAttributes, fitValue, valueReport, type ValueAttributeOptions, type ValueModel } from './attributes';
import { liftChartSvg } from './chart';
import { learnNightly, trainingCutoff, type NightlyConfig, type NightlyResult, type TargetReport } from './nightly';
import type { NightlyTask } from './state-machine';
import type { CustomerHistory } from './training-set';

/** Where the job keeps its data: S3 on AWS, a directory locally. */
export interface BlobStore {
  put(key: string, value: unknown): Promise<void>;
  get<T>(key: string): Promise<T | undefined>;
  /** Writes the key only if it does not exist yet; whether it did. */
  claim(key: string, value: unknown): Promise<boolean>;
  /** Raw bytes under a key (the exported tables' files). */
  putBytes(key: string, bytes: Uint8Array): Promise<void>;
  getBytes(key: string): Promise<Uint8Array | undefined>;
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
  /** Exports the events and profiles tables into the blob store (DynamoDB's export to S3 on AWS). */
  exporter: TableExporter;
  /** The model artifact that serves now (the champion). */
  champion(): Promise<ModelConfig>;
  /** Publishes an artifact so decisions pick it up (the config table). */
  publish(artifact: ModelConfig): Promise<void>;
  /** Publishes the night's identity weights so the ingest and the read API pick them up (the config table). */
  publishIdentityWeights?(weights: IdentityWeights): Promise<void>;
  config: NightlyConfig;
  value?: ValueAttributeOptions;
  /** Customers are split into this many shards by profile, grouped and scored one shard per task (default 4). */
  shards?: number;
  /** Training and the value model's fit read at most about this many customers, a sample by profile (default 200,000). */
  trainingSample?: number;
}

type State = {
  night: string;
  execution?: string;
  snapshot?: { exports: Record<ExportedTable, string>; shards: number[]; at: string };
  exported?: { ready: boolean; events: number[]; profiles: number[] };
  grouped?: Array<{ customers: number; events: number }>;
  failure?: { Error?: string; Cause?: string };
  /** A Map item: an exported file's number, or a shard's. */
  item?: number;
} & Record<string, unknown>;

/** The night's date: the input may be a date or the scheduler's timestamp (its UTC date is the night). */
const dayOf = (state: State): string => String(state.night).slice(0, 10);
const DEFAULT_SHARDS = 4;
const DEFAULT_TRAINING_SAMPLE = 200_000;
/** Customers whose attributes are written at once by a scoring task. */
const WRITE_CONCURRENCY = 16;

/** The night's date, midnight UTC, from its YYYY-MM-DD. */
const dateOf = (night: string): Date => new Date(`${night}T00:00:00Z`);
const nightOf = (state: State): Date => dateOf(dayOf(state));
/**
 * Where each night's data goes: its working data (the exports, their pieces, the candidate) under
 * `work/`, kept a few days; the reports, the execution markers and the registry apart (the bucket's
 * lifecycle rules keep each as long as it is needed: the registry for good).
 */
const keys = (night: string) => ({
  exports: (table: ExportedTable) => `work/${night}/exports/${table}`,
  /** The exported data files of both tables, and the night's shard count, listed once the exports are complete. */
  files: `work/${night}/files.json`,
  /** Per exported profiles file: its tombstones, and its live profiles by shard. */
  merges: (file: number) => `work/${night}/merges/${file}.json`,
  live: (shard: number, file: number) => `work/${night}/live/${shard}/${file}.json`,
  /** Per exported profiles file: how many of its live profiles researched each product (identity weights). */
  products: (file: number) => `work/${night}/products/${file}.json`,
  /** Per exported profiles file: when each profile merged into another, from the merge logs it holds. */
  mergeTimes: (file: number) => `work/${night}/merge-times/${file}.json`,
  /** Every merged-away profile and the live profile at the end of its chain. */
  roots: `work/${night}/roots.json`,
  /** Every profile merged after the training cut-off and where its chain ended at the cut-off (the identity graph as it stood then). */
  cutoffRoots: `work/${night}/cutoff-roots.json`,
  /** Per exported events file and shard: its events, each under the live profile it belongs to. */
  part: (shard: number, file: number) => `work/${night}/parts/${shard}/${file}.json`,
  customers: (shard: number) => `work/${night}/customers/${shard}.json`,
  sample: (shard: number) => `work/${night}/sample/${shard}.json`,
  value: `work/${night}/value.json`,
  candidate: `work/${night}/candidate.json`,
  report: `reports/${night}.json`,
  chart: (target: string) => `reports/${night}-${target.replace(/[^A-Za-z0-9_-]+/g, '_')}.svg`,
});

/** The prefixes the bucket's lifecycle rules know (cdk/constructs/nightly.ts). */
export const NIGHTLY_PREFIXES = { work: 'work/', reports: 'reports/', executions: 'executions/', registry: 'registry/' } as const;

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
  await ports.blobs.put(`registry/rollbacks/${new Date().toISOString().replace(/[:.]/g, '-')}.json`, { version, replaced });
  return { version, replaced };
}

export function nightlyTasks(ports: NightlyPorts): Record<NightlyTask, (input: State) => Promise<Record<string, unknown>>> {
  return {
    Snapshot: (state) => startExports(ports, dayOf(state), state.execution),
    ExportStatus: (state) => exportStatus(ports, dayOf(state), state),
    ReadProfiles: (state) => readProfiles(ports, dayOf(state), Number(state.item)),
    Roots: (state) => resolveRoots(ports, dayOf(state)),
    SplitEvents: (state) => splitEvents(ports, dayOf(state), Number(state.item)),
    GroupShard: (state) => groupShard(ports, dayOf(state), Number(state.item)),
    Train: async (state) => {
      const customers = await readSample(ports, dayOf(state));
      const result = learnNightly(customers, await ports.champion(), ports.config, nightOf(state));
      await ports.blobs.put(keys(dayOf(state)).candidate, result);
      return { changed: result.changed, version: result.report.version, customers: customers.length, targets: result.report.targets.map((t) => ({ name: t.name, outcome: t.outcome })) };
    },
    Value: async (state) => {
      const customers = await readSample(ports, dayOf(state));
      const model = fitValue(customers, nightOf(state), ports.value);
      await ports.blobs.put(keys(dayOf(state)).value, model);
      return { customers: customers.length, clv: model.clv.fitted ? 'fitted' : model.clv.reason };
    },
    WriteAttributes: (state) => writeAttributes(ports, state, Number(state.item)),
    Publish: (state) => publish(ports, dayOf(state)),
    Report: (state) => report(ports, state),
    KeepChampion: (state) => report(ports, state),
  };
}

const shardCount = (ports: NightlyPorts): number => ports.shards ?? DEFAULT_SHARDS;

/** A profile's shard: FNV-1a of its id, so every task puts a customer in the same one. */
export function shardOf(profileId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < profileId.length; i++) h = Math.imul(h ^ profileId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/**
 * Claims the night and starts the exports of the events and profiles tables at one point in time.
 * A retry of the same execution finds its own claim, and starts the same exports again (same token:
 * the same exports); another execution of the night stops here.
 */
async function startExports(ports: NightlyPorts, night: string, execution = 'local') {
  const marker = executionMarker(night);
  // A minute back: an export's time must be in the past by DynamoDB's clock as well as this one.
  const claim = { night, execution, at: new Date(Date.now() - 60_000).toISOString() };
  if (!(await ports.blobs.claim(marker, claim))) {
    const held = await ports.blobs.get<typeof claim>(marker);
    if (held?.execution !== execution) throw new NightAlreadyRan(night);
    claim.at = held.at;
  }
  const at = new Date(claim.at);
  const exports = {} as Record<ExportedTable, string>;
  // The token makes a retry the same export, and another execution (another stack's, or a rerun after the marker was cleared) a new one.
  const token = (table: ExportedTable) => `${night}-${table}-${createHash('sha256').update(`${execution}\n${table}`).digest('hex').slice(0, 32)}`;
  for (const table of ['events', 'profiles'] as const) exports[table] = await ports.exporter.start(table, at, keys(night).exports(table), token(table));
  return { exports, at: claim.at, shards: Array.from({ length: shardCount(ports) }, (_, i) => i) };
}

/** How long the exports may take before the night gives up (the state machine's own limit is longer, so the failure is reported). */
export const EXPORT_DEADLINE_MS = 4 * 3600_000;

/** Whether both exports are complete (then their files are listed); a failed export, or one not done by the deadline, fails the night (the champion stays). */
async function exportStatus(ports: NightlyPorts, night: string, state: State) {
  const snapshot = state.snapshot;
  if (snapshot === undefined) throw new Error(`no exports started for ${night}`);
  const failed = (why: string) => Object.assign(new Error(why), { name: 'ExportFailed' });
  const files = { shards: snapshot.shards.length } as Record<ExportedTable, string[]> & { shards: number };
  for (const table of ['events', 'profiles'] as const) {
    const status = await ports.exporter.describe(snapshot.exports[table]);
    if (status.status === 'FAILED') throw failed(`the export of ${table} failed: ${status.failure ?? 'no reason given'}`);
    if (status.status === 'COMPLETED' && status.manifest === undefined) throw failed(`the export of ${table} completed without a manifest`);
    if (status.status !== 'COMPLETED') {
      if (Date.now() - Date.parse(snapshot.at) > EXPORT_DEADLINE_MS) throw failed(`the export of ${table} was not complete after ${EXPORT_DEADLINE_MS / 3600_000} hours`);
      return { ready: false, events: [], profiles: [] };
    }
    files[table] = await exportedFiles(ports.blobs, status.manifest as string);
  }
  await ports.blobs.put(keys(night).files, files);
  const numbers = (list: string[]) => list.map((_, i) => i);
  return { ready: true, events: numbers(files.events), profiles: numbers(files.profiles) };
}

/** The night's exported files and shard count (fixed when the exports completed: a deploy during the night does not change them). */
async function exportFiles(ports: NightlyPorts, night: string): Promise<Record<ExportedTable, string[]> & { shards: number }> {
  const files = await ports.blobs.get<Record<ExportedTable, string[]> & { shards: number }>(keys(night).files);
  if (files === undefined) throw new Error(`no exported files listed for ${night}`);
  return files;
}

/** An event of a part: under the live profile it belongs to now, and the profile it belonged to at the training cut-off when that differs. */
type PartEvent = StoredEvent & { atCutoff?: string };

/** A piece an earlier task of the night wrote: missing, the night fails (a piece silently left out would drop customers). */
async function piece<T>(ports: NightlyPorts, key: string): Promise<T> {
  const value = await ports.blobs.get<T>(key);
  if (value === undefined) throw new Error(`the night's ${key} is missing`);
  return value;
}

/** One exported profiles file: its tombstones (merged into what), and its live profiles by shard. */
async function readProfiles(ports: NightlyPorts, night: string, file: number) {
  const files = await exportFiles(ports, night);
  const key = files.profiles[file];
  if (key === undefined) throw new Error(`no exported profiles file ${file} for ${night}`);
  const merged: Record<string, string> = {};
  const times: Record<string, string> = {};
  const live: string[][] = Array.from({ length: files.shards }, () => []);
  const researched: string[][] = [];
  for (const item of await exportedItems(ports.blobs, key)) {
    const p = exportedProfile(item);
    if (p === undefined) continue;
    // The latest time logged for a profile's merge: a tombstone keeps the log it had, and a profile
    // split off and merged again later was merged when it last was.
    for (const m of exportedMergeLog(item)) if (!(m.from in times) || m.at > (times[m.from] as string)) times[m.from] = m.at;
    if (p.mergedInto !== undefined) merged[p.profileId] = p.mergedInto;
    else {
      live[shardOf(p.profileId, live.length)]?.push(p.profileId);
      researched.push(exportedProducts(item));
    }
  }
  await ports.blobs.put(keys(night).merges(file), merged);
  await ports.blobs.put(keys(night).mergeTimes(file), times);
  await ports.blobs.put(keys(night).products(file), countProducts(researched));
  for (const [shard, ids] of live.entries()) await ports.blobs.put(keys(night).live(shard, file), ids);
  return { file, merged: Object.keys(merged).length, live: live.reduce((n, ids) => n + ids.length, 0) };
}

/** Every tombstone's live profile: its chain of merges followed to the end (as followMerges does on the live tables). */
async function resolveRoots(ports: NightlyPorts, night: string) {
  const merged = new Map<string, string>();
  const files = (await exportFiles(ports, night)).profiles;
  for (let file = 0; file < files.length; file++) for (const [from, into] of Object.entries(await piece<Record<string, string>>(ports, keys(night).merges(file)))) merged.set(from, into);
  const times = new Map<string, string>();
  for (let file = 0; file < files.length; file++) {
    for (const [from, at] of Object.entries(await piece<Record<string, string>>(ports, keys(night).mergeTimes(file)))) if (!times.has(from) || at > (times.get(from) as string)) times.set(from, at);
  }
  // The training cut-off (lib/learn/nightly.ts): a merge after it was not known then. A merge whose
  // time no log kept any more (a merge log keeps the latest 100) is old: taken as before.
  const { roots, cutoffRoots } = mergeRoots(merged, times, trainingCutoff(dateOf(night), ports.config.horizonDays));
  await ports.blobs.put(keys(night).roots, roots);
  await ports.blobs.put(keys(night).cutoffRoots, cutoffRoots);
  return { merged: merged.size, afterCutoff: Object.keys(cutoffRoots).length };
}

/** One exported events file, split by shard, each event under the live profile it belongs to now. */
async function splitEvents(ports: NightlyPorts, night: string, file: number) {
  const files = await exportFiles(ports, night);
  const key = files.events[file];
  if (key === undefined) throw new Error(`no exported events file ${file} for ${night}`);
  const roots = await piece<Record<string, string>>(ports, keys(night).roots);
  const cutoffRoots = await piece<Record<string, string>>(ports, keys(night).cutoffRoots);
  const parts: PartEvent[][] = Array.from({ length: files.shards }, () => []);
  let events = 0;
  for (const item of await exportedItems(ports.blobs, key)) {
    const e = exportedEvent(item);
    if (e === undefined) continue;
    const profileId = roots[e.profileId] ?? e.profileId;
    const then = cutoffRoots[e.profileId];
    parts[shardOf(profileId, parts.length)]?.push({ profileId, event: e.event, ...(then !== undefined ? { atCutoff: then } : {}) });
    events += 1;
  }
  for (const [shard, part] of parts.entries()) await ports.blobs.put(keys(night).part(shard, file), part);
  return { file, events };
}

/**
 * One shard's customers: every event of each live profile (events of a profile that is no longer
 * there, or never was, are left out), in time order; and its share of the training sample, the
 * customers with the lowest sample keys (a hash of the id, apart from the holdout's).
 */
async function groupShard(ports: NightlyPorts, night: string, shard: number) {
  const files = await exportFiles(ports, night);
  const live = new Set<string>();
  for (let file = 0; file < files.profiles.length; file++) for (const id of await piece<string[]>(ports, keys(night).live(shard, file))) live.add(id);
  const byProfile = new Map<string, CustomerHistory>();
  let events = 0;
  for (let file = 0; file < files.events.length; file++) {
    for (const e of await piece<PartEvent[]>(ports, keys(night).part(shard, file))) {
      if (!live.has(e.profileId)) continue;
      const customer = byProfile.get(e.profileId) ?? { profileId: e.profileId, events: [] };
      customer.events.push(e.event);
      // A message id is the sender's: set as an own property, whatever it says (`__proto__` too).
      if (e.atCutoff !== undefined) setOwn((customer.atCutoff ??= {}), e.event.messageId, e.atCutoff);
      byProfile.set(e.profileId, customer);
      events += 1;
    }
  }
  const customers = [...byProfile.values()].sort((a, b) => (a.profileId < b.profileId ? -1 : 1));
  for (const c of customers) c.events.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.messageId < b.messageId ? -1 : 1));
  const share = Math.ceil((ports.trainingSample ?? DEFAULT_TRAINING_SAMPLE) / files.shards);
  const sample = customers.length <= share ? customers : [...customers].sort((a, b) => sampleKey(a.profileId) - sampleKey(b.profileId)).slice(0, share).sort((a, b) => (a.profileId < b.profileId ? -1 : 1));
  await ports.blobs.put(keys(night).customers(shard), customers);
  await ports.blobs.put(keys(night).sample(shard), sample);
  return { shard, customers: customers.length, events, sampled: sample.length };
}

/** A customer's place in the training sample: a hash of her id, salted apart from the holdout's. */
const sampleKey = (profileId: string): number => createHash('sha256').update(`sample:${profileId}`).digest().readUInt32BE(0);

/** The training sample: every shard's share, by profile id. */
async function readSample(ports: NightlyPorts, night: string): Promise<CustomerHistory[]> {
  const customers: CustomerHistory[] = [];
  const { shards } = await exportFiles(ports, night);
  for (let shard = 0; shard < shards; shard++) customers.push(...(await piece<CustomerHistory[]>(ports, keys(night).sample(shard))));
  return customers.sort((a, b) => (a.profileId < b.profileId ? -1 : 1));
}

/** One shard's customers' value attributes on the night's value model, written merge-safely onto their profiles, a few at a time. */
async function writeAttributes(ports: NightlyPorts, state: State, shard: number) {
  const night = dayOf(state);
  const customers = await piece<CustomerHistory[]>(ports, keys(night).customers(shard));
  const model = await piece<ValueModel>(ports, keys(night).value);
  let written = 0;
  let next = 0;
  const worker = async () => {
    while (next < customers.length) {
      const c = customers[next++] as CustomerHistory;
      const attributes = customerAttributes(model, c, nightOf(state));
      if (attributes === undefined) continue;
      await writeBatchAttributes(ports.stores, c.profileId, attributes);
      written += 1;
    }
  };
  // Settled, not raced: a failure leaves no write in flight behind the retry.
  const failed = (await Promise.allSettled(Array.from({ length: WRITE_CONCURRENCY }, worker))).find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return { shard, written };
}

const round4 = (v: number): number => Math.round(v * 10_000) / 10_000;

/** A target's outcome for the registry and the report: the challenger's figures with its decile table on the holdout and its calibration, rounded to what a person reads. */
const brief = ({ challenger, ...t }: TargetReport) => ({
  ...t,
  ...(challenger
    ? {
        challenger: {
          model: challenger.model,
          auc: challenger.auc,
          topDecileLift: challenger.topDecileLift,
          deciles: challenger.deciles.map((d) => ({ decile: d.decile, rows: d.count, positives: round4(d.positives), rate: round4(d.rate), lift: round4(d.lift), cumulativeLift: round4(d.cumulativeLift), captured: round4(d.captured) })),
          calibration: challenger.calibration,
          ...(challenger.platt ? { platt: challenger.platt } : {}),
        },
      }
    : {}),
});

/** Publishes the night's artifact if it changed, with its registry entry (metrics, data window, lineage). */
async function publish(ports: NightlyPorts, night: string) {
  const model = await publishModel(ports, night);
  // The model first: the weights failing (a store error) must not keep tonight's model from serving; the report says it.
  const identityWeights = await publishIdentityWeights(ports, night).catch((e: Error) => ({ failed: e.message }));
  return { ...model, identityWeights };
}

/** The night's product popularity, from every exported profiles file's counts: published every night (lib/identity/weights.ts). */
async function publishIdentityWeights(ports: NightlyPorts, night: string): Promise<{ version: string; profiles: number; products: number }> {
  const files = (await exportFiles(ports, night)).profiles;
  let total: ProductCounts = { profiles: 0, counts: {} };
  for (let file = 0; file < files.length; file++) total = addCounts(total, await piece<ProductCounts>(ports, keys(night).products(file)));
  const weights = weightsOf(total, `identity-${night}`);
  await ports.publishIdentityWeights?.(weights);
  return { version: weights.version, profiles: weights.profiles, products: Object.keys(weights.products).length };
}

async function publishModel(ports: NightlyPorts, night: string) {
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
  // A second execution of a night that failed on its way to the claim does not overwrite the night's report.
  const claim = await ports.blobs.get<{ execution?: string }>(executionMarker(night));
  if (claim !== undefined && state.execution !== undefined && claim.execution !== state.execution) return { night, outcome: 'not reported: another execution holds this night', failure: state.failure };
  const candidate = await ports.blobs.get<NightlyResult>(keys(night).candidate);
  const failure = state.failure === undefined ? undefined : { error: state.failure.Error ?? 'unknown', cause: String(state.failure.Cause ?? '').slice(0, 2000) };
  for (const t of candidate?.report.targets ?? []) {
    if (t.challenger === undefined) continue;
    await ports.blobs.put(keys(night).chart(t.name), liftChartSvg(t.challenger.deciles, { title: `Lift by decile: ${t.name}`, subtitle: `${t.challenger.model}, on the holdout (customers no nightly model trains on); trained on ${t.rows} rows, ${t.positives} buyers; ${t.outcome}` }));
  }
  const valueModel = await ports.blobs.get<ValueModel>(keys(night).value);
  const summary = {
    night,
    outcome: failure ? 'failed: the champion stays published' : (state.published as { published?: boolean } | undefined)?.published ? 'published' : 'champion kept',
    ...(failure ? { failure } : {}),
    ...(state.grouped ? { snapshot: { customers: sum(state.grouped, 'customers'), events: sum(state.grouped, 'events'), shards: state.grouped.length } } : {}),
    published: state.published,
    targets: candidate?.report.targets.map(brief),
    // Customer value: its models (or why none tonight) and the back-test on the night's own history.
    ...(valueModel ? { value: valueReport(valueModel) } : {}),
  };
  await ports.blobs.put(keys(night).report, summary);
  return summary;
}

const sum = <K extends string>(rows: ReadonlyArray<Record<K, number>>, key: K): number => rows.reduce((n, r) => n + r[key], 0);
