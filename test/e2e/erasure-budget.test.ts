import { MAX_LETTERS_PER_ERASURE } from '../../lib/privacy/letters';
import { TABLES } from '../../lib/store/tables';
import { useLocalStack } from '../support/local-api';

/**
 * Issue 21, review finding F2: with the public write key, anyone can aim thousands of refused messages
 * at a person (her userId and address), each kept as a dead letter; erasing her removed them all in
 * one call, and enough of them pushed the erasure past the privacy function's time limit, half done.
 * Now one call removes her profile, links and events first, then at most MAX_LETTERS_PER_ERASURE of
 * her letters, and says whether letters remain; erasing again goes on until none is left.
 */
const local = useLocalStack();
const send = local.postBatch;
const call = local.withKey;
const scanAll = local.scanAll;

/** Refused messages aimed at her, as the review sent them (a track without its event name): her userId and address, a new device each. */
const aimedAtHer = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: 'track', userId: 'vic-t', anonymousId: `r${i}`, context: { device: { id: `d${i}` }, traits: { email: 'vic.tor@example.com', phone: '+1 555 0100' } } }));

describe('an erasure of a person a write-key holder aimed thousands of refused messages at through /v1/batch', () => {
  it('removes her profile, links and events in its first call and at most MAX_LETTERS_PER_ERASURE letters, says letters remain, and the next call removes the rest', async () => {
    const at = new Date(Date.now() - 3_600_000).toISOString();
    // Vic: her login, a product view, and one refused message of her own.
    expect(
      await send([
        { type: 'identify', userId: 'vic-t', anonymousId: 'vic-phone', messageId: 'vic-1', timestamp: at, traits: { email: 'vic.tor@example.com' } },
        { type: 'track', event: 'Product Viewed', anonymousId: 'vic-phone', messageId: 'vic-2', timestamp: at, properties: { product_id: 'lamp-1' } },
        { type: 'track', anonymousId: 'vic-phone', messageId: 'vic-3', timestamp: at, properties: { product_id: 'lamp-2' } },
      ]),
    ).toMatchObject({ accepted: 2 });
    // The attack: more letters naming her than one erasure call removes, and some of somebody else's.
    const planted = aimedAtHer(MAX_LETTERS_PER_ERASURE + 500);
    for (let i = 0; i < planted.length; i += 2_500) expect((await send(planted.slice(i, i + 2_500))).rejected).toHaveLength(Math.min(2_500, planted.length - i));
    expect((await send([{ type: 'track', userId: 'olaf-2', properties: {} }])).rejected).toHaveLength(1);
    await local.stack.poller.idle();
    const vicId = (await call('GET', '/v1/identities/userId/vic-t', 'dev-read-key')).body.profileId as string;
    expect(vicId).toEqual(expect.any(String));
    const hers = (text: string) => ['vic-t', 'vic-phone', vicId].some((n) => text.includes(n));

    const first = await call('DELETE', `/v1/profiles/${vicId}`, 'dev-admin-key');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ erasedProfileId: vicId, alreadyErased: false, deadLettersRemaining: true });
    expect(first.body.removed).toMatchObject({ profiles: 1, events: 2, deadLetters: MAX_LETTERS_PER_ERASURE });
    // Her profile, links and events are gone after the first call; only letters are left, and the privacy table holds nothing of her in clear.
    expect((await call('GET', `/v1/profiles/${vicId}`, 'dev-read-key')).status).toBe(404);
    expect((await call('GET', '/v1/identities/userId/vic-t', 'dev-read-key')).status).toBe(404);
    const between = await scanAll();
    const privacyTable = TABLES.privacy.localName;
    const lettersTable = TABLES.deadLetters.localName;
    expect(between.filter((s) => s.table !== lettersTable && s.table !== privacyTable && hers(s.text)).map((s) => `${s.table}: ${JSON.stringify(s.item).slice(0, 200)}`)).toEqual([]);
    expect(between.filter((s) => s.table === privacyTable && ['vic-t', 'vic-phone', 'vic.tor'].some((n) => s.text.includes(n)))).toEqual([]);
    expect(between.filter((s) => s.table === lettersTable && typeof s.item.reason === 'string' && hers(s.text))).toHaveLength(planted.length + 1 - MAX_LETTERS_PER_ERASURE);

    // The admin erases again, as the answer and the audit log tell her: the rest goes.
    const audit = await call('GET', '/v1/privacy/audit', 'dev-admin-key');
    expect(audit.body.entries.map((e: any) => [e.action, e.outcome.deadLettersRemaining])).toEqual([['erase', true]]);
    const second = await call('DELETE', `/v1/profiles/${vicId}`, 'dev-admin-key');
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ erasedProfileId: vicId, alreadyErased: true, deadLettersRemaining: false });
    expect(second.body.removed.deadLetters).toBe(planted.length + 1 - MAX_LETTERS_PER_ERASURE);

    // No letter of hers is left, nor an index entry of a removed letter; Olaf's letter stays.
    const after = await scanAll();
    expect(after.filter((s) => s.table !== privacyTable && hers(s.text)).map((s) => `${s.table}: ${JSON.stringify(s.item).slice(0, 200)}`)).toEqual([]);
    const letters = after.filter((s) => s.table === lettersTable && typeof s.item.reason === 'string');
    expect(letters.map((l) => l.text.includes('olaf-2'))).toEqual([true]);
    const ids = new Set(letters.map((l) => l.item.id));
    expect(after.filter((s) => s.table === lettersTable && typeof s.item.reason !== 'string' && !ids.has(s.item.letterId))).toEqual([]);
  });
});
