import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROUTES, type FunctionName, type RouteDefinition } from '../functions/routes';
import { corsHeaders } from '../lib/http/cors';

/**
 * A local API Gateway HTTP API: turns requests into payload-format-2.0 events for the same routes the
 * CDK app deploys (lib/http/routes.ts), invokes the handlers in-process and writes their results
 * back as API Gateway does.
 */
export type HttpFunction = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** API Gateway's payload limit for HTTP APIs. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  params: string[];
}

function compile(route: RouteDefinition): CompiledRoute {
  const params: string[] = [];
  const pattern = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${pattern}$`), params };
}

/** API Gateway's `$default` route: requests no route takes go to the function that answers 404 or 405 (functions/profiles). */
const DEFAULT_ROUTE: CompiledRoute = { route: { method: 'GET', path: '$default', fn: 'profiles', auth: 'none' }, pattern: /$^/, params: [] };

export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('payload too large'), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function toApiGatewayEvent(req: IncomingMessage, body: Buffer, match: CompiledRoute, values: string[]): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const text = body.toString('utf8');
  const isText = body.length === 0 || Buffer.from(text, 'utf8').equals(body);
  // What no route takes goes to the $default route, as on API Gateway.
  const routeKey = match.route.path === '$default' ? '$default' : `${match.route.method} ${match.route.path}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies: headers.cookie?.split(';').map((c) => c.trim()),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: match.params.length > 0 ? Object.fromEntries(match.params.map((p, i) => [p, decodeURIComponent(values[i] ?? '')])) : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : isText ? text : body.toString('base64'),
    isBase64Encoded: !isText,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string' || result === null || typeof result !== 'object' || !('statusCode' in result)) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(typeof result === 'string' ? result : JSON.stringify(result));
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  res.writeHead(result.statusCode ?? 200, headers);
  const body = result.body ?? '';
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

export interface LocalHttpApi {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startHttpApi(
  handlers: Record<FunctionName, HttpFunction>,
  options: {
    port?: number;
    host?: string;
    log?: (line: string) => void;
    corsOrigins?: string[];
    /** Routes only the embedded stack has (`/local/...`): answered here, never by a function. */
    local?: (method: string, path: string, headers: IncomingMessage['headers'], body: Buffer) => Promise<{ statusCode: number; body: unknown } | undefined>;
  } = {},
): Promise<LocalHttpApi> {
  const routes = ROUTES.map(compile);
  const origins = options.corsOrigins ?? [];
  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      // CORS as API Gateway does it when configured: it answers preflights itself, and adds the origin to answers.
      const origin = req.headers.origin;
      if (origins.length > 0 && req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        res.writeHead(204, corsHeaders(origin, origins, true));
        res.end();
        return;
      }
      for (const [k, v] of Object.entries(corsHeaders(origin, origins, false))) res.setHeader(k, v);
      if (options.local && path.startsWith('/local/')) {
        try {
          const answer = await options.local(req.method ?? 'GET', path, req.headers, await readBody(req));
          if (answer) {
            res.writeHead(answer.statusCode, { 'content-type': 'application/json' });
            res.end(JSON.stringify(answer.body));
            options.log?.(`${req.method} ${path} -> ${answer.statusCode}`);
            return;
          }
        } catch (e) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ success: false, message: (e as Error).message }));
          return;
        }
      }
      const match = routes
        .filter((r) => r.route.method === req.method)
        .map((r) => ({ r, m: r.pattern.exec(path) }))
        .find((x) => x.m !== null);
      const target = match ?? { r: DEFAULT_ROUTE, m: [] as unknown as RegExpExecArray };
      try {
        const body = await readBody(req);
        const event = toApiGatewayEvent(req, body, target.r, (target.m as RegExpExecArray).slice(1));
        const result = await handlers[target.r.route.fn](event, lambdaContext(target.r.route.fn));
        send(res, result);
        options.log?.(`${req.method} ${path} -> ${typeof result === 'object' && result && 'statusCode' in result ? result.statusCode : 200}`);
      } catch (e) {
        const status = (e as { status?: number }).status ?? 500;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: false, message: status === 413 ? `body over ${MAX_BODY_BYTES / 1024 / 1024} MB` : 'internal error' }));
        options.log?.(`${req.method} ${path} -> ${status}: ${(e as Error).message}`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
