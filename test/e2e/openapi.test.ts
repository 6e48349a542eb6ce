import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createClient from 'openapi-fetch';
import ts from 'typescript';
import { startLocalStack, type LocalStack } from '../../local/stack';

/**
 * The OpenAPI document the stack serves: clean under Redocly's linter (recommended-strict), and
 * good for a generated client: TypeScript types generated from it type-check a client that then
 * calls the local stack.
 */
let stack: LocalStack;
let doc: { paths: Record<string, Record<string, { operationId?: string; summary?: string; responses: Record<string, { content?: unknown }> }>> };
const root = join(__dirname, '../..');
// Inside the project, so the client's imports resolve; not committed (.gitignore).
const generated = join(root, 'test/.generated-client');
const tools = join(root, 'test/support/openapi-tools.mjs');
/** The served document in a file, for the tools. */
const docFile = (): string => {
  const file = join(tmpdir(), `moment-openapi-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
};

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, quiet: true });
  doc = (await (await fetch(`${stack.url}/openapi.json`)).json()) as typeof doc;
});
afterAll(async () => {
  await stack?.stop();
  rmSync(generated, { recursive: true, force: true });
});

it('lints clean with Redocly (recommended-strict: operation ids, servers, resolvable references, 4xx answers, ...)', () => {
  const lint = spawnSync(process.execPath, [tools, 'lint', docFile()], { encoding: 'utf8' });
  expect(lint.stdout).toBe('');
  expect(lint.status).toBe(0);
});

it('gives every operation an id, a summary, a schema for its 200 and for each error it can answer; /health and /openapi.json claim no 400', () => {
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      expect(op.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.summary).toBeTruthy();
      for (const [status, response] of Object.entries(op.responses)) expect({ path, method, status, content: response.content !== undefined }).toEqual({ path, method, status, content: true });
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '405']));
      if (path === '/health' || path === '/openapi.json') expect(op.responses['400']).toBeUndefined();
      else expect(op.responses['400']).toBeDefined();
    }
  }
  expect(Object.keys(doc.paths['/v1/profiles/{profileId}']?.get?.responses ?? {})).toEqual(['200', '400', '401', '403', '404', '405', '503']);
  expect(Object.keys(doc.paths['/v1/batch']?.post?.responses ?? {})).toEqual(['200', '400', '401', '403', '405', '413', '415', '503']);
});

it('generates a TypeScript client that type-checks and calls the local stack', async () => {
  mkdirSync(generated, { recursive: true });
  const types = spawnSync(process.execPath, [tools, 'types', docFile(), join(generated, 'api.d.ts')], { encoding: 'utf8' });
  expect(types.stderr).toBe('');
  expect(types.status).toBe(0);
  const client = join(generated, 'client.ts');
  writeFileSync(
    client,
    [
      "import createClient from 'openapi-fetch';",
      "import type { paths } from './api';",
      'export async function firstOffer(baseUrl: string, apiKey: string): Promise<string | undefined> {',
      '  const api = createClient<paths>({ baseUrl, headers: { "x-api-key": apiKey } });',
      "  const { data, error } = await api.POST('/v1/decisions', { body: { placement: 'home', context: { timezone: 'Europe/London' } } });",
      '  if (error) throw new Error(error.message);',
      '  const offers: Array<{ offerId: string; reasons: string[] }> = data.offers;',
      '  return offers[0]?.offerId;',
      '}',
      '',
    ].join('\n'),
  );
  const program = ts.createProgram([client], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, esModuleInterop: true, skipLibCheck: true, types: [] });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);

  // The same calls at run time, with the generated types.
  type Paths = Record<string, never>;
  const clientWith = (key: string) => createClient<Paths>({ baseUrl: stack.url, headers: { 'x-api-key': key } }) as unknown as {
    GET: (path: string, init?: object) => Promise<{ data?: Record<string, unknown>; error?: { success: false; message: string }; response: Response }>;
    POST: (path: string, init?: object) => Promise<{ data?: Record<string, unknown>; error?: { success: false; message: string }; response: Response }>;
  };
  const api = clientWith('dev-api-key');
  const reader = clientWith('dev-read-key');
  expect((await api.GET('/health')).data).toEqual({ status: 'ok' });
  const decision = await api.POST('/v1/decisions', { body: { placement: 'home', context: { timezone: 'Europe/London', timestamp: '2026-11-22T12:00:00Z' } } });
  expect(decision.data).toMatchObject({ profileId: null, offers: expect.any(Array), modelVersion: expect.any(String) });
  const missing = await reader.GET('/v1/profiles/{profileId}', { params: { path: { profileId: 'p_nobody' } } });
  expect(missing.response.status).toBe(404);
  expect(missing.error).toEqual({ success: false, message: expect.stringContaining('p_nobody') });
});
