import { loadCatalog } from '../../lib/decision/catalog';
import { offerStatistics } from '../../lib/decision/offer-stats';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import { signDecision, tokenKey, verifyDecisionToken, type DecisionClaims } from '../../lib/decision/token';
import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * Honest feedback: offer statistics count an impression, click, dismissal or conversion only when its
 * decision token verifies, names its offer and was issued to its sender within a week, and only once
 * per decision, offer and kind; the variant is the token's. A client holding the public write key can
 * neither invent decisions, inflate an offer's rates, nor move counts between variants.
 */
const config = ingestConfig();
const catalog = loadCatalog();
const seq = new SequenceFactory();
const DAY = '2026-12-01';
const at = (hour: number, minute = 0) => `${DAY}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00.000Z`;

async function ingest(stores: MemoryStores, events: Array<Record<string, unknown>>, records?: StreamRecord[]) {
  const result = await ingestBatch(records ?? events.map((e) => toRecord(e, seq.take())), stores, config);
  expect(result.failedSequenceNumbers).toEqual([]);
  return result;
}

/** A decision at 10:00 for this identity, with two offers. */
const decideFor = (stores: MemoryStores, identity: { namespace: string; value: string }) =>
  answerDecision(parseDecisionRequest(JSON.stringify({ identity, placement: 'home', count: 2, context: { timestamp: at(10) } })), { stores, config, catalog, salt: config.salt, now: () => new Date(at(10)) });

/** Ivy browses, then her app asks for a decision (as her back-end would, with the decision key). */
async function ivy() {
  const stores = new MemoryStores();
  await ingest(stores, [segmentEvent({ userId: 'ivy-1', timestamp: at(9), properties: { product_id: 'spade-2', category: 'garden' }, context: { consent: { categoryPreferences: { Personalization: true } } } })]);
  const decision = await decideFor(stores, { namespace: 'userId', value: 'ivy-1' });
  return { stores, decision, offer: decision.offers[0]?.offerId as string };
}

const feedback = (userId: string, event: string, properties: Record<string, unknown>, timestamp = at(10, 1)) => segmentEvent({ userId, event, timestamp, properties });
const counts = async (stores: MemoryStores, offerId: string) => (await offerStatistics(stores.offerStats, catalog, { from: DAY, to: DAY })).offers.find((o) => o.offerId === offerId);

describe('decision tokens', () => {
  it('verify only as issued: an altered claim, another key or another format does not', () => {
    const key = tokenKey('salt-a');
    const claims: DecisionClaims = { d: 'd1', p: 'p1', i: null, o: ['garden-season'], v: 'holdout', t: 1_764_000_000 };
    const token = signDecision(claims, key);
    expect(verifyDecisionToken(token, key)).toEqual(claims);
    const [version, body, mac] = token.split('.') as [string, string, string];
    const altered = Buffer.from(JSON.stringify({ ...claims, v: 'personalised' })).toString('base64url');
    for (const forged of [`${version}.${altered}.${mac}`, signDecision(claims, tokenKey('salt-b')), `v2.${body}.${mac}`, `${version}.${body}`, token.slice(0, -2), 42, null, 'x'.repeat(5000)]) {
      expect(verifyDecisionToken(forged, key)).toBeUndefined();
    }
  });
});

describe('offer statistics count honest feedback only', () => {
  it("counts feedback that carries its decision's token, under the token's variant whatever the client says", async () => {
    const { stores, decision, offer } = await ivy();
    const props = { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token, variant: decision.variant === 'holdout' ? 'personalised' : 'holdout' };
    await ingest(stores, [feedback('ivy-1', 'Promotion Viewed', props), feedback('ivy-1', 'Promotion Clicked', props, at(10, 2))]);
    const report = await counts(stores, offer);
    expect(report?.total).toMatchObject({ impressions: 1, clicks: 1 });
    expect(report?.variants[decision.variant]).toMatchObject({ impressions: 1, clicks: 1 });
  });

  it('counts feedback on the UTC day its decision was made, whatever day the client stamps on it', async () => {
    const { stores, decision, offer } = await ivy();
    const props = { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token };
    await ingest(stores, [segmentEvent({ userId: 'ivy-1', event: 'Promotion Viewed', timestamp: '2001-01-01T00:00:00.000Z', receivedAt: at(10, 1), properties: props })]);
    expect([...stores.statItems.keys()]).toEqual([`${offer}|${DAY}`]);
    expect((await counts(stores, offer))?.total.impressions).toBe(1);
  });

  it('counts a click or a conversion only beside the impression of its decision and offer, once, whichever comes first', async () => {
    const { stores, decision, offer } = await ivy();
    const props = { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token };
    // The click and the conversion come first (another shard, a server-side conversion): they wait.
    await ingest(stores, [], [toRecord(feedback('ivy-1', 'Promotion Clicked', props, at(10, 2)), seq.take(), 'shardId-000000000007'), toRecord(feedback('ivy-1', 'Promotion Converted', props, at(10, 3)), seq.take(), 'shardId-000000000007')]);
    expect((await counts(stores, offer))?.total).toMatchObject({ impressions: 0, clicks: 0, conversions: 0 });
    // Her other offer is clicked without ever being shown: it never counts.
    const second = decision.offers[1]?.offerId as string;
    await ingest(stores, [feedback('ivy-1', 'Promotion Clicked', { ...props, promotion_id: second }, at(10, 4))]);
    // The impression arrives: the click and the conversion count with it.
    await ingest(stores, [feedback('ivy-1', 'Promotion Viewed', props, at(10, 1))]);
    expect((await counts(stores, offer))?.total).toMatchObject({ impressions: 1, clicks: 1, conversions: 1 });
    expect((await counts(stores, second))?.total).toMatchObject({ impressions: 0, clicks: 0 });
  });

  it('does not count forged, borrowed, misdirected or stale feedback, and says how much it refused', async () => {
    const { stores, decision, offer } = await ivy();
    const other = catalog.offers.map((o) => o.id).find((id) => !decision.offers.some((o) => o.offerId === id)) as string;
    const forgedToken = signDecision({ d: 'made-up', p: null, i: null, o: [other], v: 'personalised', t: Math.floor(Date.parse(at(10)) / 1000) }, tokenKey('a-guess'));
    const events = [
      // No token at all (a client with the write key inventing a decision).
      feedback('ivy-1', 'Promotion Viewed', { decision_id: decision.decisionId, promotion_id: offer }),
      // A token signed with another key.
      feedback('ivy-1', 'Promotion Viewed', { decision_id: 'made-up', promotion_id: other, decision_token: forgedToken }),
      // Her real token, for an offer the decision did not make.
      feedback('ivy-1', 'Promotion Viewed', { decision_id: decision.decisionId, promotion_id: other, decision_token: decision.token }),
      // Her real token, sent with another decision's id.
      feedback('ivy-1', 'Promotion Viewed', { decision_id: 'another', promotion_id: offer, decision_token: decision.token }),
      // Her real token, sent by someone else.
      feedback('mallory-1', 'Promotion Clicked', { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token }),
      // Her real token, eight days later.
      segmentEvent({ userId: 'ivy-1', event: 'Promotion Converted', timestamp: '2026-12-09T10:01:00.000Z', properties: { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token } }),
    ];
    const result = await ingest(stores, events);
    expect(result.stats.feedbackRefused).toBe(events.length);
    expect(stores.statItems.size).toBe(0);
  });

  it("takes no event name for a kind of feedback but the four: constructor or __proto__ claim and count nothing (found in review)", async () => {
    const { stores, decision, offer } = await ivy();
    const props = { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token };
    await ingest(stores, ['constructor', '__proto__', 'toString', 'hasOwnProperty'].map((event, i) => feedback('ivy-1', event, props, at(10, 10 + i))));
    expect(stores.claims.size).toBe(0);
    expect(stores.statItems.size).toBe(0);
  });

  it('counts a replay of the same feedback once, and a redelivery of the message that counted it once', async () => {
    const { stores, decision, offer } = await ivy();
    const props = { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token };
    const original = toRecord(feedback('ivy-1', 'Promotion Viewed', props), seq.take());
    await ingest(stores, [], [original]);
    // The same impression again under new messageIds, in later batches and in one batch.
    const replays = await ingest(stores, [feedback('ivy-1', 'Promotion Viewed', props, at(10, 5)), feedback('ivy-1', 'Promotion Viewed', props, at(10, 6))]);
    expect(replays.stats.feedbackRefused).toBe(2);
    // The stream delivers the original record again.
    await ingest(stores, [], [original]);
    expect((await counts(stores, offer))?.total.impressions).toBe(1);
    // Her other offer, and a click on the first, are other feedback: each counts once.
    const second = decision.offers[1]?.offerId as string;
    await ingest(stores, [feedback('ivy-1', 'Promotion Viewed', { ...props, promotion_id: second }, at(10, 7)), feedback('ivy-1', 'Promotion Clicked', props, at(10, 8))]);
    expect((await counts(stores, offer))?.total).toMatchObject({ impressions: 1, clicks: 1 });
    expect((await counts(stores, second))?.total.impressions).toBe(1);
  });

  it('counts one token once whatever profile the device moves to: a new fake userId on each replay gains nothing', async () => {
    const stores = new MemoryStores();
    await ingest(stores, [segmentEvent({ anonymousId: 'mal-phone', timestamp: at(9), properties: { product_id: 'spade-2', category: 'garden' } })]);
    const decision = await decideFor(stores, { namespace: 'anonymousId', value: 'mal-phone' });
    const offer = decision.offers[0]?.offerId as string;
    const props = { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token };
    // The offer was shown (a click counts only beside its impression).
    await ingest(stores, [segmentEvent({ anonymousId: 'mal-phone', event: 'Promotion Viewed', timestamp: at(10, 0), properties: props })]);
    let refused = 0;
    for (let k = 0; k < 20; k++) {
      // Each new userId moves the device to a brand-new profile.
      refused += (await ingest(stores, [segmentEvent({ anonymousId: 'mal-phone', userId: `fake-user-${k}`, event: 'Promotion Clicked', timestamp: at(10, 1 + k), properties: props })])).stats.feedbackRefused;
    }
    expect((await counts(stores, offer))?.total.clicks).toBe(1);
    expect(refused).toBe(19);
  });

  it('counts feedback from the device the decision was for after it merged into her customer profile', async () => {
    const stores = new MemoryStores();
    await ingest(stores, [segmentEvent({ anonymousId: 'ivy-phone', timestamp: at(9), properties: { product_id: 'spade-2', category: 'garden' } })]);
    const decision = await decideFor(stores, { namespace: 'anonymousId', value: 'ivy-phone' });
    await ingest(stores, [segmentEvent({ anonymousId: 'ivy-phone', event: 'Promotion Viewed', timestamp: at(10, 1), properties: { decision_id: decision.decisionId, promotion_id: decision.offers[0]?.offerId, decision_token: decision.token } })]);
    // She logs in on her laptop, then on the phone: the phone's profile merges into hers; the click comes with her userId only.
    await ingest(stores, [segmentEvent({ type: 'identify', anonymousId: 'ivy-laptop', userId: 'ivy-1', timestamp: at(8) }), segmentEvent({ type: 'identify', anonymousId: 'ivy-phone', userId: 'ivy-1', timestamp: at(10, 30) })]);
    const offer = decision.offers[0]?.offerId as string;
    await ingest(stores, [feedback('ivy-1', 'Promotion Clicked', { decision_id: decision.decisionId, promotion_id: offer, decision_token: decision.token }, at(10, 40))]);
    expect((await counts(stores, offer))?.total.clicks).toBe(1);
  });
});
