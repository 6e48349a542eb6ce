import { ingestBatch, type IngestConfig, type StreamRecord } from '../../lib/ingest/pipeline';
import { createRandom } from '../../lib/learn/metrics';
import { MemoryStores } from '../../lib/store/memory';
import { derivedPairs } from './links';
import type { TruthEvent } from './population';

/**
 * How stable the probable links are: the same population delivered in different batchings and
 * arrival orders (each device's messages in order, devices interleaved at random, as SDK queues
 * flush apart), and the link sets compared. Profiles are compared by what they hold (their
 * identifiers), since their ids depend on which identifier came first.
 */
export interface Delivery {
  batch: number;
  /** 0: in time order; else the seed of a random interleaving of devices. */
  interleave: number;
  /** Shards the stream spreads devices over (by a hash of the device), each shard's batches taken in turn (default 1). */
  shards?: number;
}

export async function linkSet(population: TruthEvent[], config: IngestConfig, delivery: Delivery): Promise<Set<string>> {
  const events = delivery.interleave === 0 ? population : interleaved(population, delivery.interleave);
  const stores = new MemoryStores();
  const shards = delivery.shards ?? 1;
  let seq = 10n ** 30n;
  const byShard: StreamRecord[][] = Array.from({ length: shards }, () => []);
  for (const { event } of events) {
    const device = String((event as { anonymousId?: unknown }).anonymousId ?? (event as { userId?: unknown }).userId ?? '');
    const shard = [...device].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % shards;
    byShard[shard]?.push({ shardId: `shardId-00000000000${shard}`, sequenceNumber: (seq += 1n).toString(), data: Buffer.from(JSON.stringify(event)).toString('base64') });
  }
  // Each shard's batches in turn, as concurrent invocations would interleave (one at a time here).
  for (let i = 0; byShard.some((records) => i < records.length); i += delivery.batch) {
    for (const records of byShard) {
      if (i >= records.length) continue;
      const result = await ingestBatch(records.slice(i, i + delivery.batch), stores, config);
      if (result.failedSequenceNumbers.length > 0) throw new Error(`ingest failed: ${result.errors.join('; ')}`);
    }
  }
  const holds = (id: string): string => {
    const p = stores.profileItems.get(id);
    return JSON.stringify(Object.entries(p?.identities ?? {}).map(([ns, values]) => [ns, [...(values ?? [])].sort()]).sort());
  };
  const links = new Set<string>();
  for (const [a, b] of (await derivedPairs(stores, config.rules)).links) links.add([holds(a), holds(b)].sort().join(' ~ '));
  return links;
}

/** Each device's messages in order, devices interleaved at random in runs of 1 to 20 messages. */
function interleaved(population: TruthEvent[], seed: number): TruthEvent[] {
  const random = createRandom(seed);
  const byDevice = new Map<string, TruthEvent[]>();
  for (const t of population) {
    const device = String((t.event as { anonymousId?: unknown }).anonymousId ?? t.event.messageId);
    byDevice.set(device, [...(byDevice.get(device) ?? []), t]);
  }
  const queues = [...byDevice.values()];
  const out: TruthEvent[] = [];
  while (queues.some((q) => q.length > 0)) {
    const live = queues.filter((q) => q.length > 0);
    const q = live[Math.floor(random() * live.length)] as TruthEvent[];
    out.push(...q.splice(0, 1 + Math.floor(random() * 20)));
  }
  return out;
}

export const jaccard = (a: Set<string>, b: Set<string>): number => {
  const union = new Set([...a, ...b]).size;
  return union === 0 ? 1 : [...a].filter((x) => b.has(x)).length / union;
};
