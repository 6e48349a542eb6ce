import { ingestBatch, type IngestConfig } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
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
  const majority = (profile: string) => [...(personsOfProfile.get(profile)?.entries() ?? [])].sort((a, b) => b[1] - a[1])[0]?.[0];
  const seen = new Set<string>();
  let links = 0;
  let rightLinks = 0;
  const joined = new Map<string, string>();
  const find = (x: string): string => {
    const p = joined.get(x);
    if (p === undefined || p === x) return x;
    const r = find(p);
    joined.set(x, r);
    return r;
  };
  for (const [from, targets] of stores.links) {
    for (const to of targets.keys()) {
      const a = root(from);
      const b = root(to);
      const key = [a, b].sort().join('|');
      if (a === b || seen.has(key)) continue;
      seen.add(key);
      links += 1;
      if (majority(a) !== undefined && majority(a) === majority(b)) rightLinks += 1;
      joined.set(find(a), find(b));
    }
  }
  const linkedCells = new Map<string, number>();
  for (const [cell, n] of cells) {
    const [profile, truth] = cell.split('|') as [string, string];
    const k = `${find(profile)}|${truth}`;
    linkedCells.set(k, (linkedCells.get(k) ?? 0) + n);
  }
  const togetherWithLinks = [...linkedCells.values()].reduce((s, n) => s + pairs(n), 0);

  return {
    events,
    people: byPerson.size,
    profiles: byProfile.size,
    precision: predicted === 0 ? 1 : together / predicted,
    recall: actual === 0 ? 1 : together / actual,
    probableLinks: links,
    probablePrecision: links === 0 ? 1 : rightLinks / links,
    recallWithProbable: actual === 0 ? 1 : togetherWithLinks / actual,
  };
}
