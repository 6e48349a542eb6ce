/**
 * The HTTP API's routes and the function that serves each, used by the CDK app (API Gateway HTTP API
 * routes), by the local stack's HTTP server, and by the API's description (openapi.ts beside it), so
 * all expose exactly the same API. Data only: which file holds each function is functions/routes.ts's.
 */
import { notFound } from './errors';
import type { ApiScope, KeyKind } from './keys';

export type FunctionName = 'collect' | 'profiles' | 'decide' | 'privacy' | 'campaigns';

export interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway route path, with `{param}` placeholders. */
  path: string;
  fn: FunctionName;
  /** `writeKey`: Segment Basic auth; `decide`, `read`, `admin`: an `x-api-key` of that kind (lib/http/keys.ts); `none`: public. */
  auth: 'writeKey' | ApiScope | 'none';
}

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'alias', 'group', 'batch'] as const;

export const ROUTES: RouteDefinition[] = [
  ...SEGMENT_TYPES.map((t) => ({ method: 'POST' as const, path: `/v1/${t}`, fn: 'collect' as const, auth: 'writeKey' as const })),
  { method: 'POST', path: '/v1/import', fn: 'collect', auth: 'writeKey' },
  { method: 'GET', path: '/health', fn: 'profiles', auth: 'none' },
  { method: 'GET', path: '/v1/identities/{namespace}/{value}', fn: 'profiles', auth: 'read' },
  { method: 'GET', path: '/v1/profiles/{profileId}', fn: 'profiles', auth: 'read' },
  { method: 'GET', path: '/v1/profiles/{profileId}/journey', fn: 'profiles', auth: 'read' },
  { method: 'GET', path: '/v1/profiles/{profileId}/cluster', fn: 'profiles', auth: 'read' },
  { method: 'GET', path: '/v1/dead-letters', fn: 'profiles', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{profileId}/export', fn: 'privacy', auth: 'admin' },
  { method: 'DELETE', path: '/v1/profiles/{profileId}', fn: 'privacy', auth: 'admin' },
  { method: 'POST', path: '/v1/profiles/{profileId}/split', fn: 'privacy', auth: 'admin' },
  { method: 'GET', path: '/v1/privacy/audit', fn: 'privacy', auth: 'admin' },
  { method: 'POST', path: '/v1/decisions', fn: 'decide', auth: 'decide' },
  { method: 'GET', path: '/v1/offers/stats', fn: 'decide', auth: 'read' },
  { method: 'PUT', path: '/v1/catalog', fn: 'decide', auth: 'admin' },
  { method: 'PUT', path: '/v1/model', fn: 'decide', auth: 'admin' },
  { method: 'GET', path: '/v1/campaigns', fn: 'campaigns', auth: 'read' },
  { method: 'PUT', path: '/v1/campaigns', fn: 'campaigns', auth: 'admin' },
  { method: 'GET', path: '/v1/campaigns/{campaignId}/stats', fn: 'campaigns', auth: 'read' },
  { method: 'GET', path: '/v1/profiles/{profileId}/campaigns', fn: 'campaigns', auth: 'read' },
  { method: 'GET', path: '/openapi.json', fn: 'decide', auth: 'none' },
];

/** The route a method and route key name (`GET /v1/profiles/{profileId}`). */
export const routeByKey = (routeKey: string): RouteDefinition | undefined => ROUTES.find((r) => `${r.method} ${r.path}` === routeKey);

/** The kind of `x-api-key` a route needs (its handler calls it only for routes that take one). */
export function scopeOf(routeKey: string): ApiScope {
  const auth = routeByKey(routeKey)?.auth;
  if (auth === undefined || auth === 'none' || auth === 'writeKey') throw notFound(`no route ${routeKey}`);
  return auth;
}

/**
 * The kinds of keys each HTTP function checks: the secrets it may read (cdk/constructs/keys.ts). The
 * privacy function reads every kind, though it serves admin keys only: a call refused because its key
 * is one of ours of another kind (403, not an unknown key's 401) is recorded in the audit log under
 * that key's fingerprint (lib/privacy/audited.ts). It can already do more than any of those keys.
 */
export function keyKindsOf(fn: FunctionName): KeyKind[] {
  if (fn === 'privacy') return ['admin', 'decide', 'read', 'write'];
  const kinds = new Set(ROUTES.filter((r) => r.fn === fn && r.auth !== 'none').map((r) => (r.auth === 'writeKey' ? 'write' : r.auth)));
  return [...kinds].sort() as KeyKind[];
}

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
