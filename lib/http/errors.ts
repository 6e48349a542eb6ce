/** An error that maps to an HTTP status with a message safe to show the caller. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details?: unknown) => new HttpError(400, message, details);
export const unauthorized = (message = 'invalid or missing credentials') => new HttpError(401, message);
export const notFound = (message = 'not found') => new HttpError(404, message);
