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

/** One of her addresses of a kind, where it ranks and why: see `rankAddresses`. */
export interface RankedAddress {
  /** Its identifier key (`email:<hash>`, `phone:<hash>`), under which its sealed value is kept. */
  key: string;
  /** When it became hers: given while logged in, else attached to her, else (kept before either was recorded) when it was sealed. */
  since: string;
  givenWhileLoggedIn: boolean;
}

/**
 * Her addresses of a kind that have a sealed value kept, best first. The write key is public, so
 * nothing a message says about an address is verified; what counts is when and how the address
 * became hers (lib/profile/attached-addresses.ts):
 * 1. given with her userId (while logged in), the earliest first: one named beside her userId later,
 *    or first sealed anonymously by anyone, never replaces it;
 * 2. only if she never gave an address of this kind while logged in: attached to her without her
 *    login (an anonymous call on a device of hers), the earliest first; then, for profiles from before
 *    attachments were recorded, by the date the contact store keeps.
 * Ties go to the smaller key, so every reader ranks alike. Once she gave one while logged in, that one
 * is the only one used (`addressGivenLoggedIn`), even when its identifier is linked to somebody else
 * now (another customer's login named it: the write key is public): neither an address named beside
 * her userId later nor one attached without her login ever replaces it, and nobody can take it from
 * her. Without its sealed value (erased, or sealed before masks and attachments), she gets no message
 * of that kind rather than one to somebody else's address.
 */
export function rankAddresses(profile: Profile, kind: 'email' | 'phone', kept: ReadonlyMap<string, { at: string }>): RankedAddress[] {
  const given = profile.addressGivenLoggedIn?.[kind];
  if (given !== undefined && typeof given === 'object') return kept.has(given.key) ? [{ key: given.key, since: given.at, givenWhileLoggedIn: true }] : [];
  const loggedInOnly = given !== undefined;
  const ranked = (profile.identities[kind] ?? []).flatMap((hash) => {
    const key = `${kind}:${hash}`;
    const attachment = profile.addresses !== undefined && Object.hasOwn(profile.addresses, key) ? profile.addresses[key] : undefined;
    const sealedAt = kept.get(key)?.at;
    if (sealedAt === undefined) return [];
    if (attachment?.loggedInAt !== undefined) return [{ key, tier: 0, since: attachment.loggedInAt, givenWhileLoggedIn: true }];
    if (loggedInOnly) return [];
    return [attachment === undefined ? { key, tier: 2, since: sealedAt, givenWhileLoggedIn: false } : { key, tier: 1, since: attachment.at, givenWhileLoggedIn: false }];
  });
  ranked.sort((a, b) => a.tier - b.tier || (a.since < b.since ? -1 : a.since > b.since ? 1 : 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return ranked.map(({ key, since, givenWhileLoggedIn }) => ({ key, since, givenWhileLoggedIn }));
}

/** The identifier keys of her addresses of a kind: those she holds, and the first she gave while logged in (held or not). */
export function addressKeys(profile: Profile, kind: 'email' | 'phone'): string[] {
  const given = profile.addressGivenLoggedIn?.[kind];
  const held = (profile.identities[kind] ?? []).map((hash) => `${kind}:${hash}`);
  return [...new Set([...(given !== undefined && typeof given === 'object' ? [given.key] : []), ...held])];
}

/** The address a message of a kind goes to: the first of `rankAddresses`, opened; undefined if none is kept. */
export async function chooseAddress(profile: Profile, kind: 'email' | 'phone', contacts: Pick<ContactStore, 'get'>, sealer: AddressSealer): Promise<string | undefined> {
  const keys = addressKeys(profile, kind);
  if (keys.length === 0) return undefined;
  const kept = await contacts.get(keys);
  const first = rankAddresses(profile, kind, kept)[0];
  return first === undefined ? undefined : sealer.open((kept.get(first.key) as { sealed: string }).sealed, first.key);
}

/** A top-level domain as registries name them (letters, or punycode): anything else is masked too. */
const TOP_LEVEL_DOMAIN = /^(?:[a-z]{2,24}|xn--[a-z0-9-]{1,20})$/;

/**
 * The coarse mask kept in clear beside a sealed address, so the read API can say which address is
 * used without being able to open one: an e-mail address's first character, the first character of
 * its domain and its top-level domain (`a***@e***.com`); a phone number's last two digits (`***23`).
 * The stars do not tell lengths.
 */
export function maskAddress(kind: 'email' | 'phone', value: string): string {
  if (kind === 'phone') return `***${value.replace(/\D/g, '').slice(-2)}`;
  const at = value.lastIndexOf('@');
  const local = Array.from(value.slice(0, Math.max(0, at)));
  const domain = value.slice(at + 1);
  const tld = domain.includes('.') ? (domain.split('.').at(-1) as string) : '';
  return `${local[0] ?? ''}***@${Array.from(domain)[0] ?? ''}***${TOP_LEVEL_DOMAIN.test(tld) ? `.${tld}` : ''}`;
}
