/**
 * Campaign benchmark (not a test), `npm run bench:campaigns`:
 *
 * 1. In process: what campaigns cost the ingest (announcing profile changes, measured against the
 *    same batches without, alternating) and what the trigger step costs per event with the shipped
 *    demo campaigns (exits, conversions, entries; in-memory stores, their calls counted).
 * 2. Through the local stack (its DynamoDB and Kinesis emulators, the local activation bus, webhook
 *    sink and scheduler with a manual clock): customers put items in their cart, or walk into a store;
 *    then the clock moves past their due time and the sends are timed (decision, delivery, contact
 *    event on the stream), as sends per second.
 */
import { loadCampaigns } from '../lib/campaign/campaign';
import { onProfileChange, type ProfileChange } from '../lib/campaign/journey';
import { loadCatalog } from '../lib/decision/catalog';
import { loadIngestConfig } from '../lib/ingest/config';
import { ingestBatch } from '../lib/ingest/pipeline';
import { MemoryStores } from '../lib/store/memory';
import type { ActivationStore } from '../lib/store/ports';
import { startLocalStack } from '../local/stack';
import { generatePopulation } from './synthetic/population';

const consent = { consent: { categoryPreferences: { personalization: true } } };

/** The synthetic population with one in four product views followed by the product going into the cart. */
function events(): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [i, { event }] of generatePopulation({ seed: 11, households: 150, days: 14 }).entries()) {
    const e = { ...event, context: { ...(event.context as object | undefined), ...consent } } as Record<string, unknown>;
    out.push(e);
    if (e.event === 'Product Viewed' && i % 4 === 0) out.push({ ...e, event: 'Product Added', messageId: `${String(e.messageId)}-add` });
  }
  return out;
}

function records(list: Array<Record<string, unknown>>) {
  let seq = 10n ** 30n;
  return list.map((e) => ({ shardId: 'shardId-000000000000', sequenceNumber: (seq += 1n).toString(), data: Buffer.from(JSON.stringify(e)).toString('base64') }));
}

/** Counts the activation store's calls, as DynamoDB bills them (one per call). */
function counted(store: ActivationStore): { store: ActivationStore; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const wrapped = new Proxy(store, {
    get(target, name: string) {
      const value = (target as unknown as Record<string, unknown>)[name];
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, calls };
}

async function inProcess(): Promise<void> {
  const config = loadIngestConfig('dev-salt');
  const campaigns = loadCampaigns();
  const catalog = loadCatalog();
  const list = events();
  const recs = records(list);
  const run = async (announce: boolean) => {
    const stores = new MemoryStores({ checkItemSize: false });
    const changes: ProfileChange[] = [];
    const bus = { publish: async (c: ProfileChange[]) => (changes.push(...c), new Set<string>()) };
    const started = process.hrtime.bigint();
    for (let i = 0; i < recs.length; i += 100) await ingestBatch(recs.slice(i, i + 100), stores, config, announce ? { changes: bus } : {});
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, stores, changes };
  };
  await run(true);
  await run(false);
  const times = { with: [] as number[], without: [] as number[] };
  let last: Awaited<ReturnType<typeof run>> | undefined;
  for (let round = 0; round < 3; round++) {
    times.without.push((await run(false)).ms);
    last = await run(true);
    times.with.push(last.ms);
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const perEvent = (ms: number) => ((ms * 1000) / list.length).toFixed(1);
  const { changes, stores } = last!;
  const announcedEvents = changes.reduce((s, c) => s + c.events.length, 0);
  console.log(`Campaign benchmark: ${list.length} events (synthetic shoppers, a quarter of product views added to the cart), ${campaigns.campaigns.length} demo campaigns\n`);
  console.log(
    `ingest, mean of 3 alternating runs: ${perEvent(mean(times.without))} µs/event without announcing, ${perEvent(mean(times.with))} µs/event announcing ` +
      `${changes.length} profile changes (${(changes.length / list.length).toFixed(3)} per event, ${announcedEvents} events in them)`,
  );

  // The trigger step over those changes, twice (the second: every occurrence entered already, as a redelivery).
  for (const pass of ['first delivery', 'redelivered']) {
    const { store, calls } = counted(stores.activations);
    const deps = { stores: { profiles: stores.profiles, activations: store }, campaigns, catalog, config, wakeups: { schedule: async () => undefined, cancel: async () => undefined } };
    const outcome = { entered: 0, exited: 0, converted: 0, refused: 0 };
    const started = process.hrtime.bigint();
    for (const c of changes) {
      const o = await onProfileChange(c, deps);
      outcome.entered += o.entered;
      outcome.exited += o.exited;
      outcome.converted += o.converted;
      outcome.refused += o.refused.length;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const storeCalls = Object.values(calls).reduce((s, n) => s + n, 0);
    console.log(
      `trigger step (${pass}): ${((ms * 1000) / list.length).toFixed(1)} µs/event, ${((ms * 1000) / changes.length).toFixed(1)} µs/change; ` +
        `entered ${outcome.entered}, exited ${outcome.exited}, converted ${outcome.converted}, refused ${outcome.refused}; ` +
        `${(storeCalls / list.length).toFixed(3)} activation-store calls/event (${Object.entries(calls).map(([k, n]) => `${k} ${n}`).join(', ')})`,
    );
  }
}

async function throughStack(): Promise<void> {
  const customers = Number(process.env.BENCH_CUSTOMERS ?? 500);
  const start = new Date(Date.now() - 2 * 86_400_000);
  start.setUTCHours(10, 0, 0, 0);
  const stack = await startLocalStack({ port: 0, quiet: true, clock: 'manual', clockStart: start.toISOString() });
  const headers = { 'content-type': 'application/json', 'x-api-key': 'dev-admin-key' };
  const write = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}` };
  try {
    const at = start.toISOString();
    const london = { timezone: 'Europe/London', ...consent };
    const batch = (kind: 'cart' | 'store', n: number) => [
      { type: 'identify', userId: `${kind}-${n}`, timestamp: at, context: london, traits: { email: `${kind}-${n}@example.com` } },
      { type: 'track', event: 'Product Viewed', userId: `${kind}-${n}`, timestamp: at, context: london, properties: { product_id: 'paint-sage-2l', category: 'paint' } },
      kind === 'cart'
        ? { type: 'track', event: 'Product Added', userId: `${kind}-${n}`, timestamp: at, context: london, properties: { product_id: 'paint-sage-2l' } }
        : { type: 'track', event: 'Store Entered', userId: `${kind}-${n}`, timestamp: at, context: { ...london, location: { latitude: 53.8163, longitude: -1.6028 } } },
    ];
    for (const kind of ['cart', 'store'] as const) {
      for (let i = 0; i < customers; i += 50) {
        const body = { batch: Array.from({ length: Math.min(50, customers - i) }, (_, k) => batch(kind, i + k)).flat() };
        const res = await fetch(`${stack.url}/v1/batch`, { method: 'POST', headers: write, body: JSON.stringify(body) });
        if (!res.ok) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
      }
    }
    await stack.poller.idle(300_000);
    for (const [what, advance] of [
      ['store visits (push, webhook to the local sink)', 'PT0S'],
      ['cart reminders (e-mail: the sealed address opened, SES to the local stack)', 'PT65M'],
    ] as const) {
      const started = process.hrtime.bigint();
      const res = await fetch(`${stack.url}/local/clock`, { method: 'POST', headers, body: JSON.stringify({ advance }) });
      const moved = (await res.json()) as { ran: unknown[] };
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(`local stack, ${what}: ${moved.ran.length} due sends in ${seconds.toFixed(2)} s = ${(moved.ran.length / seconds).toFixed(0)} sends/s (one scheduler, sends one after another)`);
    }
    const outbox = (await (await fetch(`${stack.url}/local/outbox`, { headers })).json()) as { messages: Array<{ status: string; group: string }>; deliveries: unknown[] };
    const statuses: Record<string, number> = {};
    for (const m of outbox.messages) statuses[m.status] = (statuses[m.status] ?? 0) + 1;
    console.log(`outbox: ${JSON.stringify(statuses)}; ${outbox.deliveries.length} deliveries`);
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  await inProcess();
  await throughStack();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
