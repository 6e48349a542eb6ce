import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { FUNCTION_ENTRIES } from '../../functions/routes';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { kinesisEvent, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * The artifacts Lambda runs: each function bundled by esbuild as the CDK app bundles it (CommonJS,
 * minified, middy and the SDK inside), loaded in a fresh module scope and invoked against the local
 * stack's emulators. Catches what only the bundle can break (ESM-only dependencies, JSON config).
 */
let stack: LocalStack;
const out = mkdtempSync(join(tmpdir(), 'bundles-'));
beforeAll(async () => {
  stack = await startLocalStack({ port: 0, quiet: true });
});
afterAll(async () => {
  await stack?.stop();
  rmSync(out, { recursive: true, force: true });
});

function bundle(name: keyof typeof FUNCTION_ENTRIES): { handler: (event: unknown, context: Context) => Promise<unknown> } {
  const outfile = join(out, `${name}.js`);
  buildSync({ entryPoints: [FUNCTION_ENTRIES[name]], bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, outfile, logLevel: 'error' });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return jest.requireActual(outfile);
}

const context = { functionName: 'bundle', awsRequestId: 'b', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

it('bundles every function, and the bundled handlers collect, ingest and read an event', async () => {
  const collect = bundle('collect');
  const ingest = bundle('ingest');
  const profiles = bundle('profiles');
  const request = (routeKey: string, rawPath: string, extra: Record<string, unknown>) => ({
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: {},
    requestContext: { http: { method: routeKey.split(' ')[0], path: rawPath }, timeEpoch: Date.now() },
    isBase64Encoded: false,
    ...extra,
  });

  const collected = await collect.handler(
    request('POST /v1/track', '/v1/track', {
      headers: { authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}` },
      body: JSON.stringify({ anonymousId: 'bundled-1', event: 'Product Viewed' }),
    }),
    context,
  );
  expect(collected).toMatchObject({ statusCode: 200 });

  const seq = new SequenceFactory();
  const ingested = await ingest.handler(kinesisEvent([toRecord(segmentEvent({ anonymousId: 'bundled-2' }), seq.take())]), context);
  expect(ingested).toEqual({ batchItemFailures: [] });

  const found = (await profiles.handler(
    request('GET /v1/identities/{namespace}/{value}', '/v1/identities/anonymousId/bundled-2', {
      headers: { 'x-api-key': 'dev-read-key' },
      pathParameters: { namespace: 'anonymousId', value: 'bundled-2' },
    }),
    context,
  )) as { statusCode: number; body: string };
  expect(found.statusCode).toBe(200);
  expect(JSON.parse(found.body)).toEqual({ profileId: expect.stringMatching(/^p_/) });
});
