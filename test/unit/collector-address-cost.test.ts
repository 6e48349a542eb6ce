import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AddressSealer, LocalDataKeys, type DataKeys } from '../../lib/campaign/addresses';
import { collect, MAX_ADDRESSES_PER_REQUEST } from '../../lib/collect/collector';
import { MAX_BATCH_MESSAGES, parseRequest } from '../../lib/collect/request';
import { defaultEventPolicy } from '../../lib/events/policy';
import { CONTACT_WRITES_IN_FLIGHT, DynamoContacts } from '../../lib/store/activations-dynamo';
import { MemoryStores } from '../../lib/store/memory';

/**
 * What one write-key request that gives contact addresses costs (issue 21, item 5): a /v1/batch of
 * 2,500 identify calls with addresses no one gave before took 21-30 s, one write after another. The
 * cost is counted here in DynamoDB requests, as the adapter sends them; no time is asserted.
 */
const privacy = { salt: 'salt', personalData: defaultEventPolicy().personalData };
const stream = { putRecords: async () => [] };

/** A DynamoDB document client that answers batch writes (with `throttled`, leaving the first request's last item unprocessed) and counts what it is sent. */
function dynamo(throttled: boolean) {
  const sent: string[] = [];
  const written = new Set<string>();
  let inFlight = 0;
  let mostInFlight = 0;
  let leftOne = !throttled;
  const doc = {
    send: async (command: unknown) => {
      sent.push((command as object).constructor.name);
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight -= 1;
      if (!(command instanceof BatchWriteCommand)) return {};
      const requests = command.input.RequestItems?.contacts ?? [];
      const unprocessed = leftOne ? [] : requests.slice(-1);
      leftOne = true;
      for (const r of requests.slice(0, requests.length - unprocessed.length)) written.add(String(r.PutRequest?.Item?.id));
      return { UnprocessedItems: unprocessed.length > 0 ? { contacts: unprocessed } : {} };
    },
  } as unknown as DynamoDBDocumentClient;
  return { doc, sent, written, mostInFlight: () => mostInFlight };
}

function counting(inner: DataKeys) {
  const calls = { generate: 0 };
  return { calls, keys: { generate: () => (calls.generate++, inner.generate()), unwrap: (w: Buffer) => inner.unwrap(w) } satisfies DataKeys };
}

async function collectBatch(batch: Array<Record<string, unknown>>, throttled = false) {
  const db = dynamo(throttled);
  const { keys, calls } = counting(new LocalDataKeys(Buffer.alloc(32, 3)));
  const lookups: number[] = [];
  const contacts = { sealer: new AddressSealer(keys), store: new DynamoContacts(db.doc, 'contacts') };
  const suppressions = async (k: string[]) => (lookups.push(k.length), new Map<string, string>());
  const result = await collect(parseRequest('batch', JSON.stringify({ batch }), () => undefined), new Date('2026-11-20T10:00:00Z'), { stream, deadLetters: new MemoryStores().deadLetters, contacts, suppressions }, privacy);
  return { ...db, result, lookups, dataKeys: calls.generate };
}

describe('the addresses of one request', () => {
  it('2,500 new addresses cost one suppression look-up, one data key and 100 batch writes (25 each, a few in flight), the unprocessed one retried', async () => {
    const batch = Array.from({ length: MAX_BATCH_MESSAGES }, (_, i) => ({ type: 'identify', userId: `u${i}`, traits: { email: `customer-${i}@example.com` } }));
    const { result, sent, written, lookups, dataKeys, mostInFlight } = await collectBatch(batch, true);
    expect(result.accepted).toBe(MAX_BATCH_MESSAGES);
    expect(lookups).toEqual([MAX_BATCH_MESSAGES]);
    expect(dataKeys).toBe(1);
    expect(sent.filter((c) => c !== 'BatchWriteCommand')).toEqual([]);
    expect(sent).toHaveLength(MAX_BATCH_MESSAGES / 25 + 1);
    expect(written.size).toBe(MAX_BATCH_MESSAGES);
    expect(mostInFlight()).toBeLessThanOrEqual(CONTACT_WRITES_IN_FLIGHT);
  });

  it('keeps at most MAX_ADDRESSES_PER_REQUEST, however many addresses its messages name (its messages are all kept)', async () => {
    const batch = Array.from({ length: MAX_BATCH_MESSAGES }, (_, i) => ({ type: 'identify', userId: `u${i}`, traits: { email: `a-${i}@example.com`, Email: `b-${i}@example.com`, e_mail: `c-${i}@example.com` } }));
    const { result, sent, written, lookups } = await collectBatch(batch);
    expect(result.accepted).toBe(MAX_BATCH_MESSAGES);
    expect(lookups).toEqual([MAX_ADDRESSES_PER_REQUEST]);
    expect(written.size).toBe(MAX_ADDRESSES_PER_REQUEST);
    expect(sent).toHaveLength(MAX_ADDRESSES_PER_REQUEST / 25);
  });

  it('seals and writes an address named by many messages of the request once', async () => {
    const batch = Array.from({ length: 500 }, (_, i) => ({ type: 'identify', userId: `u${i}`, traits: { email: 'Family@Example.com' } }));
    const { sent, written, lookups } = await collectBatch(batch);
    expect(lookups).toEqual([1]);
    expect(sent).toEqual(['BatchWriteCommand']);
    expect([...written]).toHaveLength(1);
  });
});
