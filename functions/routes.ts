/**
 * The HTTP API's routes and the function that serves each, used by the CDK app (API Gateway HTTP API
 * routes) and by the local stack's HTTP server, so both expose exactly the same API.
 */
export type FunctionName = 'collect' | 'profiles' | 'decide';

export interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT';
  /** API Gateway route path, with `{param}` placeholders. */
  path: string;
  fn: FunctionName;
  /** `writeKey`: Segment Basic auth; `apiKey`: `x-api-key` header; `none`: public. */
  auth: 'writeKey' | 'apiKey' | 'none';
}

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'alias', 'group', 'batch'] as const;

export const ROUTES: RouteDefinition[] = [
  ...SEGMENT_TYPES.map((t) => ({ method: 'POST' as const, path: `/v1/${t}`, fn: 'collect' as const, auth: 'writeKey' as const })),
  { method: 'POST', path: '/v1/import', fn: 'collect', auth: 'writeKey' },
  { method: 'GET', path: '/health', fn: 'profiles', auth: 'none' },
  { method: 'GET', path: '/v1/identities/{namespace}/{value}', fn: 'profiles', auth: 'apiKey' },
  { method: 'GET', path: '/v1/profiles/{profileId}', fn: 'profiles', auth: 'apiKey' },
  { method: 'GET', path: '/v1/profiles/{profileId}/journey', fn: 'profiles', auth: 'apiKey' },
  { method: 'GET', path: '/v1/profiles/{profileId}/cluster', fn: 'profiles', auth: 'apiKey' },
  { method: 'GET', path: '/v1/dead-letters', fn: 'profiles', auth: 'apiKey' },
  { method: 'POST', path: '/v1/decisions', fn: 'decide', auth: 'apiKey' },
  { method: 'GET', path: '/v1/offers/stats', fn: 'decide', auth: 'apiKey' },
  { method: 'PUT', path: '/v1/catalog', fn: 'decide', auth: 'apiKey' },
  { method: 'PUT', path: '/v1/model', fn: 'decide', auth: 'apiKey' },
  { method: 'GET', path: '/openapi.json', fn: 'decide', auth: 'none' },
];

/** Entry files of the Lambda functions (bundled by esbuild in the CDK app, imported by the local stack). */
export const FUNCTION_ENTRIES = {
  collect: 'functions/collect/handler.ts',
  profiles: 'functions/profiles/handler.ts',
  decide: 'functions/decide/handler.ts',
  ingest: 'functions/ingest/handler.ts',
} as const;

/** Each route's path as a pattern, its `{param}`s captured. */
const PATTERNS = ROUTES.map((route) => ({ route, pattern: new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '([^/]+)')}$`) }));

/** The route a request takes, with its path parameters' values in order; undefined if none. */
export function routeFor(method: string, path: string): { route: RouteDefinition; params: string[] } | undefined {
  for (const { route, pattern } of PATTERNS) {
    if (route.method !== method) continue;
    const m = pattern.exec(path);
    if (m) return { route, params: m.slice(1) };
  }
  return undefined;
}

/** The methods a path takes (empty: no such path), for a 405's `Allow`. */
export const methodsFor = (path: string): string[] => [...new Set(PATTERNS.filter((p) => p.pattern.test(path)).map((p) => p.route.method))];
