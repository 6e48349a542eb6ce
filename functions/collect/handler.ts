import { parseRequest, publish, validateMessages, type CollectorPath } from '../../lib/collect/collector';
import { notFound } from '../../lib/http/errors';
import { requireWriteKey, writeKeyOf } from '../../lib/http/keys';
import { getKeys, getStream } from '../commons/resources';
import { bodyText, headersOf, httpHandler, json } from '../commons/http';

const PATHS = new Set<CollectorPath>(['track', 'identify', 'page', 'screen', 'alias', 'group', 'batch', 'import']);

/** Segment HTTP Tracking API: `POST /v1/{track|identify|page|screen|alias|group|batch|import}` -> Kinesis. */
export const handler = httpHandler(async (event) => {
  const path = event.rawPath.split('/').pop() as CollectorPath;
  if (!PATHS.has(path)) throw notFound(`unknown endpoint ${event.rawPath}`);
  const keys = await getKeys();
  const headers = headersOf(event);
  // A key in the Authorization header is checked before the body is read; else Segment's body `writeKey`.
  if (writeKeyOf(headers) !== undefined) requireWriteKey(keys, headers);
  const { messages, writeKey } = parseRequest(path, bodyText(event));
  requireWriteKey(keys, headers, writeKey);
  const events = validateMessages(messages, new Date(event.requestContext.timeEpoch || Date.now()));
  await publish(getStream(), events);
  return json(200, { success: true });
});
