import { z } from 'zod';
import { catalogSchema } from '../decision/catalog';
import { modelSchema } from '../decision/model';
import { MAX_STATS_DAYS } from '../decision/offer-stats';
import { decisionRequestSchema } from '../decision/service';
import { ROUTES } from '../../functions/routes';

/**
 * The OpenAPI 3.1 document of the whole HTTP API, built from the route table the CDK app and the
 * local stack use and from the same zod schemas that validate requests, so it cannot drift.
 */
const SUMMARIES: Record<string, string> = {
  'POST /v1/track': 'Segment track call',
  'POST /v1/identify': 'Segment identify call',
  'POST /v1/page': 'Segment page call',
  'POST /v1/screen': 'Segment screen call',
  'POST /v1/alias': 'Segment alias call',
  'POST /v1/group': 'Segment group call',
  'POST /v1/batch': 'Segment batch of messages (500 KB max)',
  'POST /v1/import': 'Segment import (same as batch)',
  'GET /health': 'Liveness',
  'GET /v1/identities/{namespace}/{value}': 'The profile an identifier belongs to (following merges)',
  'GET /v1/profiles/{profileId}': 'The unified profile: aggregates, stage, segments, batch attributes, links',
  'GET /v1/profiles/{profileId}/journey': 'Events of the profile and its merged members, in time order',
  'GET /v1/dead-letters': 'Records the ingest could not accept, with the reason',
  'POST /v1/decisions': 'Next best offers for a person, a placement and the moment',
  'GET /v1/offers/stats': 'Offer statistics from feedback events: impressions, clicks, dismissals, conversions and rates per offer and variant over UTC days',
  'PUT /v1/catalog': 'Publish a new offer catalog (validated; serves within the refresh interval, no redeploy)',
  'PUT /v1/model': 'Publish a model artifact: propensity coefficients and association rules (validated; serves within the refresh interval)',
  'GET /openapi.json': 'This document',
};

/** Query parameters, by route. */
const QUERY: Record<string, Array<{ name: string; description: string; schema: object }>> = {
  'GET /v1/profiles/{profileId}/journey': [{ name: 'limit', description: 'How many events (default 500)', schema: { type: 'integer', minimum: 1 } }],
  'GET /v1/offers/stats': [
    { name: 'from', description: 'First UTC day, YYYY-MM-DD (default: six days before `to`)', schema: { type: 'string', format: 'date' } },
    { name: 'to', description: `Last UTC day, YYYY-MM-DD (default: today); at most ${MAX_STATS_DAYS} days in all`, schema: { type: 'string', format: 'date' } },
  ],
};

let cached: object | undefined;
export function openApiDocument(): object {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const key = `${r.method} ${r.path}`;
    const params = [
      ...[...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...(QUERY[key] ?? []).map((q) => ({ ...q, in: 'query', required: false })),
    ];
    const operation: Record<string, unknown> = {
      summary: SUMMARIES[key] ?? key,
      ...(params.length > 0 ? { parameters: params } : {}),
      security: r.auth === 'writeKey' ? [{ writeKey: [] }] : r.auth === 'apiKey' ? [{ apiKey: [] }] : [],
      responses: {
        '200': { description: 'OK' },
        '400': { description: 'Invalid request; the message names the field', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ...(r.auth !== 'none' ? { '401': { description: 'Missing or invalid credentials' } } : {}),
      },
    };
    if (key === 'POST /v1/decisions') {
      operation.requestBody = { required: true, content: { 'application/json': { schema: z.toJSONSchema(decisionRequestSchema, { io: 'input' }) } } };
    } else if (key === 'PUT /v1/catalog') {
      operation.requestBody = { required: true, content: { 'application/json': { schema: z.toJSONSchema(catalogSchema, { io: 'input' }) } } };
    } else if (key === 'PUT /v1/model') {
      operation.requestBody = { required: true, content: { 'application/json': { schema: z.toJSONSchema(modelSchema, { io: 'input' }) } } };
    } else if (r.method === 'POST') {
      operation.requestBody = { required: true, content: { 'application/json': { schema: { type: 'object', description: 'A Segment message (https://segment.com/docs/connections/spec/)' } } } };
    }
    paths[r.path] = { ...paths[r.path], [r.method.toLowerCase()]: operation };
  }
  cached = {
    openapi: '3.1.0',
    info: { title: 'Moment Engine', version: '0.1.0', description: 'Segment-compatible collector, profiles and next-best-offer decisions.' },
    paths,
    components: {
      securitySchemes: {
        writeKey: { type: 'http', scheme: 'basic', description: 'Segment write key as the user name' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
      schemas: { Error: { type: 'object', properties: { success: { type: 'boolean' }, message: { type: 'string' } }, required: ['message'] } },
    },
  };
  return cached;
}
