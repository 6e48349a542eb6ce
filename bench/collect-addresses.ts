/**
 * What one write-key request that gives contact addresses costs (not a test), `npm run bench:collect`:
 * through the local stack (its DynamoDB and Kinesis emulators), `/v1/batch` requests of the largest
 * size the collector takes (2,500 messages), each message an `identify` with an e-mail address no one
 * gave before (so every one is sealed and stored), timed from the request to its answer; the same
 * requests without addresses beside them, for what the stream alone costs. Prints times, asserts none.
 */
import { MAX_BATCH_MESSAGES } from '../lib/collect/request';
import { startLocalStack } from '../local/stack';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function main(): Promise<void> {
  const stack = await startLocalStack({ port: 0, quiet: true });
  const write = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}` };
  const timed = async (batch: Array<Record<string, unknown>>): Promise<number> => {
    const started = process.hrtime.bigint();
    const res = await fetch(`${stack.url}/v1/batch`, { method: 'POST', headers: write, body: JSON.stringify({ batch }) });
    const body = await res.text();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (!res.ok) throw new Error(`the request failed after ${seconds.toFixed(2)} s: ${res.status} ${body.slice(0, 200)}`);
    return seconds;
  };
  try {
    const run = Date.now().toString(36);
    const rows: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const withAddresses = Array.from({ length: MAX_BATCH_MESSAGES }, (_, i) => ({ type: 'identify', userId: `bench-${run}-${round}-${i}`, traits: { email: `bench-${run}-${round}-${i}@example.com` } }));
      const without = Array.from({ length: MAX_BATCH_MESSAGES }, (_, i) => ({ type: 'identify', userId: `plain-${run}-${round}-${i}`, traits: { plan: 'pro' } }));
      const a = await timed(withAddresses);
      const b = await timed(without);
      rows.push(`round ${round + 1}: ${a.toFixed(2)} s with ${MAX_BATCH_MESSAGES} new e-mail addresses, ${b.toFixed(2)} s without addresses`);
    }
    console.log(`One /v1/batch of ${MAX_BATCH_MESSAGES} identify calls through the local stack, request to answer:`);
    for (const r of rows) console.log(`  ${r}`);
    await stack.poller.idle(300_000);
  } finally {
    await stack.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
