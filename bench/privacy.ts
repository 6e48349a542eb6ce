/**
 * Privacy API benchmark (not a test), `npm run bench:privacy`, through the local stack's HTTP API:
 * how long a person's export and erasure take with an empty dead-letter table, and after a write-key
 * holder filled it with 20,000 letters (eight /v1/batch requests of 2,500 invalid messages, as anyone
 * with the public write key can); and what such a request costs the collector. Prints figures; asserts
 * nothing about time.
 */
import { startLocalStack, type LocalStack } from '../local/stack';

const WRITE = `Basic ${Buffer.from('dev-write-key:').toString('base64')}`;
const RUNS = 7;
const FILL_REQUESTS = 8;
const PER_REQUEST = 2_500;

async function post(stack: LocalStack, batch: Array<Record<string, unknown>>): Promise<{ ms: number; rejected: number }> {
  const started = performance.now();
  const res = await fetch(`${stack.url}/v1/batch`, { method: 'POST', headers: { authorization: WRITE, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
  const body = (await res.json()) as { rejected?: unknown[] };
  if (res.status !== 200) throw new Error(`/v1/batch answered ${res.status}: ${JSON.stringify(body)}`);
  return { ms: performance.now() - started, rejected: body.rejected?.length ?? 0 };
}

async function timed(stack: LocalStack, method: string, path: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${stack.url}${path}`, { method, headers: { 'x-api-key': 'dev-admin-key' } });
  await res.json();
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}`);
  return performance.now() - started;
}

/** A customer with a short journey and two messages the collector refuses; her profile id. */
async function customer(stack: LocalStack, name: string): Promise<string> {
  const at = (minutes: number) => new Date(Date.now() - 3_600_000 + minutes * 60_000).toISOString();
  const views = Array.from({ length: 10 }, (_, i) => ({ type: 'track', event: 'Product Viewed', anonymousId: `${name}-phone`, messageId: `${name}-view-${i}`, timestamp: at(i), properties: { product_id: `p-${i}` } }));
  await post(stack, [
    ...views,
    { type: 'identify', userId: name, anonymousId: `${name}-phone`, messageId: `${name}-login`, timestamp: at(11), traits: { email: `${name}@example.com` } },
    { type: 'track', userId: name, properties: {} },
    { type: 'track', anonymousId: `${name}-phone`, properties: {} },
  ]);
  await stack.poller.idle();
  const res = await fetch(`${stack.url}/v1/identities/userId/${name}`, { headers: { 'x-api-key': 'dev-read-key' } });
  return ((await res.json()) as { profileId: string }).profileId;
}

const fmt = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms (min ${sorted[0]!.toFixed(0)}, max ${sorted[sorted.length - 1]!.toFixed(0)}, ${ms.length} runs)`;
};

async function phase(stack: LocalStack, letters: number, reader: string, erased: string): Promise<void> {
  const exports: number[] = [];
  for (let i = 0; i < RUNS; i++) exports.push(await timed(stack, 'GET', `/v1/profiles/${reader}/export`));
  const erasure = await timed(stack, 'DELETE', `/v1/profiles/${erased}`);
  console.log(`${String(letters).padStart(6)} other dead letters: export ${fmt(exports)}; erasure ${erasure.toFixed(0)} ms`);
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ port: 0, quiet: true });
  try {
    console.log('Privacy benchmark: export and erasure through the local stack, before and after a write-key holder fills the dead-letter table\n');
    const [ada, ben, cyd] = [await customer(stack, 'bench-ada'), await customer(stack, 'bench-ben'), await customer(stack, 'bench-cyd')];
    await phase(stack, 0, ada, ben);

    const fills: number[] = [];
    for (let r = 0; r < FILL_REQUESTS; r++) {
      const batch = Array.from({ length: PER_REQUEST }, (_, i) => ({ type: 'track', userId: `filler-${r}-${i}`, anonymousId: `filler-device-${r}-${i}`, properties: {} }));
      const { ms, rejected } = await post(stack, batch);
      if (rejected !== PER_REQUEST) throw new Error(`expected ${PER_REQUEST} rejected, got ${rejected}`);
      fills.push(ms);
    }
    console.log(`${' '.repeat(6)} filling: ${FILL_REQUESTS} requests of ${PER_REQUEST} invalid messages (2 identifiers each): ${fmt(fills)}`);
    // The most identifiers a letter is indexed under, in as many letters as 500 KB holds.
    const dense = Array.from({ length: 850 }, (_, i) => ({ type: 'track', userId: `dense-${i}`, anonymousId: `dense-a-${i}`, properties: Object.fromEntries(Array.from({ length: 18 }, (_, k) => [`k${k}`, { userId: `d${i}-${k}` }])) }));
    const denseMs = (await post(stack, dense)).ms;
    console.log(`${' '.repeat(6)} one request of ${dense.length} invalid messages with 20 identifiers each (${(JSON.stringify({ batch: dense }).length / 1024).toFixed(0)} KB): ${denseMs.toFixed(0)} ms`);
    await phase(stack, FILL_REQUESTS * PER_REQUEST + dense.length, ada, cyd);
  } finally {
    await stack.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
