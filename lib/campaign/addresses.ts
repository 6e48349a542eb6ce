import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Profile } from '../profile/profile';
import type { ContactStore } from '../store/ports';

/**
 * Contact addresses sealed with envelope encryption: each is encrypted (AES-256-GCM) under a data
 * key, and the data key is kept only wrapped by a master key (KMS on AWS: GenerateDataKey to seal,
 * Decrypt to open; a development key in the local stack). The collector seals (it may generate data
 * keys, never unwrap them); only the send function may open. A sealed address is bound to the
 * identifier it belongs to (additional authenticated data): moved under another key, it does not open.
 *
 * Format: `v1.<wrapped data key>.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
export interface DataKeys {
  /** A fresh data key, in clear and wrapped by the master key. */
  generate(): Promise<{ plaintext: Buffer; wrapped: Buffer }>;
  /** The clear data key of a wrapped one. */
  unwrap(wrapped: Buffer): Promise<Buffer>;
}

const b64 = (b: Buffer) => b.toString('base64url');

/**
 * Seals and opens addresses. A data key is reused for `reuseMs` (5 minutes) or `maxUses` seals, and
 * unwrapped keys are remembered as long, so a busy collector asks KMS about once per 5 minutes
 * (as the AWS Encryption SDK's caching does), and the send function once per data key.
 */
export class AddressSealer {
  /** The data key in use (a promise: seals at the same moment share one request for it). */
  private current?: { key: Promise<{ plaintext: Buffer; wrapped: Buffer }>; at: number; uses: number };
  private readonly opened = new Map<string, { key: Buffer; at: number }>();

  constructor(
    private readonly keys: DataKeys,
    private readonly options: { reuseMs?: number; maxUses?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  async seal(value: string, boundTo: string): Promise<string> {
    const reuseMs = this.options.reuseMs ?? 300_000;
    if (this.current === undefined || this.now() - this.current.at > reuseMs || this.current.uses >= (this.options.maxUses ?? 10_000)) {
      const key = this.keys.generate();
      const current = { key, at: this.now(), uses: 0 };
      this.current = current;
      // A failed request is not kept: the next seal asks again.
      key.catch(() => {
        if (this.current === current) this.current = undefined;
      });
    }
    this.current.uses += 1;
    const { plaintext, wrapped } = await this.current.key;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', plaintext, iv);
    cipher.setAAD(Buffer.from(boundTo));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return ['v1', b64(wrapped), b64(iv), b64(cipher.getAuthTag()), b64(ciphertext)].join('.');
  }

  async open(sealed: string, boundTo: string): Promise<string> {
    const [version, wrapped, iv, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || !wrapped || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed address');
    let key = this.opened.get(wrapped);
    if (key === undefined || this.now() - key.at > (this.options.reuseMs ?? 300_000)) {
      key = { key: await this.keys.unwrap(Buffer.from(wrapped, 'base64url')), at: this.now() };
      if (this.opened.size > 1000) this.opened.clear();
      this.opened.set(wrapped, key);
    }
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/**
 * Data keys wrapped by a local master key (AES-256-GCM): the local stack's stand-in for KMS. The
 * master key comes from CONTACT_MASTER_KEY (64 hex digits); it is a development key, never for
 * production data.
 */
export class LocalDataKeys implements DataKeys {
  constructor(private readonly master: Buffer) {
    if (master.length !== 32) throw new Error('the local master key must be 32 bytes (64 hex digits)');
  }

  async generate(): Promise<{ plaintext: Buffer; wrapped: Buffer }> {
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.master, iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { plaintext, wrapped: Buffer.concat([iv, cipher.getAuthTag(), body]) };
  }

  async unwrap(wrapped: Buffer): Promise<Buffer> {
    const decipher = createDecipheriv('aes-256-gcm', this.master, wrapped.subarray(0, 12));
    decipher.setAuthTag(wrapped.subarray(12, 28));
    return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
  }
}

/**
 * The address a message goes to: of the sealed ones kept under her hashed identifiers of that kind,
 * the one given first, opened. Anyone holding the public write key can add an address to a known
 * userId (an identify call), so a later one never replaces hers: a planted address is used only for a
 * customer who gave none herself.
 */
export async function chooseAddress(profile: Profile, kind: 'email' | 'phone', contacts: Pick<ContactStore, 'get'>, sealer: AddressSealer): Promise<string | undefined> {
  const keys = (profile.identities[kind] ?? []).map((hash) => `${kind}:${hash}`);
  if (keys.length === 0) return undefined;
  const found = [...(await contacts.get(keys))].sort(([ka, a], [kb, b]) => a.firstAt.localeCompare(b.firstAt) || ka.localeCompare(kb));
  const first = found[0];
  return first === undefined ? undefined : sealer.open(first[1].sealed, first[0]);
}
