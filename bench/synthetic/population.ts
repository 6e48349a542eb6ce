import type { CollectedEvent } from '../../lib/events/segment';
import { createRandom } from '../../lib/learn/metrics';

/**
 * A seeded synthetic population with known truth, for measuring identity resolution: people with
 * several devices, households sharing a home network, shared family tablets, bots with junk ids, and
 * phones behind carrier NAT addresses shared by strangers. Every event carries the id of the person
 * who really caused it (`truth`), which the resolver never sees.
 */
export interface PopulationOptions {
  seed: number;
  households: number;
  days: number;
  /** Share of households with a tablet that two members log in on. */
  sharedTabletShare: number;
  bots: number;
  /** People per household, fewest and most (default 1 to 4). */
  members?: [number, number];
  /** Devices per person, fewest and most (default: a phone, and a laptop and a tablet each half the time). */
  devices?: [number, number];
  /** Shops whose Wi-Fi shoppers use (default none), and how many of the population shop at each a day. */
  stores?: number;
  shoppersPerStoreDay?: number;
}

export interface TruthEvent {
  event: CollectedEvent;
  truth: string;
}

export const DEFAULT_POPULATION: PopulationOptions = { seed: 7, households: 300, days: 14, sharedTabletShare: 0.05, bots: 8 };


/** A DIY retailer lists tens of thousands of products; 2,000 per category here. */
const CATALOG_PER_CATEGORY = 2000;
const CATEGORIES = ['paint', 'garden', 'tools', 'kitchen', 'lighting', 'gaming', 'flooring', 'bathroom'];
const LOCALES = [['en-GB', 'Europe/London'], ['de-DE', 'Europe/Berlin'], ['fr-FR', 'Europe/Paris']] as const;
const JUNK = ['null', 'undefined', '0', '-1', 'anonymous', ''];
const UA = {
  phone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148',
  laptop: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0',
  desktop: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15',
  tablet: 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) Mobile/15E148',
};

interface Device {
  kind: 'phone' | 'laptop' | 'tablet' | 'desktop';
  anonymousId: string;
  deviceId?: string;
}

export function generatePopulation(options: Partial<PopulationOptions> = {}): TruthEvent[] {
  const o = { ...DEFAULT_POPULATION, ...options };
  const rnd = createRandom(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const start = Date.UTC(2026, 10, 1);
  const out: TruthEvent[] = [];
  let messages = 0;

  const emit = (truth: string, at: number, fields: Record<string, unknown>) => {
    const timestamp = new Date(at).toISOString();
    out.push({
      truth,
      event: { messageId: `syn-${o.seed}-${messages++}`, receivedAt: timestamp, timestamp, ...fields } as CollectedEvent,
    });
  };

  /** A browsing session: some views in the person's interests, maybe a cart and an order. */
  const session = (truth: string, at: number, ids: Record<string, unknown>, context: Record<string, unknown>, interests: string[], considering: string[], login?: { userId: string; email: string }) => {
    let t = at;
    if (login) {
      emit(truth, t, { type: 'identify', ...ids, userId: login.userId, traits: { email: login.email }, context });
      t += 30_000;
    }
    const views = 1 + Math.floor(rnd() * 5);
    for (let v = 0; v < views; v++) {
      const product = rnd() < 0.5 ? pick(considering) : `${pick(interests)}-${Math.floor(rnd() * CATALOG_PER_CATEGORY)}`;
      const category = product.slice(0, product.lastIndexOf('-'));
      emit(truth, t, { type: 'track', event: 'Product Viewed', ...ids, ...(login ? { userId: login.userId } : {}), properties: { product_id: product, category }, context });
      t += 20_000 + Math.floor(rnd() * 120_000);
    }
    if (rnd() < 0.15) {
      emit(truth, t, { type: 'track', event: 'Order Completed', ...ids, ...(login ? { userId: login.userId } : {}), properties: { total: Math.round(rnd() * 20000) / 100 }, context });
    }
  };

  const everyone: Array<{ id: string; interests: string[]; considering: string[]; devices: Device[]; locale: string; timezone: string }> = [];
  for (let h = 0; h < o.households; h++) {
    const home = `203.0.${Math.floor(h / 250)}.${h % 250}`;
    const [locale, timezone] = pick(LOCALES);
    const [fewest, most] = o.members ?? [1, 4];
    const members = fewest + Math.floor(rnd() * (most - fewest + 1));
    const people = Array.from({ length: members }, (_, m) => {
      const id = `h${h}-p${m}`;
      const registered = rnd() < 0.7;
      const kinds = o.devices
        ? (['phone', 'laptop', 'tablet', 'desktop'] as const).slice(0, o.devices[0] + Math.floor(rnd() * (o.devices[1] - o.devices[0] + 1)))
        : (['phone', 'laptop', 'tablet'] as const).filter((k) => k === 'phone' || rnd() < 0.5);
      const devices: Device[] = kinds
        .map((kind) => ({ kind, anonymousId: `${kind}-${hex(12)}`, deviceId: kind === 'phone' && rnd() < 0.5 ? `idfv-${hex(16)}` : undefined }));
      const interests = [pick(CATEGORIES), pick(CATEGORIES)];
      // What this person is researching: a few products they come back to from every device.
      const considering = Array.from({ length: 2 + Math.floor(rnd() * 4) }, () => `${pick(interests)}-${Math.floor(rnd() * CATALOG_PER_CATEGORY)}`);
      return { id, considering, registered, userId: `cust-${h}-${m}-${hex(4)}`, email: `person${h}.${m}@example.org`, devices, interests, locale, timezone, logsInOn: new Set(devices.filter(() => rnd() < 0.6).map((d) => d.anonymousId)) };
    });
    everyone.push(...people);
    const shared: Device | undefined = members >= 2 && rnd() < o.sharedTabletShare ? { kind: 'tablet', anonymousId: `shared-tablet-${hex(12)}` } : undefined;

    for (let day = 0; day < o.days; day++) {
      for (const p of people) {
        for (const d of p.devices) {
          if (rnd() > 0.35) continue;
          const at = start + day * 86_400_000 + Math.floor(rnd() * 86_400_000);
          const onCellular = d.kind === 'phone' && rnd() < 0.5;
          const cgnat = `100.64.0.${Math.floor(rnd() * 4)}`;
          const context: Record<string, unknown> = {
            ip: onCellular ? cgnat : home,
            locale,
            timezone,
            userAgent: UA[d.kind],
            // Apps report the cellular network; mobile web does not, so half of the NAT traffic looks like Wi-Fi.
            ...(onCellular && d.deviceId ? { network: { cellular: true } } : {}),
            ...(d.deviceId ? { device: { id: d.deviceId } } : {}),
          };
          const login = p.registered && p.logsInOn.has(d.anonymousId) && rnd() < 0.5 ? { userId: p.userId, email: p.email } : undefined;
          session(p.id, at, { anonymousId: d.anonymousId }, context, p.interests, p.considering, login);
        }
      }
      if (shared && rnd() < 0.5) {
        // Whoever picks up the family tablet logs in first: the tablet follows the last login.
        const p = pick(people.filter((x) => x.registered).length > 0 ? people.filter((x) => x.registered) : people);
        const at = start + day * 86_400_000 + Math.floor(rnd() * 86_400_000);
        session(p.id, at, { anonymousId: shared.anonymousId }, { ip: home, locale, timezone, userAgent: UA.tablet }, p.interests, p.considering, p.registered ? { userId: p.userId, email: p.email } : undefined);
      }
    }
  }

  // Shops' Wi-Fi: shoppers come in during opening hours, once, and many look at the same best-sellers.
  for (let shop = 0; shop < (o.stores ?? 0); shop++) {
    const wifi = `198.51.100.${shop}`;
    for (let day = 0; day < o.days; day++) {
      for (let k = 0; k < (o.shoppersPerStoreDay ?? 0) && everyone.length > 0; k++) {
        const p = pick(everyone);
        const phone = p.devices.find((d) => d.kind === 'phone') ?? (p.devices[0] as Device);
        const at = start + day * 86_400_000 + (9 + Math.floor(rnd() * 8)) * 3_600_000 + Math.floor(rnd() * 3_600_000);
        const context = { ip: wifi, locale: p.locale, timezone: p.timezone, userAgent: UA[phone.kind], ...(phone.deviceId ? { device: { id: phone.deviceId } } : {}) };
        const category = pick(p.interests);
        emit(p.id, at, { type: 'track', event: 'Product Viewed', anonymousId: phone.anonymousId, properties: { product_id: `${category}-bestseller`, category }, context });
        if (rnd() < 0.5) session(p.id, at + 60_000, { anonymousId: phone.anonymousId }, context, p.interests, p.considering);
      }
    }
  }

  for (let b = 0; b < o.bots; b++) {
    // Misconfigured SDKs and scrapers: a junk userId on every hit, a fresh cookie per hit.
    const junk = JUNK[b % JUNK.length] as string;
    for (let i = 0; i < 60; i++) {
      const at = start + Math.floor(rnd() * o.days * 86_400_000);
      emit(`bot-${b}-${i}`, at, { type: 'track', event: 'Product Viewed', userId: junk, anonymousId: `bot-${b}-${hex(10)}`, properties: { category: pick(CATEGORIES) }, context: { ip: `192.0.2.${b}`, userAgent: 'python-requests/2.32' } });
    }
  }

  return out.sort((a, b) => (a.event.timestamp < b.event.timestamp ? -1 : a.event.timestamp > b.event.timestamp ? 1 : 0));
}
