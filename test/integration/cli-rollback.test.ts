import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { main } from '../../lib/cli/moment';
import { ModelSource } from '../../lib/decision/catalog-source';
import bundled from '../../config/model.json';
import type { ModelConfig } from '../../lib/decision/model';
import { localTables, useEmulators } from '../support/stores';

/**
 * `moment rollback` through the real SDK clients, configured as a user's are (AWS_ENDPOINT_URL_*):
 * DynamoDB is the embedded emulator; S3, which has none here, is a few lines of HTTP that keep
 * objects by path (the client addresses an IP endpoint by path).
 */
const emulators = useEmulators();
const objects = new Map<string, string>();
let s3: Server;
const saved = { ...process.env };

beforeAll(async () => {
  s3 = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const key = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
      if (req.method === 'PUT') {
        objects.set(key, body);
        res.writeHead(200, { ETag: '"x"' }).end();
      } else if (objects.has(key)) res.writeHead(200, { 'Content-Type': 'application/json' }).end(objects.get(key));
      else res.writeHead(404, { 'Content-Type': 'application/xml' }).end('<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>none</Message></Error>');
    });
  });
  await new Promise<void>((resolve) => s3.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(s3.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoint(),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
});
afterAll(async () => {
  process.env = saved;
  await new Promise((resolve) => s3?.close(resolve));
});

async function moment(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
  return { code, out, err };
}

it('publishes an earlier version from the registry in the bucket to the config table, and says what it replaced', async () => {
  const models = new ModelSource(DynamoDBDocumentClient.from(emulators.client()), localTables.config, 0);
  const demo = JSON.parse(JSON.stringify(bundled)) as ModelConfig;
  await models.publish({ ...demo, version: 'nightly-2026-11-27' });
  objects.set(`/nightly-bucket/registry/${demo.version}.json`, JSON.stringify({ version: demo.version, artifact: demo }));

  const done = await moment('rollback', '--version', demo.version, '--bucket', 'nightly-bucket', '--config-table', localTables.config);
  expect(done).toMatchObject({ code: 0, err: '' });
  expect(done.out).toContain(`published ${demo.version} again (it replaces nightly-2026-11-27)`);
  expect((await models.get()).version).toBe(demo.version);
  const record = [...objects].find(([key]) => key.startsWith('/nightly-bucket/registry/rollbacks/'));
  expect(JSON.parse(record?.[1] ?? '{}')).toEqual({ version: demo.version, replaced: 'nightly-2026-11-27' });

  const unknown = await moment('rollback', '--version', 'nightly-1999-01-01', '--bucket', 'nightly-bucket', '--config-table', localTables.config);
  expect(unknown).toMatchObject({ code: 1, err: 'moment rollback: no model nightly-1999-01-01 in the registry\n' });
  expect((await moment('rollback', '--version', demo.version)).code).toBe(2);
});
