import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { DynamoStores } from '../../lib/store/dynamo';
import { segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import { config, S0, S1 } from '../support/exactly-once';
import { localTables, useEmulators } from '../support/stores';

/** Against dynalite through the real SDK: another writer of the survivor keeps a pending merge (found in the second review, when a write replaced the item). */
const emulators = useEmulators();
const tables = localTables;

it("keeps the visitor's history when another shard's invocation writes the customer while the login's merge writes its tombstone (DynamoDB)", async () => {
  const stores = new DynamoStores(emulators.client(), tables);
  const seq = new SequenceFactory();
  const other = new SequenceFactory();
  const cust = deriveProfileId('userId:cust-d');
  const visitor = deriveProfileId('anonymousId:visitor-d');
  expect(
    (
      await ingestBatch(
        [toRecord(segmentEvent({ anonymousId: 'visitor-d', messageId: 'd-0', timestamp: '2026-11-20T09:00:00.000Z' }), seq.take(), S0), toRecord(segmentEvent({ userId: 'cust-d', messageId: 'ds-0', timestamp: '2026-11-20T09:01:00.000Z' }), seq.take(), S0)],
        stores,
        config(),
      )
    ).failedSequenceNumbers,
  ).toEqual([]);
  const put = stores.profiles.put;
  let raced = false;
  stores.profiles.put = async (p, v, w) => {
    if (!raced && p.profileId === visitor && p.mergedInto !== undefined) {
      raced = true;
      const concurrent = await ingestBatch([toRecord(segmentEvent({ userId: 'cust-d', messageId: 'ds-1', timestamp: '2026-11-20T09:06:00.000Z' }), other.take(), S1)], stores, config());
      expect(concurrent.failedSequenceNumbers).toEqual([]);
    }
    return put(p, v, w);
  };
  const batch = [toRecord(segmentEvent({ type: 'identify', userId: 'cust-d', anonymousId: 'visitor-d', messageId: 'login-d', event: undefined, timestamp: '2026-11-20T09:05:00.000Z' }), seq.take(), S0)];
  expect((await ingestBatch(batch, stores, config())).failedSequenceNumbers).toEqual([batch[0]!.sequenceNumber]);
  expect((await ingestBatch(batch, stores, config())).failedSequenceNumbers).toEqual([]);
  const customer = (await stores.profiles.getMany([cust])).get(cust);
  expect({ eventCount: customer?.aggregates.eventCount, visitorsView: (customer?.aggregates.perMessage as Record<string, number> | undefined)?.['d-0'] ?? 0 }).toEqual({ eventCount: 4, visitorsView: 1 });
});
