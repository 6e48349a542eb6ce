import { seededRandom } from '../../local/faults';

/**
 * The reliability run's people and what they do, seeded. Each person has one to three devices (an
 * anonymous id each, so their events land on different shards), logs in on every device at some
 * point (so every device's history ends in one customer profile, merged from several shards at
 * once), views, adds to cart and orders, and carries personal data (e-mail, phone, names, street,
 * home IP) that must never be at rest in clear. Each person sends through one kind of client: the
 * official Segment client, plain `/v1/batch` requests, or one request per message. One pair of people
 * in ten shares a family tablet that both log in on, so it moves between their profiles.
 */
export type Sender = 'segment' | 'batch' | 'single';

export interface Person {
  index: number;
  userId: string;
  devices: string[];
  /** Shares a device with another person (whose events on it go to whoever logged in on it last). */
  shared: boolean;
  sender: Sender;
  email: string;
  phone: string;
  firstName: string;
  lastName: string;
  street: string;
  ip: string;
}

/** One message a person sends, with its messageId (all carry one, so each can be accounted for). */
export interface PlannedEvent {
  person: number;
  device: string;
  message: Record<string, unknown>;
}

const PRODUCTS = [
  ['paint-sage-2l', 'Paint', 24.99],
  ['brush-set-pro', 'Tools', 12.5],
  ['tape-50m', 'Tools', 4.2],
  ['lamp-arc', 'Lighting', 89],
  ['rug-wool', 'Home', 140],
  ['filler-knife-set', 'Tools', 9.75],
] as const;

export function people(count: number, seed: number): Person[] {
  const random = seededRandom(seed);
  const senders: Sender[] = ['segment', 'batch', 'single'];
  const tablet = (i: number) => (i % 10 === 8 && i + 1 < count ? `rel-${seed}-tablet-${i}` : i % 10 === 9 ? `rel-${seed}-tablet-${i - 1}` : undefined);
  return Array.from({ length: count }, (_, i) => {
    const devices = 1 + Math.floor(random() * 3);
    const family = tablet(i);
    return {
      index: i,
      userId: `rel-${seed}-cust-${i}`,
      devices: [...Array.from({ length: devices }, (_, d) => `rel-${seed}-${i}-dev-${d}`), ...(family ? [family] : [])],
      shared: family !== undefined,
      sender: senders[i % senders.length] as Sender,
      email: `person.${seed}.${i}@example.org`,
      phone: `+44 7700 9${String(seed % 10)}${String(i).padStart(4, '0')}`,
      firstName: `Firstname${seed}x${i}`,
      lastName: `Lastname${seed}x${i}`,
      street: `${i + 1} Reliability Road ${seed}`,
      ip: `198.51.${(seed * 7 + Math.floor(i / 250)) % 256}.${i % 250}`,
    };
  });
}

/**
 * `count` events for these people, in sending order. Every device logs in at least once; orders
 * carry totals in whole cents, so revenue sums exactly.
 */
export function plan(persons: Person[], count: number, seed: number): PlannedEvent[] {
  const random = seededRandom(seed ^ 0x5eed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const events: PlannedEvent[] = [];
  const loggedIn = new Set<string>();
  let n = 0;
  const id = () => `rel-${seed}-msg-${n++}`;
  const logins = persons.flatMap((p) => p.devices.map((device) => ({ p, device })));
  // The logins are spread through the run, at random points; the other events fill the rest.
  const loginAt = new Map<number, Array<{ p: Person; device: string }>>();
  for (const l of logins) {
    const at = Math.floor(random() * Math.max(1, count - logins.length));
    loginAt.set(at, [...(loginAt.get(at) ?? []), l]);
  }
  for (let i = 0; events.length < count; i++) {
    for (const { p, device } of loginAt.get(i) ?? []) {
      loggedIn.add(device);
      events.push({ person: p.index, device, message: identify(p, device, id()) });
    }
    if (events.length >= count) break;
    const p = pick(persons);
    const device = pick(p.devices);
    const [product, category, price] = pick(PRODUCTS);
    const kind = random();
    const base = { type: 'track', anonymousId: device, messageId: id(), context: context(p) };
    if (kind < 0.15) events.push({ person: p.index, device, message: { ...base, type: 'page', name: 'Home', properties: { path: '/' } } });
    else if (kind < 0.6) events.push({ person: p.index, device, message: { ...base, event: 'Product Viewed', properties: { product_id: product, category, price } } });
    else if (kind < 0.8) events.push({ person: p.index, device, message: { ...base, event: 'Product Added', properties: { product_id: product, category, price } } });
    else {
      const total = Math.round((price + Math.floor(random() * 5000) / 100) * 100) / 100;
      events.push({ person: p.index, device, message: { ...base, event: 'Order Completed', properties: { order_id: `o-${n}`, total, products: [{ product_id: product, price }] } } });
    }
  }
  // Devices whose login fell past the end still log in, last.
  for (const { p, device } of logins) if (!loggedIn.has(device)) events.push({ person: p.index, device, message: identify(p, device, id()) });
  return events;
}

function context(p: Person): Record<string, unknown> {
  // With her consent to personalisation, as a consent tool sends it: campaigns send to her (bench/reliability/campaigns.ts).
  return { ip: p.ip, locale: 'en-GB', timezone: 'Europe/London', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148', consent: { categoryPreferences: { personalization: true } } };
}

function identify(p: Person, device: string, messageId: string): Record<string, unknown> {
  return {
    type: 'identify',
    userId: p.userId,
    anonymousId: device,
    messageId,
    traits: { email: p.email, phone: p.phone, firstName: p.firstName, lastName: p.lastName, address: { street: p.street, city: 'Leeds', country: 'GB' }, plan: 'gold' },
    context: context(p),
  };
}

/** What must never be found in clear anywhere: the people's personal data. */
export function personalValues(persons: Person[]): string[] {
  return persons.flatMap((p) => [p.email, p.phone.replace(/\s/g, ''), p.phone, p.firstName, p.lastName, p.street, p.ip]);
}
