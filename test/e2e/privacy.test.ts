import { TABLES } from '../../lib/store/tables';
import { useLocalStack } from '../support/local-api';

/**
 * The privacy API end to end on the local stack: a person's journey across three devices with
 * merges, a decision, feedback and a rejected message; her export holds everything a scan of every
 * table finds of her; her erasure leaves nothing of her in any table, and replaying her old events does
 * not bring her back. Also: consent withdrawn through the collector is honoured by the next decision.
 */
const local = useLocalStack();
const send = local.postBatch;
const call = local.withKey;
const scanAll = local.scanAll;

/**
 * Her devices at home, relayed by a back end with the server-side write key: only a server key's
 * `context.ip` is a network (lib/collect/network.ts), and her export must show her network visits.
 */
async function sendFromServer(batch: Array<Record<string, unknown>>): Promise<{ accepted: number; rejected: unknown[] }> {
  const res = await fetch(`${local.stack.url}/v1/batch`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('dev-server-key:').toString('base64')}`, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { accepted: number; rejected: unknown[] };
}

const at = (day: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 10, day, hour, minute)).toISOString();

const view = (anonymousId: string, timestamp: string, product: string, ip: string, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  event: 'Product Viewed',
  anonymousId,
  messageId: `${anonymousId}-${timestamp}`,
  timestamp,
  properties: { product_id: product, category: product.split('-')[0] },
  context: { ip, timezone: 'Europe/London', consent: { categoryPreferences: { Personalization: true } } },
  ...extra,
});
const login = (anonymousId: string, userId: string, timestamp: string, ip: string, email = 'dora.keller@example.com') => ({
  type: 'identify',
  anonymousId,
  userId,
  messageId: `login-${anonymousId}-${timestamp}`,
  timestamp,
  traits: { email, consentPersonalisation: true },
  context: { ip, timezone: 'Europe/London' },
});

describe('erasure and export across devices, merges, decisions and feedback', () => {
  const HOME = '198.51.100.23';
  const dora = [
    view('dora-phone', at(10, 19), 'paint-12', HOME),
    view('dora-phone', at(10, 19, 5), 'tools-3', HOME),
    view('dora-laptop', at(11, 20), 'paint-12', HOME),
    view('dora-tablet', at(12, 21), 'garden-4', HOME),
    login('dora-phone', 'dora-k-77', at(12, 22), HOME),
    login('dora-laptop', 'dora-k-77', at(13, 8), HOME),
    login('dora-tablet', 'dora-k-77', at(13, 9), HOME),
  ];
  const eli = [view('eli-phone', at(10, 12), 'paint-12', '203.0.113.9'), login('eli-phone', 'eli-w-12', at(10, 13), '203.0.113.9', 'eli.wong@example.com')];

  it("exports everything a scan finds of her, erases all of it, keeps others' data, and her replayed events do not bring her back", async () => {
    // Her browsing, someone else's journey, and a message of hers the collector rejects (a track without an event name);
    // then her sign-ins, once her devices' own profiles are stored, so that they merge into hers (in one
    // ingest batch with the browsing, the devices would never have had profiles of their own to merge).
    const sent = await sendFromServer([...dora.filter((e) => e.type !== 'identify'), ...eli, { type: 'track', anonymousId: 'dora-phone', messageId: 'dora-bad-1', timestamp: at(12, 10), properties: {} }]);
    expect(sent.rejected).toHaveLength(1);
    await local.stack.poller.idle();
    expect((await sendFromServer(dora.filter((e) => e.type === 'identify'))).rejected).toEqual([]);
    await local.stack.poller.idle();
    const found = await call('GET', '/v1/identities/userId/dora-k-77', 'dev-read-key');
    expect(found.status).toBe(200);
    const doraId = found.body.profileId as string;

    // A decision for her, and her feedback on its first offer.
    const decision = await call('POST', '/v1/decisions', 'dev-api-key', { identity: { namespace: 'userId', value: 'dora-k-77' }, placement: 'home', context: { timestamp: at(14, 12) } });
    expect(decision.status).toBe(200);
    const offer = decision.body.offers[0].offerId as string;
    await local.stack.poller.idle();
    await send([{ type: 'track', event: 'Promotion Viewed', userId: 'dora-k-77', messageId: 'dora-fb-1', timestamp: at(14, 12, 1), properties: { decision_id: decision.body.decisionId, promotion_id: offer, variant: decision.body.variant, decision_token: decision.body.token } }]);
    await local.stack.poller.idle();

    // What the export holds.
    const exported = await call('GET', `/v1/profiles/${doraId}/export`, 'dev-admin-key');
    expect(exported.status).toBe(200);
    const x = exported.body;
    expect(x.liveProfileId).toBe(doraId);
    // The devices' own profiles merged into hers.
    expect(x.mergedProfiles.length).toBeGreaterThanOrEqual(1);
    expect(x.identifiers.map((i: any) => i.namespace).sort()).toEqual(['anonymousId', 'anonymousId', 'anonymousId', 'email', 'userId']);
    expect(x.identifiers.find((i: any) => i.namespace === 'email')).toMatchObject({ hashed: true });
    expect(x.events.length).toBeGreaterThanOrEqual(7);
    expect(x.decisions).toHaveLength(1);
    expect(x.offerFeedback).toHaveLength(1);
    expect(x.consent.personalization).toMatchObject({ granted: true });
    expect(x.deadLetters).toHaveLength(1);
    expect(x.networkVisits.length).toBeGreaterThan(0);
    expect(x.truncated).toBe(false);

    // Her needles: every id the system holds her by, and her identifiers in clear.
    const profileIds: string[] = [x.liveProfileId, ...x.mergedProfiles.map((p: any) => p.profileId)];
    const identifierValues: string[] = x.identifiers.map((i: any) => i.value);
    const networks: string[] = Object.keys(x.profile.signals.networks);
    const messageIds: string[] = [...x.events, ...x.decisions, ...x.offerFeedback].map((e: any) => e.messageId);
    const needles = [...new Set([...profileIds, ...identifierValues, ...networks, ...messageIds, 'dora-phone', 'dora-laptop', 'dora-tablet', 'dora-k-77', 'dora.keller@example.com'])];
    const hers = (text: string) => needles.some((n) => text.includes(n));

    // Everything a scan of every table finds of her is in the export (the privacy table holds only the export's own audit entry).
    const privacyTable = TABLES.privacy.localName;
    const scanned = await scanAll();
    expect(scanned.filter((s) => s.table === privacyTable).map((s) => JSON.parse(s.item.entry as string).action)).toEqual(['export']);
    const before = scanned.filter((s) => s.table !== privacyTable && hers(s.text));
    expect(before.length).toBeGreaterThan(10);
    const exportedText = JSON.stringify(x);
    const unexported = before.filter((s) => {
      const i = s.item as Record<string, string>;
      switch (s.table) {
        case 'profiles':
          return !profileIds.includes(i.profileId as string);
        case 'identity-graph':
          return i.sk === 'OWNER' ? !identifierValues.some((v) => i.pk === `ID#${x.identifiers.find((id: any) => id.value === v).namespace}:${v}`) : !x.networkVisits.some((v: any) => `NET#${v.network}` === i.pk && v.profileId === i.sk);
        case 'events':
          return !messageIds.includes(i.messageId as string);
        case 'dead-letters':
          return !x.deadLetters.some((l: any) => l.id === i.id);
        case 'contacts':
          return !x.contactAddresses.some((a: any) => `${a.namespace}:${a.identifier}` === i.id);
        case 'activations':
          // Her contact ledger's days (her impressions count against her caps).
          return String(i.sk).startsWith('L#') ? !x.contactLedger.some((d: any) => `P#${d.profileId}` === i.pk && `L#${d.day}` === i.sk) : !exportedText.includes(JSON.stringify(i));
        default:
          return !exportedText.includes(JSON.stringify(i));
      }
    });
    expect(unexported.map((s) => `${s.table}: ${JSON.stringify(s.item).slice(0, 200)}`)).toEqual([]);
    // Her e-mail address is kept for the e-mail channel, sealed: the export says so, and cannot open it.
    expect(new Set(before.map((s) => s.table))).toEqual(new Set(['profiles', 'identity-graph', 'events', 'dead-letters', 'contacts', 'activations']));
    expect(x.contactLedger).toEqual([expect.objectContaining({ profileId: x.liveProfileId, total: 1 })]);
    expect(x.contactAddresses).toEqual([expect.objectContaining({ namespace: 'email', sealed: true })]);
    expect(exportedText).not.toContain('dora.keller@example.com');

    // Erase her.
    const erased = await call('DELETE', `/v1/profiles/${doraId}`, 'dev-admin-key');
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ profileId: doraId, erasedProfileId: doraId, alreadyErased: false, suppressedIdentifiers: 5 });
    expect(erased.body.removed).toMatchObject({ profiles: profileIds.length, identifierLinks: 5, deadLetters: 1, contactAddresses: 1 });
    expect(erased.body.removed.events).toBe(messageIds.length);

    // Nothing of her in any data table; the privacy table holds only salted hashes, her profile ids (the erasure record) and the audit log.
    const after = await scanAll();
    expect(after.filter((s) => s.table !== privacyTable && hers(s.text)).map((s) => `${s.table}: ${JSON.stringify(s.item).slice(0, 200)}`)).toEqual([]);
    const identifying = needles.filter((n) => !profileIds.includes(n));
    expect(after.filter((s) => s.table === privacyTable && identifying.some((n) => s.text.includes(n)))).toEqual([]);
    // Someone else's data stays.
    expect((await call('GET', '/v1/identities/userId/eli-w-12', 'dev-read-key')).status).toBe(200);

    // Her old events replayed (a producer's retry, a backfill): dead-lettered, keeping nothing; she does not come back.
    const replay = await sendFromServer([...dora, { type: 'track', event: 'Product Viewed', userId: 'dora-k-77', messageId: 'dora-late-1', timestamp: at(15, 9), properties: { product_id: 'paint-12' } }]);
    expect(replay.accepted).toBe(dora.length + 1);
    await local.stack.poller.idle();
    const replayed = await scanAll();
    expect(replayed.filter((s) => s.table !== privacyTable && hers(s.text)).map((s) => `${s.table}: ${JSON.stringify(s.item).slice(0, 200)}`)).toEqual([]);
    const letters = replayed.filter((s) => s.table === TABLES.deadLetters.localName && String(s.item.reason).startsWith('erased'));
    expect(letters).toHaveLength(dora.length + 1);
    for (const l of letters) expect(l.item.data).toBe('');
    expect((await call('GET', '/v1/identities/userId/dora-k-77', 'dev-read-key')).status).toBe(404);
    const afterwards = await call('POST', '/v1/decisions', 'dev-api-key', { identity: { namespace: 'userId', value: 'dora-k-77' }, placement: 'home', context: { timestamp: at(15, 12) } });
    expect(afterwards.body.profileId).toBeNull();

    // Erasing again is harmless; every use is audited with the admin key's fingerprint, apart from the data.
    const again = await call('DELETE', `/v1/profiles/${doraId}`, 'dev-admin-key');
    expect(again.body).toMatchObject({ alreadyErased: true });
    const audit = await call('GET', '/v1/privacy/audit', 'dev-admin-key');
    expect(audit.body.entries.map((e: any) => [e.action, e.profileId, e.outcome.status])).toEqual([
      ['export', doraId, 200],
      ['erase', doraId, 200],
      ['erase', doraId, 200],
    ]);
    expect(new Set(audit.body.entries.map((e: any) => e.who))).toEqual(new Set([expect.stringMatching(/^key:[0-9a-f]{12}$/)]));
    // Only an admin key may use the privacy API.
    expect((await call('DELETE', `/v1/profiles/${doraId}`, 'dev-read-key')).status).toBe(403);
    expect((await call('GET', `/v1/profiles/${doraId}/export`, 'dev-api-key')).status).toBe(403);
  });
});

describe('split through the API', () => {
  it('takes a shared tablet back out of the customer it was wrongly merged into', async () => {
    const HOME = '192.0.2.77';
    await send([
      view('jo-phone', at(21, 9), 'paint-12', HOME, { userId: 'jo-5' }),
      view('shared-tablet', at(21, 19), 'spade-3', HOME),
      login('shared-tablet', 'jo-5', at(22, 8), HOME, 'jo.five@example.com'),
    ]);
    await local.stack.poller.idle();
    const jo = (await call('GET', '/v1/identities/userId/jo-5', 'dev-read-key')).body.profileId as string;
    expect((await call('GET', '/v1/identities/anonymousId/shared-tablet', 'dev-read-key')).body.profileId).toBe(jo);
    const split = await call('POST', `/v1/profiles/${jo}/split`, 'dev-admin-key', { identifier: { namespace: 'anonymousId', value: 'shared-tablet' } });
    expect(split.status).toBe(200);
    expect(split.body).toMatchObject({ profileId: jo, identifiers: ['anonymousId:shared-tablet'], events: { stayed: 1, moved: 2 } });
    const tablet = (await call('GET', '/v1/identities/anonymousId/shared-tablet', 'dev-read-key')).body.profileId as string;
    expect(tablet).toBe(split.body.splitProfileId);
    const journey = await call('GET', `/v1/profiles/${tablet}/journey`, 'dev-read-key');
    expect(journey.body.events.map((e: any) => e.messageId).sort()).toEqual([`login-shared-tablet-${at(22, 8)}`, `shared-tablet-${at(21, 19)}`]);
    expect((await call('POST', `/v1/profiles/${jo}/split`, 'dev-admin-key', { identifier: { namespace: 'anonymousId', value: 'never-hers' } })).status).toBe(400);
    expect((await call('POST', `/v1/profiles/${jo}/split`, 'dev-read-key', { member: tablet })).status).toBe(403);
  });
});

describe('consent through the collector', () => {
  it('honours a withdrawal sent through the collector in the next decision', async () => {
    const ask = () => call('POST', '/v1/decisions', 'dev-api-key', { identity: { namespace: 'anonymousId', value: 'finn-phone' }, placement: 'home', context: { timestamp: at(20, 12) } });
    const consent = (granted: boolean, timestamp: string) => view('finn-phone', timestamp, 'tools-9', '192.0.2.44', { context: { timezone: 'Europe/London', consent: { categoryPreferences: { Personalization: granted } } } });
    await send([consent(true, at(20, 9)), consent(true, at(20, 9, 5))]);
    await local.stack.poller.idle();
    expect((await ask()).body.consent).toEqual({ category: 'personalization', granted: true });
    await send([consent(false, at(20, 10))]);
    await local.stack.poller.idle();
    const after = (await ask()).body;
    expect(after.consent).toEqual({ category: 'personalization', granted: false, reason: 'no consent to personalization: generic offers, ranked without her profile' });
    expect(after.offers.flatMap((o: any) => o.reasons).join('; ')).not.toContain('interest in');
  });
});
