import { createHash } from 'node:crypto';
import { validateMessages, type Privacy } from '../../lib/collect/collector';
import { parseRequest, type CollectorPath } from '../../lib/collect/request';
import { defaultEventPolicy } from '../../lib/events/policy';
import { hashedNetwork } from '../../lib/events/personal';
import { HttpError } from '../../lib/http/errors';
import { keysFromTexts, requireWriteKey } from '../../lib/http/keys';
import type { RequestOrigin } from '../../lib/collect/network';

/**
 * Network evidence nobody can forge: the collector takes a message's network (`context.ip`, hashed at
 * once) from the address it saw the request come from (API Gateway's source IP) when the request
 * comes with a client write key (the public key shipped in browsers and apps), and from the message
 * only when it comes with a write key marked server-side.
 */
const received = new Date('2026-11-24T10:00:00.000Z');
const privacy: Privacy = { salt: 'test-salt', personalData: defaultEventPolicy().personalData };
const HER_HOME = '198.51.100.23';
const SEEN = '203.0.113.9';

const validate = (path: CollectorPath, body: unknown, origin?: RequestOrigin) => {
  const request = parseRequest(path, JSON.stringify(body));
  return validateMessages(origin ? { ...request, origin } : request, received, privacy).events;
};
const ipOf = (event: unknown) => (event as { context?: { ip?: unknown } }).context?.ip;

describe('the network of a message sent with a client (browser or app) write key', () => {
  it('is the address the collector saw, whatever context.ip the message claims', () => {
    const [event] = validate('track', { anonymousId: 'intruder', event: 'Product Viewed', context: { ip: HER_HOME, locale: 'en-GB' } }, { key: 'client', sourceIp: SEEN });
    expect(ipOf(event)).toBe(hashedNetwork(SEEN, privacy.salt));
    expect(ipOf(event)).not.toBe(hashedNetwork(HER_HOME, privacy.salt));
    expect(event).toMatchObject({ context: { locale: 'en-GB' } });
  });

  it("is the address the collector saw for every message of a batch, the batch's shared context.ip ignored too", () => {
    const events = validate(
      'batch',
      { context: { ip: HER_HOME }, batch: [{ type: 'page', anonymousId: 'a' }, { type: 'page', anonymousId: 'b', context: { ip: HER_HOME } }, { type: 'page', anonymousId: 'c', context: { ip: 42 } }] },
      { key: 'client', sourceIp: SEEN },
    );
    expect(events.map(ipOf)).toEqual([SEEN, SEEN, SEEN].map((ip) => hashedNetwork(ip, privacy.salt)));
  });

  it('is the same network for an IPv4 client seen as an IPv4-mapped IPv6 address', () => {
    const [event] = validate('page', { anonymousId: 'a' }, { key: 'client', sourceIp: `::ffff:${SEEN}` });
    expect(ipOf(event)).toBe(hashedNetwork(SEEN, privacy.salt));
  });

  it("is none when the collector saw no caller's address, or only its own machine's (loopback: the local stack)", () => {
    for (const sourceIp of [undefined, '', '127.0.0.1', '::1', '::ffff:127.0.0.1', '0.0.0.0', '::']) {
      const [event] = validate('track', { anonymousId: 'a', event: 'Product Viewed', context: { ip: HER_HOME, locale: 'en-GB' } }, { key: 'client', ...(sourceIp === undefined ? {} : { sourceIp }) });
      expect(event).toMatchObject({ context: { locale: 'en-GB' } });
      expect(ipOf(event)).toBeUndefined();
    }
  });

  it('is never taken from the message when the request does not say where it came from (the default is a client key)', () => {
    const [event] = validate('track', { anonymousId: 'a', event: 'Product Viewed', context: { ip: HER_HOME } });
    expect(ipOf(event)).toBeUndefined();
  });
});

describe('the network of a message sent with a server write key', () => {
  it('is the context.ip the message gives (the server relays its user\'s address), hashed as ever', () => {
    const [event] = validate('track', { anonymousId: 'a', event: 'Product Viewed', context: { ip: HER_HOME } }, { key: 'server', sourceIp: SEEN });
    expect(ipOf(event)).toBe(hashedNetwork(HER_HOME, privacy.salt));
    expect(JSON.stringify(event)).not.toContain(HER_HOME);
  });

  it("is none when the message gives none: the server's own address says nothing of the person's network", () => {
    const [event] = validate('track', { anonymousId: 'a', event: 'Product Viewed', context: { locale: 'en-GB' } }, { key: 'server', sourceIp: SEEN });
    expect(ipOf(event)).toBeUndefined();
  });
});

describe('write keys marked server-side', () => {
  const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
  const digest = (key: string) => createHash('sha256').update(key).digest('hex');
  const keys = keysFromTexts({ write: `browser-key, server:backend-key, server:sha256:${digest('backend-2')}, sha256:${digest('app-key')}`, read: 'r1' }, 'salt');

  it('are written server:<key> (or server:sha256:<hex>) in the write keys; every other write key is a client key', () => {
    expect(requireWriteKey(keys, basic('browser-key'))).toBe('client');
    expect(requireWriteKey(keys, basic('app-key'))).toBe('client');
    expect(requireWriteKey(keys, basic('backend-key'))).toBe('server');
    expect(requireWriteKey(keys, basic('backend-2'))).toBe('server');
    expect(requireWriteKey(keys, {}, 'backend-key')).toBe('server');
    expect(JSON.stringify(keys)).not.toMatch(/backend-key|browser-key/);
  });

  it('are only the keys so marked: the marking is no key itself, and a client key cannot claim it', () => {
    for (const key of ['server:backend-key', 'server:browser-key', 'server']) {
      expect(() => requireWriteKey(keys, basic(key))).toThrow(HttpError);
    }
    expect(() => requireWriteKey(keys, { 'x-api-key': 'r1' }, 'r1')).toThrow(HttpError);
  });
});
