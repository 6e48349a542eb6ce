/**
 * Decision benchmark (not a test): in-process latency of a decision (profile read from the store,
 * facts, context, rules, scoring, arbitration) with warm caches, and decisions per second through
 * the local HTTP stack under load (autocannon). `npm run bench:decisions`.
 */
import autocannon from 'autocannon';
import { loadCatalog } from '../lib/decision/catalog';
import { loadModel } from '../lib/decision/model';
import { answerDecision, parseDecisionRequest } from '../lib/decision/service';
import { loadIngestConfig } from '../lib/ingest/config';
import { ingestBatch } from '../lib/ingest/pipeline';
import { MemoryStores } from '../lib/store/memory';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { generatePopulation } from './synthetic/population';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;

function requests(userIds: string[], n: number): string[] {
  const contexts = [
    { timestamp: '2026-11-15T06:30:00Z', location: { latitude: 53.7998, longitude: -1.5493 }, device: { userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148' } },
    { timestamp: '2026-11-15T18:30:00Z', device: { userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0' } },
    { timestamp: '2026-11-15T12:00:00Z', location: { latitude: 53.8164, longitude: -1.6027 } },
  ];
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({ identity: { namespace: 'userId', value: userIds[i % userIds.length] }, placement: i % 2 ? 'home' : 'app-feed', count: 3, context: contexts[i % contexts.length] }),
  );
}

async function main(): Promise<void> {
  const config = loadIngestConfig('dev-salt');
  const catalog = loadCatalog();
  const model = loadModel();
  // Shoppers who consented to personalisation (on every event, as a consent tool sends it, and as the identify
  // trait the engine has always read), so decisions take the full path.
  const population = generatePopulation({ seed: 5, households: 60, days: 14 }).map((t) => ({
    ...t,
    event: {
      ...t.event,
      ...(t.event.type === 'identify' ? { traits: { ...(t.event.traits as object | undefined), consentPersonalisation: true } } : {}),
      context: { ...(t.event.context as object | undefined), consent: { categoryPreferences: { Personalization: true } } },
    },
  }));
  const userIds = [...new Set(population.map((t) => t.event.userId).filter((u): u is string => typeof u === 'string' && u.startsWith('cust-')))];
  let seq = 10n ** 30n;
  const records = population.map(({ event }) => ({ shardId: 'shardId-000000000000', sequenceNumber: (seq += 1n).toString(), data: Buffer.from(JSON.stringify(event)).toString('base64') }));

  // In-process, warm: profiles in an in-memory store, catalog compiled, JIT warmed.
  const stores = new MemoryStores();
  for (let i = 0; i < records.length; i += 100) await ingestBatch(records.slice(i, i + 100), stores, config);
  const bodies = requests(userIds, 20_000);
  for (const b of bodies.slice(0, 2000)) await answerDecision(parseDecisionRequest(b), { stores, config, catalog, model, salt: 'dev-salt' });
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  for (const b of bodies) {
    const t = process.hrtime.bigint();
    await answerDecision(parseDecisionRequest(b), { stores, config, catalog, model, salt: 'dev-salt' });
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  console.log(`Decision benchmark: ${userIds.length} stitched customers from ${population.length} synthetic events\n`);
  console.log(
    `in-process (warm, in-memory store) ${bodies.length} decisions: ${(bodies.length / seconds).toFixed(0)} decisions/s, ` +
      `p50 ${percentile(latencies, 50).toFixed(3)} ms, p99 ${percentile(latencies, 99).toFixed(3)} ms, max ${latencies[latencies.length - 1]!.toFixed(2)} ms`,
  );

  // Through the local HTTP stack (its own processes: the HTTP API in one, the emulators and the
  // event source mapping with the ingest in another), with the load generator here: API Gateway emulation -> decide handler ->
  // DynamoDB (dynalite), and each decision's event on Kinesis (kinesalite), ingested as it would be.
  const child = fork(join(__dirname, 'support/stack-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (c: ChildProcess) => new Promise<unknown>((resolve) => c.once('message', resolve));
  const { url } = (await next(child)) as { url: string };
  try {
    for (let i = 0; i < population.length; i += 200) {
      const res = await fetch(`${url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch: population.slice(i, i + 200).map((t) => t.event) }),
      });
      if (res.status !== 200) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
    }
    child.send('idle');
    await next(child);
    const duration = Number(process.env.BENCH_SECONDS ?? 10);
    const result = await autocannon({
      url: `${url}/v1/decisions`,
      connections: 16,
      duration,
      requests: requests(userIds, 200).map((body) => ({ method: 'POST', path: '/v1/decisions', headers: { 'content-type': 'application/json', 'x-api-key': 'dev-api-key' }, body })),
    });
    console.log(
      `local HTTP stack, 16 connections for ${duration} s: ${result.requests.average.toFixed(0)} decisions/s, ` +
        `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, errors ${result.errors}, non-2xx ${result.non2xx}, timeouts ${result.timeouts}`,
    );
    console.log(
      '(the HTTP figure includes the emulated API Gateway and the decide handler in one process, dynalite, kinesalite and the ingest of each decision event in a second; autocannon runs in a third)',
    );
  } finally {
    child.send('stop');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
