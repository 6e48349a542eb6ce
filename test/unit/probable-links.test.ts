import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * Probable links are kept to what the evidence says now: a link to a profile later merged follows
 * it to the survivor (the old one goes), and a link whose evidence weakens below the threshold is
 * withdrawn, in both directions.
 */
const HOME = '203.0.113.77';
const at = (day: number, hour: number) => new Date(Date.UTC(2026, 10, day, hour)).toISOString();
const here = { ip: HOME, locale: 'en-GB', timezone: 'Europe/London' };

async function send(stores: MemoryStores, seq: SequenceFactory, events: Array<Record<string, unknown>>): Promise<void> {
  const result = await ingestBatch(events.map((e) => toRecord(e, seq.take())), stores, ingestConfig());
  expect(result.failedSequenceNumbers).toEqual([]);
}

/** Two devices at home researching the same two products: a probable link. */
async function researchingTogether(stores: MemoryStores, seq: SequenceFactory): Promise<void> {
  for (const device of ['phone-1', 'laptop-1']) {
    await send(stores, seq, [
      segmentEvent({ anonymousId: device, timestamp: at(10, 19), context: here, properties: { product_id: 'paint-sage-2l', category: 'Paint' } }),
      segmentEvent({ anonymousId: device, timestamp: at(10, 20), context: here, properties: { product_id: 'roller-set-9in', category: 'Paint' } }),
    ]);
  }
}

const linked = (stores: MemoryStores, a: string, b: string) => stores.links.get(a)?.has(b) === true;

/** A phone and a laptop linked by their research at home, on fresh stores. */
async function linkedPair(): Promise<{ stores: MemoryStores; seq: SequenceFactory; phone: string; laptop: string }> {
  const stores = new MemoryStores();
  const seq = new SequenceFactory();
  await researchingTogether(stores, seq);
  const phone = deriveProfileId('anonymousId:phone-1');
  const laptop = deriveProfileId('anonymousId:laptop-1');
  expect(linked(stores, phone, laptop) && linked(stores, laptop, phone)).toBe(true);
  return { stores, seq, phone, laptop };
}

it('moves a link to the survivor when the profile it named is merged into a customer, and drops the old one', async () => {
  const stores = new MemoryStores();
  const seq = new SequenceFactory();
  // She is a customer already (she bought in the store).
  await send(stores, seq, [segmentEvent({ type: 'identify', userId: 'cust-7', timestamp: at(9, 14), context: { locale: 'en-GB', timezone: 'Europe/London' } })]);
  await researchingTogether(stores, seq);
  const phone = deriveProfileId('anonymousId:phone-1');
  const laptop = deriveProfileId('anonymousId:laptop-1');
  expect(linked(stores, phone, laptop) && linked(stores, laptop, phone)).toBe(true);

  // She logs in on the laptop: its anonymous profile is merged into her customer profile.
  await send(stores, seq, [segmentEvent({ type: 'identify', anonymousId: 'laptop-1', userId: 'cust-7', timestamp: at(10, 21), context: here })]);
  const customer = stores.owners.get('userId:cust-7') as string;
  expect(stores.profileItems.get(laptop)?.mergedInto).toBe(customer);
  // The link names the customer now, from both sides; none names the tombstone.
  expect(linked(stores, phone, customer) && linked(stores, customer, phone)).toBe(true);
  expect(linked(stores, phone, laptop) || linked(stores, laptop, phone)).toBe(false);
});

it('withdraws a link, both ways, when new evidence weakens it below the threshold', async () => {
  const { stores, seq, phone, laptop } = await linkedPair();

  // The phone turns out to be someone else's: another language, another time zone, on the same network.
  await send(stores, seq, [segmentEvent({ anonymousId: 'phone-1', timestamp: at(11, 19), context: { ip: HOME, locale: 'de-DE', timezone: 'Europe/Berlin' }, properties: { product_id: 'hose-25m', category: 'Garden' } })]);
  expect(linked(stores, phone, laptop) || linked(stores, laptop, phone)).toBe(false);
  expect(stores.profileItems.get(phone)?.signals.linked?.[laptop]).toBeUndefined();
});

it('withdraws a link when the network it rested on is found crowded (strangers use it too), as if it had been from the start', async () => {
  const { stores, seq, phone, laptop } = await linkedPair();
  // The "home" network turns out to be a café's: a crowd of strangers' devices come through.
  await send(stores, seq, Array.from({ length: 14 }, (_, i) => segmentEvent({ anonymousId: `stranger-${i}`, timestamp: at(11, 12), context: here, properties: { product_id: `mug-${i}`, category: 'Kitchen' } })));
  // The phone comes back: its evaluation finds the network crowded, and the link has nothing left to rest on.
  await send(stores, seq, [segmentEvent({ anonymousId: 'phone-1', timestamp: at(11, 13), context: here, properties: { product_id: 'tape-50m', category: 'Paint' } })]);
  expect(linked(stores, phone, laptop) || linked(stores, laptop, phone)).toBe(false);
  // The same events with the strangers first: no link ever formed.
  const fresh = new MemoryStores();
  const seq2 = new SequenceFactory();
  await send(fresh, seq2, Array.from({ length: 14 }, (_, i) => segmentEvent({ anonymousId: `stranger-${i}`, timestamp: at(10, 12), context: here, properties: { product_id: `mug-${i}`, category: 'Kitchen' } })));
  await researchingTogether(fresh, seq2);
  expect(linked(fresh, phone, laptop)).toBe(false);
});
