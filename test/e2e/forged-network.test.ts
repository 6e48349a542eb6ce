import { useLocalStack } from '../support/local-api';

/**
 * Network evidence nobody can forge, end to end through HTTP: anyone holding the public write key
 * (it ships in every browser and app) who sends `context.ip` of someone's home network is not placed
 * on it. Her devices are seen at home through a server-side key (`dev-server-key`, as a back end that
 * relays its users' addresses would send them); the intruder sends the same address, the same
 * evenings and the same research with the client key (`dev-write-key`). Her own devices stay linked;
 * the intruder is linked to nobody and his decisions borrow nothing of hers.
 */
const local = useLocalStack();

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const CLIENT = basic('dev-write-key');
const SERVER = basic('dev-server-key');
const HER_HOME = '198.51.100.23';
const day = (d: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 10, d, hour, minute)).toISOString();
const consent = { categoryPreferences: { Personalization: true, Advertising: false } };
const view = (anonymousId: string, timestamp: string, product: string) => ({
  type: 'track',
  event: 'Product Viewed',
  anonymousId,
  messageId: `${anonymousId}-${timestamp}-${product}`,
  timestamp,
  properties: { product_id: product, category: product.split('-')[0] },
  context: { ip: HER_HOME, locale: 'en-GB', timezone: 'Europe/London', consent },
});

async function send(authorization: string, batch: Array<Record<string, unknown>>): Promise<void> {
  const res = await fetch(`${local.stack.url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
  expect(await res.json()).toMatchObject({ success: true, rejected: [] });
}

async function call(method: string, path: string, key: string, body?: unknown): Promise<any> {
  const res = await fetch(`${local.stack.url}${path}`, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  expect(res.status).toBe(200);
  return res.json();
}
const profileOf = async (anonymousId: string): Promise<string> => (await call('GET', `/v1/identities/anonymousId/${anonymousId}`, 'dev-read-key')).profileId as string;

it("places nobody on her home network with the public write key: no link to her, no context of hers borrowed", async () => {
  // Her phone (she logs in on it) and her laptop, at home in the evenings, researching paint and garden.
  const phone = [2, 3].flatMap((d) => [view('mia-phone', day(d, 20), 'paint-41'), view('mia-phone', day(d, 20, 10), 'paint-42'), view('mia-phone', day(d, 20, 20), `garden-5${d}`)]);
  const login = { type: 'identify', anonymousId: 'mia-phone', userId: 'user-mia', messageId: 'mia-login', timestamp: day(3, 21), context: { ip: HER_HOME, consent } };
  const laptop = [2, 4].flatMap((d) => [view('mia-laptop', day(d, 22), 'paint-41'), view('mia-laptop', day(d, 22, 5), 'paint-42')]);
  await send(SERVER, [...phone, login, ...laptop]);
  // The intruder: her address, her evenings, her research, sent with the key every browser holds.
  const intruder = [2, 4].flatMap((d) => [view('intruder-tab', day(d, 22, 30), 'paint-41'), view('intruder-tab', day(d, 22, 35), 'paint-42')]);
  await send(CLIENT, intruder);
  await local.stack.poller.idle();

  const [her, herLaptop, him] = await Promise.all([profileOf('mia-phone'), profileOf('mia-laptop'), profileOf('intruder-tab')]);
  // Her own devices: seen at home through the server key, still one probable person.
  const herCluster = await call('GET', `/v1/profiles/${her}/cluster`, 'dev-read-key');
  expect(herCluster.person.map((m: { profileId: string }) => m.profileId)).toContain(herLaptop);
  // The intruder is no member of her cluster, nor she of his.
  expect(herCluster.person.map((m: { profileId: string }) => m.profileId)).not.toContain(him);
  const hisCluster = await call('GET', `/v1/profiles/${him}/cluster`, 'dev-read-key');
  expect(hisCluster.person).toEqual([]);
  expect(hisCluster.clusterContext).toBeNull();
  expect((await call('GET', `/v1/profiles/${him}`, 'dev-read-key')).probableLinks).toEqual([]);

  // His decisions borrow nothing of hers (he consented himself, so only the missing link keeps it out).
  const decision = await call('POST', '/v1/decisions', 'dev-api-key', { identity: { namespace: 'anonymousId', value: 'intruder-tab' }, placement: 'home', count: 3, context: { timestamp: day(4, 23) } });
  expect(decision.consent).toMatchObject({ granted: true });
  expect(decision.context.cluster).toBeUndefined();
  const reasons = (decision.offers as Array<{ reasons: string[] }>).flatMap((o) => o.reasons).join('; ');
  expect(reasons).not.toMatch(/probable other devices|interest in garden/);
  expect(JSON.stringify(decision)).not.toContain(her);
});
