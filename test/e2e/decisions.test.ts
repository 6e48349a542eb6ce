import { Analytics } from '@segment/analytics-node';
import fc from 'fast-check';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { SEED } from '../support/journey';

/**
 * The decision API end to end on the local stack, on the profile stitched from the seed journey
 * (sent with the official Segment SDK), for the situations the product exists for.
 */
let stack: LocalStack;
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
const STORE = { latitude: 53.8164, longitude: -1.6027 };
const GYM = { latitude: 53.7998, longitude: -1.5493 };
const CINEMA = { latitude: 53.8169, longitude: -1.5687 };

beforeAll(async () => {
  // Published catalogs take effect at once in this test (30 s by default).
  process.env.CATALOG_REFRESH_MS = '0';
  stack = await startLocalStack({ port: 0, quiet: true });
  const analytics = new Analytics({ writeKey: 'dev-write-key', host: stack.url, flushAt: 20, flushInterval: 100 });
  for (const [i, m] of SEED.messages.entries()) {
    const common = { messageId: `dec-seed-${i}`, timestamp: m.timestamp, context: m.context };
    const who = m.userId !== undefined ? { userId: m.userId, anonymousId: m.anonymousId } : { anonymousId: m.anonymousId as string };
    if (m.type === 'page') analytics.page({ ...common, ...who, name: m.name });
    else if (m.type === 'identify') analytics.identify({ ...common, ...who, userId: m.userId as string, traits: m.traits });
    else analytics.track({ ...common, ...who, event: m.event as string, properties: m.properties });
  }
  await analytics.closeAndFlush({ timeout: 10_000 });
  await stack.poller.idle();
});
afterAll(async () => {
  await stack?.stop();
});

interface DecisionBody {
  decisionId: string;
  profileId: string | null;
  variant: string;
  token: string;
  offers: Array<{ offerId: string; reasons: string[]; items?: string[]; explored?: boolean }>;
  suppressed: Array<{ offerId: string; reason: string }>;
  modelVersion: string;
  context: { localTime: string; quiet?: string };
  timings: { totalMs: number };
  message?: string;
}

async function decide(body: unknown, key = 'dev-api-key'): Promise<{ status: number; body: DecisionBody }> {
  const res = await fetch(`${stack.url}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as DecisionBody };
}

/** A decision outside the exploration share (5% of decisions put a random offer in the last slot). */
async function decideWithoutExploring(body: unknown): Promise<{ status: number; body: DecisionBody }> {
  for (;;) {
    const d = await decide(body);
    if (!d.body.offers?.some((o) => o.explored)) return d;
  }
}

const ann = { namespace: 'userId', value: SEED.people.ann.userId };
const ids = (d: DecisionBody) => d.offers.map((o) => o.offerId);

it('in the store the next day, offers Ann the brushes to go with the paint she chose', async () => {
  const d = await decideWithoutExploring({ identity: ann, placement: 'app-feed', context: { timestamp: '2026-11-21T11:04:00Z', location: STORE, device: { userAgent: IPHONE }, channel: 'app' } });
  expect(d.status).toBe(200);
  expect(d.body.profileId).toMatch(/^p_/);
  expect(d.body.offers[0]).toMatchObject({ offerId: 'in-store-complement', items: expect.arrayContaining(['roller-set-9in']) });
  expect(d.body.offers[0]?.reasons.join(' ')).toContain('in one of our stores');
  // Scored in-process by the bundled model; the last slot is the serendipity pick: she bought the
  // paint and the tape, and a less popular item goes with both.
  expect(d.body.modelVersion).toBe('in-process:demo-1');
  expect(d.body.offers.at(-1)).toMatchObject({ offerId: 'discover-pick', items: ['filler-knife-set'] });
  expect(d.body.offers.at(-1)?.reasons[0]).toMatch(/^serendipity: customers who chose paint-sage-2l \+ tape-50m also chose filler-knife-set \(lift 8\.1/);
});

it('offers the health club at 06:00 near a gym, a restaurant at 18:00, and nothing at the cinema', async () => {
  const morning = await decideWithoutExploring({ identity: ann, placement: 'home', context: { timestamp: '2026-11-22T06:10:00Z', location: GYM } });
  expect(ids(morning.body)[0]).toBe('health-club-trial');
  const evening = await decideWithoutExploring({ identity: ann, placement: 'home', context: { timestamp: '2026-11-22T18:10:00Z' } });
  expect(ids(evening.body)[0]).toBe('restaurant-evening');
  const cinema = await decide({ identity: ann, placement: 'home', context: { timestamp: '2026-11-22T19:30:00Z', location: CINEMA } });
  expect(cinema.body.offers).toEqual([]);
  expect(cinema.body.context.quiet).toContain('cinema');
});

it('swaps the survey for an instant offer on her phone, and skips the expired Black Friday offer', async () => {
  const phone = await decide({ identity: ann, placement: 'home', count: 10, context: { timestamp: '2026-12-02T12:00:00Z', device: { userAgent: IPHONE } } });
  expect(ids(phone.body)).toContain('instant-win');
  expect(ids(phone.body)).not.toContain('survey-q4');
  expect(phone.body.suppressed).toContainEqual({ offerId: 'black-friday-paint', reason: 'expired at 2026-11-30T23:59:59Z' });
});

it('answers an unknown visitor with generic offers, and makes no profile of her (she exists once she sends an event)', async () => {
  const d = await decide({ identity: { namespace: 'anonymousId', value: 'never-seen' }, placement: 'home', context: { timestamp: '2026-12-02T12:00:00Z' } });
  expect(d.status).toBe(200);
  expect(d.body.profileId).toBeNull();
  expect(d.body.offers.length).toBeGreaterThan(0);
  expect((await decide({ identity: { namespace: 'anonymousId', value: 'never-seen' }, placement: 'home' })).body.profileId).toBeNull();
  await stack.poller.idle();
  const found = await fetch(`${stack.url}/v1/identities/anonymousId/never-seen`, { headers: { 'x-api-key': 'dev-read-key' } });
  expect(found.status).toBe(404);
});

it("logs a known customer's decision on the stream: her journey holds it", async () => {
  const d = await decide({ identity: ann, placement: 'home', context: { timestamp: '2026-12-02T12:00:00Z' } });
  await stack.poller.idle();
  const { profileId } = (await (await fetch(`${stack.url}/v1/identities/userId/${ann.value}`, { headers: { 'x-api-key': 'dev-read-key' } })).json()) as { profileId: string };
  const journey = (await (await fetch(`${stack.url}/v1/profiles/${profileId}/journey`, { headers: { 'x-api-key': 'dev-read-key' } })).json()) as { events: Array<{ event: string; properties: { decision_id: string } }> };
  expect(journey.events).toContainEqual(expect.objectContaining({ event: 'Decision Made', properties: expect.objectContaining({ decision_id: d.body.decisionId }) }));
});

it('validates requests against the schema and names the field; needs an API key; serves the OpenAPI document', async () => {
  expect((await decide({ placement: 'home', count: 99 })).body.message).toBe('count: Too big: expected number to be <=10');
  // Messages say what is expected.
  expect((await decide({ count: 2 })).body).toEqual({ success: false, message: 'placement is required' });
  expect((await decide({ placement: 'home', count: 'two' })).body.message).toBe('count: must be a number');
  expect((await decide({ placement: 'home', colour: 'red' })).body.message).toBe('body: unknown field colour');
  // What the catalog and the clock know: an unknown placement or time zone is named, not answered with nothing or a fallback.
  expect((await decide({ placement: 'homepage' })).body).toEqual({ success: false, message: 'placement: no offer of the catalog is for "homepage"; the catalog\'s placements are home, app-feed, push, email' });
  expect((await decide({ placement: 'home', context: { timezone: 'Mars/Olympus' } })).body).toEqual({ success: false, message: 'context.timezone: "Mars/Olympus" is not an IANA time zone (such as Europe/London)' });
  expect((await decide({ placement: 'home', identity: { namespace: 'cookie', value: 'x' } })).status).toBe(400);
  expect((await decide({ placement: 'home' }, 'wrong')).status).toBe(401);
  const doc = (await (await fetch(`${stack.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
  expect(doc.openapi).toBe('3.1.0');
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/decisions', '/v1/track', '/v1/profiles/{profileId}']));
});

it('answers any JSON with a 2xx or 4xx, never a 5xx (fuzz)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.jsonValue(),
        fc.record({ placement: fc.string(), count: fc.integer(), identity: fc.record({ namespace: fc.constantFrom('userId', 'email', 'anonymousId', 'phone'), value: fc.string() }) }),
        fc.record({ placement: fc.constant('home'), context: fc.record({ timestamp: fc.date({ noInvalidDate: true }).map((x) => x.toISOString()), timezone: fc.string(), location: fc.record({ latitude: fc.double(), longitude: fc.double() }), device: fc.record({ userAgent: fc.string() }) }) }),
      ),
      async (body) => {
        const res = await fetch(`${stack.url}/v1/decisions`, { method: 'POST', headers: { 'x-api-key': 'dev-api-key' }, body: JSON.stringify(body) });
        expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
        await res.json();
      },
    ),
    { numRuns: 150 },
  );
});

it('counts impressions and clicks that carry the decision id in the offer statistics', async () => {
  const d = await decideWithoutExploring({ identity: ann, placement: 'home', context: { timestamp: '2026-12-02T12:00:00Z' } });
  const offer = d.body.offers[0]?.offerId as string;
  // Feedback happens now: event time is trusted only up to an hour after receipt (config/events.json).
  const now = new Date();
  const feedback = (event: string) => ({
    type: 'track', userId: ann.value, event, timestamp: now.toISOString(),
    properties: { decision_id: d.body.decisionId, promotion_id: offer, variant: d.body.variant, decision_token: d.body.token },
  });
  const sent = await fetch(`${stack.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('dev-write-key:').toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch: [feedback('Promotion Viewed'), feedback('Promotion Clicked')] }),
  });
  expect(sent.status).toBe(200);
  await stack.poller.idle();
  const day = (offset: number) => new Date(now.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
  const res = await fetch(`${stack.url}/v1/offers/stats?from=${day(-1)}&to=${day(1)}`, { headers: { 'x-api-key': 'dev-read-key' } });
  expect(res.status).toBe(200);
  const report = (await res.json()) as { from: string; offers: Array<{ offerId: string; variants: Record<string, { impressions: number; clicks: number; clickThroughRate: number | null }> }> };
  expect(report.offers.find((o) => o.offerId === offer)?.variants[d.body.variant]).toMatchObject({ impressions: 1, clicks: 1, clickThroughRate: 1 });
  const bad = await fetch(`${stack.url}/v1/offers/stats?from=last-week`, { headers: { 'x-api-key': 'dev-read-key' } });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { message: string }).message).toBe('from: must be a date as YYYY-MM-DD');
  expect((await fetch(`${stack.url}/v1/offers/stats`)).status).toBe(401);
});

it('publishes a new catalog without a redeploy: validated, then served to the next decision', async () => {
  const base = require('../../config/catalog.json') as { offers: Array<Record<string, unknown>> };
  const put = (body: unknown) =>
    fetch(`${stack.url}/v1/catalog`, { method: 'PUT', headers: { 'x-api-key': 'dev-admin-key', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  // A bad catalog is refused, naming the offer and the field, and nothing changes.
  const bad = await put({ ...base, offers: [...base.offers, { ...base.offers[0], id: 'winter-sale', value: -5 }] });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { message: string }).message).toContain('offer "winter-sale" value');
  // A good one serves from the next decision.
  const winter = { id: 'winter-sale', content: 'offers/winter-sale', placements: ['home'], channels: ['app', 'web'], category: 'seasonal', value: 500, personalised: false };
  const ok = await put({ ...base, offers: [...base.offers, winter] });
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ version: expect.any(String), offers: base.offers.length + 1 });
  const d = await decideWithoutExploring({ identity: ann, placement: 'home', context: { timestamp: '2026-12-02T12:00:00Z' } });
  expect(d.body.offers[0]?.offerId).toBe('winter-sale');
});

it('publishes a new model artifact without a redeploy: validated, then scoring the next decision', async () => {
  const base = require('../../config/model.json') as Record<string, unknown>;
  const put = (body: unknown) => fetch(`${stack.url}/v1/model`, { method: 'PUT', headers: { 'x-api-key': 'dev-admin-key', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const bad = await put({ ...base, features: [{ name: 'x', path: 'password' }] });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { message: string }).message).toContain('feature "x" path');
  const ok = await put({ ...base, version: 'retrained-7' });
  expect(ok.status).toBe(200);
  const d = await decide({ identity: ann, placement: 'home', context: { timestamp: '2026-12-02T12:00:00Z' } });
  expect(d.body.modelVersion).toBe('in-process:retrained-7');
  expect((await fetch(`${stack.url}/v1/model`, { method: 'PUT', body: '{}' })).status).toBe(401);
});
