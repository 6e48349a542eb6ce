import { notFound } from '../../lib/http/errors';
import { auditedErasure, auditedExport, auditedSplit, auditLog, requirePrivacyKey } from '../../lib/privacy/audited';
import { parseSplitRequest } from '../../lib/privacy/split';
import type { AuditEntry } from '../../lib/store/ports';
import { engineConfig, getKeys, getStores } from '../commons/resources';
import { bodyText, headersOf, httpHandler, json } from '../commons/http';

/** What each route does, as the audit log names it. */
const ACTIONS: Record<string, AuditEntry['action']> = {
  'GET /v1/profiles/{profileId}/export': 'export',
  'DELETE /v1/profiles/{profileId}': 'erase',
  'POST /v1/profiles/{profileId}/split': 'split',
  'GET /v1/privacy/audit': 'read-audit-log',
};

/** Privacy API (admin keys only; exports, erasures, splits and refused calls audited): export everything held about a person, erase her, undo a wrong merge, read the audit log. */
export const handler = httpHandler(async (event) => {
  const action = Object.hasOwn(ACTIONS, event.routeKey) ? ACTIONS[event.routeKey] : undefined;
  if (action === undefined) throw notFound(`no route ${event.routeKey}`);
  const keys = await getKeys();
  const now = new Date();
  const who = await requirePrivacyKey(keys, headersOf(event), action, getStores(), now);
  const request = { stores: getStores(), who, salt: keys.identitySalt, now };
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
