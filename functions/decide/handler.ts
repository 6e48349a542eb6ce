import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { offerStatistics, parseOfferStatsQuery } from '../../lib/decision/offer-stats';
import { OwnerCache } from '../../lib/decision/owner-cache';
import { SageMakerScorer } from '../../lib/decision/scoring';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import { requireApiKey } from '../../lib/http/keys';
import { scopeOf } from '../routes';
import { openApiDocument } from '../../lib/http/openapi';
import { bodyText, headersOf, httpHandler, json } from '../commons/http';
import { boundedBody, parseJsonBody } from '../../lib/http/errors';
import { MAX_DOCUMENT_BYTES } from '../../lib/decision/published';
import { MAX_DECISION_REQUEST_BYTES } from '../../lib/decision/service';
import { engineConfig, getCatalogSource, getKeys, getModelSource, getStores, getStream } from '../commons/resources';

const endpoint = process.env.SAGEMAKER_ENDPOINT;
const scorer = endpoint ? new SageMakerScorer(new SageMakerRuntimeClient({ maxAttempts: 1 }), endpoint, Number(process.env.SAGEMAKER_BUDGET_MS ?? 30)) : undefined;

const owners = new OwnerCache(Number(process.env.OWNER_CACHE_TTL_MS ?? 60_000));

/** `POST /v1/decisions`, `GET /v1/offers/stats`, `PUT /v1/catalog` and `PUT /v1/model` (API key), `GET /openapi.json` (public). */
export const handler = httpHandler(async (event) => {
  if (event.routeKey === 'GET /openapi.json') return json(200, openApiDocument());
  const keys = await getKeys();
  requireApiKey(keys, headersOf(event), scopeOf(event.routeKey));
  if (event.routeKey === 'GET /v1/offers/stats') {
    const range = parseOfferStatsQuery(event.queryStringParameters);
    return json(200, await offerStatistics(getStores().offerStats, await getCatalogSource().get(), range));
  }
  if (event.routeKey === 'PUT /v1/catalog' || event.routeKey === 'PUT /v1/model') {
    const body = parseJsonBody(boundedBody(bodyText(event), MAX_DOCUMENT_BYTES));
    const source = event.routeKey === 'PUT /v1/catalog' ? getCatalogSource() : getModelSource();
    return json(200, await source.publish(body));
  }
  const request = parseDecisionRequest(boundedBody(bodyText(event), MAX_DECISION_REQUEST_BYTES));
  const [catalog, model] = await Promise.all([getCatalogSource().get(), getModelSource().get()]);
  return json(200, await answerDecision(request, { stores: getStores(), stream: getStream(), config: engineConfig, catalog, model, salt: keys.identitySalt, scorer, owners }));
});
