import { ingestBatch, type IngestConfig } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { derivedPairs } from './links';
import type { TruthEvent } from './population';

export interface QualityReport {
  events: number;
  people: number;
  profiles: number;
  /** Pairwise over events: of the event pairs put in one profile, the share from one person. */
  precision: number;
  /** Pairwise over events: of the event pairs from one person, the share put in one profile. */
  recall: number;
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
  /** Recall with probable links counted as joins. */
  recallWithProbable: number;
}

const pairs = (n: number) => (n * (n - 1)) / 2;

/**
 * Feeds the population through the real ingest pipeline (in-memory stores, batches of 100 in time
 * order, as one shard delivers them) and compares the resolved profiles with the truth.
 */
export async function measureQuality(population: TruthEvent[], config: IngestConfig): Promise<QualityReport> {
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

  const root = (id: string): string => {
    let at = id;
    for (let p = stores.profileItems.get(at); p?.mergedInto; p = stores.profileItems.get(at)) at = p.mergedInto;
    return at;
  };
  const truthOf = new Map(population.map((t) => [t.event.messageId, t.truth]));
  const cells = new Map<string, number>();
  const byProfile = new Map<string, number>();
  const byPerson = new Map<string, number>();
  const personsOfProfile = new Map<string, Map<string, number>>();
  let events = 0;
  for (const stored of stores.eventItems.values()) {
    const truth = truthOf.get(stored.event.messageId);
    if (truth === undefined) continue;
    events += 1;
    const profile = root(stored.profileId);
    cells.set(`${profile}|${truth}`, (cells.get(`${profile}|${truth}`) ?? 0) + 1);
    byProfile.set(profile, (byProfile.get(profile) ?? 0) + 1);
    byPerson.set(truth, (byPerson.get(truth) ?? 0) + 1);
    const persons = personsOfProfile.get(profile) ?? new Map<string, number>();
    persons.set(truth, (persons.get(truth) ?? 0) + 1);
    personsOfProfile.set(profile, persons);
  }
  const together = [...cells.values()].reduce((s, n) => s + pairs(n), 0);
  const predicted = [...byProfile.values()].reduce((s, n) => s + pairs(n), 0);
  const actual = [...byPerson.values()].reduce((s, n) => s + pairs(n), 0);

  // Probable links: a link is right when both profiles are mostly one and the same person.
  const majority = (profile: string) => [...(personsOfProfile.get(profile)?.entries() ?? [])].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0]?.[0];
  const byMajority = new Map<string, number>();
  for (const profile of personsOfProfile.keys()) {
    const m = majority(profile) as string;
    byMajority.set(m, (byMajority.get(m) ?? 0) + 1);
  }
  // Pairs of profiles one person's (what perfect links would join).
  const samePerson = [...byMajority.values()].reduce((s, n) => s + pairs(n), 0);
  const { links, clustered } = await derivedPairs(stores, config.rules);
  const score = (found: Array<[string, string]>) => {
    const right = found.filter(([a, b]) => majority(a) !== undefined && majority(a) === majority(b)).length;
    const precision = found.length === 0 ? 1 : right / found.length;
    const recall = samePerson === 0 ? 1 : right / samePerson;
    return { count: found.length, precision, recall, f05: precision + recall === 0 ? 0 : (1.25 * precision * recall) / (0.25 * precision + recall) };
  };
  const joined = new Map<string, string>();
  const find = (x: string): string => {
    const p = joined.get(x);
    if (p === undefined || p === x) return x;
    const r = find(p);
    joined.set(x, r);
    return r;
  };
  for (const [a, b] of links) joined.set(find(a), find(b));
  const linkedCells = new Map<string, number>();
  for (const [cell, n] of cells) {
    const [profile, truth] = cell.split('|') as [string, string];
    const k = `${find(profile)}|${truth}`;
    linkedCells.set(k, (linkedCells.get(k) ?? 0) + n);
  }
  const togetherWithLinks = [...linkedCells.values()].reduce((s, n) => s + pairs(n), 0);
  const probable = score(links);
  const clusters = score(clustered);

  return {
    events,
    people: byPerson.size,
    profiles: byProfile.size,
    precision: predicted === 0 ? 1 : together / predicted,
    recall: actual === 0 ? 1 : together / actual,
    probableLinks: probable.count,
    probablePrecision: probable.precision,
    probableRecall: probable.recall,
    probableF05: probable.f05,
    clusterPairs: clusters.count,
    clusterPrecision: clusters.precision,
    clusterRecall: clusters.recall,
    clusterF05: clusters.f05,
    recallWithProbable: actual === 0 ? 1 : togetherWithLinks / actual,
  };
}
