import { extractIdentifiers, hashPii } from '../../lib/events/identifiers';
import { redactPersonalData, redactRecordData } from '../../lib/events/personal';
import { defaultEventPolicy } from '../../lib/events/policy';
import type { CollectedEvent } from '../../lib/events/segment';
import { loadIdentityRules } from '../../lib/identity/rules';

const rules = loadIdentityRules();
const policy = defaultEventPolicy().personalData;
const SALT = 'test-salt';

describe('personal data redaction (defect 8)', () => {
  const message = {
    type: 'identify',
    userId: 'cust-1',
    messageId: 'm1',
    traits: { email: 'Ann.Smith@example.com', phone: '+44 20 7946 0958', firstName: 'Ann', lastName: 'Smith', name: 'Ann Smith', plan: 'gold', address: { street: '1 Acacia Avenue', city: 'Leeds', country: 'GB' } },
    context: { ip: '203.0.113.7', traits: { email: 'ann.smith@example.com', name: 'Ann' }, locale: 'en-GB' },
    properties: { email: 'ann@example.com', product_id: 'p1', name: 'Sage paint 2L' },
  };

  it('hashes e-mail, phone and the IP address, and removes names and the street address', () => {
    const redacted = redactPersonalData(message, policy, SALT);
    const text = JSON.stringify(redacted);
    for (const clear of ['Ann', 'Smith', 'Acacia', '203.0.113.7', '7946']) expect(text).not.toContain(clear);
    expect(redacted.traits).toEqual({
      email: `sha256:${hashPii('email', 'ann.smith@example.com', SALT)}`,
      phone: `sha256:${hashPii('phone', '+442079460958', SALT)}`,
      plan: 'gold',
      address: { city: 'Leeds', country: 'GB' },
    });
    expect(redacted.context.ip).toMatch(/^sha256:[0-9a-f]{64}$/);
    // A product's name is not a person's.
    expect(redacted.properties).toMatchObject({ product_id: 'p1', name: 'Sage paint 2L', email: expect.stringMatching(/^sha256:/) });
    // The input is not changed.
    expect(message.traits.firstName).toBe('Ann');
  });

  it('is idempotent for what it produced, and hashes again a client-sent "hash" (nobody claims an identity by hash)', () => {
    const once = redactPersonalData(message, policy, SALT);
    expect(redactPersonalData(once, policy, SALT, { trustHashed: true })).toEqual(once);
    const claimed = redactPersonalData({ type: 'identify', traits: { email: once.traits.email } }, policy, SALT);
    expect(claimed.traits).toEqual({});
  });

  it('keeps the identifiers the same as from the clear values, so matching still works', () => {
    const clear = extractIdentifiers(message as unknown as CollectedEvent, rules, SALT);
    const redacted = extractIdentifiers(redactPersonalData(message, policy, SALT) as unknown as CollectedEvent, rules, SALT);
    expect(redacted).toEqual(clear);
  });

  it('masks what it cannot parse in a dead letter', () => {
    const text = '{"traits":{"email":"ann.smith@example.com","phone":"+44 20 7946 0958"},"context":{"ip":"203.0.113.7"} broken';
    const kept = Buffer.from(redactRecordData(Buffer.from(text).toString('base64'), policy, SALT), 'base64').toString('utf8');
    for (const clear of ['ann.smith', '7946', '203.0.113.7']) expect(kept).not.toContain(clear);
    expect(JSON.parse(kept)).toMatchObject({ undecodable: true, bytes: text.length });
  });
});
