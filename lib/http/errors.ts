/** An error that maps to an HTTP status with a message safe to show the caller. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details?: unknown) => new HttpError(400, message, details);
export const unauthorized = (message = 'invalid or missing credentials') => new HttpError(401, message);
/** A valid key of another kind than the route needs. */
export const forbidden = (message: string) => new HttpError(403, message);
export const notFound = (message = 'not found') => new HttpError(404, message);
export const conflict = (message: string) => new HttpError(409, message);
export const payloadTooLarge = (message: string) => new HttpError(413, message);
export const unsupportedMediaType = (message: string) => new HttpError(415, message);
/** A dependency failed; the client should retry (Segment and RudderStack SDKs retry 5xx). The cause is logged, not shown. */
export const serviceUnavailable = (message: string, cause?: unknown) => new HttpError(503, message, undefined, { cause });

/** The message for an empty body, the same on every route that reads one. */
export const EMPTY_BODY = 'body is empty: send a JSON object';

/** A request body parsed as JSON: an empty or malformed one is a 400 with the same words on every route. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw badRequest(EMPTY_BODY);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`body is not valid JSON: ${(e as Error).message}`);
  }
}

/** A body within a route's limit, else a 413 that says the limit. */
export function boundedBody(text: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) throw payloadTooLarge(`body is ${Math.ceil(bytes / 1024)} KB; this route takes at most ${maxBytes / 1024} KB`);
  return text;
}
