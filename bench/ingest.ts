/**
 * Ingest benchmark (not a test): events per second, DynamoDB requests per event and CPU per event for
 * a realistic batch mix (the synthetic population's sessions in time order, batches of 100 as one
 * shard delivers them), against an in-memory store and against DynamoDB on the embedded local stack,
 * next to a naive one-write-per-event baseline measured in the same run. `npm run bench:ingest`
 * (`npm run bench:ingest -- --borrow 0.95` with the cluster context on).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ingestBatch, type IngestConfig, type StreamRecord } from '../lib/ingest/pipeline';
import { loadIngestConfig } from '../lib/ingest/config';
import { REDACTED_WITH, redactionSeal, redactPersonalData } from '../lib/events/personal';
import { MemoryStores } from '../lib/store/memory';
import type { Stores } from '../lib/store/ports';
import { generatePopulation } from './synthetic/population';
import { naiveIngest } from './naive';

/**
 * The shipped rules; `--borrow <probability>` turns on the cluster context (decisions borrowing from a
 * probable other device, off by default), to price what deriving it at ingest costs.
 */
const borrow = process.argv.indexOf('--borrow');
const contextProbability = borrow === -1 ? null : Number(process.argv[borrow + 1]);
if (contextProbability !== null && !(contextProbability > 0 && contextProbability < 1)) throw new Error('--borrow takes a probability between 0 and 1 (exclusive), e.g. --borrow 0.95');
const shipped: IngestConfig = loadIngestConfig('bench');
const config: IngestConfig =
  contextProbability === null
    ? shipped
    : { ...shipped, rules: { ...shipped.rules, probabilistic: { ...shipped.rules.probabilistic, cluster: { ...shipped.rules.probabilistic.cluster, contextProbability } } } };

/** The population's events as the collector puts them on the stream: personal data redacted, and marked so. */
function records(households: number, seed: number): StreamRecord[] {
  let seq = 10n ** 30n;
  const redacted = (event: { messageId: string }) => ({
    ...redactPersonalData(event, config.events.personalData, config.salt),
    [REDACTED_WITH]: redactionSeal(event.messageId, config.events.personalData, config.salt, config.rules),
  });
  return generatePopulation({ seed, households, days: 14 }).map(({ event }) => ({
    shardId: 'shardId-000000000000',
    sequenceNumber: (seq += 1n).toString(),
    data: Buffer.from(JSON.stringify(redacted(event))).toString('base64'),
  }));
}

interface Counts {
  reads: number;
  writes: number;
  itemWrites: number;
  profileWrites: number;
}

interface Run {
  events: number;
  seconds: number;
  cpuMicros: number;
  counts: Counts;
}

async function measure(label: string, input: StreamRecord[], stores: Stores, counts: () => Counts, run: (batch: StreamRecord[]) => Promise<void>): Promise<Run> {
  const before = counts();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < input.length; i += 100) await run(input.slice(i, i + 100));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const after = counts();
  const c: Counts = {
    reads: after.reads - before.reads,
    writes: after.writes - before.writes,
    itemWrites: after.itemWrites - before.itemWrites,
    profileWrites: after.profileWrites - before.profileWrites,
  };
  const r = { events: input.length, seconds, cpuMicros: used.user + used.system, counts: c };
  const perEvent = (n: number) => (n / r.events).toFixed(3);
  const cpuPerEvent = r.cpuMicros / r.events;
  console.log(
    `${label.padEnd(34)} ${String(r.events).padStart(6)} events  ${(r.events / seconds).toFixed(0).padStart(7)} ev/s  ` +
      `profile writes/ev ${perEvent(c.profileWrites)}  write requests/ev ${perEvent(c.writes)}  item writes/ev ${perEvent(c.itemWrites)}  ` +
      `read requests/ev ${perEvent(c.reads)}  CPU ${cpuPerEvent.toFixed(0)} µs/ev (${((cpuPerEvent * 1000) / 1e4).toFixed(1)}% of a core at 1,000 rec/s)`,
  );
  void stores;
  return r;
}

/** Counts profile writes on a MemoryStores by wrapping its put. */
function memoryCounts(stores: MemoryStores): () => Counts {
  let profileWrites = 0;
  const put = stores.profiles.put;
  stores.profiles.put = async (...args) => {
    await put(...args);
    profileWrites += 1;
  };
  return () => ({ ...stores.counts, profileWrites });
}

/** Counts DynamoDB requests by command with a middleware on the real client. */
export function dynamoCounts(client: DynamoDBClient, profilesTable: string): () => Counts {
  const c: Counts = { reads: 0, writes: 0, itemWrites: 0, profileWrites: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const command = context.commandName ?? '';
      if (/^(BatchGetItem|GetItem|Query|Scan)Command$/.test(command)) c.reads += 1;
      if (command === 'PutItemCommand' || command === 'UpdateItemCommand') {
        c.writes += 1;
        c.itemWrites += 1;
        if (input.TableName === profilesTable) c.profileWrites += 1;
      }
      if (command === 'BatchWriteItemCommand') {
        c.writes += 1;
        const items = Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>);
        c.itemWrites += items.reduce((s, list) => s + list.length, 0);
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchCounter' },
  );
  return () => ({ ...c });
}

async function main(): Promise<void> {
  const households = Number(process.env.BENCH_HOUSEHOLDS ?? 150);
  const input = records(households, 7);
  console.log(`Ingest benchmark: ${input.length} events from ${households} synthetic households over 14 days, batches of 100 in time order; cluster context ${config.rules.probabilistic.cluster.contextProbability === null ? "off (shipped)" : `on at ${config.rules.probabilistic.cluster.contextProbability}`}\n`);

  // Warm up the JIT on another seed so both runs start hot.
  // No item-size check in the in-memory store: DynamoDB does it on its side (and the earlier figures had none).
  const warm = new MemoryStores({ checkItemSize: false });
  await measure('(warm-up)', records(30, 99), warm, memoryCounts(warm), async (b) => void (await ingestBatch(b, warm, config)));

  const grouped = new MemoryStores({ checkItemSize: false });
  await measure('in-memory, grouped by profile', input, grouped, memoryCounts(grouped), async (b) => void (await ingestBatch(b, grouped, config)));
  console.log(
    `${''.padEnd(34)} write requests/ev by kind: ${Object.entries(grouped.writesBy)
      .map(([k, n]) => `${k} ${(n / input.length).toFixed(3)}`)
      .join(', ')}`,
  );
  const naive = new MemoryStores({ checkItemSize: false });
  await measure('in-memory, naive (write per event)', input, naive, memoryCounts(naive), (b) => naiveIngest(b, naive, config));

  if (process.env.BENCH_SKIP_DYNAMO !== '1') {
    const { runAgainstLocalStack } = await import('./ingest-dynamo.js');
    await runAgainstLocalStack(input.slice(0, Number(process.env.BENCH_DYNAMO_EVENTS ?? 5000)), config, measure);
  }
}

export type Measure = typeof measure;

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
