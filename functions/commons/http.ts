import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { HttpError } from '../../lib/http/errors';
import { methodsFor } from '../routes';
import { logger } from './powertools';

export type HttpRequest = APIGatewayProxyEventV2;
export type HttpResponse = APIGatewayProxyStructuredResultV2;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** The request body as text (API Gateway base64-encodes binary bodies). */
export function bodyText(event: HttpRequest): string {
  if (event.body === undefined || event.body === null) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/**
 * The request body as the client sent it, byte for byte: API Gateway base64-encodes binary bodies
 * (a gzip body, bytes that are not UTF-8) and sets isBase64Encoded; a text body is its UTF-8.
 */
export function bodyBytes(event: HttpRequest): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

/** Header names lower-cased (API Gateway v2 already does; direct invocations may not). */
export function headersOf(event: HttpRequest): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

/**
 * Wraps an HTTP handler: Powertools logging context, and errors mapped to JSON responses: an
 * HttpError keeps its status and message (a 5xx one is logged with its cause), anything else is
 * logged and answered 500 without details.
 */
export function httpHandler(fn: (event: HttpRequest, context: Context) => Promise<HttpResponse>) {
  return middy<HttpRequest, HttpResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({
      onError: async (request) => {
        const error = request.error;
        if (error instanceof HttpError) {
          if (error.statusCode >= 500) logger.warn(error.message, { cause: error.cause });
          request.response = json(error.statusCode, { success: false, message: error.message, ...(error.details ? { details: error.details } : {}) });
        } else {
          logger.error('unhandled error', error as Error);
          request.response = json(500, { success: false, message: 'internal error' });
        }
      },
    })
    .handler(fn);
}

/**
 * The answer to a request no route takes (API Gateway's `$default` route, the local router): 405
 * with `Allow` when the path takes other methods, else 404; in the API's one error shape.
 */
export function unmatched(method: string, path: string): HttpResponse {
  const allow = methodsFor(path);
  if (allow.length > 0) return json(405, { success: false, message: `${method} is not allowed on ${path}: it takes ${allow.join(', ')}` }, { allow: allow.join(', ') });
  return json(404, { success: false, message: `no route ${method} ${path}: see /openapi.json for the routes` });
}
