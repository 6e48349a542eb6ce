import type { CollectedEvent } from '../../lib/events/segment';
import { createRandom } from '../../lib/learn/metrics';
import type { TruthEvent } from './population';

/**
 * Seeded populations that each isolate one thing the real world does that breaks naive cross-device
 * linking (issue 27), built apart from bench/synthetic/population.ts: their own catalog (twelve hobby
 * categories of 30 products, not a DIY retailer's thousands), their own people, devices, networks and
 * habits. Every event carries the id of the person who really caused it (`truth`), which the resolver
 * never sees; events are Segment-shaped, in time order, with ISO timestamps and message ids
 * `ph-<name>-<seed>-<n>`.
 *
 * - `carrier`: the population. 120 people in households of 1-4 with 1-5 devices; most phone
 *   sessions go through their region's carrier NAT pool of 6-8 addresses that every phone in the region
 *   rotates through (mobile web sends no `network.cellular` flag, so it looks like Wi-Fi); laptops at
 *   offices of 3-8 coworkers on weekdays; browsing on 2 of 12 categories, so strangers with one hobby
 *   research the same products; 80% share locale and time zone; half are registered and log in on some devices.
 * - `offices`: 15 offices of 5-10 coworkers whose laptops and phones meet on the office Wi-Fi every
 *   weekday (each office shares a team interest); homes of 1-3 people.
 * - `households`: homes of 3-6 people with 2-4 devices each, several phones of one model in one home,
 *   family interests and purchases researched together, some family tablets used by several members.
 * - `hobby`: 4 communities of 30 who all research their hobby's 15-25 products and meet weekly, in the
 *   evening, at a club whose Wi-Fi 30-40 profiles use (members and guests); small homes.
 * - `shops`: 3-5 shops whose Wi-Fi 20-40 shoppers a day use in opening hours (a different crowd each
 *   day), looking at the shop's best-sellers; otherwise people are at home.
 * - `pool`: the acceptance test's scenario (test/unit/carrier-pool-links.test.ts): 30 strangers, each
 *   alone at home with one phone (a realistic mix of iPhones and Android phones), rotating for two
 *   weeks through one carrier pool of 6 addresses and researching the same 20 products; one of them
 *   (`POOL_HER`) also has a laptop, and her phone and laptop are both seen at her home in the evenings.
 *   No logins.
 *
 * Tuning and measuring are kept apart: the identity model may be tuned only on TUNE_SEEDS of
 * carrier, offices, households, hobby and shops; HOLDOUT_SEEDS are only measured (bench/identity-quality.ts
 * prints them separately), so a figure on the holdout seeds says how the model does on data it was not fitted to.
 */
export const PHENOMENA = ['carrier', 'offices', 'households', 'hobby', 'shops', 'pool'] as const;
export type Phenomenon = (typeof PHENOMENA)[number];

/** Seeds the model may be tuned on. */
export const TUNE_SEEDS = [7, 11] as const;
/** Seeds only measured, never tuned on. */
export const HOLDOUT_SEEDS = [23, 31] as const;

export interface PhenomenonOptions {
  /** Days of activity (default 14). */
  days?: number;
}

/** The truth id of the one person in `pool` who has a laptop as well as her phone. */
export const POOL_HER = 'pool-her';

export function generatePhenomenon(name: Phenomenon, seed: number, options: PhenomenonOptions = {}): TruthEvent[] {
  const world = new World(name, seed, options.days ?? 14);
  GENERATORS[name](world);
  return world.events();
}

const GENERATORS: Record<Phenomenon, (w: World) => void> = { carrier, offices, households, hobby, shops, pool };

// ---------------------------------------------------------------------------------------------
// The catalog, devices and places
// ---------------------------------------------------------------------------------------------

const CATEGORIES = ['cycling', 'climbing', 'angling', 'baking', 'knitting', 'aquaria', 'astronomy', 'birding', 'pottery', 'vinyl', 'boardgames', 'running'] as const;
const PRODUCTS_PER_CATEGORY = 30;
const productId = (category: string, n: number) => `${category}-${String(n).padStart(2, '0')}`;

/** [locale, time zone, UTC offset in hours in November]: one region, most people alike. */
type Zone = readonly [string, string, number];
const HOME_ZONE: Zone = ['en-GB', 'Europe/London', 0];
const OTHER_ZONES: Zone[] = [
  ['en-IE', 'Europe/Dublin', 0],
  ['pl-PL', 'Europe/Warsaw', 1],
  ['fr-FR', 'Europe/Paris', 1],
  ['de-DE', 'Europe/Berlin', 1],
];

const PHONES: Array<[string, number]> = [
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 0.35],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', 0.15],
  ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 0.25],
  ['Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 0.1],
  ['Mozilla/5.0 (Linux; Android 13; 23049PCD8G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36', 0.15],
];
const LAPTOPS: Array<[string, number]> = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 0.45],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 0.15],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 0.3],
  ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 0.1],
];
const TABLETS: Array<[string, number]> = [
  ['Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 0.6],
  ['Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 0.4],
];
const DESKTOPS: Array<[string, number]> = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 0.7],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 0.3],
];
const USER_AGENTS = { phone: PHONES, laptop: LAPTOPS, tablet: TABLETS, desktop: DESKTOPS };

type Kind = 'phone' | 'laptop' | 'tablet' | 'desktop';

interface Device {
  kind: Kind;
  anonymousId: string;
  userAgent: string;
  locale: string;
  /** Apps send a device id, and flag the cellular network; mobile web does neither. */
  app: boolean;
  /** Whether the person logs in on this device (when registered), half of her sessions there. */
  logsIn: boolean;
  /** A second phone (work phone). */
  second?: boolean;
  deviceId?: string;
}

interface Person {
  id: string;
  zone: Zone;
  interests: string[];
  /** Products the person keeps coming back to, from every device. */
  considering: string[];
  account?: { userId: string; email: string };
  devices: Device[];
  home: string;
  /** A product the person browses when not looking at what she is considering. */
  browse: () => string;
}

/** Where a session happened: the address the collector saw, and whether an app flagged it cellular. */
interface Place {
  ip: string;
  cellular?: boolean;
}

/** The generator's state: its random stream, the events so far, and helpers every population shares. */
class World {
  readonly rnd: () => number;
  private readonly out: TruthEvent[] = [];
  private messages = 0;
  private addresses = 0;
  readonly start = Date.UTC(2026, 10, 2); // a Monday

  constructor(
    readonly name: Phenomenon,
    readonly seed: number,
    readonly days: number,
  ) {
    this.rnd = createRandom(seed * 7919 + name.length * 104729 + name.charCodeAt(0));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  /** An integer from lo to hi, both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  weighted<T>(xs: ReadonlyArray<readonly [T, number]>): T {
    const total = xs.reduce((s, [, w]) => s + w, 0);
    let r = this.rnd() * total;
    for (const [x, w] of xs) if ((r -= w) < 0) return x;
    return (xs[xs.length - 1] as readonly [T, number])[0];
  }
  hex(n: number): string {
    return Array.from({ length: n }, () => Math.floor(this.rnd() * 16).toString(16)).join('');
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.rnd() * (i + 1));
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a;
  }

  /** A fresh address of a kind of place (each distinct within the population). */
  address(prefix: string): string {
    const n = this.addresses++;
    return `${prefix}.${Math.floor(n / 250) % 250}.${n % 250 + 1}`;
  }
  /** An address of a nationwide mobile pool too large for two of these people to meet on. */
  wideMobile(): string {
    return `100.${64 + this.int(0, 63)}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }
  /** A phone away from every network the population shares: an app says so, mobile web shows an address nobody else here uses. */
  away(d: Device): Place {
    return { ip: this.wideMobile(), ...(d.app ? { cellular: true } : {}) };
  }

  /** A product of a category, popular ones more often (the first of the 30 are the best-sellers). */
  popular(category: string): string {
    return productId(category, Math.floor(PRODUCTS_PER_CATEGORY * this.rnd() ** 2));
  }

  device(kind: Kind, locale: string, options: { app?: number; userAgent?: string; logsIn?: number; second?: boolean } = {}): Device {
    const app = kind === 'phone' || kind === 'tablet' ? this.chance(options.app ?? 0.25) : false;
    return {
      kind,
      anonymousId: `${kind}-${this.hex(12)}`,
      userAgent: options.userAgent ?? this.weighted(USER_AGENTS[kind]),
      // Some devices keep the operating system's default language.
      locale: this.chance(0.1) ? 'en-US' : locale,
      app,
      logsIn: this.chance(options.logsIn ?? 0.6),
      ...(options.second ? { second: true } : {}),
      ...(app ? { deviceId: `idfv-${this.hex(16)}` } : {}),
    };
  }

  person(id: string, zone: Zone, home: string, interests: string[], considering: string[], registered: boolean, devices: Device[], browse?: () => string): Person {
    return {
      id,
      zone,
      interests,
      considering,
      ...(registered ? { account: { userId: `cust-${this.name}-${this.hex(6)}`, email: `${id}.${this.hex(3)}@example.net` } } : {}),
      devices,
      home,
      browse: browse ?? (() => this.popular(this.pick(interests))),
    };
  }

  /** An instant on a day at a local hour (fractional hours allowed) in the person's time zone. */
  at(p: Person, day: number, from: number, to: number): number {
    const hour = from + this.rnd() * (to - from);
    return this.start + day * 86_400_000 + Math.floor((hour - p.zone[2]) * 3_600_000);
  }

  weekday(day: number): boolean {
    return day % 7 < 5;
  }

  emit(truth: string, at: number, fields: Record<string, unknown>): void {
    const timestamp = new Date(at).toISOString();
    this.out.push({ truth, event: { messageId: `ph-${this.name}-${this.seed}-${this.messages++}`, receivedAt: timestamp, timestamp, ...fields } as CollectedEvent });
  }

  /**
   * A browsing session on one device at one place: maybe a login, a landing page, 1-5 product views
   * (nearly half of them products she is considering), sometimes a cart and an order.
   */
  session(p: Person, d: Device, at: number, place: Place, options: { views?: () => string; extra?: string[] } = {}): void {
    const context: Record<string, unknown> = {
      ip: place.ip,
      locale: d.locale,
      timezone: p.zone[1],
      userAgent: d.userAgent,
      ...(place.cellular ? { network: { cellular: true } } : {}),
      ...(d.deviceId ? { device: { id: d.deviceId, type: d.kind } } : {}),
    };
    const ids: Record<string, unknown> = { anonymousId: d.anonymousId };
    let t = at;
    if (p.account && d.logsIn && this.chance(0.5)) {
      this.emit(p.id, t, { type: 'identify', ...ids, userId: p.account.userId, traits: { email: p.account.email }, context });
      ids.userId = p.account.userId;
      t += 15_000 + Math.floor(this.rnd() * 30_000);
    }
    if (this.chance(0.3)) {
      this.emit(p.id, t, { type: 'page', name: 'Home', ...ids, properties: { path: '/' }, context });
      t += 10_000 + Math.floor(this.rnd() * 40_000);
    }
    const viewed: string[] = [...(options.extra ?? [])];
    const views = this.int(1, 5);
    for (let v = 0; v < views; v++) viewed.push(p.considering.length > 0 && this.chance(0.45) ? this.pick(p.considering) : (options.views ?? p.browse)());
    for (const product of viewed) {
      const category = product.slice(0, product.lastIndexOf('-'));
      this.emit(p.id, t, { type: 'track', event: 'Product Viewed', ...ids, properties: { product_id: product, category }, context });
      t += 20_000 + Math.floor(this.rnd() * 150_000);
    }
    const last = viewed[viewed.length - 1] as string;
    if (this.chance(0.08)) {
      this.emit(p.id, t, { type: 'track', event: 'Product Added', ...ids, properties: { product_id: last, category: last.slice(0, last.lastIndexOf('-')), quantity: 1 }, context });
      t += 30_000;
      if (this.chance(0.4)) {
        this.emit(p.id, t, { type: 'track', event: 'Order Completed', ...ids, properties: { order_id: `o-${this.hex(8)}`, total: Math.round(this.rnd() * 30000) / 100, products: [{ product_id: last }] }, context });
      }
    }
  }

  /** A zone: most people the region's, the rest one of a few others. */
  zone(homeShare = 0.8): Zone {
    return this.chance(homeShare) ? HOME_ZONE : this.pick(OTHER_ZONES);
  }

  interests(): string[] {
    const first = this.pick(CATEGORIES);
    let second = this.pick(CATEGORIES);
    while (second === first) second = this.pick(CATEGORIES);
    return [first, second];
  }

  considering(interests: readonly string[], fewest = 2, most = 5): string[] {
    return [...new Set(Array.from({ length: this.int(fewest, most) }, () => this.popular(this.pick(interests))))];
  }

  /** Household sizes drawn until `people` are placed (the last one cut to fit). */
  householdSizes(people: number, sizes: ReadonlyArray<readonly [number, number]>): number[] {
    const out: number[] = [];
    for (let placed = 0; placed < people; ) {
      const n = Math.min(people - placed, this.weighted(sizes));
      out.push(n);
      placed += n;
    }
    return out;
  }

  /** Evening and weekend sessions at home (hours local). */
  atHome(p: Person, d: Device, day: number, share: number): void {
    if (!this.chance(share)) return;
    const weekend = !this.weekday(day);
    const at = weekend && this.chance(0.5) ? this.at(p, day, 10, 18) : this.at(p, day, 18, 23.5);
    this.session(p, d, at, { ip: p.home });
  }

  /** A phone's session at home: mostly in the evening, else before work. */
  phoneAtHome(p: Person, d: Device, day: number): void {
    this.session(p, d, this.chance(0.8) ? this.at(p, day, 18, 23.5) : this.at(p, day, 7, 8.5), { ip: p.home });
  }

  /** A phone's day: its sessions, each at home 55% of the time, else in the day wherever the phone is. */
  phoneDay(p: Person, d: Device, day: number): void {
    for (let s = phoneSessions(this); s > 0; s--) {
      if (this.chance(0.55)) this.phoneAtHome(p, d, day);
      else this.session(p, d, this.at(p, day, 8, 18), this.away(d));
    }
  }

  events(): TruthEvent[] {
    return this.out
      .map((e, i) => ({ e, i }))
      .sort((a, b) => (a.e.event.timestamp < b.e.event.timestamp ? -1 : a.e.event.timestamp > b.e.event.timestamp ? 1 : a.i - b.i))
      .map(({ e }) => e);
  }
}

/** How many sessions a phone has in a day. */
const phoneSessions = (w: World): number => w.weighted([[0, 0.2], [1, 0.35], [2, 0.3], [3, 0.15]] as const);

// ---------------------------------------------------------------------------------------------
// The populations
// ---------------------------------------------------------------------------------------------

/** The population: carrier NAT pools every phone of a region rotates through, offices, shared hobbies. */
function carrier(w: World): void {
  const regions = Array.from({ length: 4 }, () => Array.from({ length: w.int(6, 8) }, () => w.address('176.24')));
  const sizes = w.householdSizes(120, [[1, 0.3], [2, 0.3], [3, 0.25], [4, 0.15]]);
  const people: Array<Person & { region: number; office?: string }> = [];
  sizes.forEach((size, h) => {
    const region = w.int(0, regions.length - 1);
    const home = w.address('81.2');
    const zone = w.zone();
    for (let m = 0; m < size; m++) {
      const count = w.weighted([[1, 0.2], [2, 0.35], [3, 0.25], [4, 0.15], [5, 0.05]] as const);
      const others = w.shuffle(['laptop', 'tablet', 'desktop'] as const).slice(0, Math.min(3, count - 1));
      const devices = [w.device('phone', zone[0]), ...others.map((k) => w.device(k, zone[0]))];
      if (count === 5) devices.push(w.device('phone', zone[0], { second: true }));
      const interests = w.interests();
      people.push({ ...w.person(`carrier-h${h}-p${m}`, zone, home, interests, w.considering(interests), w.chance(0.5), devices), region });
    }
  });
  // Offices: most people with a laptop work at one, with 3-8 coworkers from their region.
  for (let r = 0; r < regions.length; r++) {
    const workers = w.shuffle(people.filter((p) => p.region === r && p.devices.some((d) => d.kind === 'laptop') && w.chance(0.75)));
    for (let i = 0; i < workers.length; ) {
      const office = w.address('62.30');
      const n = w.int(3, 8);
      for (const p of workers.slice(i, i + n)) p.office = office;
      i += n;
    }
  }
  for (let day = 0; day < w.days; day++) {
    for (const p of people) {
      const pool = regions[p.region] as string[];
      for (const d of p.devices) {
        if (d.kind === 'phone' && d.second) {
          // A work phone: the office in the day, the carrier otherwise.
          if (!w.weekday(day) || !w.chance(0.6)) continue;
          const office = p.office !== undefined && w.chance(0.4);
          w.session(p, d, w.at(p, day, 8, 18), office ? { ip: p.office as string } : { ip: w.pick(pool), ...(d.app ? { cellular: true } : {}) });
        } else if (d.kind === 'phone') {
          for (let s = phoneSessions(w); s > 0; s--) {
            if (w.chance(0.6)) w.session(p, d, w.at(p, day, 7, 23), { ip: w.pick(pool), ...(d.app ? { cellular: true } : {}) });
            else w.phoneAtHome(p, d, day);
          }
        } else if (d.kind === 'laptop' && p.office !== undefined) {
          if (w.weekday(day) && w.chance(0.8)) for (let s = w.int(1, 2); s > 0; s--) w.session(p, d, w.at(p, day, 9, 17), { ip: p.office });
          w.atHome(p, d, day, 0.3);
        } else {
          w.atHome(p, d, day, d.kind === 'laptop' ? 0.5 : d.kind === 'tablet' ? 0.35 : 0.3);
        }
      }
    }
  }
}

/** Offices: coworkers' laptops and phones meet on the office Wi-Fi every weekday. */
function offices(w: World): void {
  const people: Array<Person & { office: string }> = [];
  for (let o = 0; o < 15; o++) {
    const office = w.address('62.31');
    const team = w.pick(CATEGORIES);
    for (let k = w.int(5, 10); k > 0; k--) {
      const zone = w.zone(0.85);
      const interests = w.chance(0.5) ? [team, w.pick(CATEGORIES.filter((c) => c !== team))] : w.interests();
      const devices = [w.device('laptop', zone[0]), ...(w.chance(0.95) ? [w.device('phone', zone[0])] : []), ...(w.chance(0.3) ? [w.device('tablet', zone[0])] : [])];
      people.push({ ...w.person(`offices-o${o}-p${k}`, zone, '', interests, w.considering(interests), w.chance(0.5), devices), office });
    }
  }
  // Homes of 1-3 people, whoever they work with.
  const order = w.shuffle(people);
  for (let i = 0; i < order.length; ) {
    const home = w.address('81.3');
    const n = w.weighted([[1, 0.4], [2, 0.4], [3, 0.2]] as const);
    const members = order.slice(i, i + n);
    const zone = (members[0] as Person).zone;
    for (const p of members) Object.assign(p, { home, zone });
    i += n;
  }
  for (let day = 0; day < w.days; day++) {
    for (const p of people) {
      const working = w.weekday(day) && w.chance(0.85);
      for (const d of p.devices) {
        if (d.kind === 'laptop') {
          if (working) for (let s = w.int(1, 2); s > 0; s--) w.session(p, d, w.at(p, day, 9, 17.5), { ip: p.office });
          w.atHome(p, d, day, working ? 0.25 : 0.3);
        } else if (d.kind === 'phone') {
          for (let s = phoneSessions(w); s > 0; s--) {
            const r = w.rnd();
            if (working && r < 0.5) w.session(p, d, w.at(p, day, 9, 17.5), { ip: p.office });
            else if (r < 0.8) w.session(p, d, w.at(p, day, 18, 23.5), { ip: p.home });
            else w.session(p, d, w.at(p, day, 7, 23), w.away(d));
          }
        } else {
          w.atHome(p, d, day, 0.35);
        }
      }
    }
  }
}

/** Large households: several phones of one model in a home, family interests, family tablets. */
function households(w: World): void {
  const homes: Array<{ home: string; people: Person[]; tablet?: Device }> = [];
  for (let h = 0; h < 30; h++) {
    const home = w.address('81.4');
    const zone = w.zone(0.85);
    const familyPhone = w.weighted(PHONES);
    const familyInterest = w.pick(CATEGORIES);
    const familyConsidering = [w.popular(familyInterest), w.popular(familyInterest)];
    const people: Person[] = [];
    for (let m = w.int(3, 6); m > 0; m--) {
      const own = w.interests();
      const interests = w.chance(0.6) ? [familyInterest, own[0] === familyInterest ? (own[1] as string) : (own[0] as string)] : own;
      const considering = [...w.considering(interests, 2, 4), ...(interests.includes(familyInterest) && w.chance(0.5) ? [w.pick(familyConsidering)] : [])];
      const others = w.shuffle(['laptop', 'tablet', 'desktop'] as const).slice(0, w.int(1, 3));
      const devices = [w.device('phone', zone[0], { ...(w.chance(0.7) ? { userAgent: familyPhone } : {}), app: 0.4 }), ...others.map((k) => w.device(k, zone[0]))];
      people.push(w.person(`households-h${h}-p${m}`, zone, home, interests, [...new Set(considering)], w.chance(0.5), devices));
    }
    homes.push({ home, people, ...(w.chance(0.25) ? { tablet: w.device('tablet', zone[0], { logsIn: 0 }) } : {}) });
  }
  for (let day = 0; day < w.days; day++) {
    for (const { people, tablet } of homes) {
      for (const p of people) {
        for (const d of p.devices) {
          if (d.kind === 'phone') {
            w.phoneDay(p, d, day);
          } else {
            w.atHome(p, d, day, d.kind === 'laptop' ? 0.45 : 0.35);
          }
        }
      }
      // The family tablet: whoever picks it up, not logged in.
      if (tablet !== undefined && w.chance(0.6)) {
        const p = w.pick(people.slice(0, 3));
        w.session(p, tablet, w.at(p, day, 17, 22), { ip: p.home });
      }
    }
  }
}

/** Hobby communities: everyone researches the same few products and meets weekly on the club's Wi-Fi. */
function hobby(w: World): void {
  const communities = w.shuffle(CATEGORIES).slice(0, 4).map((category) => {
    const products = w.shuffle(Array.from({ length: PRODUCTS_PER_CATEGORY }, (_, i) => productId(category, i))).slice(0, w.int(15, 25));
    return { category, products, venue: w.address('92.40'), night: w.int(0, 4) };
  });
  const members: Array<{ p: Person; c: (typeof communities)[number]; guest: boolean }> = [];
  communities.forEach((c, ci) => {
    const zone = w.zone(0.85);
    const people: Person[] = [];
    for (let k = 0; k < 30; k++) {
      const other = w.pick(CATEGORIES.filter((x) => x !== c.category));
      const considering = [...new Set(Array.from({ length: w.int(2, 4) }, () => w.pick(c.products)))];
      const devices = [w.device('phone', zone[0]), ...(w.chance(0.6) ? [w.device('laptop', zone[0])] : []), ...(w.chance(0.25) ? [w.device('tablet', zone[0])] : [])];
      const browse = () => (w.chance(0.75) ? w.pick(c.products) : w.popular(other));
      people.push(w.person(`hobby-c${ci}-p${k}`, w.chance(0.9) ? zone : w.zone(), '', [c.category, other], considering, w.chance(0.5), devices, browse));
    }
    // Small homes: a third of the members live with another member.
    for (let i = 0; i < people.length; ) {
      const home = w.address('81.5');
      const n = w.chance(0.35) ? 2 : 1;
      for (const p of people.slice(i, i + n)) p.home = home;
      i += n;
    }
    members.push(...people.map((p) => ({ p, c, guest: false })));
    // Guests who come to the club once, curious about the hobby.
    for (let g = w.int(3, 8); g > 0; g--) {
      const guest = w.person(`hobby-c${ci}-guest${g}`, zone, w.address('81.6'), [c.category, w.pick(CATEGORIES)], [w.pick(c.products)], false, [w.device('phone', zone[0])], () => w.pick(c.products));
      members.push({ p: guest, c, guest: true });
    }
  });
  for (const { p, c, guest } of members) {
    const visit = guest ? 7 * w.int(0, Math.floor((w.days - 1 - c.night) / 7)) + c.night : -1;
    for (let day = 0; day < w.days; day++) {
      const clubNight = guest ? day === visit : day % 7 === c.night && w.chance(0.75);
      for (const d of p.devices) {
        if (d.kind === 'phone') {
          if (clubNight) w.session(p, d, w.at(p, day, 19, 22), { ip: c.venue });
          if (guest && day !== visit) continue;
          for (let s = phoneSessions(w); s > 0; s--) {
            if (w.chance(0.5)) w.session(p, d, w.at(p, day, 18, 23.5), { ip: p.home });
            else w.session(p, d, w.at(p, day, 8, 18), w.away(d));
          }
        } else {
          w.atHome(p, d, day, 0.4);
        }
      }
    }
  }
}

/** Shops' Wi-Fi: a different crowd every day, many looking at the shop's best-sellers. */
function shops(w: World): void {
  const sizes = w.householdSizes(130, [[1, 0.3], [2, 0.3], [3, 0.25], [4, 0.15]]);
  const people: Array<Person & { shopper: number }> = [];
  sizes.forEach((size, h) => {
    const home = w.address('81.7');
    const zone = w.zone();
    for (let m = 0; m < size; m++) {
      const kinds = w.shuffle(['laptop', 'tablet', 'desktop'] as const).slice(0, w.weighted([[0, 0.3], [1, 0.45], [2, 0.25]] as const));
      const devices = [w.device('phone', zone[0]), ...kinds.map((k) => w.device(k, zone[0]))];
      const interests = w.interests();
      // How often she shops: most now and then, a few often.
      people.push({ ...w.person(`shops-h${h}-p${m}`, zone, home, interests, w.considering(interests), w.chance(0.5), devices), shopper: w.rnd() ** 2 });
    }
  });
  const stores = Array.from({ length: w.int(3, 5) }, () => ({ wifi: w.address('145.40'), bestSellers: w.shuffle(CATEGORIES).slice(0, 4).map((c) => productId(c, w.int(0, 2))) }));
  const totalWeight = people.reduce((s, p) => s + p.shopper, 0);
  const shopper = () => {
    let r = w.rnd() * totalWeight;
    for (const p of people) if ((r -= p.shopper) < 0) return p;
    return people[people.length - 1] as Person;
  };
  for (let day = 0; day < w.days; day++) {
    const sunday = day % 7 === 6;
    for (const store of stores) {
      const crowd = new Set<Person>();
      for (let k = w.int(20, 40); k > 0; k--) crowd.add(shopper());
      for (const p of crowd) {
        const phone = p.devices[0] as Device;
        const at = sunday ? w.at(p, day, 10, 16) : w.at(p, day, 9, 18);
        const extra = w.shuffle(store.bestSellers).slice(0, w.int(1, 3));
        w.session(p, phone, at, { ip: store.wifi }, { extra });
      }
    }
    for (const p of people) {
      for (const d of p.devices) {
        if (d.kind === 'phone') {
          w.phoneDay(p, d, day);
        } else {
          w.atHome(p, d, day, 0.4);
        }
      }
    }
  }
}

/** The acceptance test's carrier pool: 30 strangers, 6 addresses, 20 products, and her phone and laptop at her home. */
function pool(w: World): void {
  const addresses = Array.from({ length: 6 }, () => w.address('176.25'));
  const category = w.pick(CATEGORIES);
  const products = Array.from({ length: 20 }, (_, i) => productId(category, i));
  const browse = () => w.pick(products);
  const people: Person[] = [];
  for (let k = 0; k < 30; k++) {
    const id = k === 0 ? POOL_HER : `pool-p${k}`;
    const phone = w.device('phone', HOME_ZONE[0], { app: 0 });
    phone.locale = HOME_ZONE[0];
    const devices = k === 0 ? [phone, { ...w.device('laptop', HOME_ZONE[0]), locale: HOME_ZONE[0] }] : [phone];
    const considering = [...new Set(Array.from({ length: w.int(2, 4) }, browse))];
    people.push(w.person(id, HOME_ZONE, w.address('81.8'), [category, w.pick(CATEGORIES.filter((c) => c !== category))], considering, false, devices, browse));
  }
  const her = people[0] as Person;
  // Her evenings at home: several days on which both her phone and her laptop are there.
  const herEvenings = new Set(w.shuffle(Array.from({ length: w.days }, (_, d) => d)).slice(0, Math.min(w.days, 6)));
  for (let day = 0; day < w.days; day++) {
    for (const p of people) {
      const [phone, laptop] = p.devices as [Device, Device | undefined];
      for (let s = phoneSessions(w); s > 0; s--) {
        if (w.chance(0.6)) w.session(p, phone, w.at(p, day, 7, 23), { ip: w.pick(addresses) });
        else w.session(p, phone, w.at(p, day, 18, 23.5), { ip: p.home });
      }
      if (p === her && herEvenings.has(day)) {
        w.session(p, phone, w.at(p, day, 19, 21), { ip: p.home });
        if (laptop !== undefined) w.session(p, laptop, w.at(p, day, 19, 23), { ip: p.home });
      }
    }
  }
}
