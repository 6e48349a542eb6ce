import { createHash } from 'node:crypto';
import { TABLES } from '../../lib/store/tables';
import { useLocalStack } from '../support/local-api';

/**
 * The privacy API's audit log, end to end, as an admin who pastes the wrong thing and as holders of
 * other keys would use it: whatever is asked, the log records who asked and what became of it, and
 * never a value of the request in clear.
 */
const local = useLocalStack();
const call = local.withKey;

const fingerprint = (key: string) => `key:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;

/** The privacy table as text, every item. */
async function privacyTable(): Promise<string> {
  return JSON.stringify(await local.scanTable(TABLES.privacy.localName));
}

it('refuses an e-mail address given as the profile id with 400, and the audit log keeps no trace of the address', async () => {
  const address = 'dora.keller@example.com';
  const erase = await call('DELETE', `/v1/profiles/${encodeURIComponent(address)}`, 'dev-admin-key');
  expect(erase.status).toBe(400);
  expect(erase.body.message).toMatch(/profile id/);
  expect((await call('GET', `/v1/profiles/${encodeURIComponent(address)}/export`, 'dev-admin-key')).status).toBe(400);
  expect((await call('POST', `/v1/profiles/${encodeURIComponent(address)}/split`, 'dev-admin-key', { member: 'p_000000000000000000000000' })).status).toBe(400);

  const audit = await call('GET', '/v1/privacy/audit', 'dev-admin-key');
  const mine = audit.body.entries.filter((e: any) => e.outcome.status === 400);
  expect(mine.map((e: any) => [e.who, e.action, e.profileId])).toEqual([
    [fingerprint('dev-admin-key'), 'erase', undefined],
    [fingerprint('dev-admin-key'), 'export', undefined],
    [fingerprint('dev-admin-key'), 'split', undefined],
  ]);
  const stored = await privacyTable();
  expect(stored).not.toContain('dora.keller');
  expect(stored).not.toContain('example.com');
});

it("records a call refused for its key's kind (403), naming the key by its fingerprint and nothing of the request", async () => {
  const someone = 'p_0123456789abcdef01234567';
  expect((await call('DELETE', `/v1/profiles/${someone}`, 'dev-read-key')).status).toBe(403);
  expect((await call('GET', `/v1/profiles/${someone}/export`, 'dev-api-key')).status).toBe(403);
  expect((await call('GET', '/v1/privacy/audit', 'dev-read-key')).status).toBe(403);
  // No key, or one that is none of ours: nobody to name, and not recorded (anyone could fill the log).
  expect((await call('DELETE', `/v1/profiles/${someone}`, 'not-a-key')).status).toBe(401);

  const audit = await call('GET', '/v1/privacy/audit', 'dev-admin-key');
  const refused = audit.body.entries.filter((e: any) => e.outcome.status === 403);
  expect(refused.map((e: any) => [e.who, e.action, e.outcome.keyKind]).sort()).toEqual(
    [
      [fingerprint('dev-read-key'), 'erase', 'read'],
      [fingerprint('dev-api-key'), 'export', 'decide'],
      [fingerprint('dev-read-key'), 'read-audit-log', 'read'],
    ].sort(),
  );
  for (const e of refused) expect(e.profileId).toBeUndefined();
  expect(JSON.stringify(audit.body)).not.toContain(someone);
  expect(audit.body.entries.some((e: any) => e.who === fingerprint('not-a-key'))).toBe(false);
});
