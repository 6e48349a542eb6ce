import fc from 'fast-check';
import { validateMessages } from '../../lib/collect/collector';
import { parseRequest } from '../../lib/collect/request';
import { defaultEventPolicy } from '../../lib/events/policy';
import { HttpError } from '../../lib/http/errors';
import type { CollectedEvent } from '../../lib/events/segment';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { readJourney, readProfile } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, SequenceFactory, toRecord } from '../support/factories';

/**
 * Nothing one record carries may throw out of the collector's validation or the ingest's batch
 * (issue #13, defect 4): schema-valid messages with extreme values, and the same values put on the
 * stream directly by another producer, are each folded or dead-lettered, and the read side answers.
 */
const received = new Date('2026-11-24T10:00:00.000Z');

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];
const key = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS, 'category', 'product_id', 'total', 'email', 'phone'), fc.string({ maxLength: 12 }));
const extremeNumber = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 5e-324), fc.integer());
const extremeString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...PROTOTYPE_KEYS, '', ' ', 'null', 'N/A', '-', 'x', 'tbd', 'not given', '0', 'Europe/London', 'Not/AZone', 'en-GB'),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => 'x'.repeat(n)),
);
const date = fc.oneof(
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z', '+010000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2999-01-01T00:00:00Z', '1970-01-01T00:00:00Z', 'yesterday', ''),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    extremeNumber,
    extremeString,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
})).v;
const props = fc.dictionary(key, value, { maxKeys: 6 });

const message = fc.record(
  {
    type: fc.constantFrom('track', 'identify', 'page', 'screen', 'alias', 'group'),
    event: fc.oneof(fc.constantFrom('Product Viewed', 'Product Added', 'Product Removed', 'Order Completed', 'Promotion Viewed', 'Promotion Dismissed', 'Decision Made'), extremeString),
    anonymousId: fc.oneof(extremeString, extremeNumber),
    userId: fc.oneof(extremeString, fc.constant(undefined)),
    previousId: extremeString,
    groupId: extremeString,
    timestamp: date,
    sentAt: date,
    properties: fc.oneof(
      props,
      fc.record({ category: extremeString, product_id: extremeString, total: fc.oneof(extremeNumber, extremeString), products: fc.array(fc.record({ product_id: extremeString }), { maxLength: 3 }) }),
      fc.record({ promotion_id: extremeString, decision_id: extremeString, variant: extremeString }),
    ),
    traits: fc.oneof(props, fc.record({ email: extremeString, phone: extremeString, firstName: extremeString })),
    context: fc.record(
      {
        timezone: extremeString,
        locale: extremeString,
        ip: extremeString,
        userAgent: extremeString,
        sessionId: fc.oneof(extremeString, extremeNumber),
        channel: extremeString,
        device: fc.record({ id: extremeString, type: extremeString }),
        location: fc.record({ latitude: fc.oneof(extremeNumber, extremeString), longitude: fc.oneof(extremeNumber, extremeString), city: extremeString }),
        traits: props,
        network: fc.record({ cellular: fc.boolean() }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['type', 'anonymousId'] },
);

async function ingestAll(events: unknown[], stores: MemoryStores) {
  const seq = new SequenceFactory();
  const records = events.map((e) => toRecord(e, seq.take()));
  const result = await ingestBatch(records, stores, ingestConfig());
  expect(result.errors.map(String)).toEqual([]);
  expect(result.failedSequenceNumbers).toEqual([]);
  // Every record is accounted for: folded, a duplicate, the engine's own (journey only) or dead-lettered.
  const system = events.filter((e) => (e as CollectedEvent).type === 'track' && (e as CollectedEvent).event === 'Decision Made').length;
  expect(result.stats.folded + result.stats.duplicates + result.stats.deadLettered + system).toBeGreaterThanOrEqual(records.length);
  for (const p of stores.profileItems.values()) {
    if (p.mergedInto !== undefined) continue;
    await readProfile(stores, p.profileId, ingestConfig());
    await readJourney(stores, p.profileId);
  }
}

describe('keys that are names of Object.prototype', () => {
  it('count like any other category, product or trait', async () => {
    const stores = new MemoryStores();
    const view = (category: string, i: number) =>
      JSON.parse(
        JSON.stringify({ type: 'track', event: 'Product Viewed', anonymousId: 'proto-1', messageId: `proto-${i}`, receivedAt: received.toISOString(), timestamp: received.toISOString(), properties: { category, product_id: category }, context: { traits: { [category]: i } } }),
      );
    await ingestAll([view('__proto__', 1), view('__proto__', 2), view('constructor', 3), view('toString', 4)], stores);
    const p = [...stores.profileItems.values()][0]!;
    expect(p.signals.interests).toEqual({ ['__proto__']: 2, constructor: 1, tostring: 1 });
    const view30d = (await readProfile(stores, p.profileId, ingestConfig(), received)).aggregates.categoryViews30d;
    expect(view30d).toEqual(expect.arrayContaining([{ value: '__proto__', count: 2 }, { value: 'constructor', count: 1 }]));
    expect(Object.getOwnPropertyDescriptor(p.traits, '__proto__')?.value).toMatchObject({ v: 2 });
    expect(p.traits.constructor).toMatchObject({ v: 3 });
  });
});

describe('hostile but schema-valid input (property)', () => {
  it('the collector validates or refuses, and the ingest folds or dead-letters, never throwing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 8 }), async (messages) => {
        // The collector's own steps: the request read as a batch, each message validated on its own.
        let request: ReturnType<typeof parseRequest>;
        try {
          request = parseRequest('batch', JSON.stringify({ batch: messages }));
        } catch (e) {
          // A request too large as a whole is refused with a 4xx, never a 5xx.
          expect(e).toBeInstanceOf(HttpError);
          expect((e as HttpError).statusCode).toBeLessThan(500);
          return;
        }
        const { events: collected, rejected, unexpected } = validateMessages(request, received, { salt: 'test-salt', personalData: defaultEventPolicy().personalData });
        expect(unexpected).toEqual([]);
        expect(collected.length + rejected.length).toBe(messages.length);
        await ingestAll(
          collected.map((e) => JSON.parse(JSON.stringify(e))),
          new MemoryStores(),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('records put on the stream by another producer, unvalidated, are folded or dead-lettered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 8 }), async (messages) => {
        const raw = messages.map((m, i) => ({ ...m, messageId: `raw-${i}`, receivedAt: received.toISOString() }));
        await ingestAll(JSON.parse(JSON.stringify(raw)) as unknown[], new MemoryStores());
      }),
      { numRuns: 300 },
    );
  });
});
