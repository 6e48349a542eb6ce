import { notFound } from '../../lib/http/errors';
import { requireApiKey } from '../../lib/http/keys';
import { scopeOf } from '../routes';
import { lookupIdentity, readCluster, readJourney, readProfile } from '../../lib/profile/read';
import { engineConfig, getIdentityWeightsSource, getKeys, getStores } from '../commons/resources';
import { headersOf, httpHandler, json, unmatched } from '../commons/http';

/** Read API: identities -> profile, the unified profile, its journey and cluster, dead letters; health; and what no route takes ($default). */
export const handler = httpHandler(async (event) => {
  if (event.routeKey === 'GET /health') return json(200, { status: 'ok' });
  // API Gateway's $default route: what no route takes (answered before any key is asked for).
  if (event.routeKey === '$default') return unmatched(event.requestContext?.http?.method ?? 'GET', event.rawPath ?? '/');
  const keys = await getKeys();
  requireApiKey(keys, headersOf(event), scopeOf(event.routeKey));
  const params = event.pathParameters ?? {};
  const stores = getStores();
  switch (event.routeKey) {
    case 'GET /v1/identities/{namespace}/{value}':
      return json(200, await lookupIdentity(stores, params.namespace ?? '', params.value ?? '', keys.identitySalt));
    case 'GET /v1/profiles/{profileId}':
      return json(200, await readProfile(stores, params.profileId ?? '', { ...engineConfig, weights: await getIdentityWeightsSource().get() }));
    case 'GET /v1/profiles/{profileId}/journey': {
      const limit = event.queryStringParameters?.limit;
      return json(200, await readJourney(stores, params.profileId ?? '', limit === undefined ? undefined : Number(limit)));
    }
    case 'GET /v1/profiles/{profileId}/cluster':
      return json(200, await readCluster(stores, params.profileId ?? '', { ...engineConfig, weights: await getIdentityWeightsSource().get() }));
    case 'GET /v1/dead-letters':
      return json(200, { deadLetters: await stores.deadLetters.list(100) });
    default:
      throw notFound(`no route ${event.routeKey}`);
  }
});
