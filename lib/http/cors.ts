/**
 * CORS: which web origins may call the API from a browser (Segment's analytics.js on the shop's site,
 * a page asking for decisions). None by default: only configured origins, never `*`, since the API
 * takes keys. The same rules on AWS (the HTTP API's CORS configuration answers preflights) and in the
 * local stack.
 */
export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'content-encoding', 'x-api-key'];
export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
/** How long a browser may remember a preflight's answer. */
export const CORS_MAX_AGE_SECONDS = 86_400;

const ORIGIN = /^https:\/\/[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$|^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;

/**
 * Origins from a comma-separated list (`https://shop.example.com,https://m.shop.example.com`): each
 * a scheme, host and optional port, lower case, with no path; https, or http only for localhost.
 * Anything else is an error that names it.
 */
export function parseCorsOrigins(text: string | undefined): string[] {
  const origins = (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin === '*') throw new Error('corsOrigins: "*" is not allowed (the API takes keys); name each origin, such as https://shop.example.com');
    if (!ORIGIN.test(origin)) throw new Error(`corsOrigins: "${origin}" is not an origin: use https://host[:port] in lower case with no path (http only for localhost)`);
  }
  return [...new Set(origins)];
}

/** The headers answering a request from `origin`: none unless it is one of `origins`. */
export function corsHeaders(origin: string | undefined, origins: readonly string[], preflight: boolean): Record<string, string> {
  if (origin === undefined || !origins.includes(origin)) return {};
  return {
    'access-control-allow-origin': origin,
    vary: 'origin',
    ...(preflight
      ? { 'access-control-allow-methods': CORS_ALLOW_METHODS.join(','), 'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','), 'access-control-max-age': String(CORS_MAX_AGE_SECONDS) }
      : {}),
  };
}
