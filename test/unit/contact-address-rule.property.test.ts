import fc from 'fast-check';
import { AddressSealer, chooseAddress, LocalDataKeys } from '../../lib/campaign/addresses';
import { collect } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { followMerges } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, SequenceFactory } from '../support/factories';

/**
 * The address rule (docs/campaigns.md "Which address"), as a property over what anyone holding the
 * public write key can send: identify calls with or without her userId, from her devices or others',
 * carrying her addresses or an attacker's, in any order, in requests and stream batches of any size,
 * delivered again. Through the real collector (which seals) and the real ingest (which resolves,
 * merges and folds), in memory.
 *
 * The rule: the address sent to is the first one given with her userId. So an address first attached
 * to her by a call without her login (an anonymous seal, a device or address of hers named beside
 * it) never outranks one she gave while logged in before that address was given with her userId;
 * and a later address never replaces the first one given with her userId.
 */
const USERS = ['her', 'other'] as const;
const DEVICES = ['her-phone', 'her-laptop', 'mallory-phone'] as const;
const ADDRESSES = ['her@example.com', 'her.work@example.com', 'mallory@evil.example', 'eve@evil.example'] as const;

const identifyCall = fc
  .record({
    user: fc.constantFrom(undefined, ...USERS),
    device: fc.constantFrom(undefined, ...DEVICES),
    email: fc.constantFrom(undefined, ...ADDRESSES),
  })
  .filter((c) => c.user !== undefined || c.device !== undefined);
type Call = typeof identifyCall extends fc.Arbitrary<infer T> ? T : never;

const scenario = fc.record({
  calls: fc.array(identifyCall, { minLength: 1, maxLength: 10 }),
  /** Where a request ends (calls of one request share its receipt time). */
  requestEnds: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
  /** Where a stream batch ends (the event source mapping's batches). */
  batchEnds: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
  redeliver: fc.boolean(),
});

const T0 = Date.parse('2026-11-20T10:00:00Z');
const config = ingestConfig();
const privacy = { salt: config.salt, personalData: config.events.personalData, identity: config.rules };
const sealer = new AddressSealer(new LocalDataKeys(Buffer.alloc(32, 5)));

/** Each call as the collector takes it: requests in order, a second apart; what it put on the stream, in order. */
async function sendThroughCollector(calls: Call[], requestEnds: boolean[], stores: MemoryStores): Promise<{ records: StreamRecord[]; receivedAt: number[] }> {
  const records: StreamRecord[] = [];
  const receivedAt: number[] = [];
  const seq = new SequenceFactory();
  const stream = { putRecords: async (put: Array<{ data: string }>) => (records.push(...put.map((r) => ({ shardId: 'shardId-000000000000', sequenceNumber: seq.take(), data: Buffer.from(r.data).toString('base64') }))), []) };
  const contacts = { sealer, store: stores.contacts };
  let request: Call[] = [];
  let n = 0;
  const flush = async () => {
    if (request.length === 0) return;
    const at = T0 + n++ * 1000;
    const batch = request.map((c) => ({ type: 'identify', ...(c.user ? { userId: c.user } : {}), ...(c.device ? { anonymousId: c.device } : {}), traits: c.email ? { email: c.email } : {}, timestamp: new Date(at).toISOString() }));
    await collect(parseRequest('batch', JSON.stringify({ batch }), () => undefined), new Date(at), { stream, deadLetters: stores.deadLetters, contacts }, privacy);
    receivedAt.push(...request.map(() => at));
    request = [];
  };
  for (const [i, c] of calls.entries()) {
    request.push(c);
    if (requestEnds[i]) await flush();
  }
  await flush();
  return { records, receivedAt };
}

async function ingestInBatches(records: StreamRecord[], batchEnds: boolean[], stores: MemoryStores): Promise<void> {
  let batch: StreamRecord[] = [];
  for (const [i, r] of records.entries()) {
    batch.push(r);
    if (batchEnds[i] || i === records.length - 1) {
      const result = await ingestBatch(batch, stores, config);
      expect(result.failedSequenceNumbers).toEqual([]);
      batch = [];
    }
  }
}

async function addressSentToHer(stores: MemoryStores): Promise<string | undefined> {
  const owner = (await stores.graph.getOwners(['userId:her'])).get('userId:her');
  const profile = owner === undefined ? undefined : await followMerges(stores, owner);
  return profile === undefined ? undefined : chooseAddress(profile, 'email', stores.contacts, sealer);
}

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

const run = async ({ calls, requestEnds, batchEnds, redeliver }: Scenario) => {
  const stores = new MemoryStores();
  const { records, receivedAt } = await sendThroughCollector(calls, requestEnds, stores);
  await ingestInBatches(records, batchEnds, stores);
  if (redeliver) await ingestInBatches(records, batchEnds, stores);
  const givenLoggedIn = calls.map((c, i) => ({ ...c, at: receivedAt[i] as number })).filter((c) => c.user === 'her' && c.email !== undefined);
  return { sentTo: await addressSentToHer(stores), givenLoggedIn };
};

describe('the address a campaign e-mail goes to', () => {
  it('once she gave an address while logged in, is never one that no call with her userId carried (first attached without her login)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { sentTo, givenLoggedIn } = await run(s);
        if (givenLoggedIn.length === 0 || sentTo === undefined) return;
        expect(new Set(givenLoggedIn.map((c) => c.email))).toContain(sentTo);
      }),
      { numRuns: 300 },
    );
  });

  it('is the first address given with her userId, whatever was sent before or after, when no other customer claims one of her addresses', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { sentTo, givenLoggedIn } = await run(s);
        if (givenLoggedIn.length === 0 || s.calls.some((c) => c.user === 'other')) return;
        const first = Math.min(...givenLoggedIn.map((c) => c.at));
        expect(new Set(givenLoggedIn.filter((c) => c.at === first).map((c) => c.email))).toContain(sentTo);
      }),
      { numRuns: 300 },
    );
  });
});
