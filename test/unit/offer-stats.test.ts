import fc from 'fast-check';
import { loadCatalog } from '../../lib/decision/catalog';
import { offerStatistics, parseOfferStatsQuery } from '../../lib/decision/offer-stats';
import type { CollectedEvent } from '../../lib/events/segment';
import { feedbackOf, offerReport } from '../../lib/ingest/feedback';
import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import type { Stores } from '../../lib/store/ports';
import { ingestConfig, segmentEvent, SequenceFactory, signedFeedback, toRecord } from '../support/factories';

const track = (event: string, properties: Record<string, unknown>, timestamp = '2026-12-01T10:00:00.000Z') =>
  ({ type: 'track', event, properties, userId: 'u', messageId: 'm', timestamp, receivedAt: timestamp }) as unknown as CollectedEvent;

describe('feedback events', () => {
  it('count when they carry a decision id and an offer id, by kind, variant and UTC day', () => {
    expect(feedbackOf(track('Promotion Clicked', { decision_id: 'd1', promotion_id: 'garden-season', variant: 'holdout' }, '2026-12-01T23:30:00-05:00'))).toEqual({
      offerId: 'garden-season',
      day: '2026-12-02',
      kind: 'clicks',
      variant: 'holdout',
      decisionId: 'd1',
    });
    expect(feedbackOf(track('Promotion Viewed', { decision_id: 'd1', promotion_id: 'garden-season' }))).toMatchObject({ kind: 'impressions', variant: 'unknown' });
    expect(feedbackOf(track('Promotion Viewed', { promotion_id: 'garden-season' }))).toBeUndefined();
    expect(feedbackOf(track('Promotion Viewed', { decision_id: 'd1', promotion_id: 42 }))).toBeUndefined();
    expect(feedbackOf(track('Promotion Viewed', { decision_id: 'd1', promotion_id: 'Not An Offer!' }))).toBeUndefined();
    expect(feedbackOf(track('Product Viewed', { decision_id: 'd1', promotion_id: 'garden-season' }))).toBeUndefined();
  });

  it('report rates per variant and in total', () => {
    const report = offerReport([
      { counts: { impressions_personalised: 8, clicks_personalised: 2, conversions_personalised: 1 } },
      { counts: { impressions_personalised: 2, impressions_holdout: 5, clicks_holdout: 1, dismissals_unknown: 1 } },
    ]);
    expect(report.variants.personalised).toEqual({ impressions: 10, clicks: 2, dismissals: 0, conversions: 1, clickThroughRate: 0.2, conversionRate: 0.1 });
    expect(report.variants.holdout).toMatchObject({ impressions: 5, clicks: 1, clickThroughRate: 0.2 });
    expect(report.variants.unknown).toMatchObject({ dismissals: 1, clickThroughRate: null });
    expect(report.total).toMatchObject({ impressions: 15, clicks: 3, dismissals: 1, conversions: 1, conversionRate: 0.0667 });
  });
});

describe('offer statistics in the ingest', () => {
  const feedback = (event: string, n: number, variant = 'personalised', offer = 'garden-season') =>
    signedFeedback(segmentEvent({ userId: `cust-${n % 3}`, event, messageId: `fb-${event}-${n}-${variant}-${offer}`, properties: { decision_id: `d-${n}`, promotion_id: offer, variant }, timestamp: '2026-12-01T10:00:00.000Z' }));
  const count = async (stores: Stores, from = '2026-12-01', to = '2026-12-01') =>
    (await offerStatistics(stores.offerStats, loadCatalog(), { from, to })).offers.find((o) => o.offerId === 'garden-season');

  it('counts a batch once, with one update per offer and day, however often it is delivered', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const records = [
      ...[1, 2, 3, 4].map((n) => toRecord(feedback('Promotion Viewed', n), seq.take())),
      toRecord(feedback('Promotion Clicked', 1), seq.take()),
      toRecord(feedback('Promotion Viewed', 5, 'holdout'), seq.take()),
      toRecord(feedback('Promotion Viewed', 6, 'personalised', 'survey-q4'), seq.take()),
      toRecord(segmentEvent({ userId: 'cust-1', event: 'Promotion Viewed', properties: { promotion_id: 'garden-season' } }), seq.take()),
    ];
    const first = await ingestBatch(records, stores, ingestConfig());
    expect(first.failedSequenceNumbers).toEqual([]);
    expect(first.stats.offerStatUpdates).toBe(2);
    const again = await ingestBatch(records, stores, ingestConfig());
    expect(again.stats.offerStatUpdates).toBe(0);
    const garden = await count(stores);
    expect(garden?.variants.personalised).toMatchObject({ impressions: 4, clicks: 1, clickThroughRate: 0.25 });
    expect(garden?.variants.holdout).toMatchObject({ impressions: 1 });
    expect(garden?.total.impressions).toBe(5);
  });

  it('fails the group whose statistics could not be written, leaves its events unstored, and the retry counts them once', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const records = [1, 2, 3].map((n) => toRecord(feedback('Promotion Viewed', n, 'personalised', n === 2 ? 'survey-q4' : 'garden-season'), seq.take()));
    let failures = 1;
    const faulty: Stores = {
      ...stores,
      offerStats: {
        ...stores.offerStats,
        add: async (key, ...rest) => {
          if (key.offerId === 'survey-q4' && failures-- > 0) throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
          return stores.offerStats.add(key, ...rest);
        },
      },
    };
    const first = await ingestBatch(records, faulty, ingestConfig());
    // The survey's record belongs to cust-2's group: that group fails, the others are done.
    expect(first.failedSequenceNumbers).toEqual([records[1]!.sequenceNumber]);
    expect(first.errors[0]?.message).toBe('throttled');
    expect(stores.eventItems.has('fb-Promotion Viewed-2-personalised-survey-q4')).toBe(false);
    expect(stores.eventItems.has('fb-Promotion Viewed-1-personalised-garden-season')).toBe(true);
    // Lambda retries from the failed record, with the records after it (and a new one).
    const retry = await ingestBatch([...records.slice(1), toRecord(feedback('Promotion Viewed', 4), seq.take())], faulty, ingestConfig());
    expect(retry.failedSequenceNumbers).toEqual([]);
    expect(stores.eventItems.has('fb-Promotion Viewed-2-personalised-survey-q4')).toBe(true);
    expect((await count(stores))?.variants.personalised.impressions).toBe(3);
    const survey = (await offerStatistics(stores.offerStats, loadCatalog(), { from: '2026-12-01', to: '2026-12-01' })).offers.find((o) => o.offerId === 'survey-q4');
    expect(survey?.total.impressions).toBe(1);
  });

  it('keeps an item\'s mark behind the records of a group whose profile write failed, so the retry counts them', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    // cust-1's impression comes first, then cust-2's, on the same offer and day.
    const records = [1, 2].map((n) => toRecord(feedback('Promotion Viewed', n), seq.take()));
    let failures = 1;
    const faulty: Stores = {
      ...stores,
      profiles: {
        ...stores.profiles,
        put: async (profile, expected) => {
          if (profile.profileId === deriveProfileId('userId:cust-1') && failures-- > 0) throw new Error('throttled');
          return stores.profiles.put(profile, expected);
        },
      },
    };
    const first = await ingestBatch(records, faulty, ingestConfig());
    // cust-2's impression waits for cust-1's: counting it would move the mark past cust-1's record.
    expect(first.failedSequenceNumbers.sort()).toEqual(records.map((r) => r.sequenceNumber).sort());
    expect((await count(stores))?.total.impressions ?? 0).toBe(0);
    const from = first.failedSequenceNumbers.sort()[0] as string;
    const retry = await ingestBatch(records.filter((r) => r.sequenceNumber >= from), faulty, ingestConfig());
    expect(retry.failedSequenceNumbers).toEqual([]);
    expect((await count(stores))?.total.impressions).toBe(2);
  });

  it('counts a retried batch exactly even when its events were not stored (marks, not the event store, decide)', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const records = [1, 2].map((n) => toRecord(feedback('Promotion Viewed', n), seq.take()));
    await ingestBatch(records, stores, ingestConfig());
    stores.eventItems.clear();
    await ingestBatch([...records, toRecord(feedback('Promotion Viewed', 3), seq.take())], stores, ingestConfig());
    expect((await count(stores))?.total.impressions).toBe(3);
  });
});

describe('the statistics query', () => {
  const now = new Date('2026-11-24T15:00:00Z');
  it('defaults to the last seven UTC days and validates the dates, naming the parameter', () => {
    expect(parseOfferStatsQuery(undefined, now)).toEqual({ from: '2026-11-18', to: '2026-11-24' });
    expect(parseOfferStatsQuery({ to: '2026-03-02' }, now)).toEqual({ from: '2026-02-24', to: '2026-03-02' });
    expect(() => parseOfferStatsQuery({ from: '2026-13-01' }, now)).toThrow('from: is not a calendar date');
    expect(() => parseOfferStatsQuery({ to: 'yesterday' }, now)).toThrow('to: must be a date as YYYY-MM-DD');
    expect(() => parseOfferStatsQuery({ from: '2026-11-25', to: '2026-11-24' }, now)).toThrow('from: must not be after to (2026-11-24)');
    expect(() => parseOfferStatsQuery({ from: '2026-01-01', to: '2026-11-24' }, now)).toThrow('from: the range may span at most 92 days');
    expect(() => parseOfferStatsQuery({ offer: 'x' }, now)).toThrow(/offer|Unrecognized/);
  });
});

describe('offer statistics under faults and Lambda retries (property)', () => {
  it('count every impression once, and every click or conversion once beside its impression, whatever fails, on whichever shard and however the retries are cut', async () => {
    const spec = fc.record({
      events: fc.array(
        fc.record({
          decision: fc.integer({ min: 0, max: 5 }),
          offer: fc.constantFrom('garden-season', 'survey-q4'),
          kind: fc.constantFrom('Promotion Viewed', 'Promotion Clicked', 'Promotion Converted'),
          shard: fc.integer({ min: 0, max: 1 }),
        }),
        { minLength: 1, maxLength: 30 },
      ),
      batchSize: fc.integer({ min: 1, max: 12 }),
      faults: fc.array(fc.constantFrom('none', 'profile', 'stats', 'claims', 'events'), { minLength: 1, maxLength: 20 }),
      polls: fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 60 }),
    });
    await fc.assert(
      fc.asyncProperty(spec, async ({ events, batchSize, faults, polls }) => {
        const stores = new MemoryStores();
        let call = 0;
        // The first calls draw a fault each (then none); the faulty store fails the first matching write of that call.
        let fault = 'none';
        const once = <A extends unknown[], R>(kind: string, fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
          if (fault === kind) {
            fault = 'none';
            throw new Error(`injected ${kind} fault`);
          }
          return fn(...args);
        };
        const faulty: Stores = {
          ...stores,
          profiles: { ...stores.profiles, put: once('profile', stores.profiles.put) },
          offerStats: { ...stores.offerStats, add: once('stats', stores.offerStats.add), claim: once('claims', stores.offerStats.claim) },
          events: { ...stores.events, put: once('events', stores.events.put) },
        };
        // A decision's variant is its token's; each person's events go to the shard her key hashes to, here either.
        const variantOf = (decision: number) => (decision % 2 === 0 ? 'personalised' : 'holdout');
        const seqs = [new SequenceFactory(), new SequenceFactory()];
        const streams = [0, 1].map((shard) =>
          events
            .map((e, i) => ({ e, i }))
            .filter(({ e }) => e.shard === shard)
            .map(({ e, i }) =>
              toRecord(
                signedFeedback(segmentEvent({ userId: `u-${e.decision % 4}`, event: e.kind, messageId: `p-${i}`, properties: { decision_id: `d-${e.decision}`, promotion_id: e.offer, variant: variantOf(e.decision) }, timestamp: '2026-12-05T10:00:00.000Z' })),
                (seqs[shard] as SequenceFactory).take(),
                `shardId-00000000000${shard}`,
              ),
            ),
        );
        // The event source mapping, per shard: from the checkpoint, a batch; on failures, retry from the lowest. The shards take turns as `polls` says.
        const next = [0, 0];
        for (let step = 0; step < 400 && streams.some((records, s) => (next[s] as number) < records.length); step++) {
          const wanted = polls[step] ?? step % 2;
          const shard = (next[wanted] as number) < (streams[wanted] as unknown[]).length ? wanted : 1 - wanted;
          const records = streams[shard] as ReturnType<typeof toRecord>[];
          fault = faults[call++] ?? 'none';
          const batch = records.slice(next[shard], (next[shard] as number) + batchSize);
          const result = await ingestBatch(batch, faulty, ingestConfig());
          const lowest = result.failedSequenceNumbers.sort()[0];
          next[shard] = lowest === undefined ? (next[shard] as number) + batch.length : records.findIndex((r) => r.sequenceNumber === lowest);
        }
        expect(next).toEqual(streams.map((r) => r.length));
        const report = await offerStatistics(stores.offerStats, loadCatalog(), { from: '2026-12-05', to: '2026-12-05' });
        for (const offer of ['garden-season', 'survey-q4']) {
          const got = report.offers.find((o) => o.offerId === offer)!;
          for (const variant of ['personalised', 'holdout'] as const) {
            const decisions = [...new Set(events.filter((e) => e.offer === offer && variantOf(e.decision) === variant).map((e) => e.decision))];
            const has = (d: number, kind: string) => events.some((e) => e.decision === d && e.offer === offer && e.kind === kind);
            const shown = decisions.filter((d) => has(d, 'Promotion Viewed'));
            expect(got.variants[variant].impressions).toBe(shown.length);
            expect(got.variants[variant].clicks).toBe(shown.filter((d) => has(d, 'Promotion Clicked')).length);
            expect(got.variants[variant].conversions).toBe(shown.filter((d) => has(d, 'Promotion Converted')).length);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
