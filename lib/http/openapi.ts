import { z } from 'zod';
import { catalogSchema } from '../decision/catalog';
import { modelSchema } from '../decision/model';
import { MAX_STATS_DAYS } from '../decision/offer-stats';
import { decisionRequestSchema } from '../decision/service';
import { ROUTES } from '../../functions/routes';
import { MAX_BATCH_EXPANDED_BYTES, MAX_BATCH_MESSAGES, MAX_JSON_DEPTH } from '../collect/request';
import { MAX_DEAD_LETTER_DATA_BYTES } from '../collect/collector';

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
  'POST /v1/batch': `Segment batch of messages (500 KB and ${MAX_BATCH_MESSAGES.toLocaleString('en-US')} messages at most): the valid messages are taken, each invalid one is dead-lettered and listed with its index and reason`,
  'POST /v1/import': 'Segment import (same as batch)',
  'GET /health': 'Liveness',
  'GET /v1/identities/{namespace}/{value}': 'The profile an identifier belongs to (following merges)',
  'GET /v1/profiles/{profileId}': 'The unified profile: aggregates, stage, segments, batch attributes, links',
  'GET /v1/profiles/{profileId}/journey': 'Events of the profile and its merged members, in time order',
  'GET /v1/dead-letters': 'Messages of a batch the collector rejected and records the ingest could not accept, with the reason',
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

/** What every collector endpoint answers besides 200, 400 and 401. */
const COLLECT_ERRORS = {
  '413': { description: `Body over the limit once decompressed (32 KB per message, 500 KB per batch), more than ${MAX_BATCH_MESSAGES} messages in a batch, a batch context and integrations over 32 KB (every message gets them), or a batch over ${MAX_BATCH_EXPANDED_BYTES / 1024 / 1024} MB once its shared context is applied to every message`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  '415': { description: 'A Content-Encoding other than gzip or identity', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
  '503': { description: 'The event stream or the dead-letter table failed: retry the request (messageIds make the retry a duplicate, not a second copy)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
};

const COLLECT_REQUEST = {
  required: true,
  description: `JSON, optionally gzipped (\`Content-Encoding: gzip\`), nested at most ${MAX_JSON_DEPTH} levels deep. A message without a messageId gets one derived from the request's content, so a retried request is recognised as a duplicate.`,
  content: { 'application/json': { schema: { type: 'object', description: 'A Segment message (https://segment.com/docs/connections/spec/), or { batch: [messages], context?, integrations? }' } } },
};

/** The 200 answers of the collector: a batch says what it took and what it rejected. */
function collectOk(batch: boolean): object {
  if (!batch) return { description: 'The message is on the event stream', content: { 'application/json': { schema: { $ref: '#/components/schemas/Success' } } } };
  return {
    description: `The request was well formed: the valid messages are on the event stream; each invalid one is in the dead letters (its data cut at ${MAX_DEAD_LETTER_DATA_BYTES / 1024} KB) and listed here`,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchResult' } } },
  };
}

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
        '200': r.fn === 'collect' ? collectOk(r.path === '/v1/batch' || r.path === '/v1/import') : { description: 'OK' },
        '400': { description: 'Invalid request; the message names the field', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ...(r.auth !== 'none' ? { '401': { description: 'Missing or invalid credentials' } } : {}),
        ...(r.fn === 'collect' ? COLLECT_ERRORS : {}),
      },
    };
    if (key === 'POST /v1/decisions') {
      operation.requestBody = { required: true, content: { 'application/json': { schema: z.toJSONSchema(decisionRequestSchema, { io: 'input' }) } } };
    } else if (key === 'PUT /v1/catalog') {
      operation.requestBody = { required: true, content: { 'application/json': { schema: z.toJSONSchema(catalogSchema, { io: 'input' }) } } };
    } else if (key === 'PUT /v1/model') {
      operation.requestBody = { required: true, content: { 'application/json': { schema: z.toJSONSchema(modelSchema, { io: 'input' }) } } };
    } else if (r.fn === 'collect') {
      operation.requestBody = COLLECT_REQUEST;
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
      schemas: {
        Error: { type: 'object', properties: { success: { type: 'boolean' }, message: { type: 'string' } }, required: ['message'] },
        Success: { type: 'object', properties: { success: { const: true } }, required: ['success'] },
        BatchResult: {
          type: 'object',
          properties: {
            success: { const: true, description: 'Always true: Segment SDKs read it' },
            accepted: { type: 'integer', description: 'Messages put on the event stream' },
            rejected: {
              type: 'array',
              description: 'Messages dead-lettered, by position in the batch',
              items: { type: 'object', properties: { index: { type: 'integer' }, reason: { type: 'string', examples: ['batch[3].event: must be a non-empty string'] } }, required: ['index', 'reason'] },
            },
          },
          required: ['success', 'accepted', 'rejected'],
        },
      },
    },
  };
  return cached;
}
