import { z } from 'zod';
import { catalogSchema } from '../decision/catalog';
import { modelSchema } from '../decision/model';
import { MAX_STATS_DAYS } from '../decision/offer-stats';
import { decisionRequestSchema, MAX_DECISION_REQUEST_BYTES } from '../decision/service';
import { MAX_SPLIT_REQUEST_BYTES, splitRequestSchema } from '../privacy/split';
import { MAX_LETTERS_PER_ERASURE } from '../privacy/letters';
import { MAX_DOCUMENT_BYTES } from '../decision/published';
import { ROUTES, type RouteDefinition } from './routes';
import { campaignsSchema } from '../campaign/campaign';
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
  'GET /v1/profiles/{profileId}/cluster': 'The person cluster (profiles probably the same person\'s, along probable links) and the household (the residents of the network the profile lives on, grouped into people), derived from the evidence now; probable links never merge profiles',
  'GET /v1/dead-letters': 'Messages of a batch the collector rejected and records the ingest could not accept, with the reason',
  'GET /v1/profiles/{profileId}/export': 'Everything held about the person (right of access): her profile and every profile merged into it, identifiers, consent, batch attributes, events, decisions, offer feedback, network visits and dead letters, as one JSON document; audited',
  'DELETE /v1/profiles/{profileId}': `Erase the person (right to be forgotten): her profile, merged profiles, identifier links, network visits, events, decisions, dead letters and the cluster contexts naming her; her identifiers are suppressed (salted hashes only) so late or replayed events do not bring her back. Dead letters go last, at most ${MAX_LETTERS_PER_ERASURE.toLocaleString('en-US')} a call: deadLettersRemaining says when to erase again. Idempotent: erasing again sweeps what a batch in flight stored since and goes on removing her letters; audited`,
  'POST /v1/profiles/{profileId}/split': 'Undo a wrong merge: take one identifier (a shared device, a mistaken login) or one merged member out of the profile; both profiles are rebuilt from the stored events of each (an event carrying an identifier taken out leaves with it) and are never merged again; audited',
  'GET /v1/privacy/audit': 'The audit log of the privacy API for one UTC day: who (the admin key\'s fingerprint), when, what, for which profile, and the outcome (counts, never data)',
  'POST /v1/decisions': 'Next best offers for a person, a placement and the moment',
  'GET /v1/offers/stats': 'Offer statistics from feedback events: impressions, clicks, dismissals, conversions and rates per offer and variant over UTC days',
  'PUT /v1/catalog': 'Publish a new offer catalog (validated; serves within the refresh interval, no redeploy)',
  'PUT /v1/model': 'Publish a model artifact: propensity coefficients and association rules (validated; serves within the refresh interval)',
  'GET /v1/campaigns': 'The triggered campaigns serving now (published, else bundled) and how each channel\'s messages leave',
  'PUT /v1/campaigns': 'Publish new campaigns (validated, errors name the campaign and the field; serve within the refresh interval, no redeploy)',
  'GET /v1/campaigns/{campaignId}/stats': 'A campaign\'s statistics per step: entered, waiting, exited and why, sent, delivered, failed and why, held out; conversions within the window after the send against the control group',
  'GET /v1/profiles/{profileId}/campaigns': 'Why she did or did not get a campaign\'s message: her entries with status, reason and history, what would stop each campaign now (audience, exit, consent), and which of her addresses messages go to (masked)',
  'GET /openapi.json': 'This document',
};

/** Query parameters, by route. */
const QUERY: Record<string, Array<{ name: string; description: string; schema: object }>> = {
  'GET /v1/profiles/{profileId}/journey': [{ name: 'limit', description: 'How many events (default 500)', schema: { type: 'integer', minimum: 1 } }],
  'GET /v1/privacy/audit': [{ name: 'day', description: 'The UTC day, YYYY-MM-DD (default: today)', schema: { type: 'string', format: 'date' } }],
  'GET /v1/offers/stats': [
    { name: 'from', description: 'First UTC day, YYYY-MM-DD (default: six days before `to`)', schema: { type: 'string', format: 'date' } },
    { name: 'to', description: `Last UTC day, YYYY-MM-DD (default: today); at most ${MAX_STATS_DAYS} days in all`, schema: { type: 'string', format: 'date' } },
  ],
};

/** Each operation's id, for generated clients. */
const OPERATION_IDS: Record<string, string> = {
  'POST /v1/track': 'track',
  'POST /v1/identify': 'identify',
  'POST /v1/page': 'page',
  'POST /v1/screen': 'screen',
  'POST /v1/alias': 'alias',
  'POST /v1/group': 'group',
  'POST /v1/batch': 'batch',
  'POST /v1/import': 'import',
  'GET /health': 'health',
  'GET /v1/identities/{namespace}/{value}': 'lookupIdentity',
  'GET /v1/profiles/{profileId}': 'getProfile',
  'GET /v1/profiles/{profileId}/journey': 'getJourney',
  'GET /v1/profiles/{profileId}/cluster': 'getCluster',
  'GET /v1/dead-letters': 'listDeadLetters',
  'GET /v1/profiles/{profileId}/export': 'exportPerson',
  'DELETE /v1/profiles/{profileId}': 'erasePerson',
  'POST /v1/profiles/{profileId}/split': 'splitProfile',
  'GET /v1/privacy/audit': 'getPrivacyAudit',
  'POST /v1/decisions': 'decide',
  'GET /v1/offers/stats': 'getOfferStats',
  'PUT /v1/catalog': 'publishCatalog',
  'PUT /v1/model': 'publishModel',
  'GET /v1/campaigns': 'listCampaigns',
  'PUT /v1/campaigns': 'publishCampaigns',
  'GET /v1/campaigns/{campaignId}/stats': 'getCampaignStats',
  'GET /v1/profiles/{profileId}/campaigns': 'getProfileCampaigns',
  'GET /openapi.json': 'getOpenApi',
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ref('Error') } } });
const ok = (description: string, schema: object) => ({ description, content: { 'application/json': { schema } } });

/** What each route answers with 200. */
const OK: Record<string, (route: RouteDefinition) => object> = {
  'GET /health': () => ok('The API answers', { type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] }),
  'GET /v1/identities/{namespace}/{value}': () => ok('The live profile the identifier belongs to', ref('IdentityLink')),
  'GET /v1/profiles/{profileId}': () => ok('The unified profile (a merged-away id answers its survivor)', ref('Profile')),
  'GET /v1/profiles/{profileId}/journey': () => ok('Events across the profile and its merged members', ref('Journey')),
  'GET /v1/profiles/{profileId}/cluster': () => ok('The person cluster and the household (a merged-away id answers its survivor\'s)', ref('Cluster')),
  'GET /v1/dead-letters': () => ok('The most recent dead letters (at most 100)', ref('DeadLetters')),
  'GET /v1/profiles/{profileId}/export': () => ok('Everything held about the person (a merged-away id answers for the person it became part of)', ref('PersonalDataExport')),
  'DELETE /v1/profiles/{profileId}': () => ok('Erased: what was removed, and how many identifiers are suppressed', ref('Erasure')),
  'POST /v1/profiles/{profileId}/split': () => ok('Split: the profile that stays, the one taken out, the identifiers that moved and how many events each was rebuilt from', ref('Split')),
  'GET /v1/privacy/audit': () => ok("The day's audit entries, oldest first", ref('PrivacyAudit')),
  'POST /v1/decisions': () => ok('The decision: ranked offers with reasons, what was held back and why', ref('Decision')),
  'GET /v1/offers/stats': () => ok('Statistics per offer of the catalog', ref('OfferStats')),
  'PUT /v1/catalog': () => ok('Published: the version and a summary', ref('Published')),
  'PUT /v1/model': () => ok('Published: the version and a summary', ref('Published')),
  'GET /v1/campaigns': () => ok('The campaigns and channels', ref('Campaigns')),
  'PUT /v1/campaigns': () => ok('Published: the version and how many campaigns', ref('Published')),
  'GET /v1/campaigns/{campaignId}/stats': () => ok('The campaign\'s statistics, counted from its entries', ref('CampaignStats')),
  'GET /v1/profiles/{profileId}/campaigns': () => ok('Her entries per campaign and what would stop each now', ref('ProfileCampaigns')),
  'GET /openapi.json': () => ok('The OpenAPI document', { type: 'object', properties: { openapi: { type: 'string' } }, required: ['openapi'] }),
};

/**
 * The errors a route can answer, besides 200: 400 for what it reads from the caller (none for
 * /health and /openapi.json, which read nothing), 401 where it needs a key, 403 for a key of another
 * kind, 404 where it looks
 * something up, 405 for another method on its path, 413 for a body over the limit, 415 for an
 * encoding the collector does not take, 503 where a store or the stream failed (retry).
 */
function errors(r: RouteDefinition): Record<string, object> {
  const key = `${r.method} ${r.path}`;
  const reads = r.path !== '/health' && r.path !== '/openapi.json';
  const looksUp = /\{profileId\}|\{namespace\}/.test(r.path);
  const hasBody = r.method === 'POST' || r.method === 'PUT';
  return {
    ...(reads ? { '400': errorResponse('Invalid request; the message names the field and what is expected') } : {}),
    ...(r.auth !== 'none' ? { '401': errorResponse(r.auth === 'writeKey' ? 'Missing or unknown write key' : 'Missing or unknown API key') } : {}),
    ...(r.auth !== 'none' ? { '403': errorResponse(`A valid key of another kind: this route needs ${r.auth === 'writeKey' ? 'a write key' : `a ${r.auth} key`}`) } : {}),
    ...(looksUp ? { '404': errorResponse('No such identifier or profile') } : {}),
    '405': { ...errorResponse('Another method on this path: the `Allow` header lists the methods it takes'), headers: { Allow: { description: 'The methods the path takes', schema: { type: 'string' } } } },
    ...(hasBody ? { '413': errorResponse(r.fn === 'collect' ? COLLECT_TOO_LARGE : key === 'POST /v1/decisions' ? `Body over ${MAX_DECISION_REQUEST_BYTES / 1024} KB` : r.fn === 'privacy' ? `Body over ${MAX_SPLIT_REQUEST_BYTES / 1024} KB` : `Body over ${MAX_DOCUMENT_BYTES / 1024} KB (what a config table item holds)`) } : {}),
    ...(r.fn === 'collect' ? { '415': errorResponse('A Content-Encoding other than gzip or identity') } : {}),
    ...(reads && key !== 'GET /openapi.json' ? { '503': errorResponse(r.fn === 'collect' ? 'The event stream or the dead-letter table failed: retry the request (messageIds make the retry a duplicate, not a second copy)' : 'A store failed: retry the request') } : {}),
  };
}

const COLLECT_TOO_LARGE = `Body over the limit once decompressed (32 KB per message, 500 KB per batch), more than ${MAX_BATCH_MESSAGES} messages in a batch, a batch context and integrations over 32 KB (every message gets them), or a batch over ${MAX_BATCH_EXPANDED_BYTES / 1024 / 1024} MB once its shared context is applied to every message`;

const COLLECT_REQUEST = {
  required: true,
  description: `JSON, optionally gzipped (\`Content-Encoding: gzip\`), nested at most ${MAX_JSON_DEPTH} levels deep. A message without a messageId gets one derived from the request's content, so a retried request is recognised as a duplicate.`,
  content: { 'application/json': { schema: { type: 'object', description: 'A Segment message (https://segment.com/docs/connections/spec/), or { batch: [messages], context?, integrations? }' } } },
};

/** The 200 answers of the collector: a batch says what it took and what it rejected. */
function collectOk(batch: boolean): object {
  if (!batch) return ok('The message is on the event stream', ref('Success'));
  return ok(`The request was well formed: the valid messages are on the event stream; each invalid one is in the dead letters (its data cut at ${MAX_DEAD_LETTER_DATA_BYTES / 1024} KB) and listed here`, ref('BatchResult'));
}

/**
 * A zod schema as a JSON Schema inside the document: its own definitions (`$defs`, for recursive
 * parts such as segment conditions and tree nodes) moved to the document's components under a
 * prefix, and the references to them rewritten, so they resolve from the document's root.
 */
function componentSchema(name: string, schema: z.ZodType, components: Record<string, object>): object {
  const { $defs, $schema: _draft, ...body } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown> & { $defs?: Record<string, object> };
  const rename = (id: string) => `${name}_${id.replace(/^_+/, '')}`;
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `#/components/schemas/${rename(v.slice('#/$defs/'.length))}` : rewrite(v)]));
  };
  for (const [id, def] of Object.entries($defs ?? {})) components[rename(id)] = rewrite(def) as object;
  components[name] = rewrite(body) as object;
  return ref(name);
}

let cached: object | undefined;
export function openApiDocument(): object {
  if (cached) return cached;
  const schemas: Record<string, object> = { ...SCHEMAS };
  const bodies: Record<string, object> = {
    'POST /v1/decisions': componentSchema('DecisionRequest', decisionRequestSchema, schemas),
    'PUT /v1/catalog': componentSchema('Catalog', catalogSchema, schemas),
    'PUT /v1/campaigns': componentSchema('CampaignsDocument', campaignsSchema, schemas),
    'PUT /v1/model': componentSchema('ModelArtifact', modelSchema, schemas),
    'POST /v1/profiles/{profileId}/split': componentSchema('SplitRequest', splitRequestSchema, schemas),
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const key = `${r.method} ${r.path}`;
    const params = [
      ...[...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...(QUERY[key] ?? []).map((q) => ({ ...q, in: 'query', required: false })),
    ];
    const body = bodies[key];
    paths[r.path] = {
      ...paths[r.path],
      [r.method.toLowerCase()]: {
        operationId: OPERATION_IDS[key] ?? key,
        summary: SUMMARIES[key] ?? key,
        ...(params.length > 0 ? { parameters: params } : {}),
        security: r.auth === 'none' ? [] : [{ [r.auth === 'writeKey' ? 'writeKey' : `${r.auth}Key`]: [] }],
        ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } } : r.fn === 'collect' ? { requestBody: COLLECT_REQUEST } : {}),
        responses: { '200': r.fn === 'collect' ? collectOk(r.path === '/v1/batch' || r.path === '/v1/import') : (OK[key]?.(r) ?? ok('OK', { type: 'object' })), ...errors(r) },
      },
    };
  }
  cached = {
    openapi: '3.1.0',
    info: { title: 'Moment Engine', version: '0.1.0', description: 'Segment-compatible collector, profiles and next-best-offer decisions.', license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'The local stack (npm start; PORT changes the port)' },
      { url: '{apiUrl}', description: 'A deployed stack: its ApiUrl output', variables: { apiUrl: { default: 'https://example.execute-api.eu-west-2.amazonaws.com' } } },
    ],
    paths,
    components: {
      securitySchemes: {
        writeKey: { type: 'http', scheme: 'basic', description: 'Segment write key as the user name' },
        decideKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A decision key: asks for decisions, nothing else' },
        readKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A read key: reads profiles, identities and offer statistics' },
        adminKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An admin key: publishes the catalog and the model, reads dead letters, and uses the privacy API (export, erase, split, audit)' },
      },
      schemas,
    },
  };
  return cached;
}

const str = { type: 'string' };
const map = { type: 'object', additionalProperties: true };
const rates = { type: 'object', properties: { impressions: { type: 'integer' }, clicks: { type: 'integer' }, dismissals: { type: 'integer' }, conversions: { type: 'integer' }, clickThroughRate: { type: ['number', 'null'] }, conversionRate: { type: ['number', 'null'] } } };

/** The answers' shapes (the TypeScript types they follow: lib/decision/decide.ts Decision, lib/profile/read.ts ProfileView, ...). */
const SCHEMAS: Record<string, object> = {
  Error: {
    type: 'object',
    description: 'Every error answer, from the API and from its router alike',
    properties: { success: { const: false }, message: { type: 'string', examples: ['placement is required'] }, details: {} },
    required: ['success', 'message'],
  },
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
  IdentityLink: { type: 'object', properties: { profileId: str }, required: ['profileId'] },
  Profile: {
    type: 'object',
    properties: {
      profileId: str,
      createdAt: str,
      updatedAt: str,
      identities: { type: 'object', additionalProperties: { type: 'array', items: str } },
      traits: map,
      aggregates: map,
      derived: map,
      stage: { type: 'object', properties: { name: str, reason: str }, required: ['name', 'reason'] },
      segments: { type: 'object', additionalProperties: { type: 'object', properties: { enteredAt: str } } },
      segmentHistory: { type: 'array', items: map },
      batch: { type: 'object', additionalProperties: { type: 'object', properties: { value: {}, asOf: str } } },
      timezone: str,
      signals: map,
      probableLinks: {
        type: 'array',
        description: 'Derived from the evidence at read time: log2 odds (score), probability and reasons',
        items: { type: 'object', properties: { profileId: str, score: { type: 'number' }, probability: { type: 'number' }, reasons: { type: 'array', items: str } }, required: ['profileId', 'score', 'probability', 'reasons'] },
      },
      clusterContext: ref('ClusterContext'),
      consent: {
        type: 'object',
        description: 'Consent per category as last stated (context.consent.categoryPreferences, or an identify trait mapped in config/profile.json): when the collector received it and from where',
        additionalProperties: { type: 'object', properties: { granted: { type: 'boolean' }, at: str, source: { type: 'string', examples: ['context.consent', 'trait:consentPersonalisation'] } }, required: ['granted', 'at', 'source'] },
      },
      consentHistory: {
        type: 'array',
        description: 'Changes of consent, oldest first (the most recent 50)',
        items: { type: 'object', properties: { category: str, granted: { type: 'boolean' }, at: str, source: str }, required: ['category', 'granted', 'at', 'source'] },
      },
      mergedMembers: { type: 'array', items: str },
      mergeLog: { type: 'array', items: map },
      version: { type: 'integer' },
    },
    required: ['profileId', 'createdAt', 'updatedAt', 'identities', 'traits', 'aggregates', 'stage', 'segments', 'batch', 'consent', 'consentHistory', 'mergedMembers', 'version'],
  },
  ClusterContext: {
    type: 'object',
    description: "An anonymous profile's: the cluster member whose interests and stage its decisions use, as of its last evidence",
    properties: { profileId: str, probability: { type: 'number' }, at: str },
    required: ['profileId', 'probability', 'at'],
  },
  Cluster: {
    type: 'object',
    properties: {
      profileId: str,
      person: {
        type: 'array',
        items: {
          type: 'object',
          properties: { profileId: str, probability: { type: 'number' }, hops: { type: 'integer' }, via: str, authenticated: { type: 'boolean' }, reasons: { type: 'array', items: str } },
          required: ['profileId', 'probability', 'hops', 'authenticated', 'reasons'],
        },
      },
      household: {
        oneOf: [
          {
            type: 'object',
            properties: {
              network: { type: 'string', description: 'The network (hashed address) the household lives on' },
              people: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { profiles: { type: 'array', items: { type: 'object', properties: { profileId: str, authenticated: { type: 'boolean' }, days: { type: 'integer' } }, required: ['profileId', 'authenticated', 'days'] } } },
                  required: ['profiles'],
                },
              },
            },
            required: ['network', 'people'],
          },
          { type: 'null' },
        ],
      },
      clusterContext: { oneOf: [ref('ClusterContext'), { type: 'null' }] },
    },
    required: ['profileId', 'person', 'household', 'clusterContext'],
  },
  PersonalDataExport: {
    type: 'object',
    properties: {
      exportedAt: str,
      profileId: str,
      liveProfileId: str,
      profile: map,
      mergedProfiles: { type: 'array', items: map },
      identifiers: {
        type: 'array',
        items: { type: 'object', properties: { namespace: str, value: str, hashed: { type: 'boolean' }, linkedTo: { type: ['string', 'null'] } }, required: ['namespace', 'value', 'hashed', 'linkedTo'] },
      },
      consent: map,
      consentHistory: { type: 'array', items: map },
      batchAttributes: map,
      events: { type: 'array', items: map },
      decisions: { type: 'array', items: map },
      offerFeedback: { type: 'array', items: map },
      networkVisits: { type: 'array', items: { type: 'object', properties: { network: str, profileId: str, lastSeen: str }, required: ['network', 'profileId', 'lastSeen'] } },
      deadLetters: { type: 'array', items: map },
      campaignEntries: { type: 'array', items: map },
      contactLedger: { type: 'array', description: 'Her contact ledger: per profile and day, her contacts in all, per channel and per offer (what the caps count)', items: { type: 'object', properties: { profileId: str, day: str, total: { type: 'integer' }, channels: map, offers: map, counted: map }, required: ['profileId', 'day', 'total', 'channels', 'offers', 'counted'] } },
      contactAddresses: { type: 'array', items: { type: 'object', properties: { namespace: str, identifier: str, sealed: { const: true } }, required: ['namespace', 'identifier', 'sealed'] } },
      probableOtherDevices: { type: 'array', items: { type: 'object', properties: { profileId: str, probability: { type: 'number' } }, required: ['profileId', 'probability'] } },
      truncated: { type: 'boolean', description: 'More events (50,000: the oldest are given) or dead letters (1,000) than one export holds' },
    },
    required: ['exportedAt', 'profileId', 'liveProfileId', 'profile', 'mergedProfiles', 'identifiers', 'consent', 'consentHistory', 'batchAttributes', 'events', 'decisions', 'offerFeedback', 'networkVisits', 'deadLetters', 'campaignEntries', 'contactLedger', 'contactAddresses', 'probableOtherDevices', 'truncated'],
  },
  Erasure: {
    type: 'object',
    properties: {
      profileId: str,
      erasedProfileId: str,
      alreadyErased: { type: 'boolean', description: 'Erased before: this pass only swept what a batch in flight stored since' },
      removed: {
        type: 'object',
        properties: Object.fromEntries(['profiles', 'identifierLinks', 'networkVisits', 'events', 'deadLetters', 'clusterContexts', 'campaignEntries', 'contactAddresses'].map((k) => [k, { type: 'integer' }])),
        required: ['profiles', 'identifierLinks', 'networkVisits', 'events', 'deadLetters', 'clusterContexts', 'campaignEntries', 'contactAddresses'],
      },
      suppressedIdentifiers: { type: 'integer' },
      deadLettersRemaining: {
        type: 'boolean',
        description: `Dead letters of hers remain beyond what one call removes (${MAX_LETTERS_PER_ERASURE.toLocaleString('en-US')}; anyone with the write key can make refused messages name her): erase again, it answers alreadyErased and goes on. Everything else is removed by the first call`,
      },
    },
    required: ['profileId', 'erasedProfileId', 'alreadyErased', 'removed', 'suppressedIdentifiers', 'deadLettersRemaining'],
  },
  Split: {
    type: 'object',
    properties: {
      profileId: str,
      splitProfileId: str,
      identifiers: { type: 'array', items: str, description: 'The identifiers that moved, as stored (e-mail and phone hashed)' },
      events: { type: 'object', properties: { stayed: { type: 'integer' }, moved: { type: 'integer' } }, required: ['stayed', 'moved'] },
    },
    required: ['profileId', 'splitProfileId', 'identifiers', 'events'],
  },
  PrivacyAudit: {
    type: 'object',
    properties: {
      day: str,
      entries: {
        type: 'array',
        items: {
          type: 'object',
          properties: { id: str, at: str, who: { type: 'string', description: "The admin key's fingerprint: key: and the first 12 hex digits of its SHA-256" }, action: { enum: ['export', 'erase', 'split'] }, profileId: str, outcome: map },
          required: ['id', 'at', 'who', 'action', 'profileId', 'outcome'],
        },
      },
    },
    required: ['day', 'entries'],
  },
  Journey: { type: 'object', properties: { profileId: str, events: { type: 'array', items: map } }, required: ['profileId', 'events'] },
  DeadLetters: { type: 'object', properties: { deadLetters: { type: 'array', items: map } }, required: ['deadLetters'] },
  Decision: {
    type: 'object',
    properties: {
      decisionId: str,
      profileId: { type: ['string', 'null'], description: 'null for a visitor never seen' },
      variant: { enum: ['personalised', 'holdout'] },
      offers: {
        type: 'array',
        items: {
          type: 'object',
          properties: { offerId: str, content: str, score: { type: 'number' }, reasons: { type: 'array', items: str }, items: { type: 'array', items: str }, explored: { type: 'boolean' } },
          required: ['offerId', 'content', 'score', 'reasons'],
        },
      },
      suppressed: { type: 'array', items: { type: 'object', properties: { offerId: str, reason: str }, required: ['offerId', 'reason'] } },
      modelVersion: str,
      context: { type: 'object', properties: { localTime: str, timezone: str, device: str, nearby: { type: 'array', items: str }, quiet: str, cluster: { type: 'string', description: "An anonymous profile's: whose interests and stage the decision used (its person cluster), how probably" } } },
      consent: {
        type: 'object',
        description: "Whether the profile chose and ranked the offers: only with consent to the catalog's consent category; without it the decision is generic and `reason` says why",
        properties: { category: str, granted: { type: 'boolean' }, reason: { type: 'string', examples: ['no consent to personalization: generic offers, ranked without her profile'] } },
        required: ['category', 'granted'],
      },
      token: { type: 'string', description: 'The signed decision token: send it back as `properties.decision_token` with feedback (Promotion Viewed, Clicked, Dismissed, Converted); only feedback whose token verifies and names its offer is counted' },
      timings: { type: 'object', additionalProperties: { type: 'number' } },
    },
    required: ['decisionId', 'profileId', 'variant', 'offers', 'suppressed', 'modelVersion', 'context', 'consent', 'token'],
  },
  OfferStats: {
    type: 'object',
    properties: {
      from: str,
      to: str,
      offers: { type: 'array', items: { type: 'object', properties: { offerId: str, variants: { type: 'object', additionalProperties: rates }, total: rates }, required: ['offerId', 'total'] } },
    },
    required: ['from', 'to', 'offers'],
  },
  Published: { type: 'object', properties: { version: str }, required: ['version'], additionalProperties: true },
  Campaigns: {
    type: 'object',
    properties: { version: { type: 'integer' }, channels: { type: 'object', additionalProperties: { type: 'object' } }, campaigns: { type: 'array', items: { type: 'object', properties: { id: str, name: str, enabled: { type: 'boolean' } }, required: ['id', 'name', 'enabled'] } } },
    required: ['version', 'channels', 'campaigns'],
  },
  CampaignStats: {
    type: 'object',
    properties: {
      campaignId: str,
      entered: { type: 'integer' },
      waiting: { type: 'integer' },
      sending: { type: 'integer' },
      exited: { type: 'object', properties: { total: { type: 'integer' }, reasons: { type: 'object', additionalProperties: { type: 'integer' } } }, required: ['total', 'reasons'] },
      sent: { type: 'integer' },
      delivered: { type: 'integer' },
      failed: { type: 'object', properties: { total: { type: 'integer' }, reasons: { type: 'object', additionalProperties: { type: 'integer' } } }, required: ['total', 'reasons'] },
      control: { type: 'object', properties: { heldOut: { type: 'integer' }, converted: { type: 'integer' }, rate: { type: ['number', 'null'] } }, required: ['heldOut', 'converted', 'rate'] },
      treatment: { type: 'object', properties: { sent: { type: 'integer' }, converted: { type: 'integer' }, rate: { type: ['number', 'null'] } }, required: ['sent', 'converted', 'rate'] },
      uplift: { type: ['number', 'null'] },
      conversionWindowHours: { type: 'integer' },
      blocked: { type: 'array', items: str, description: 'What stops the campaign now (disabled; a geofence kind or a placement the current catalog lacks), each as the field and what it means; empty when nothing does' },
    },
    required: ['campaignId', 'entered', 'waiting', 'exited', 'sent', 'delivered', 'failed', 'control', 'treatment', 'uplift', 'conversionWindowHours', 'blocked'],
  },
  ProfileCampaigns: {
    type: 'object',
    properties: {
      profileId: str,
      campaigns: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            campaignId: str,
            name: str,
            enabled: { type: 'boolean' },
            entries: { type: 'array', items: { type: 'object', properties: { status: { enum: ['planned', 'waiting', 'sending', 'sent', 'held-out', 'cancelled', 'failed'] }, reason: str, enteredAt: str, dueAt: str, history: { type: 'array', items: { type: 'object' } } }, required: ['status', 'enteredAt', 'history'] } },
            now: { type: 'object', properties: { inAudience: { type: 'boolean' }, exit: str, consent: { type: 'object' } }, required: ['inAudience', 'consent'] },
          },
          required: ['campaignId', 'name', 'enabled', 'entries', 'now'],
        },
      },
      addresses: {
        type: 'object',
        description: 'Per kind, the address her messages go to (masked: the only part kept in clear), since when it is hers, whether she gave it while logged in, and how many of her other addresses are not used',
        properties: Object.fromEntries(
          ['email', 'phone'].map((kind) => [
            kind,
            {
              type: 'object',
              properties: {
                used: {
                  type: 'object',
                  properties: { address: { type: ['string', 'null'], description: 'a***@e***.com, or ***23 for a phone; null if kept before masks were' }, since: str, givenWhileLoggedIn: { type: 'boolean' } },
                  required: ['address', 'since', 'givenWhileLoggedIn'],
                },
                notUsed: { type: 'integer', minimum: 0 },
              },
              required: ['notUsed'],
            },
          ]),
        ),
        required: ['email', 'phone'],
      },
    },
    required: ['profileId', 'campaigns', 'addresses'],
  },
};
