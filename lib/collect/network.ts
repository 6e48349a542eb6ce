import { asObject } from '../events/json';
import type { CollectedEvent } from '../events/segment';
import type { WriteKeySource } from '../http/keys';

/**
 * Which network a message was sent from, as far as anyone can vouch for it. The ingest links devices
 * seen on one network (lib/identity/probabilistic.ts), and a decision may borrow the context of a
 * device it links; so whoever chose `context.ip` could place a device on a stranger's home network
 * and borrow her interests. The public write key ships in every browser and app, so a message's own
 * `context.ip` is believed only from a write key marked server-side (as Segment treats server
 * sources: a back end relays its users' addresses); for a client key it is the address the
 * collector saw the request come from (API Gateway's `requestContext.http.sourceIp`, the TCP peer: no
 * header a client sends, `x-forwarded-for` included, is read).
 */

export type { WriteKeySource };

/** Who sent a request and from where, as the collector knows it. */
export interface RequestOrigin {
  key: WriteKeySource;
  /** The address the request came from (API Gateway's source IP); none when unknown. */
  sourceIp?: string;
}

/** A request whose origin nobody stated: a client key seen from nowhere, so no message names a network. */
export const UNKNOWN_ORIGIN: RequestOrigin = { key: 'client' };

/**
 * The address a request was seen from, as network evidence: IPv4-mapped IPv6 (`::ffff:a.b.c.d`, how a
 * dual-stack socket reports an IPv4 peer) as plain IPv4, so one client is one network; none for the
 * collector's own machine (loopback, the local stack and its tests, where every caller is
 * 127.0.0.1 and sharing it says nothing of anyone) or an unspecified address, nor for one longer than
 * any address (64 characters).
 */
export function observedAddress(sourceIp: string | undefined): string | undefined {
  const ip = (sourceIp ?? '').trim().toLowerCase().replace(/^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/, '$1');
  if (ip === '' || ip.length > 64) return undefined;
  if (/^127\./.test(ip) || ip === '::1' || ip === '0.0.0.0' || ip === '::') return undefined;
  return ip;
}

/**
 * A validated message with the network it may claim: for a server key, the `context.ip` it gives
 * (none if it gives none: the server's own address is not its user's network); for a client key, the
 * address the collector saw, whatever it gave. Called before redaction, which hashes the address
 * (config/events.json `personalData.ip`), so it is never kept in clear.
 */
export function withTrustedNetwork(event: CollectedEvent, origin: RequestOrigin): CollectedEvent {
  if (origin.key === 'server') return event;
  const context = asObject(event.context);
  const ip = observedAddress(origin.sourceIp);
  if (context === undefined) return ip === undefined ? event : { ...event, context: { ip } };
  const { ip: _claimed, ...rest } = context;
  return { ...event, context: ip === undefined ? rest : { ...rest, ip } };
}
