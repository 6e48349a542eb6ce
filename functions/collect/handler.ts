import { collect } from '../../lib/collect/collector';
import { suppressionsAmong } from '../../lib/privacy/holdings';
import { defaultEventPolicy } from '../../lib/events/policy';
import { decodeBody, parseRequest, type CollectorPath } from '../../lib/collect/request';
import { notFound } from '../../lib/http/errors';
import { requireWriteKey, writeKeyOf, type WriteKeySource } from '../../lib/http/keys';
import { getAddressSealer, getKeys, getStores, getStream } from '../commons/resources';
import { bodyBytes, headersOf, httpHandler, json } from '../commons/http';
import { logger } from '../commons/powertools';

const PATHS = new Set<CollectorPath>(['track', 'identify', 'page', 'screen', 'alias', 'group', 'batch', 'import']);

/**
 * Segment HTTP Tracking API: `POST /v1/{track|identify|page|screen|alias|group|batch|import}` ->
 * Kinesis, the invalid messages of a batch -> dead letters (listed in the answer).
 */
export const handler = httpHandler(async (event) => {
  const path = event.rawPath.split('/').pop() as CollectorPath;
  if (!PATHS.has(path)) throw notFound(`unknown endpoint ${event.rawPath}`);
  const keys = await getKeys();
  const headers = headersOf(event);
  // A key in the Authorization header is checked before the body is read; else Segment's body `writeKey`,
  // as soon as the body is parsed and before any message is validated.
  if (writeKeyOf(headers) !== undefined) requireWriteKey(keys, headers);
  let key: WriteKeySource = 'client';
  const parsed = parseRequest(path, decodeBody(path, bodyBytes(event), headers['content-encoding']), (bodyWriteKey) => {
    key = requireWriteKey(keys, headers, bodyWriteKey);
  });
  // The network its messages may claim: API Gateway's source IP (the TCP peer, never a header) for a client key.
  const request = { ...parsed, origin: { key, sourceIp: event.requestContext.http.sourceIp } };
  const receivedAt = new Date(event.requestContext.timeEpoch || Date.now());
  const privacy = { salt: keys.identitySalt, personalData: defaultEventPolicy().personalData };
  const sealer = getAddressSealer();
  const stores = getStores();
  const contacts = sealer ? { sealer, store: stores.contacts } : undefined;
  const suppressions = suppressionsAmong(stores.privacy, keys.identitySalt);
  const result = await collect(request, receivedAt, { stream: getStream(), deadLetters: stores.deadLetters, suppressions, ...(contacts ? { contacts } : {}) }, privacy);
  for (const error of result.unexpected) logger.warn('a message could not be validated', { error });
  return json(200, request.batch ? { success: true, accepted: result.accepted, rejected: result.rejected } : { success: true });
});
