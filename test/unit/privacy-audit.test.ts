import { auditedErasure, auditLog, requirePrivacyKey } from '../../lib/privacy/audited';
import { keysFromTexts } from '../../lib/http/keys';
import { MemoryStores } from '../../lib/store/memory';

/**
 * The audit log as the privacy API's key check writes it: a refused key is named, and the public write
 * key cannot fill the log however often it knocks.
 */
const keys = keysFromTexts({ write: 'public-write-key', decide: 'decide-key', read: 'read-key', admin: 'admin-key' }, 'salt');
const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 9, minute));

describe('refused privacy calls in the audit log', () => {
  it('keep one entry per key, action and hour, however often the public write key knocks', async () => {
    const stores = new MemoryStores();
    for (let i = 0; i < 500; i++) {
      await expect(requirePrivacyKey(keys, { 'x-api-key': 'public-write-key' }, 'erase', stores, at(i % 60))).rejects.toMatchObject({ statusCode: 403 });
    }
    await expect(requirePrivacyKey(keys, { 'x-api-key': 'public-write-key' }, 'export', stores, at(5))).rejects.toMatchObject({ statusCode: 403 });
    await expect(requirePrivacyKey(keys, { 'x-api-key': 'public-write-key' }, 'erase', stores, new Date(Date.UTC(2026, 10, 30, 10, 1)))).rejects.toMatchObject({ statusCode: 403 });
    const log = await auditLog(stores, '2026-11-30', at(0));
    expect(log.entries.map((e) => [e.at, e.action, e.outcome])).toEqual([
      ['2026-11-30T09:00:00.000Z', 'erase', { status: 403, keyKind: 'write', period: 'hour' }],
      ['2026-11-30T09:00:00.000Z', 'export', { status: 403, keyKind: 'write', period: 'hour' }],
      ['2026-11-30T10:00:00.000Z', 'erase', { status: 403, keyKind: 'write', period: 'hour' }],
    ]);
  });

  it('name nobody for a key that is none of ours (401), and pass an admin key with its fingerprint', async () => {
    const stores = new MemoryStores();
    await expect(requirePrivacyKey(keys, { 'x-api-key': 'guess' }, 'erase', stores, at(1))).rejects.toMatchObject({ statusCode: 401 });
    await expect(requirePrivacyKey(keys, {}, 'erase', stores, at(1))).rejects.toMatchObject({ statusCode: 401 });
    expect(await requirePrivacyKey(keys, { 'x-api-key': 'admin-key' }, 'erase', stores, at(1))).toMatch(/^key:[0-9a-f]{12}$/);
    expect(stores.auditEntries).toEqual([]);
  });
});

describe('what an admin asks for', () => {
  it('is refused with 400 unless it is a profile id, and the entry keeps no trace of what was given', async () => {
    const stores = new MemoryStores();
    const request = { stores, who: 'key:0123456789ab', salt: 'salt', now: at(3) };
    for (const given of ['ann@example.com', '+44 7700 900123', 'user-ann', 'P_0123456789ABCDEF01234567', 'p_0123456789abcdef0123456']) {
      await expect(auditedErasure(given, request)).rejects.toMatchObject({ statusCode: 400 });
    }
    expect(stores.auditEntries.map((e) => [e.action, e.profileId, e.outcome])).toEqual(Array(5).fill(['erase', undefined, { status: 400 }]));
    expect(JSON.stringify(stores.auditEntries)).not.toMatch(/ann|7700|0123456789abcdef/i);
  });
});
