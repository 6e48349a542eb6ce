import { createHash } from 'node:crypto';
import { getKeys, KEYS_TTL_MS, resetResources } from '../../functions/commons/resources';
import { HttpError } from '../../lib/http/errors';
import { keysFromTexts, requireApiKey, requireWriteKey } from '../../lib/http/keys';

const statusOf = (f: () => void): number | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as HttpError).statusCode;
  }
};

describe('keys', () => {
  const keys = keysFromTexts({ write: 'w1', decide: 'd1, d2', read: `sha256:${createHash('sha256').update('r1').digest('hex')}`, admin: 'a1' }, 'salt');

  it('are held as digests: a secret may hold sha256:<hex> entries, never the clear key', () => {
    expect(JSON.stringify(keys)).not.toMatch(/"(w1|d1|d2|r1|a1)"/);
    expect(statusOf(() => requireApiKey(keys, { 'x-api-key': 'r1' }, 'read'))).toBeUndefined();
  });

  it('take their own kind, 403 for another kind, 401 for none or an unknown one; two keys of a kind serve side by side', () => {
    expect(statusOf(() => requireApiKey(keys, { 'x-api-key': 'd1' }, 'decide'))).toBeUndefined();
    expect(statusOf(() => requireApiKey(keys, { 'x-api-key': 'd2' }, 'decide'))).toBeUndefined();
    expect(statusOf(() => requireApiKey(keys, { 'x-api-key': 'a1' }, 'decide'))).toBe(403);
    expect(statusOf(() => requireApiKey(keys, { 'x-api-key': 'w1' }, 'read'))).toBe(403);
    expect(statusOf(() => requireApiKey(keys, { 'x-api-key': 'zz' }, 'admin'))).toBe(401);
    expect(statusOf(() => requireApiKey(keys, {}, 'admin'))).toBe(401);
    expect(statusOf(() => requireWriteKey(keys, { authorization: `Basic ${Buffer.from('w1:').toString('base64')}` }))).toBeUndefined();
    expect(statusOf(() => requireWriteKey(keys, { authorization: `Basic ${Buffer.from('d1:').toString('base64')}` }))).toBe(403);
  });
});

describe('a key removed from its secret', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    resetResources();
  });

  it(`stops working within KEYS_TTL_MS (${KEYS_TTL_MS / 1000} s) on a warm function, and the new one starts`, async () => {
    process.env.READ_KEYS = 'old-read-key';
    process.env.IDENTITY_SALT = 'salt';
    resetResources();
    const t0 = 1_000_000;
    const accepted = async (key: string, _at: number) => statusOf(() => requireApiKey(keysAt, { 'x-api-key': key }, 'read')) === undefined;
    let keysAt = await getKeys(t0);
    expect(await accepted('old-read-key', t0)).toBe(true);
    // The operator replaces the key in the secret.
    process.env.READ_KEYS = 'new-read-key';
    keysAt = await getKeys(t0 + KEYS_TTL_MS - 1);
    expect(await accepted('old-read-key', t0)).toBe(true);
    keysAt = await getKeys(t0 + KEYS_TTL_MS);
    expect(await accepted('old-read-key', t0)).toBe(false);
    expect(await accepted('new-read-key', t0)).toBe(true);
  });
});
