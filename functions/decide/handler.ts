import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { loadCatalog } from '../../lib/decision/catalog';
import { SageMakerScorer } from '../../lib/decision/scoring';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import { requireApiKey } from '../../lib/http/keys';
import { openApiDocument } from '../../lib/http/openapi';
import { bodyText, headersOf, httpHandler, json } from '../commons/http';
import { engineConfig, getKeys, getStores, getStream } from '../commons/resources';

/** The catalog (config/catalog.json), validated and compiled once per process. */
const catalog = loadCatalog();
const endpoint = process.env.SAGEMAKER_ENDPOINT;
const scorer = endpoint ? new SageMakerScorer(new SageMakerRuntimeClient({ maxAttempts: 1 }), endpoint, Number(process.env.SAGEMAKER_BUDGET_MS ?? 30)) : undefined;

/** `POST /v1/decisions` (API key) and `GET /openapi.json` (public). */
export const handler = httpHandler(async (event) => {
  if (event.routeKey === 'GET /openapi.json') return json(200, openApiDocument());
  const keys = await getKeys();
  requireApiKey(keys, headersOf(event));
  const request = parseDecisionRequest(bodyText(event));
  return json(200, await answerDecision(request, { stores: getStores(), stream: getStream(), config: engineConfig, catalog, salt: keys.identitySalt, scorer }));
});
