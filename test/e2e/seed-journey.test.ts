import { Analytics } from '@segment/analytics-node';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { SEED } from '../support/journey';

/**
 * The seed scenario end to end, as a user would run it: the official Segment Node SDK pointed at the
 * local stack with the development server-side write key (a Node back end relays each visitor's
 * address in `context.ip`, which only a server key may do: lib/collect/network.ts), then the read API.
 */
const { ann, ben } = SEED.people;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, quiet: true });
});
afterAll(async () => {
  await stack?.stop();
});

async function api<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.url}${path}`, { headers: { 'x-api-key': 'dev-read-key' } });
  return { status: res.status, body: (await res.json()) as T };
}

/** Polls until `check` passes or the deadline comes (the pipeline is asynchronous); returns the last value. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, deadlineMs = 20_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  let value = await read();
  while (!check(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    value = await read();
  }
  return value;
}

interface ProfileBody {
  profileId: string;
  identities: Record<string, string[]>;
  traits: Record<string, unknown>;
  aggregates: Record<string, unknown>;
  probableLinks: Array<{ profileId: string; score: number; reasons: string[] }>;
  mergedMembers: string[];
}

it('stitches the seed journey sent with @segment/analytics-node into the profiles the scenario describes', async () => {
  // Prepare
  const analytics = new Analytics({ writeKey: 'dev-server-key', host: stack.url, flushAt: 5, flushInterval: 200 });
  // Act: every message as the SDK would send it, in journey order.
  for (const [i, m] of SEED.messages.entries()) {
    const common = { messageId: `e2e-seed-${i}`, timestamp: m.timestamp, context: m.context } as const;
    const who = m.userId !== undefined ? { userId: m.userId, anonymousId: m.anonymousId } : { anonymousId: m.anonymousId as string };
    if (m.type === 'page') analytics.page({ ...common, ...who, name: m.name });
    else if (m.type === 'identify') analytics.identify({ ...common, ...who, userId: m.userId as string, traits: m.traits });
    else analytics.track({ ...common, ...who, event: m.event as string, properties: m.properties });
  }
  await analytics.closeAndFlush({ timeout: 10_000 });

  // Assess: her account and her tablet are one profile...
  const byUser = await eventually(
    () => api<{ profileId: string }>(`/v1/identities/userId/${ann.userId}`),
    (r) => r.status === 200,
  );
  const byTablet = await eventually(
    () => api<{ profileId: string }>(`/v1/identities/anonymousId/${ann.devices.tablet}`),
    (r) => r.status === 200 && r.body.profileId === byUser.body.profileId,
  );
  expect(byTablet.body.profileId).toBe(byUser.body.profileId);
  const byEmail = await api<{ profileId: string }>(`/v1/identities/email/${encodeURIComponent(ann.email)}`);
  expect(byEmail.body.profileId).toBe(byUser.body.profileId);

  // ...her phone and laptop are separate profiles linked as probable...
  const phone = (await api<{ profileId: string }>(`/v1/identities/anonymousId/${ann.devices.phone}`)).body.profileId;
  const laptop = (await api<{ profileId: string }>(`/v1/identities/anonymousId/${ann.devices.laptop}`)).body.profileId;
  const profile = await eventually(
    () => api<ProfileBody>(`/v1/profiles/${byUser.body.profileId}`),
    (r) => r.body.probableLinks?.length === 2 && r.body.aggregates?.eventCount === 5,
  );
  expect(profile.body.identities.userId).toEqual([ann.userId]);
  expect(profile.body.identities.anonymousId).toEqual([ann.devices.tablet]);
  expect(profile.body.traits).toMatchObject({ store: 'Leeds Kirkstall' });
  expect(profile.body.traits).not.toHaveProperty('firstName'); // personal data: removed before anything is stored
  expect(profile.body.aggregates).toMatchObject({ orderCount: 1, revenue: 64.99, eventCount: 5 });
  expect(profile.body.probableLinks.map((l) => l.profileId).sort()).toEqual([laptop, phone].sort());

  // ...and Ben, in the same household, stays on his own.
  const benId = (await api<{ profileId: string }>(`/v1/identities/anonymousId/${ben.devices.laptop}`)).body.profileId;
  const benProfile = await api<ProfileBody>(`/v1/profiles/${benId}`);
  expect(benProfile.body.probableLinks).toEqual([]);
  expect(benProfile.body.identities).toEqual({ anonymousId: [ben.devices.laptop] });

  // The journey of her profile holds the tablet's anonymous visit from before the login.
  const journey = await api<{ events: Array<{ messageId: string }> }>(`/v1/profiles/${byUser.body.profileId}/journey`);
  expect(journey.body.events.map((e) => e.messageId)).toEqual(['e2e-seed-6', 'e2e-seed-7', 'e2e-seed-8', 'e2e-seed-9', 'e2e-seed-10']);
});
