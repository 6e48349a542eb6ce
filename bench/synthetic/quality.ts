import { ingestBatch, type IngestConfig } from '../../lib/ingest/pipeline';
import { NO_WEIGHTS } from '../../lib/identity/weights';
import { MemoryStores } from '../../lib/store/memory';
import { derivedPairs, nightlyWeights, type StatedPair } from './links';
import type { TruthEvent } from './population';

/** Which identity weights the read API scores with: none (before the first night) or what one night learns. */
export type Night = 'none' | 'nightly';

/** Links and clusters as the read API serves them with one choice of weights. */
export interface LinkQuality {
  weights: Night;
  probableLinks: number;
  /** Of the probable links, the share joining two profiles whose events come from one person. */
  probablePrecision: number;
  /** Of the pairs of profiles one person's (by the person most of their events come from), the share linked. */
  probableRecall: number;
  /** F0.5 of the links: precision weighs twice recall (a wrong link costs more than a missing one). */
  probableF05: number;
  /** The same over person clusters: pairs of a profile and a member of its cluster. */
  clusterPairs: number;
  clusterPrecision: number;
  clusterRecall: number;
  clusterF05: number;
  /** Every pair the read API scores (below the threshold too), by decile of stated probability. */
  candidateCalibration: Calibration;
  /** Every (profile, cluster member), by decile of the member's stated probability. */
  memberCalibration: Calibration;
}

/** The population's resolution, and its links and clusters with the weights asked for (after one night when both were). */
export interface QualityReport extends Omit<LinkQuality, 'weights' | 'candidateCalibration' | 'memberCalibration'> {
  events: number;
  people: number;
  profiles: number;
  /** Pairwise over events: of the event pairs put in one profile, the share from one person. */
  precision: number;
  /** Pairwise over events: of the event pairs from one person, the share put in one profile. */
  recall: number;
  /** Recall with probable links counted as joins. */
  recallWithProbable: number;
  /** Before any night (NO_WEIGHTS), when measured. */
  beforeNight?: LinkQuality;
  /** After one night (the popularity the nightly job learns from these profiles), when measured. */
  afterNight?: LinkQuality;
}

/** One decile of stated probability: how many pairs, their summed stated probability, how many are one person. */
export interface CalibrationBucket {
  pairs: number;
  stated: number;
  samePerson: number;
}
/** Ten buckets: [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0]. */
export type Calibration = CalibrationBucket[];

const pairs = (n: number) => (n * (n - 1)) / 2;

/** A calibration table of pairs, each with its stated probability and whether it is truly one person's. */
export function calibrate(stated: Iterable<{ probability: number; same: boolean }>): Calibration {
  const table = Array.from({ length: 10 }, () => ({ pairs: 0, stated: 0, samePerson: 0 }));
  for (const { probability, same } of stated) {
    const b = table[Math.min(9, Math.max(0, Math.floor(probability * 10)))] as CalibrationBucket;
    b.pairs += 1;
    b.stated += probability;
    if (same) b.samePerson += 1;
  }
  return table;
}

/** Several tables pooled (their pairs added up). */
export function pooled(tables: Calibration[]): Calibration {
  return Array.from({ length: 10 }, (_, i) => ({
    pairs: tables.reduce((s, t) => s + (t[i]?.pairs ?? 0), 0),
    stated: tables.reduce((s, t) => s + (t[i]?.stated ?? 0), 0),
    samePerson: tables.reduce((s, t) => s + (t[i]?.samePerson ?? 0), 0),
  }));
}

/**
 * A calibration table as text (a reliability diagram's numbers): per decile, the pairs, their mean
 * stated probability, the share that are one person, and whether the two agree within `tolerance`
 * (judged only with at least `minPairs` pairs).
 */
export function formatCalibration(table: Calibration, title: string, { tolerance = 0.05, minPairs = 50 } = {}): string[] {
  const lines = [title, '  decile     pairs  stated  observed  gap     within ' + tolerance.toFixed(2)];
  table.forEach((b, i) => {
    const decile = `${(i / 10).toFixed(1)}-${((i + 1) / 10).toFixed(1)}`;
    if (b.pairs === 0) {
      lines.push(`  ${decile}  ${'0'.padStart(8)}       -         -      -`);
      return;
    }
    const stated = b.stated / b.pairs;
    const observed = b.samePerson / b.pairs;
    const gap = observed - stated;
    const verdict = b.pairs < minPairs ? `(fewer than ${minPairs} pairs)` : Math.abs(gap) <= tolerance ? 'yes' : 'NO';
    lines.push(`  ${decile}  ${String(b.pairs).padStart(8)}  ${stated.toFixed(3)}  ${observed.toFixed(3)}     ${(gap >= 0 ? '+' : '') + gap.toFixed(3)}  ${verdict}`);
  });
  const judged = table.filter((b) => b.pairs >= minPairs);
  const worst = judged.reduce((w, b) => Math.max(w, Math.abs(b.samePerson / b.pairs - b.stated / b.pairs)), 0);
  lines.push(`  ${judged.length} deciles with ${minPairs}+ pairs, largest gap ${worst.toFixed(3)}: ${worst <= tolerance ? 'calibrated' : 'NOT calibrated'} within ${tolerance}`);
  return lines;
}

/** Feeds a population through the real ingest pipeline (in-memory stores, batches of 100 in time order, as one shard delivers them). */
export async function ingestPopulation(population: TruthEvent[], config: IngestConfig): Promise<MemoryStores> {
  const stores = new MemoryStores();
  let seq = 10n ** 30n;
  const records = population.map(({ event }) => ({
    shardId: 'shardId-000000000000',
    sequenceNumber: (seq += 1n).toString(),
    data: Buffer.from(JSON.stringify(event)).toString('base64'),
  }));
  for (let i = 0; i < records.length; i += 100) {
    const result = await ingestBatch(records.slice(i, i + 100), stores, config);
    if (result.failedSequenceNumbers.length > 0) throw new Error(`ingest failed: ${result.errors.join('; ')}`);
  }
  return stores;
}

/** Who each resolved profile is, by truth: the person most of its events come from (ties: the smaller id), and how many events each person has there. */
export function truthOfProfiles(stores: MemoryStores, population: TruthEvent[]): { majority: Map<string, string>; persons: Map<string, Map<string, number>>; root: (id: string) => string } {
  const root = (id: string): string => {
    let at = id;
    for (let p = stores.profileItems.get(at); p?.mergedInto; p = stores.profileItems.get(at)) at = p.mergedInto;
    return at;
  };
  const truthOf = new Map(population.map((t) => [t.event.messageId, t.truth]));
  const persons = new Map<string, Map<string, number>>();
  for (const stored of stores.eventItems.values()) {
    const truth = truthOf.get(stored.event.messageId);
    if (truth === undefined) continue;
    const profile = root(stored.profileId);
    const counts = persons.get(profile) ?? new Map<string, number>();
    counts.set(truth, (counts.get(truth) ?? 0) + 1);
    persons.set(profile, counts);
  }
  const majority = new Map([...persons].map(([profile, counts]) => [profile, [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0]?.[0] as string]));
  return { majority, persons, root };
}

/**
 * Feeds the population through the real ingest pipeline and compares the resolved profiles, and the
 * links and person clusters the read API derives from them, with the truth: with the weights of
 * `options.weights` (default: after one night), or both before any night and after one.
 */
export async function measureQuality(population: TruthEvent[], config: IngestConfig, options: { weights?: Night | 'both' } = {}): Promise<QualityReport> {
  const stores = await ingestPopulation(population, config);
  const { majority: majorityOf, persons: personsOfProfile, root } = truthOfProfiles(stores, population);
  const truthOf = new Map(population.map((t) => [t.event.messageId, t.truth]));
  const cells = new Map<string, number>();
  const byProfile = new Map<string, number>();
  const byPerson = new Map<string, number>();
  let events = 0;
  for (const stored of stores.eventItems.values()) {
    const truth = truthOf.get(stored.event.messageId);
    if (truth === undefined) continue;
    events += 1;
    const profile = root(stored.profileId);
    cells.set(`${profile}|${truth}`, (cells.get(`${profile}|${truth}`) ?? 0) + 1);
    byProfile.set(profile, (byProfile.get(profile) ?? 0) + 1);
    byPerson.set(truth, (byPerson.get(truth) ?? 0) + 1);
  }
  const together = [...cells.values()].reduce((s, n) => s + pairs(n), 0);
  const predicted = [...byProfile.values()].reduce((s, n) => s + pairs(n), 0);
  const actual = [...byPerson.values()].reduce((s, n) => s + pairs(n), 0);

  // Probable links: a link is right when both profiles are mostly one and the same person.
  const majority = (profile: string) => majorityOf.get(profile);
  const same = (a: string, b: string) => majority(a) !== undefined && majority(a) === majority(b);
  const byMajority = new Map<string, number>();
  for (const profile of personsOfProfile.keys()) {
    const m = majority(profile) as string;
    byMajority.set(m, (byMajority.get(m) ?? 0) + 1);
  }
  // Pairs of profiles one person's (what perfect links would join).
  const samePerson = [...byMajority.values()].reduce((s, n) => s + pairs(n), 0);
  const score = (found: Array<[string, string]>) => {
    const right = found.filter(([a, b]) => same(a, b)).length;
    const precision = found.length === 0 ? 1 : right / found.length;
    const recall = samePerson === 0 ? 1 : right / samePerson;
    return { count: found.length, precision, recall, f05: precision + recall === 0 ? 0 : (1.25 * precision * recall) / (0.25 * precision + recall) };
  };
  const stated = (ps: StatedPair[]) => calibrate(ps.map((p) => ({ probability: p.probability, same: same(p.profileId, p.otherProfileId) })));

  const nights: Night[] = options.weights === 'both' ? ['none', 'nightly'] : [options.weights ?? 'nightly'];
  const measured = new Map<Night, LinkQuality & { links: Array<[string, string]> }>();
  for (const night of nights) {
    const derived = await derivedPairs(stores, config.rules, night === 'none' ? NO_WEIGHTS : nightlyWeights(stores), { stated: true });
    const probable = score(derived.links);
    const clusters = score(derived.clustered);
    measured.set(night, {
      weights: night,
      links: derived.links,
      probableLinks: probable.count,
      probablePrecision: probable.precision,
      probableRecall: probable.recall,
      probableF05: probable.f05,
      clusterPairs: clusters.count,
      clusterPrecision: clusters.precision,
      clusterRecall: clusters.recall,
      clusterF05: clusters.f05,
      candidateCalibration: stated(derived.candidates),
      memberCalibration: stated(derived.members),
    });
  }
  const main = (measured.get('nightly') ?? measured.get('none')) as LinkQuality & { links: Array<[string, string]> };

  const joined = new Map<string, string>();
  const find = (x: string): string => {
    const p = joined.get(x);
    if (p === undefined || p === x) return x;
    const r = find(p);
    joined.set(x, r);
    return r;
  };
  for (const [a, b] of main.links) joined.set(find(a), find(b));
  const linkedCells = new Map<string, number>();
  for (const [cell, n] of cells) {
    const [profile, truth] = cell.split('|') as [string, string];
    const k = `${find(profile)}|${truth}`;
    linkedCells.set(k, (linkedCells.get(k) ?? 0) + n);
  }
  const togetherWithLinks = [...linkedCells.values()].reduce((s, n) => s + pairs(n), 0);
  const strip = (q: LinkQuality & { links?: unknown }): LinkQuality => {
    const { links: _links, ...rest } = q;
    return rest;
  };

  return {
    events,
    people: byPerson.size,
    profiles: byProfile.size,
    precision: predicted === 0 ? 1 : together / predicted,
    recall: actual === 0 ? 1 : together / actual,
    probableLinks: main.probableLinks,
    probablePrecision: main.probablePrecision,
    probableRecall: main.probableRecall,
    probableF05: main.probableF05,
    clusterPairs: main.clusterPairs,
    clusterPrecision: main.clusterPrecision,
    clusterRecall: main.clusterRecall,
    clusterF05: main.clusterF05,
    recallWithProbable: actual === 0 ? 1 : togetherWithLinks / actual,
    ...(measured.has('none') ? { beforeNight: strip(measured.get('none') as LinkQuality) } : {}),
    ...(measured.has('nightly') ? { afterNight: strip(measured.get('nightly') as LinkQuality) } : {}),
  };
}
