import { TABLES } from '../../lib/store/tables';
import { useLocalStack, WRITE } from '../support/local-api';

/**
 * What an erasure's suppression holds back, through the doors a client uses (the collector with the
 * public write key, the privacy API with an admin key): only the erased person's data. Someone else's
 * message that names one of her identifiers is kept, and an identifier she never proved was hers (an
 * address somebody else claimed) does not silence its real owner.
 */
const local = useLocalStack();
const call = local.withKey;

const past = (day: number, hour: number) => new Date(Date.UTC(2026, 10, day, hour)).toISOString();
/** A moment after the erasures these tests make (the stack runs on the real clock). */
const now = () => new Date().toISOString();

/** One request of the public write key, every message accepted; waits until the ingest has them. */
async function send(batch: Array<Record<string, unknown>>): Promise<void> {
  expect((await local.postBatch(batch)).rejected).toEqual([]);
  await local.stack.poller.idle();
}

const profileOf = async (namespace: string, value: string): Promise<string | undefined> => {
  const found = await call('GET', `/v1/identities/${namespace}/${encodeURIComponent(value)}`, 'dev-read-key');
  return found.status === 200 ? (found.body.profileId as string) : undefined;
};
const journeyOf = async (profileId: string): Promise<string[]> => (await call('GET', `/v1/profiles/${profileId}/journey`, 'dev-read-key')).body.events.map((e: any) => e.messageId as string).sort();

/** The ingest's dead letters that say a message was held back by an erasure. */
async function erasedLetters(): Promise<number> {
  return (await local.scanTable(TABLES.deadLetters.localName)).filter((l) => String(l.reason).startsWith('erased')).length;
}

async function erase(namespace: string, value: string): Promise<void> {
  const id = await profileOf(namespace, value);
  expect(id).toBeDefined();
  const erased = await call('DELETE', `/v1/profiles/${id}`, 'dev-admin-key');
  expect(erased.status).toBe(200);
}

describe('an erasure suppresses only the erased person', () => {
  it("keeps Ben's messages from the family tablet Ann used, and gives him the tablet, while her own messages stay held back", async () => {
    const viewOnTablet = (messageId: string, timestamp: string, extra: Record<string, unknown> = {}) => ({
      type: 'track',
      event: 'Product Viewed',
      anonymousId: 'family-tablet-7',
      messageId,
      timestamp,
      properties: { product_id: 'paint-12' },
      ...extra,
    });
    await send([
      viewOnTablet('ann-tablet-view-1', past(20, 19)),
      { type: 'identify', anonymousId: 'family-tablet-7', userId: 'ann-family-1', messageId: 'ann-tablet-login', timestamp: past(20, 20), traits: { email: 'ann.family@example.com' } },
    ]);
    await erase('userId', 'ann-family-1');
    const lettersBefore = await erasedLetters();

    // Ben logs in on the tablet and orders.
    await send([
      { type: 'identify', anonymousId: 'family-tablet-7', userId: 'ben-family-2', messageId: 'ben-tablet-login', timestamp: now() },
      { type: 'track', event: 'Order Completed', anonymousId: 'family-tablet-7', userId: 'ben-family-2', messageId: 'ben-tablet-order', timestamp: now(), properties: { order_id: 'o-1', total: 30 } },
    ]);
    const ben = await profileOf('userId', 'ben-family-2');
    expect(ben).toBeDefined();
    expect(await journeyOf(ben as string)).toEqual(['ben-tablet-login', 'ben-tablet-order']);
    expect(await erasedLetters()).toBe(lettersBefore);
    // The tablet is his now: what it sends next, without a login, is his too.
    expect(await profileOf('anonymousId', 'family-tablet-7')).toBe(ben);
    await send([viewOnTablet('ben-tablet-view', now())]);
    expect(await journeyOf(ben as string)).toEqual(['ben-tablet-login', 'ben-tablet-order', 'ben-tablet-view']);

    // Ann's old tablet events replayed, and a new message under her login: neither reaches anyone.
    await send([viewOnTablet('ann-tablet-view-1', past(20, 19)), { type: 'track', event: 'Product Viewed', userId: 'ann-family-1', messageId: 'ann-after', timestamp: now(), properties: { product_id: 'x' } }]);
    expect(await journeyOf(ben as string)).toEqual(['ben-tablet-login', 'ben-tablet-order', 'ben-tablet-view']);
    expect(await profileOf('userId', 'ann-family-1')).toBeUndefined();
    expect(await erasedLetters()).toBe(lettersBefore + 2);
  });

  it('does not let Mallory silence a customer by claiming her address and having herself erased', async () => {
    await send([{ type: 'identify', anonymousId: 'mallory-laptop', userId: 'mallory-9', messageId: 'mallory-claims', timestamp: now(), traits: { email: 'vera.victim@example.com' } }]);
    await erase('userId', 'mallory-9');
    const lettersBefore = await erasedLetters();

    // Vera signs up with her own address.
    await send([{ type: 'identify', anonymousId: 'vera-phone', userId: 'vera-3', messageId: 'vera-signs-up', timestamp: now(), traits: { email: 'vera.victim@example.com' } }]);
    const vera = await profileOf('userId', 'vera-3');
    expect(vera).toBeDefined();
    expect(await erasedLetters()).toBe(lettersBefore);
    expect(await journeyOf(vera as string)).toEqual(['vera-signs-up']);
    // Her address resolves to her, and is kept (sealed) for the e-mail channel.
    expect(await profileOf('email', 'vera.victim@example.com')).toBe(vera);
    const exported = await call('GET', `/v1/profiles/${vera}/export`, 'dev-admin-key');
    expect(exported.body.contactAddresses).toEqual([expect.objectContaining({ namespace: 'email', sealed: true })]);
  });
});

describe('an erasure while her events stream in', () => {
  it('leaves no link of hers, from the first erasure or the sweep of a second', async () => {
    const device = (i: number) => `kim-device-${i}`;
    const message = (i: number) => ({ type: 'track', event: 'Product Viewed', anonymousId: device(i), userId: 'kim-erased-4', messageId: `kim-${i}`, timestamp: now(), properties: { product_id: 'paint-12' } });
    await send([message(0)]);
    const kim = await profileOf('userId', 'kim-erased-4');
    expect(kim).toBeDefined();
    // Her devices keep sending (one new device per request) while she is erased.
    let sending = true;
    let sent = 1;
    const stream = (async () => {
      while (sending && sent < 60) {
        const res = await fetch(`${local.stack.url}/v1/batch`, { method: 'POST', headers: { ...WRITE, 'content-type': 'application/json' }, body: JSON.stringify({ batch: [message(sent), message(sent + 1)] }) });
        expect(res.status).toBe(200);
        sent += 2;
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    expect(await call('DELETE', `/v1/profiles/${kim}`, 'dev-admin-key')).toMatchObject({ status: 200 });
    await new Promise((r) => setTimeout(r, 150));
    sending = false;
    await stream;
    await local.stack.poller.idle();
    const links = async () => {
      return (await local.scanTable(TABLES.graph.localName)).filter((l) => String(l.pk).includes('kim-') || String(l.profileId ?? '').length > 0 && l.profileId === kim);
    };
    const afterFirst = await links();
    // The documented remedy, erasing again, sweeps whatever a batch in flight linked to her.
    expect((await call('DELETE', `/v1/profiles/${kim}`, 'dev-admin-key')).status).toBe(200);
    expect(await links()).toEqual([]);
    expect(afterFirst).toEqual([]);
    expect(await profileOf('userId', 'kim-erased-4')).toBeUndefined();
  });
});

describe('what the collector keeps of an erased person', () => {
  it('keeps none of her identifiers in the dead letter of a replayed message it refuses', async () => {
    await send([{ type: 'identify', anonymousId: 'lea-phone', userId: 'lea-erased-5', messageId: 'lea-1', timestamp: past(21, 9), traits: { email: 'lea@example.com' } }]);
    await erase('userId', 'lea-erased-5');
    // Her old message replayed, in a shape the collector refuses (a track without an event name).
    const res = await fetch(`${local.stack.url}/v1/batch`, {
      method: 'POST',
      headers: { ...WRITE, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [{ type: 'track', anonymousId: 'lea-phone', userId: 'lea-erased-5', messageId: 'lea-bad', timestamp: past(21, 9), properties: {} }] }),
    });
    expect(((await res.json()) as { rejected: unknown[] }).rejected).toHaveLength(1);
    const letters = await local.scanTable(TABLES.deadLetters.localName);
    const text = JSON.stringify(letters);
    expect(text).not.toContain('lea-phone');
    expect(text).not.toContain('lea-erased-5');
    expect(letters.filter((l) => String(l.reason).includes('not kept: it names an identifier of a person erased'))).toHaveLength(1);
  });
});
