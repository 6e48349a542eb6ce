/**
 * `npm run demo`: with `npm start` running, sends the seed journey (events/journeys/seed.json: Ann,
 * who shops on her laptop, phone and tablet and in the store; Ben, in her household, who never
 * logs in) and a small simulated population through the collector, waits for Ann's profile (the
 * ingest is asynchronous), then asks for the decisions the README walks through and prints each
 * one as a request ready to paste, with what it showed and why.
 */
import './quiet';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulateShoppers } from './simulate-shoppers';

export interface DemoOptions {
  url: string;
  writeKey: string;
  /** A decision key (the printed requests use it). */
  apiKey: string;
  /** A read key, to wait for the profiles. */
  readKey: string;
  /** Simulated shoppers sent besides the seed journey (default 200). */
  shoppers?: number;
  print?: (line: string) => void;
}

/** One situation: the request, what it should show and why, and what the stack answered. */
export interface Situation {
  title: string;
  expect: string;
  request: Record<string, unknown>;
  response?: DecisionResponse;
}

export interface DecisionResponse {
  profileId: string | null;
  offers: Array<{ offerId: string; reasons: string[]; items?: string[]; explored?: boolean }>;
  suppressed: Array<{ offerId: string; reason: string }>;
  context: { localTime?: string; quiet?: string; nearby?: string[]; device?: string };
  variant: string;
  modelVersion: string;
}

const SEED = JSON.parse(readFileSync(join(__dirname, '../events/journeys/seed.json'), 'utf8')) as { messages: Array<Record<string, unknown>>; people: { ann: { userId: string }; ben: { devices: { laptop: string } } } };
const ann = { namespace: 'userId', value: SEED.people.ann.userId };
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
const LAPTOP = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15';
const PLACES = { gym: { latitude: 53.7999, longitude: -1.549 }, store: { latitude: 53.8164, longitude: -1.6027 }, opera: { latitude: 53.8003, longitude: -1.5432 } };

/** A decision request for the app feed, three offers, in London, at `timestamp` (UTC; in London in November that is local time). */
const ask = (identity: { namespace: string; value: string }, timestamp: string, context: Record<string, unknown> = {}) => ({
  identity,
  placement: 'app-feed',
  count: 3,
  context: { timestamp, timezone: 'Europe/London', device: { userAgent: LAPTOP }, channel: 'app', ...context },
});

/** The situations, the day after the seed journey. */
export const SITUATIONS: Situation[] = [
  {
    title: 'Ann at 06:00 near the gym',
    expect: 'the health club trial first: a context rule boosts it at 06:00-09:00 local near a gym partner',
    request: ask(ann, '2026-11-22T06:05:00Z', { location: PLACES.gym }),
  },
  {
    title: 'Ann at 18:00, same place',
    expect: "the restaurant offer first: the evening rule, in her time zone, not the server's",
    request: ask(ann, '2026-11-22T18:05:00Z', { location: PLACES.gym }),
  },
  {
    title: "Ann inside the store's geofence, on her phone",
    expect: 'what goes with what she bought: brushes and a roller for the paint (association rules of the model)',
    request: ask(ann, '2026-11-22T11:04:00Z', { location: PLACES.store, device: { userAgent: IPHONE } }),
  },
  {
    title: 'Ann at the opera',
    expect: 'nothing: the opera is a quiet place, and the response says so for every offer it held back',
    request: ask(ann, '2026-11-22T19:30:00Z', { location: PLACES.opera, device: { userAgent: IPHONE } }),
  },
  {
    title: 'Ann on her phone at noon, at home',
    expect: 'on a smartphone the survey gives way to an instant-response offer; personalised offers, as she consented',
    request: ask(ann, '2026-11-22T12:00:00Z', { device: { userAgent: IPHONE } }),
  },
  {
    title: "Ben's laptop (he never logged in, nor consented)",
    expect: 'generic offers only: without consent nothing personalised, and the response says why',
    request: ask({ namespace: 'anonymousId', value: SEED.people.ben.devices.laptop }, '2026-11-22T12:00:00Z', { channel: 'web' }),
  },
];

export async function runDemo(options: DemoOptions): Promise<Situation[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  await health(options.url);
  const shoppers = options.shoppers ?? 200;
  print(`Sending the seed journey (${SEED.messages.length} messages) and ${shoppers} simulated shoppers to ${options.url} ...`);
  await send(options, SEED.messages.map((m, i) => ({ messageId: `demo-seed-${i}`, ...m })));
  const population = simulateShoppers(shoppers, new Date('2026-11-21T00:00:00Z'), 11).map((m) => ({ ...m, messageId: `demo-${m.messageId as string}` }));
  for (let i = 0; i < population.length; i += 500) await send(options, population.slice(i, i + 500));
  print('Waiting for the profiles (the ingest is asynchronous: a profile appears about a second after its events) ...');
  await waitFor(options, `/v1/identities/userId/${SEED.people.ann.userId}`);
  await waitFor(options, `/v1/identities/anonymousId/${SEED.people.ben.devices.laptop}`);
  // Her in-store order is the seed's last word on her; let the batch that carries it land.
  await new Promise((r) => setTimeout(r, 1500));

  const done: Situation[] = [];
  for (const situation of SITUATIONS) {
    const response = await decide(options, situation.request);
    done.push({ ...situation, response });
    print('');
    print(`## ${situation.title}`);
    print(`   expected: ${situation.expect}`);
    print(`   curl -s -H 'x-api-key: ${options.apiKey}' -H 'content-type: application/json' ${options.url}/v1/decisions -d '${JSON.stringify(situation.request)}'`);
    print(`   answered: ${describe(response)}`);
  }
  print('');
  print('Each answer also has decisionId, suppressed (what was held back, and why), variant, modelVersion and timings.');
  return done;
}

/** An answer in a few lines: the offers with their first reasons, or why there were none; and what was held back for want of consent. */
export function describe(r: DecisionResponse): string {
  const lines =
    r.offers.length === 0
      ? [`no offers${r.context.quiet ? `: ${r.context.quiet}` : ''}${r.suppressed.some((s) => s.reason.startsWith('contact nothing')) ? ' (every offer held back for it)' : ''}`]
      : r.offers.map((o, i) => `${i + 1}. ${o.offerId}${o.items ? ` [${o.items.join(', ')}]` : ''}: ${o.reasons.slice(0, 2).join('; ')}`);
  const consent = r.suppressed.filter((s) => s.reason.includes('consent')).map((s) => s.offerId);
  if (consent.length > 0) lines.push(`held back: ${consent.join(', ')} (${r.suppressed.find((s) => s.reason.includes('consent'))?.reason})`);
  return lines.join('\n             ');
}

async function health(url: string): Promise<void> {
  try {
    const res = await fetch(`${url}/health`);
    if (res.ok) return;
  } catch {
    // below
  }
  throw new Error(`no local stack answers at ${url}: start it first with npm start (in another terminal), or set DEMO_URL`);
}

async function send(options: DemoOptions, batch: Array<Record<string, unknown>>): Promise<void> {
  const res = await fetch(`${options.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}` },
    body: JSON.stringify({ batch }),
  });
  if (!res.ok) throw new Error(`the collector refused the demo's events: ${res.status} ${await res.text()}`);
}

async function waitFor(options: DemoOptions, path: string, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const res = await fetch(`${options.url}${path}`, { headers: { 'x-api-key': options.readKey } });
    if (res.status === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${path} did not appear within ${deadlineMs / 1000} s: is the stack's ingest running?`);
}

async function decide(options: DemoOptions, request: Record<string, unknown>): Promise<DecisionResponse> {
  const res = await fetch(`${options.url}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey }, body: JSON.stringify(request) });
  if (!res.ok) throw new Error(`a decision failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as DecisionResponse;
}

if (require.main === module) {
  const url = process.env.DEMO_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`;
  const first = (list: string | undefined, fallback: string) => (list ?? fallback).split(',')[0] as string;
  runDemo({ url, writeKey: first(process.env.WRITE_KEYS, 'dev-write-key'), apiKey: first(process.env.DECIDE_KEYS, 'dev-api-key'), readKey: first(process.env.READ_KEYS, 'dev-read-key') }).catch((e) => {
    console.error(`npm run demo: ${(e as Error).message}`);
    process.exit(1);
  });
}
