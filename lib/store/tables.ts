/**
 * One definition of each table and the stream, used by the CDK app and by the embedded local stack,
 * so that both build exactly the same keys and indexes.
 */
export interface TableDefinition {
  /** Logical name; the physical name comes from the environment variable `envVar`. */
  id: 'Profiles' | 'Graph' | 'Events' | 'DeadLetters' | 'Config' | 'OfferStats' | 'Privacy' | 'Activations' | 'Contacts';
  envVar: string;
  localName: string;
  partitionKey: string;
  sortKey?: string;
  ttlAttribute?: string;
  /** Global secondary indexes; `projection` is what an index copies of each item (ALL unless said: KEYS_ONLY when its queries read only keys). */
  indexes?: Array<{ name: string; partitionKey: string; sortKey: string; projection?: 'ALL' | 'KEYS_ONLY' }>;
  /** Why the table exists, for readers of the CDK app. */
  purpose: string;
}

export const TABLES = {
  profiles: {
    id: 'Profiles',
    envVar: 'PROFILES_TABLE',
    localName: 'profiles',
    partitionKey: 'profileId',
    purpose: 'One item per customer profile (or tombstone pointing to its survivor): identities, traits, aggregates, high-water marks.',
  },
  graph: {
    id: 'Graph',
    envVar: 'GRAPH_TABLE',
    localName: 'identity-graph',
    partitionKey: 'pk',
    sortKey: 'sk',
    // Only network index entries carry it: an identifier's owner never expires.
    ttlAttribute: 'expiresAt',
    // Links by the profile they name (only links carry `profileId`): an erasure finds every link to her, also one a batch in flight wrote.
    indexes: [{ name: 'byOwner', partitionKey: 'profileId', sortKey: 'pk', projection: 'KEYS_ONLY' }],
    purpose: 'The identity graph: identifier -> profile, and the network index (who was seen on which network; entries expire a window after their last listing).',
  },
  events: {
    id: 'Events',
    envVar: 'EVENTS_TABLE',
    localName: 'events',
    partitionKey: 'messageId',
    ttlAttribute: 'expiresAt',
    indexes: [{ name: 'byProfile', partitionKey: 'profileId', sortKey: 'ts' }],
    purpose: 'Every accepted event by messageId (dedupe of producer retries), by profile and time for journeys and nightly training.',
  },
  deadLetters: {
    id: 'DeadLetters',
    envVar: 'DEAD_LETTER_TABLE',
    localName: 'dead-letters',
    partitionKey: 'id',
    ttlAttribute: 'expiresAt',
    // A person's letters by the salted hashes of the identifiers they carry (lib/privacy/letters.ts): one small entry per hash and letter, only its keys projected.
    indexes: [{ name: 'byIdentifier', partitionKey: 'identifierHash', sortKey: 'letterId', projection: 'KEYS_ONLY' }],
    purpose: "Messages the collector rejected from a batch and records the ingest could not accept, with the reason and the data without its personal data (at most 8 KB); and an index entry per identifier a letter carries (a salted hash, never the identifier), so a person's letters are found without a scan.",
  },
  config: {
    id: 'Config',
    envVar: 'CONFIG_TABLE',
    localName: 'config',
    partitionKey: 'name',
    purpose: 'Configuration changed at run time without a redeploy (the offer catalog), validated before it is stored.',
  },
  offerStats: {
    id: 'OfferStats',
    envVar: 'OFFER_STATS_TABLE',
    localName: 'offer-stats',
    partitionKey: 'offerId',
    sortKey: 'day',
    // Only feedback claims carry it: the counters are kept.
    ttlAttribute: 'expiresAt',
    purpose: 'Impressions, clicks, dismissals and conversions per offer, UTC day of the decision and variant, from feedback whose decision token verifies (a click, dismissal or conversion only beside its impression); and each counted feedback\'s claim (decision, offer, kind), so a replay is not counted again.',
  },
  privacy: {
    id: 'Privacy',
    envVar: 'PRIVACY_TABLE',
    localName: 'privacy',
    partitionKey: 'pk',
    sortKey: 'sk',
    purpose: "The privacy API's records, apart from the data they describe: suppressed identifiers (salted hashes only), erasures, and the audit log (who, when, what).",
  },
  activations: {
    id: 'Activations',
    envVar: 'ACTIVATIONS_TABLE',
    localName: 'activations',
    partitionKey: 'pk',
    sortKey: 'sk',
    ttlAttribute: 'expiresAt',
    indexes: [
      { name: 'byCampaign', partitionKey: 'campaignId', sortKey: 'sk' },
      { name: 'due', partitionKey: 'dueShard', sortKey: 'dueAt' },
    ],
    purpose:
      'Triggered campaigns: one item per trigger occurrence and profile (planned, waiting, sent, held out, cancelled or failed, with why), her last entry per campaign (re-entry rules), and her contact ledger per local day (what the caps count: sends reserved before delivery, in-app impressions; expires 3 days after the day).',
  },
  contacts: {
    id: 'Contacts',
    envVar: 'CONTACTS_TABLE',
    localName: 'contacts',
    partitionKey: 'id',
    ttlAttribute: 'expiresAt',
    purpose: 'Contact addresses for the e-mail and SMS channels, sealed (envelope encryption under the contact KMS key), by the hashed identifier they belong to: written by the collector, opened only by the send function.',
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;

export const STREAM = {
  envVar: 'EVENT_STREAM_NAME',
  localName: 'events',
  /** Kinesis keeps records 24 hours by default; the ingest retries within that. */
  localShardCount: 2,
} as const;

/** How long raw events are kept for journeys and training (TTL). */
export const EVENT_RETENTION_DAYS = 400;
export const DEAD_LETTER_RETENTION_DAYS = 14;
/** How long campaign entries are kept (statistics, re-entry rules, why she did or did not get a message). */
export const ACTIVATION_RETENTION_DAYS = 400;
/** How long an entry is kept once it ended (sent, held out, cancelled, failed): the statistics' reach. */
export const ENDED_ACTIVATION_RETENTION_DAYS = 90;
/** How long a sealed contact address is kept after it was last given (one never given again lapses). */
export const CONTACT_RETENTION_DAYS = 400;

/** Resolves table names from the environment (set by the CDK app or the local stack). */
export function tableNamesFromEnv(env: NodeJS.ProcessEnv = process.env): Record<TableName, string> {
  const out = {} as Record<TableName, string>;
  for (const [key, def] of Object.entries(TABLES) as Array<[TableName, TableDefinition]>) {
    out[key] = env[def.envVar] ?? def.localName;
  }
  return out;
}
