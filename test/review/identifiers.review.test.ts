import { extractIdentifiers } from '../../lib/events/identifiers';
import type { CollectedEvent } from '../../lib/events/segment';
import { loadIdentityRules } from '../../lib/identity/rules';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';
import identityDefaults from '../../config/identity.json';

/** Junk e-mail and phone identifiers (issue #13, defect 5): placeholders typed into forms identify nobody. */
const SALT = 'test-salt';
const rules = loadIdentityRules();
const nsOf = (traits: Record<string, unknown>, r = rules) =>
  extractIdentifiers(segmentEvent({ type: 'identify', anonymousId: 'v', event: undefined, traits }) as unknown as CollectedEvent, r, SALT).map((i) => i.ns);

describe('review: placeholder e-mail and phone values', () => {
  it.each(['+1 000 000 0000', '+1 (000) 000-0000', '+44 0000 000000', '+1 555 555 5555', '+33 0 00 00 00 00'])(
    'identify nobody by a zero or repeated phone number written with a country code: %j',
    (phone) => expect(nsOf({ phone })).toEqual(['anonymousId']),
  );

  it.each(['noemail@noemail.com', 'test@test.com', 'none@none.com', 'na@na.com', 'no@email.com', 'email@email.com'])(
    'identify nobody by a placeholder e-mail address: %j',
    (email) => expect(nsOf({ email })).toEqual(['anonymousId']),
  );

  it("lets the configured blocklist block an e-mail address (it is compared with the salted hash, so no clear entry can ever match)", () => {
    const custom = loadIdentityRules({ ...identityDefaults, blocklist: [...identityDefaults.blocklist, 'noemail@noemail.com', '+10000000000'] });
    expect(nsOf({ email: 'noemail@noemail.com', phone: '+1 000 000 0000' }, custom)).toEqual(['anonymousId']);
  });

  it('keeps two strangers apart who both typed the POS placeholder "+1 (000) 000-0000"', async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const result = await ingestBatch(
      ['walk-in-1', 'walk-in-2'].map((a) => toRecord(segmentEvent({ type: 'identify', anonymousId: a, event: undefined, traits: { phone: '+1 (000) 000-0000' } }), seq.take())),
      stores,
      ingestConfig(),
    );
    expect(result.failedSequenceNumbers).toEqual([]);
    expect([...stores.profileItems.values()].filter((p) => p.mergedInto === undefined)).toHaveLength(2);
  });
});

describe("review: a group call's traits describe the company, not the person", () => {
  it("does not take a group's e-mail (billing@acme.example) as the sender's identifier, nor merge two colleagues' visits by it", async () => {
    const group = (anonymousId: string) => segmentEvent({ type: 'group', anonymousId, groupId: 'acme', event: undefined, traits: { name: 'Acme Ltd', email: 'billing@acme.example', plan: 'enterprise' } });
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    await ingestBatch([toRecord(group('colleague-1'), seq.take()), toRecord(group('colleague-2'), seq.take())], stores, ingestConfig());
    expect([...stores.profileItems.values()].filter((p) => p.mergedInto === undefined)).toHaveLength(2);
  });
});
