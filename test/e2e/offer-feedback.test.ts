import { useLocalStack } from '../support/local-api';

/**
 * Offer statistics as a hostile client would try to bend them, end to end: with the decision key it
 * may ask for as many decisions as it likes, and with the public write key send any feedback, stamped
 * with any time. Feedback counts on the day of its decision, and a click or a conversion only beside
 * the impression of the same decision and offer.
 */
const local = useLocalStack();

interface Decision {
  decisionId: string;
  token: string;
  variant: string;
  offers: Array<{ offerId: string }>;
}

async function decide(userId: string): Promise<Decision> {
  const res = await fetch(`${local.stack.url}/v1/decisions`, {
    method: 'POST',
    headers: { 'x-api-key': 'dev-api-key', 'content-type': 'application/json' },
    // At midday: the shipped contact policy offers nothing in quiet hours (22:00-6:00 local), and the
    // test must not depend on when it runs. The token (and so the day feedback counts on) is still now's.
    body: JSON.stringify({ identity: { namespace: 'userId', value: userId }, placement: 'home', count: 1, context: { timestamp: `${day(0)}T12:00:00.000Z` } }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Decision;
}

let n = 0;
const feedback = (userId: string, d: Decision, event: string, timestamp = new Date().toISOString()) => ({
  type: 'track',
  userId,
  event,
  messageId: `fb-${(n += 1)}`,
  timestamp,
  properties: { decision_id: d.decisionId, promotion_id: d.offers[0]?.offerId, variant: d.variant, decision_token: d.token },
});

async function send(batch: Array<Record<string, unknown>>): Promise<void> {
  await local.postBatch(batch);
  await local.stack.poller.idle();
}

/** Every offer's counts added up over these UTC days. */
async function totals(from: string, to: string): Promise<{ impressions: number; clicks: number; conversions: number }> {
  const res = await fetch(`${local.stack.url}/v1/offers/stats?from=${from}&to=${to}`, { headers: { 'x-api-key': 'dev-read-key' } });
  expect(res.status).toBe(200);
  const report = (await res.json()) as { offers: Array<{ total: { impressions: number; clicks: number; conversions: number } }> };
  const sum = (k: 'impressions' | 'clicks' | 'conversions') => report.offers.reduce((s, o) => s + o.total[k], 0);
  return { impressions: sum('impressions'), clicks: sum('clicks'), conversions: sum('conversions') };
}

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
/** Around the decisions of this test: the day they were made is among these, whenever it runs. */
const around = () => totals(day(-1), day(1));

it('counts feedback on the day of its decision, whatever day the client stamps on it', async () => {
  const before = await around();
  const d = await decide('stamp-1');
  await send([feedback('stamp-1', d, 'Promotion Viewed', '2001-01-01T00:00:00.000Z')]);
  expect(await totals('2001-01-01', '2001-01-01')).toEqual({ impressions: 0, clicks: 0, conversions: 0 });
  expect((await around()).impressions).toBe(before.impressions + 1);
});

it('counts a click or a conversion only beside the impression of the same decision and offer, in whatever order they come', async () => {
  const before = await around();
  const mallory = await Promise.all(Array.from({ length: 10 }, () => decide('mallory-9')));
  // Ten decisions, a click and a conversion on each, and no impression: nothing counts.
  await send(mallory.flatMap((d) => [feedback('mallory-9', d, 'Promotion Clicked'), feedback('mallory-9', d, 'Promotion Converted')]));
  expect(await around()).toEqual(before);

  // The impressions of four of them arrive later: their clicks and conversions count with them, once.
  await send(mallory.slice(0, 4).map((d) => feedback('mallory-9', d, 'Promotion Viewed')));
  expect(await around()).toEqual({ impressions: before.impressions + 4, clicks: before.clicks + 4, conversions: before.conversions + 4 });

  // A click sent before its impression in one batch counts with it; sent again under new messageIds, nothing more.
  const ivy = await decide('ivy-9');
  await send([feedback('ivy-9', ivy, 'Promotion Clicked'), feedback('ivy-9', ivy, 'Promotion Viewed')]);
  await send([feedback('ivy-9', ivy, 'Promotion Clicked'), feedback('ivy-9', ivy, 'Promotion Viewed'), ...mallory.map((d) => feedback('mallory-9', d, 'Promotion Clicked'))]);
  expect(await around()).toEqual({ impressions: before.impressions + 5, clicks: before.clicks + 5, conversions: before.conversions + 4 });
});
