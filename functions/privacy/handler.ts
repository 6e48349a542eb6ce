import { notFound } from '../../lib/http/errors';
import { requireApiKey } from '../../lib/http/keys';
import { auditedErasure, auditedExport, auditedSplit, auditLog } from '../../lib/privacy/audited';
import { parseSplitRequest } from '../../lib/privacy/split';
import { scopeOf } from '../routes';
import { engineConfig, getKeys, getStores } from '../commons/resources';
import { bodyText, headersOf, httpHandler, json } from '../commons/http';

/** Privacy API (admin keys only, every use audited): export everything held about a person, erase her, undo a wrong merge, read the audit log. */
export const handler = httpHandler(async (event) => {
  const keys = await getKeys();
  const who = requireApiKey(keys, headersOf(event), scopeOf(event.routeKey));
  const request = { stores: getStores(), who, salt: keys.identitySalt, now: new Date() };
  const profileId = event.pathParameters?.profileId ?? '';
  switch (event.routeKey) {
    case 'GET /v1/profiles/{profileId}/export':
      return json(200, await auditedExport(profileId, request));
    case 'DELETE /v1/profiles/{profileId}':
      return json(200, await auditedErasure(profileId, request));
    case 'POST /v1/profiles/{profileId}/split':
      return json(200, await auditedSplit(profileId, parseSplitRequest(bodyText(event)), { ...request, config: engineConfig }));
    case 'GET /v1/privacy/audit':
      return json(200, await auditLog(request.stores, event.queryStringParameters?.day, request.now));
    default:
      throw notFound(`no route ${event.routeKey}`);
  }
});
