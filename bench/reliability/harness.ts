import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { Analytics } from '@segment/analytics-node';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadIngestConfig } from '../../lib/ingest/config';
import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { compareSeq } from '../../lib/profile/marks';
import type { Profile } from '../../lib/profile/profile';
import { MemoryStores } from '../../lib/store/memory';
import { STREAM, TABLES, tableNamesFromEnv, type TableDefinition } from '../../lib/store/tables';
import { DynamoStores } from '../../lib/store/dynamo';
import { writeBatchAttributes } from '../../lib/profile/batch';
import { localDynamo, localKinesis } from '../../local/emulators';
import { seededRandom } from '../../local/faults';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { people, personalValues, plan, type Person, type PlannedEvent } from './workload';
import { checkCaps, publishCampaign, sentMessages, settleSends, type CapsReport } from './campaigns';

/**
 * The reliability run (issue #13): the embedded stack under load, faults and hostile input, then
 * every accepted event accounted for.
 *
 * - Load: people send events through the collector (the official Segment client among the senders,
 *   plain batches with an invalid message now and then, single calls) at a fixed rate for a bounded
 *   time, while decisions are asked for at their own rate and some are answered with feedback.
 * - Faults: the ingest's DynamoDB client is throttled before requests and told of timeouts after
 *   requests were served (inside the SDK's retries); the ingest process is killed mid-batch and
 *   started again; at the end the whole stream is delivered again from its start; people log in on
 *   devices whose events sit on different shards, so merges race across shards.
 * - Bad input: random and hostile payloads to the collector, the decision and profile APIs, and raw
 *   records straight onto the stream (oversized, deep, wrong types, invalid UTF-8, prototype keys).
 *
 * - Campaign sends: every product view e-mails her at once (bench/reliability/campaigns.ts), so sends
 *   due together race each other, the decisions' impressions and the ingest.
 *
 * Then: every accepted event is in a profile (stored, and counted once in its person's profile) or
 * in the dead letters with its reason; the profiles equal those of a clean in-memory run of the
 * same stream records; no table, stream record or API answer holds personal data in clear; no person
 * is over any cap of the contact policy, and her contact ledger counts each of her contacts once.
 */
export interface ReliabilityOptions {
  seed: number;
  people: number;
  /** Events per second, for `seconds`. */
  rate: number;
  seconds: number;
  decisionsPerSecond: number;
  /** Times the ingest process is killed mid-run (and started again). */
  kills: number;
  /** Injected into the ingest's DynamoDB client: probability per request. */
  throttle: number;
  timeout: number;
  /** Hostile inputs to the APIs and the stream. */
  fuzzInputs: number;
  log?: (line: string) => void;
}

export interface ReliabilityReport {
  seconds: number;
  sent: number;
  accepted: number;
  /** Invalid messages the collector refused (in a batch: dead-lettered with their position). */
  refused: number;
  inProfiles: number;
  deadLettered: { collector: number; ingest: number; mapping: number };
  /** Accepted events neither stored nor dead-lettered, stored events their person's profile does not count, and stored events no profile counts. */
  lost: number;
  lostDetail: { notStored: number; notCounted: number; countedOverAll: number; storedOverAll: number };
  countedTwice: number;
  /** Counts of a person's profile that differ from what her accepted events make (person, count, got, expected). */
  countMismatches: string[];
  /** Offer statistics that differ from the accepted feedback (offer, variant, got, expected). */
  offerStatisticsMismatches: string[];
  /** Copies of accepted messages another producer put on the stream again (each must count once). */
  copies: number;
  /** Scores written on profiles while the load ran (another writer of their items). */
  scoreWrites: number;
  decisions: number;
  faults: { throttles: number; timeouts: number; kills: number; replays: number };
  inputsTried: number;
  fiveXx: number;
  /** People whose profile differs from a clean run of the same stream records (names the first few). */
  differentFromCleanRun: string[];
  /** Personal values found in clear (where). */
  personalDataInClear: string[];
  /** What delivering the whole stream again changed (the first few differences, before and after); empty is right. */
  replayChanges: string[];
  /** Campaign sends, and the caps and her contact ledger checked against what happened. */
  campaigns: CapsReport;
}

const WRITE_KEY = 'dev-write-key';
const API_KEY = 'dev-api-key';
const READ_KEY = 'dev-read-key';
const ADMIN_KEY = 'dev-admin-key';
const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ledger {
  sent: number;
  /** Every accepted message by its id, with whose it is. */
  accepted: Map<string, PlannedEvent>;
  refused: number;
  fiveXx: number;
  inputs: number;
  decisions: number;
  /** Copies of accepted messages put on the stream again by "another producer", on other shards. */
  copies: number;
  /** Scores the "nightly job" wrote on profiles while the load ran. */
  scoreWrites: number;
  errors: string[];
}

export async function runReliability(o: ReliabilityOptions): Promise<ReliabilityReport> {
  const log = o.log ?? (() => undefined);
  // The ingest's warnings (a group failed and will be retried) are what the faults are for: not news here.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  // The run's catalog and campaign are published at its start and read again within a second.
  process.env.CATALOG_REFRESH_MS ??= '1000';
  const dir = mkdtempSync(join(tmpdir(), 'moment-reliability-'));
  const checkpointFile = join(dir, 'checkpoints.json');
  const stack = await startLocalStack({
    port: 0,
    quiet: true,
    separateEmulators: true,
    checkpointFile,
    faults: { throttle: o.throttle, timeout: o.timeout, seed: o.seed },
    // As deployed: the mapping never gives up on a record (retryAttempts -1).
    mapping: { maximumRetryAttempts: -1, batchSize: 50, maxBatchingWindowMs: 50 },
  });
  const started = Date.now();
  const ledger: Ledger = { sent: 0, accepted: new Map(), refused: 0, fiveXx: 0, inputs: 0, decisions: 0, copies: 0, scoreWrites: 0, errors: [] };
  const dynamo = localDynamo(stack.emulators.dynamodbEndpoint);
  try {
    await publishCampaign(stack, ADMIN_KEY, Number(process.env.CATALOG_REFRESH_MS));
    const persons = people(o.people, o.seed);
    const kills = await underLoad(stack, persons, o, ledger, log);
    await stack.poller.idle(180_000);
    const stores = new DynamoStores(dynamo, tableNamesFromEnv());
    await settleSends(stack, () => stores.activations.all(1_000_000));
    log(`settled after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const replayChanges = await redeliverEverything(stack, dynamo, checkpointFile);
    const checked = await check(stack, dynamo, persons, ledger, log);
    return {
      ...checked,
      seconds: (Date.now() - started) / 1000,
      faults: { throttles: stack.ingest.faults.throttle, timeouts: stack.ingest.faults.timeout, kills, replays: 1 },
      replayChanges,
    };
  } finally {
    dynamo.destroy();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
    if (ledger.errors.length > 0) log(`client errors: ${ledger.errors.slice(0, 5).join('; ')}`);
  }
}

/** The load, the decisions, the kills and the hostile input, all at once; returns how many kills there were. */
async function underLoad(stack: LocalStack, persons: Person[], o: ReliabilityOptions, ledger: Ledger, log: (line: string) => void): Promise<number> {
  const events = plan(persons, Math.round(o.rate * o.seconds), o.seed);
  log(`load: ${events.length} events from ${persons.length} people over ${o.seconds} s, ${o.decisionsPerSecond} decisions/s, ${o.kills} kills`);
  let kills = 0;
  const killer = async () => {
    const random = seededRandom(o.seed ^ 0xdead);
    for (let k = 0; k < o.kills; k++) {
      await sleep((o.seconds * 1000 * (0.2 + random() * 0.6)) / o.kills);
      await stack.ingest.kill();
      kills += 1;
      await sleep(100 + random() * 400);
      await stack.ingest.restart();
    }
  };
  let loading = true;
  const copier = copyOnOtherShards(stack, o, ledger, () => !loading);
  await Promise.all([sendLoad(stack, persons, events, o, ledger), askDecisions(stack, persons, o, ledger), killer(), fuzz(stack, o, ledger), writeScores(stack, persons, o, ledger)]);
  loading = false;
  await copier;
  return kills;
}

/** The nightly job's writer, scoring people while the load runs: another writer of the profiles' items. */
async function writeScores(stack: LocalStack, persons: Person[], o: ReliabilityOptions, ledger: Ledger): Promise<void> {
  const random = seededRandom(o.seed ^ 0x5c0e);
  const client = localDynamo(stack.emulators.dynamodbEndpoint);
  const stores = new DynamoStores(client, tableNamesFromEnv());
  try {
    for (let t = 0; t < o.seconds * 4; t++) {
      await sleep(250);
      const p = persons[Math.floor(random() * persons.length)] as Person;
      const owner = (await stores.graph.getOwners([`userId:${p.userId}`, `anonymousId:${p.devices[0]}`])).values().next().value;
      if (owner === undefined) continue;
      await writeBatchAttributes(stores, owner, { propensity: { value: Math.round(random() * 100) / 100, asOf: new Date().toISOString() } })
        .then(() => (ledger.scoreWrites += 1))
        .catch(() => undefined);
    }
  } finally {
    client.destroy();
  }
}

/** The messageId of a stream record's data, if it is a message (the fuzzer puts anything on the stream). */
function messageIdOf(data: Uint8Array | undefined): string | undefined {
  try {
    const id = (JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as { messageId?: unknown }).messageId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Another producer sends some accepted messages again, as the stream carries them, under another
 * partition key (so on any shard), while the load runs: each must still count once.
 */
async function copyOnOtherShards(stack: LocalStack, o: ReliabilityOptions, ledger: Ledger, done: () => boolean): Promise<void> {
  const random = seededRandom(o.seed ^ 0xc0b1);
  const kinesis = localKinesis(stack.emulators.kinesisEndpoint);
  try {
    const shards = (await kinesis.send(new DescribeStreamCommand({ StreamName: STREAM.localName }))).StreamDescription?.Shards ?? [];
    const iterators = new Map<string, string | undefined>();
    for (const shard of shards) {
      const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: STREAM.localName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
      iterators.set(shard.ShardId as string, it.ShardIterator);
    }
    while (!done()) {
      await sleep(300);
      for (const [shardId, iterator] of iterators) {
        if (iterator === undefined) continue;
        const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        iterators.set(shardId, res.NextShardIterator);
        const picked = (res.Records ?? []).filter((r) => !(r.PartitionKey ?? '').startsWith('copy-') && random() < 0.03);
        const copies = picked.flatMap((r) => {
          const messageId = messageIdOf(r.Data);
          return messageId !== undefined && ledger.accepted.has(messageId) ? [{ Data: r.Data, PartitionKey: `copy-${messageId}` }] : [];
        });
        if (copies.length === 0) continue;
        await kinesis.send(new PutRecordsCommand({ StreamName: STREAM.localName, Records: copies }));
        ledger.copies += copies.length;
      }
    }
  } finally {
    kinesis.destroy();
  }
}

/** Delivers the whole stream again from its start (the checkpoints gone); what that changed. */
async function redeliverEverything(stack: LocalStack, dynamo: DynamoDBClient, checkpointFile: string): Promise<string[]> {
  const before = await snapshot(dynamo);
  await stack.ingest.kill();
  rmSync(checkpointFile, { force: true });
  await stack.ingest.restart();
  await stack.poller.idle(180_000);
  return changes(before, await snapshot(dynamo));
}

/** Every accepted event accounted for, the profiles against a clean run, personal data looked for everywhere. */
async function check(stack: LocalStack, dynamo: DynamoDBClient, persons: Person[], ledger: Ledger, log: (line: string) => void) {
  const tables = await scanTables(dynamo);
  const records = await readStream(stack);
  const clean = await cleanRun(records);
  // The campaign's e-mails: her profile counts their `Message Sent` events as hers.
  const sent = sentMessages(records, persons);
  return {
    sent: ledger.sent,
    accepted: ledger.accepted.size,
    refused: ledger.refused,
    ...account(persons, ledger, tables, sent),
    campaigns: checkCaps(persons, [...ledger.accepted.values()], sent, tables.all, tables.profiles),
    offerStatisticsMismatches: await checkOfferStatistics(stack, ledger),
    copies: ledger.copies,
    scoreWrites: ledger.scoreWrites,
    decisions: ledger.decisions,
    inputsTried: ledger.inputs,
    fiveXx: ledger.fiveXx,
    differentFromCleanRun: compareWithClean(persons.filter((p) => !p.shared), tables.profiles, clean, log),
    personalDataInClear: await findPersonalData(stack, persons, tables, records),
  };
}

// ---- Load --------------------------------------------------------------------------------------

function accept(ledger: Ledger, e: PlannedEvent): void {
  ledger.accepted.set(e.message.messageId as string, e);
}

async function post(stack: LocalStack, path: string, body: unknown, ledger: Ledger): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 500) ledger.fiveXx += 1;
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** Sends the planned events at the fixed rate, each person through its own kind of client. */
async function sendLoad(stack: LocalStack, persons: Person[], events: PlannedEvent[], o: ReliabilityOptions, ledger: Ledger): Promise<void> {
  const segment = new Analytics({ writeKey: WRITE_KEY, host: stack.url, flushAt: 20, flushInterval: 200, maxRetries: 5 });
  segment.on('error', (e) => ledger.errors.push(String((e as { reason?: unknown }).reason ?? e.code)));
  const random = seededRandom(o.seed ^ 0xbad);
  const pending: Array<Promise<unknown>> = [];
  const perTick = Math.max(1, Math.round(o.rate / 10));
  let invalid = 0;
  for (let i = 0; i < events.length; i += perTick) {
    const tick = events.slice(i, i + perTick);
    const batch: PlannedEvent[] = [];
    for (const e of tick) {
      ledger.sent += 1;
      const person = persons[e.person] as Person;
      if (person.sender === 'segment') {
        pending.push(
          new Promise<void>((resolve) => {
            const m = { ...e.message } as Record<string, unknown>;
            const done = (err: unknown) => {
              if (!err) accept(ledger, e);
              resolve();
            };
            if (m.type === 'identify') segment.identify(m as never, done);
            else if (m.type === 'page') segment.page(m as never, done);
            else segment.track(m as never, done);
          }),
        );
      } else if (person.sender === 'batch') batch.push(e);
      else {
        pending.push(
          post(stack, `/v1/${e.message.type as string}`, e.message, ledger).then((r) => {
            if (r.status === 200) accept(ledger, e);
          }),
        );
      }
    }
    if (batch.length > 0) {
      // Now and then a client sends a message it got wrong: the batch keeps the others.
      const bad = random() < 0.3 ? [{ type: 'track', anonymousId: 'rel-bad', event: '', messageId: `rel-bad-${invalid++}` }] : [];
      ledger.sent += bad.length;
      pending.push(
        post(stack, '/v1/batch', { batch: [...batch.map((e) => e.message), ...bad] }, ledger).then((r) => {
          if (r.status !== 200) return;
          const rejected = new Set(((r.body.rejected as Array<{ index: number }> | undefined) ?? []).map((x) => x.index));
          batch.forEach((e, index) => (rejected.has(index) ? undefined : accept(ledger, e)));
          ledger.refused += rejected.size;
        }),
      );
    }
    await sleep(100);
  }
  await Promise.all(pending);
  await segment.closeAndFlush({ timeout: 30_000 });
}

/** Decisions for random people at a fixed rate; half are answered with an impression (a feedback event). */
async function askDecisions(stack: LocalStack, persons: Person[], o: ReliabilityOptions, ledger: Ledger): Promise<void> {
  const random = seededRandom(o.seed ^ 0xdec);
  const midday = `${new Date().toISOString().slice(0, 10)}T12:00:00Z`;
  const pending: Array<Promise<void>> = [];
  const perTick = o.decisionsPerSecond / 10;
  let owed = 0;
  for (let t = 0; t < o.seconds * 10; t++) {
    owed += perTick;
    for (; owed >= 1; owed -= 1) {
      const p = persons[Math.floor(random() * persons.length)] as Person;
      const device = p.devices[0] as string;
      const feedback = random() < 0.5;
      pending.push(
        (async () => {
          const res = await fetch(`${stack.url}/v1/decisions`, {
            method: 'POST',
            headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
            // At midday, so that quiet hours never leave a decision without offers to give feedback on.
            body: JSON.stringify({ identity: { namespace: 'anonymousId', value: device }, placement: 'home', count: 2, context: { timestamp: midday, timezone: 'Europe/London', channel: 'app' } }),
          });
          ledger.decisions += 1;
          if (res.status >= 500) ledger.fiveXx += 1;
          const d = (await res.json()) as { decisionId?: string; offers?: Array<{ offerId: string }>; variant?: string; token?: string };
          const offer = d.offers?.[0]?.offerId;
          if (!feedback || offer === undefined) return;
          const e: PlannedEvent = {
            person: p.index,
            device,
            message: { type: 'track', anonymousId: device, event: 'Promotion Viewed', messageId: `rel-fb-${d.decisionId}`, properties: { decision_id: d.decisionId, promotion_id: offer, variant: d.variant, decision_token: d.token } },
          };
          ledger.sent += 1;
          const r = await post(stack, '/v1/track', e.message, ledger);
          if (r.status === 200) accept(ledger, e);
        })(),
      );
    }
    await sleep(100);
  }
  await Promise.all(pending);
}

// ---- Bad input ---------------------------------------------------------------------------------

const PROTO = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

/** Random and hostile payloads to every API and straight onto the stream; none may be answered 5xx. */
async function fuzz(stack: LocalStack, o: ReliabilityOptions, ledger: Ledger): Promise<void> {
  const key = fc.oneof(fc.constantFrom(...PROTO, 'category', 'email', 'event', 'type', 'batch'), fc.string({ maxLength: 8 }));
  const json = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
    fc.record({ type: fc.constantFrom('track', 'identify', 'x'), anonymousId: fc.oneof(fc.string(), fc.integer(), fc.constantFrom(...PROTO)), event: fc.oneof(fc.string(), fc.constant(null)), properties: fc.dictionary(key, fc.jsonValue({ maxDepth: 2 })) }),
  );
  const text = fc.oneof(
    json.map((v) => JSON.stringify(v)),
    json.map((v) => JSON.stringify({ batch: [v, v] })),
    fc.integer({ min: 20, max: 3000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`),
    fc.integer({ min: 40_000, max: 700_000 }).map((n) => JSON.stringify({ anonymousId: 'big', event: 'x', properties: { pad: 'x'.repeat(n) } })),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
  const bytes = fc.oneof(
    text.map((t) => Buffer.from(t)),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    text.map((t) => gzipSync(Buffer.from(t))),
  );
  const samples = fc.sample(
    fc.tuple(fc.constantFrom('collector', 'collector', 'decisions', 'profiles', 'stream'), bytes, fc.constantFrom('/v1/track', '/v1/batch', '/v1/identify', '/v1/page'), fc.boolean()),
    { numRuns: o.fuzzInputs, seed: o.seed },
  );
  const kinesis = localKinesis(stack.emulators.kinesisEndpoint);
  try {
    for (const [target, body, path, gzip] of samples) {
      ledger.inputs += 1;
      let status = 200;
      if (target === 'collector') {
        const headers: Record<string, string> = { authorization: basic, 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) };
        status = (await fetch(`${stack.url}${path}`, { method: 'POST', headers, body })).status;
      } else if (target === 'decisions') {
        status = (await fetch(`${stack.url}/v1/decisions`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body })).status;
      } else if (target === 'profiles') {
        const segment = encodeURIComponent(body.toString('latin1').slice(0, 300));
        const paths = [`/v1/profiles/${segment}`, `/v1/profiles/${segment}/journey?limit=${segment}`, `/v1/identities/email/${segment}`, `/v1/identities/${segment}/x`];
        for (const p of paths) {
          const res = await fetch(`${stack.url}${p}`, { headers: { 'x-api-key': READ_KEY } });
          if (res.status >= 500) ledger.fiveXx += 1;
        }
        continue;
      } else {
        await kinesis.send(new PutRecordsCommand({ StreamName: STREAM.localName, Records: [{ Data: body.subarray(0, 900_000), PartitionKey: `fuzz-${ledger.inputs % 7}` }] }));
      }
      if (status >= 500) ledger.fiveXx += 1;
    }
  } finally {
    kinesis.destroy();
  }
}

// ---- Reading back --------------------------------------------------------------------------------

type Item = Record<string, unknown>;

async function scan(dynamo: DynamoDBClient, table: string): Promise<Item[]> {
  const doc = DynamoDBDocumentClient.from(dynamo);
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

interface Tables {
  all: Record<string, Item[]>;
  profiles: Map<string, Profile>;
  owners: Map<string, string>;
  events: Map<string, string>;
  /** The event name (or type) of every stored event. */
  eventKinds: string[];
  letters: Item[];
}

async function scanTables(dynamo: DynamoDBClient): Promise<Tables> {
  const all: Record<string, Item[]> = {};
  for (const def of Object.values(TABLES) as TableDefinition[]) all[def.localName] = await scan(dynamo, def.localName);
  // Items without a document hold only merges pending into a survivor not written yet.
  const profiles = new Map(
    (all[TABLES.profiles.localName] ?? [])
      .filter((i) => typeof i.doc === 'string')
      .map((i) => [i.profileId as string, { ...(JSON.parse(i.doc as string) as Profile), version: Number(i.version) }]),
  );
  const owners = new Map(
    (all[TABLES.graph.localName] ?? []).filter((i) => (i.pk as string).startsWith('ID#')).map((i) => [(i.pk as string).slice(3), i.profileId as string]),
  );
  const events = new Map((all[TABLES.events.localName] ?? []).map((i) => [i.messageId as string, i.profileId as string]));
  const eventKinds = (all[TABLES.events.localName] ?? []).map((i) => {
    const e = JSON.parse(i.event as string) as { type: string; event?: string };
    return e.type === 'track' ? (e.event as string) : e.type;
  });
  // The dead-letter table also holds each letter's index entries (no reason): letters are the others.
  return { all, profiles, owners, events, eventKinds, letters: (all[TABLES.deadLetters.localName] ?? []).filter((i) => typeof i.reason === 'string') };
}

/** What a replay must not change: every profile's document (less its version and marks), owners and stored events. */
async function snapshot(dynamo: DynamoDBClient): Promise<Record<string, string>> {
  const t = await scanTables(dynamo);
  const out: Record<string, string> = {};
  // A link may be shortened to the live end of its chain: the same link.
  for (const [key, owner] of t.owners) out[`owner ${key}`] = root(t.profiles, owner)?.profileId ?? owner;
  for (const p of t.profiles.values()) {
    const { version: _v, marks: _m, ...rest } = p;
    out[`profile ${p.profileId}`] = canonical(rest);
  }
  for (const [id, profileId] of t.events) out[`event ${id}`] = profileId;
  return out;
}

/** What differs between two snapshots (the first few keys, each with both values), empty when nothing does. */
function changes(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys
    .filter((k) => before[k] !== after[k])
    .slice(0, 5)
    .map((k) => `${k}\n    before: ${before[k] ?? '(none)'}\n    after:  ${after[k] ?? '(none)'}`);
}

/** Every record on the stream, shard by shard in order (what a clean run is given). */
async function readStream(stack: LocalStack): Promise<StreamRecord[]> {
  const kinesis = localKinesis(stack.emulators.kinesisEndpoint);
  try {
    const shards = (await kinesis.send(new DescribeStreamCommand({ StreamName: STREAM.localName }))).StreamDescription?.Shards ?? [];
    const out: StreamRecord[] = [];
    for (const shard of shards) {
      let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: STREAM.localName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      for (;;) {
        const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        for (const r of res.Records ?? []) out.push({ shardId: shard.ShardId as string, sequenceNumber: r.SequenceNumber as string, data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64') });
        if ((res.Records ?? []).length === 0) break;
        iterator = res.NextShardIterator;
      }
    }
    return out;
  } finally {
    kinesis.destroy();
  }
}

const root = (profiles: Map<string, Profile>, id: string): Profile | undefined => {
  let p = profiles.get(id);
  for (let hops = 0; p?.mergedInto !== undefined && hops < 32; hops++) p = profiles.get(p.mergedInto);
  return p;
};

/** The person's profile, found by her userId as the read API does. */
const profileOf = (t: { profiles: Map<string, Profile>; owners: Map<string, string> }, p: Person): Profile | undefined => {
  const owner = t.owners.get(`userId:${p.userId}`);
  return owner === undefined ? undefined : root(t.profiles, owner);
};

/** What one person's accepted events should make her profile count. */
function expectedCounts(events: PlannedEvent[]): Record<string, number> {
  const out: Record<string, number> = { eventCount: 0, productViews: 0, cartAdds: 0, orderCount: 0, revenue: 0, pageViews: 0 };
  for (const { message: m } of events) {
    out.eventCount = (out.eventCount as number) + 1;
    if (m.type === 'page' || m.type === 'screen') out.pageViews = (out.pageViews as number) + 1;
    if (m.event === 'Product Viewed') out.productViews = (out.productViews as number) + 1;
    if (m.event === 'Product Added') out.cartAdds = (out.cartAdds as number) + 1;
    if (m.event === 'Order Completed') {
      out.orderCount = (out.orderCount as number) + 1;
      out.revenue = Math.round(((out.revenue as number) + ((m.properties as { total: number }).total ?? 0)) * 100) / 100;
    }
  }
  return out;
}

/**
 * Every accepted event accounted for: stored (its journey) or dead-lettered, and counted once. Per
 * person (people who share a device aside: whose their tablet's events are depends on who logged in
 * last), every count of her profile equals what her accepted events make (views, adds, orders,
 * revenue, pages, all events); and over all live profiles, the events counted equal the events stored
 * (the engine's own aside), so nothing is lost or counted twice anywhere, shared devices and hostile
 * records included.
 */
function account(persons: Person[], ledger: Ledger, t: Tables, sent: PlannedEvent[] = []) {
  const ingestLetters = t.letters.filter((l) => l.source === 'ingest');
  const letteredIds = new Set(
    ingestLetters.map((l) => {
      try {
        return (JSON.parse(Buffer.from(l.data as string, 'base64').toString('utf8')) as { messageId?: string }).messageId;
      } catch {
        return undefined;
      }
    }),
  );
  let notStored = 0;
  let inProfiles = 0;
  for (const id of ledger.accepted.keys()) {
    if (t.events.has(id)) inProfiles += 1;
    else if (!letteredIds.has(id)) notStored += 1;
  }
  const byPerson = new Map<number, PlannedEvent[]>();
  for (const e of [...ledger.accepted.values(), ...sent]) byPerson.set(e.person, [...(byPerson.get(e.person) ?? []), e]);
  let countedTwice = 0;
  let notCounted = 0;
  const mismatches: string[] = [];
  for (const p of persons.filter((x) => !x.shared)) {
    const expected = expectedCounts(byPerson.get(p.index) ?? []);
    const aggregates = (profileOf(t, p)?.aggregates ?? {}) as Record<string, unknown>;
    for (const [name, want] of Object.entries(expected)) {
      const got = (aggregates[name] as number | undefined) ?? 0;
      if (name === 'eventCount') {
        countedTwice += Math.max(0, got - want);
        notCounted += Math.max(0, want - got);
      }
      if (got !== want) mismatches.push(`${p.userId} ${name}: ${got}, not ${want}`);
    }
  }
  const counted = [...t.profiles.values()].filter((p) => p.mergedInto === undefined).reduce((n, p) => n + ((p.aggregates.eventCount as number | undefined) ?? 0), 0);
  const storedNotSystem = t.eventKinds.filter((kind) => kind !== 'Decision Made').length;
  return {
    inProfiles,
    lostDetail: { notStored, notCounted, countedOverAll: counted, storedOverAll: storedNotSystem },
    countMismatches: mismatches,
    deadLettered: {
      collector: t.letters.filter((l) => l.source === 'collect').length,
      ingest: ingestLetters.length,
      mapping: t.letters.filter((l) => l.source === 'ingest-mapping').length,
    },
    lost: notStored + notCounted + Math.max(0, storedNotSystem - counted),
    countedTwice: countedTwice + Math.max(0, counted - storedNotSystem),
  };
}

/** The offer statistics: per offer and variant, the impressions counted against the accepted feedback. */
async function checkOfferStatistics(stack: LocalStack, ledger: Ledger): Promise<string[]> {
  const expected = new Map<string, number>();
  for (const { message: m } of ledger.accepted.values()) {
    if (m.event !== 'Promotion Viewed') continue;
    const p = m.properties as { promotion_id: string; variant?: string };
    const key = `${p.promotion_id} ${p.variant === 'personalised' || p.variant === 'holdout' ? p.variant : 'unknown'}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const res = await fetch(`${stack.url}/v1/offers/stats?from=${day(-1)}&to=${day(1)}`, { headers: { 'x-api-key': READ_KEY } });
  const report = (await res.json()) as { offers: Array<{ offerId: string; variants: Record<string, { impressions: number }> }> };
  const mismatches: string[] = [];
  const keys = new Set([...expected.keys(), ...report.offers.flatMap((o) => Object.entries(o.variants).filter(([, v]) => v.impressions > 0).map(([v]) => `${o.offerId} ${v}`))]);
  for (const key of keys) {
    const [offerId, variant] = key.split(' ') as [string, string];
    const got = report.offers.find((o) => o.offerId === offerId)?.variants[variant]?.impressions ?? 0;
    if (got !== (expected.get(key) ?? 0)) mismatches.push(`${key}: ${got} impressions, not ${expected.get(key) ?? 0}`);
  }
  return mismatches;
}

/** The same stream records through the ingest in memory, shard by shard, with no fault. */
async function cleanRun(records: StreamRecord[]): Promise<MemoryStores> {
  const stores = new MemoryStores();
  const config = { ...loadIngestConfig(process.env.IDENTITY_SALT ?? 'dev-salt') };
  const byShard = new Map<string, StreamRecord[]>();
  for (const r of records) byShard.set(r.shardId, [...(byShard.get(r.shardId) ?? []), r]);
  for (const list of byShard.values()) {
    list.sort((a, b) => compareSeq(a.sequenceNumber, b.sequenceNumber));
    for (let i = 0; i < list.length; i += 50) await ingestBatch(list.slice(i, i + 50), stores, config);
  }
  return stores;
}

/** JSON with object keys sorted: two states equal as data print the same, whatever order they were built in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * A person as her profile holds her: identities, traits, every aggregate and her first and last
 * event time. What depends on how the records were batched (segment entry times, network listing
 * times, processing marks, ids of profiles) is left out.
 */
function fingerprint(p: Profile | undefined): string {
  if (p === undefined) return 'none';
  return canonical([p.identities, p.traits, p.aggregates, p.createdAt, p.updatedAt]);
}

function compareWithClean(persons: Person[], profiles: Map<string, Profile>, clean: MemoryStores, log: (line: string) => void): string[] {
  const t = { profiles, owners: new Map<string, string>() };
  const c = { profiles: clean.profileItems, owners: clean.owners };
  const different: string[] = [];
  for (const p of persons) {
    const owner = [...profiles.values()].find((x) => x.mergedInto === undefined && x.identities.userId?.[0] === p.userId);
    t.owners.set(`userId:${p.userId}`, owner?.profileId ?? '');
    const mine = fingerprint(owner);
    const theirs = fingerprint(profileOf(c, p));
    if (mine !== theirs) {
      different.push(p.userId);
      if (different.length <= 3) log(`${p.userId} differs from the clean run:\n    run:   ${mine}\n    clean: ${theirs}`);
    }
  }
  return different;
}

/** Where any of the people's personal values appears in clear: tables, stream records, API answers. */
async function findPersonalData(stack: LocalStack, persons: Person[], t: Tables, records: StreamRecord[]): Promise<string[]> {
  const values = personalValues(persons);
  const found: string[] = [];
  const look = (where: string, text: string) => {
    for (const v of values) if (text.includes(v)) found.push(`${where}: ${v}`);
  };
  for (const [table, items] of Object.entries(t.all)) look(`table ${table}`, JSON.stringify(items));
  look('dead-letter data', t.letters.map((l) => Buffer.from(String(l.data), 'base64').toString('utf8')).join('\n'));
  look('stream', records.map((r) => Buffer.from(r.data, 'base64').toString('utf8')).join('\n'));
  for (const p of persons.slice(0, 5)) {
    const id = (await (await fetch(`${stack.url}/v1/identities/userId/${p.userId}`, { headers: { 'x-api-key': READ_KEY } })).json()) as { profileId?: string };
    for (const path of [`/v1/profiles/${id.profileId}`, `/v1/profiles/${id.profileId}/journey`, '/v1/dead-letters']) {
      look(`GET ${path}`, await (await fetch(`${stack.url}${path}`, { headers: { 'x-api-key': READ_KEY } })).text());
    }
  }
  return [...new Set(found)];
}
