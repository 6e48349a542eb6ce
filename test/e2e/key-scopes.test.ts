import { ROUTES } from '../../functions/routes';
import { startLocalStack, type LocalStack } from '../../local/stack';

/**
 * Keys have kinds (lib/http/keys.ts): every route takes its own kind and refuses the others with 403,
 * and an unknown key or none with 401, through the local stack's HTTP API (the same handlers Lambda
 * runs). The development keys are the ones the stack prints.
 */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0, quiet: true });
});
afterAll(async () => {
  await stack?.stop();
});

const DEV_KEYS = { write: 'dev-write-key', decide: 'dev-api-key', read: 'dev-read-key', admin: 'dev-admin-key' } as const;
type Kind = keyof typeof DEV_KEYS;
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const pathOf = (template: string) => template.replace('{namespace}', 'anonymousId').replace(/\{[^}]+\}/g, 'p_nobody');

async function call(route: (typeof ROUTES)[number], headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${stack.url}${pathOf(route.path)}`, { method: route.method, headers: { 'content-type': 'application/json', ...headers }, ...(route.method === 'GET' ? {} : { body: '{}' }) });
  await res.arrayBuffer();
  return res.status;
}

const guarded = ROUTES.filter((r) => r.auth !== 'none');

it('has a kind for every route but the public ones', () => {
  expect(ROUTES.filter((r) => r.auth === 'none').map((r) => r.path)).toEqual(['/health', '/openapi.json']);
  expect(new Set(guarded.map((r) => r.auth))).toEqual(new Set(['writeKey', 'decide', 'read', 'admin']));
});

it.each(guarded.map((r) => [`${r.method} ${r.path}`, r] as const))('%s takes its own kind of key and refuses every other kind', async (_name, route) => {
  const own: Kind = route.auth === 'writeKey' ? 'write' : (route.auth as Kind);
  const send = (key: string): Record<string, string> => (route.auth === 'writeKey' ? { authorization: basic(key) } : { 'x-api-key': key });
  // Its own kind gets past the check (whatever the route then says of an empty body or an unknown id).
  expect([401, 403]).not.toContain(await call(route, send(DEV_KEYS[own])));
  for (const other of Object.keys(DEV_KEYS) as Kind[]) {
    if (other !== own) expect(await call(route, send(DEV_KEYS[other]))).toBe(403);
  }
  expect(await call(route, send('not-a-key'))).toBe(401);
  expect(await call(route, {})).toBe(401);
});
