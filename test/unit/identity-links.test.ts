import { loadCatalog } from '../../lib/decision/catalog';
import { answerDecision, parseDecisionRequest } from '../../lib/decision/service';
import { hashedNetwork } from '../../lib/events/personal';
import { householdOf, Neighbourhood, personCluster } from '../../lib/identity/links';
import { probabilityOf, scorePair, weighPair } from '../../lib/identity/probabilistic';
import { addCounts, countProducts, MAX_WEIGHTS_BYTES, NO_WEIGHTS, weightsOf, type IdentityWeights } from '../../lib/identity/weights';
import { derivedPairs, nightlyWeights } from '../../bench/synthetic/links';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { matchCardOf, type MatchCard } from '../../lib/profile/profile';
import { readCluster, readProfile } from '../../lib/profile/read';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord, withClusterContext } from '../support/factories';

/** Borrowing a cluster's context is off by default; these tests show what it does where a deployment turns it on. */
const config = withClusterContext(ingestConfig());
const day = (d: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 10, d, hour, minute)).toISOString();

async function ingest(stores: MemoryStores, events: Array<Record<string, unknown>>, batch = 50): Promise<void> {
  const seq = new SequenceFactory();
  const records = [...events].sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp))).map((e) => toRecord(e, seq.take()));
  for (let i = 0; i < records.length; i += batch) expect((await ingestBatch(records.slice(i, i + batch), stores, config)).failedSequenceNumbers).toEqual([]);
}

const view = (anonymousId: string, ip: string, timestamp: string, product: string, category = product.split('-')[0]) =>
  segmentEvent({ anonymousId, timestamp, properties: { product_id: product, category }, context: { ip, locale: 'en-GB', timezone: 'Europe/London' } });

const ownerOf = (stores: MemoryStores, anonymousId: string): string => {
  let id = stores.owners.get(`anonymousId:${anonymousId}`) as string;
  for (let p = stores.profileItems.get(id); p?.mergedInto; p = stores.profileItems.get(id)) id = p.mergedInto;
  return id;
};

/** Every live profile's probable links, each pair once (ids sorted), before any night (no popularity) or with the given weights. */
const allLinks = async (stores: MemoryStores, weights: IdentityWeights = NO_WEIGHTS): Promise<Array<[string, string]>> => (await derivedPairs(stores, config.rules, weights)).links;

describe("a store's Wi-Fi: 50 strangers a day, some looking at the same best-seller", () => {
  /** Each shopper's phone: three evenings at home, one visit to the store at opening hours. One of them also has a laptop at home. */
  function shoppers(): Array<Record<string, unknown>> {
    const events: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50; i++) {
      const phone = `shopper-phone-${i}`;
      const home = `home-${i}`;
      for (const d of [2, 3, 4]) events.push(view(phone, home, day(d, 20, i % 60), `paint-${1000 + i}`));
      // In the store at 11:00: a third look at the best-seller, everyone at something of their own.
      events.push(view(phone, 'store-wifi', day(5, 11, i % 60), i % 3 === 0 ? 'paint-bestseller' : `tools-${2000 + i}`));
      if (i % 3 === 0) events.push(view(phone, 'store-wifi', day(5, 11, (i % 60) + 1), `garden-${3000 + i}`));
    }
    // Shopper 7's laptop at home, researching what her phone researched: the same person.
    for (const d of [2, 4]) events.push(view('shopper-laptop-7', 'home-7', day(d, 21), 'paint-1007'), view('shopper-laptop-7', 'home-7', day(d, 21, 5), 'tools-2007'));
    return events;
  }

  it('links no two strangers (the network is weighed by how many use it and how, not dropped past a cliff), and still links one shopper\'s own laptop', async () => {
    const stores = new MemoryStores();
    await ingest(stores, shoppers());
    const hood = new Neighbourhood(stores, config.rules);
    // The store's network is not public (50 profiles): it is weighed, and the weight keeps them apart.
    expect((await hood.network(hashedNetwork('store-wifi', config.salt)))?.members).toHaveLength(50);
    // Before any night (no popularity yet) and after one.
    for (const weights of [NO_WEIGHTS, nightlyWeights(stores)]) {
      const links = await allLinks(stores, weights);
      expect(links).toEqual([[ownerOf(stores, 'shopper-laptop-7'), ownerOf(stores, 'shopper-phone-7')].sort()]);
    }
  });
});

describe('a household of four, three devices each, over three weeks', () => {
  const people = ['ann', 'bob', 'cat', 'dan'];
  const devices = ['phone', 'laptop', 'tablet'];
  /** Each person researches three products of her own from every device, at home in the evenings; each logs in on her phone. */
  function household(): Array<Record<string, unknown>> {
    const events: Array<Record<string, unknown>> = [];
    people.forEach((person, p) => {
      const researching = [`paint-${100 + p}`, `tools-${200 + p}`, `garden-${300 + p}`];
      devices.forEach((device, k) => {
        for (let week = 0; week < 3; week++) {
          const d = 2 + week * 7 + k + p;
          events.push(view(`${person}-${device}`, 'home-net', day(d, 19, p * 10 + k), researching[week % 3] as string));
          events.push(view(`${person}-${device}`, 'home-net', day(d, 20, p * 10 + k), researching[(week + 1) % 3] as string));
          // Everyone in the house looks at the kitchen the family is planning.
          events.push(view(`${person}-${device}`, 'home-net', day(d, 21, p * 10 + k), 'kitchen-family-plan'));
        }
      });
      events.push(segmentEvent({ type: 'identify', anonymousId: `${person}-phone`, userId: `user-${person}`, timestamp: day(30, 9, p), context: { ip: 'home-net' } }));
    });
    return events;
  }

  it("links each device to its owner, never to another member, and shows the household as four people", async () => {
    const stores = new MemoryStores();
    await ingest(stores, household());
    // No popularity: in a population this small, one person's three devices would make her products look popular.
    const hood = new Neighbourhood(stores, config.rules);
    for (const person of people) {
      const customer = ownerOf(stores, `${person}-phone`);
      expect(stores.profileItems.get(customer)?.identities.userId).toEqual([`user-${person}`]);
      for (const device of ['laptop', 'tablet']) {
        const cluster = await personCluster(matchCardOf(stores.profileItems.get(ownerOf(stores, `${person}-${device}`))!), hood);
        // Her own profiles, the customer who logged in among them; no one else's.
        const mine = new Set([customer, ...['laptop', 'tablet'].map((d) => ownerOf(stores, `${person}-${d}`))]);
        expect(cluster.members.map((m) => m.profileId).sort()).toEqual([...mine].filter((id) => id !== ownerOf(stores, `${person}-${device}`)).sort());
        expect(cluster.members.find((m) => m.profileId === customer)).toMatchObject({ authenticated: true });
      }
    }
    const home = await householdOf(matchCardOf(stores.profileItems.get(ownerOf(stores, 'ann-laptop'))!), hood);
    expect(home?.people).toHaveLength(4);
    for (const person of people) {
      const group = home?.people.find((g) => g.profiles.some((x) => x.profileId === ownerOf(stores, `${person}-phone`)));
      expect(group?.profiles.map((x) => x.profileId).sort()).toEqual(devices.map((d) => ownerOf(stores, `${person}-${d}`)).sort());
    }
    // The read API shows the same, for a profile reached through any id.
    const api = await readCluster(stores, ownerOf(stores, 'bob-tablet'), config);
    expect(api.person.map((m) => m.profileId).sort()).toEqual([ownerOf(stores, 'bob-phone'), ownerOf(stores, 'bob-laptop')].sort());
    expect(api.person.every((m) => m.probability >= config.rules.probabilistic.cluster.minProbability && m.reasons.length > 0)).toBe(true);
    expect(api.household?.people).toHaveLength(4);
  });

  it('never puts two customers who logged in into one person, even when their devices look alike', async () => {
    const stores = new MemoryStores();
    // Twins researching the same products on their phones, each logged in.
    await ingest(stores, [
      ...[2, 3, 4].flatMap((d) => ['a', 'b'].map((t) => view(`twin-${t}`, 'twins-home', day(d, 20), 'paint-77'))),
      ...[2, 3, 4].flatMap((d) => ['a', 'b'].map((t) => view(`twin-${t}`, 'twins-home', day(d, 21), 'tools-88'))),
      ...['a', 'b'].map((t) => segmentEvent({ type: 'identify', anonymousId: `twin-${t}`, userId: `user-twin-${t}`, timestamp: day(5, 9), context: { ip: 'twins-home' } })),
    ]);
    expect(await allLinks(stores)).toEqual([]);
    const view_ = await readProfile(stores, ownerOf(stores, 'twin-a'), config);
    expect(view_.probableLinks).toEqual([]);
  });
});

describe("a carrier's pool of addresses: the same phones rotate through all of them", () => {
  /** Thirty phones, each at its own home in the evening, and on the pool's six addresses by day, each on every one of them over two weeks; each researches its own things. */
  function pool(): Array<Record<string, unknown>> {
    const events: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 30; i++) {
      const phone = `pool-phone-${i}`;
      for (const d of [2, 3, 4]) events.push(view(phone, `pool-home-${i}`, day(d, 20, i % 60), `garden-${500 + i}`));
      for (let d = 2; d < 16; d++) events.push(view(phone, `pool-addr-${(i + d) % 6}`, day(d, 12, i % 60), `tools-${700 + i}`));
    }
    return events;
  }

  it('counts the pool once: two strangers seen on the same six addresses are not linked', async () => {
    const stores = new MemoryStores();
    await ingest(stores, pool());
    const hood = new Neighbourhood(stores, config.rules);
    const a = matchCardOf(stores.profileItems.get(ownerOf(stores, 'pool-phone-0'))!);
    const pairs = await hood.candidatesOf(a);
    // Every other phone shares several of the pool's addresses with her...
    expect(pairs.length).toBe(29);
    expect(pairs.every((p) => p.reasons.filter((r) => r.startsWith('also both on network')).length <= 1)).toBe(true);
    // ...and none of them is probably hers.
    expect(await allLinks(stores)).toEqual([]);
  });
});

describe('evidence against one person is strong where it should be', () => {
  const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148';
  const laptop = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0';
  const android = 'Mozilla/5.0 (Linux; Android 14; SM-S918B) Chrome/131.0.0.0 Mobile Safari/537.36';
  const seen = (anonymousId: string, userAgent: string, timezone: string, d: number, product: string) =>
    segmentEvent({ anonymousId, timestamp: day(d, 20, product.length), properties: { product_id: product, category: product.split('-')[0] }, context: { ip: 'sisters-flat', locale: 'en-GB', timezone, userAgent } });
  const pairOf = async (events: Array<Record<string, unknown>>, x: string, y: string) => {
    const stores = new MemoryStores();
    await ingest(stores, events);
    const hood = new Neighbourhood(stores, config.rules);
    const [a, b] = [x, y].map((d) => matchCardOf(stores.profileItems.get(ownerOf(stores, d))!)) as [MatchCard, MatchCard];
    return (await hood.candidatesOf(a)).find((l) => l.otherProfileId === b.profileId)!;
  };
  /** Two devices at one flat, researching the same two things on three evenings. */
  const flat = (x: [string, string, string], y: [string, string, string]) =>
    [2, 3, 4].flatMap((d) => ['paint-31', 'paint-32'].flatMap((p) => [seen(x[0], x[1], x[2], d, p), seen(y[0], y[1], y[2], d, p)]));

  it('weighs two phones of one model as strong evidence of two people (one person rarely carries two)', async () => {
    const pair = await pairOf(flat(['sister-a', iphone, 'Europe/London'], ['sister-b', iphone, 'Europe/London']), 'sister-a', 'sister-b');
    expect(pair.reasons).toContain('both have a device of one kind (ios-phone)');
    // Her phone and her laptop, the same evidence otherwise, are more than four bits likelier one person.
    const mine = await pairOf(flat(['her-phone', iphone, 'Europe/London'], ['her-laptop', laptop, 'Europe/London']), 'her-phone', 'her-laptop');
    expect(mine.reasons).toContain('devices of different kinds');
    expect(pair.score).toBeLessThan(mine.score - 3);
  });

  it('weighs two phones of different makes as evidence of two people too (a work phone is the exception)', async () => {
    const pair = await pairOf(flat(['sister-a', iphone, 'Europe/London'], ['sister-b', android, 'Europe/London']), 'sister-a', 'sister-b');
    expect(pair.reasons).toContain('both have a phone, of different kinds');
    const mine = await pairOf(flat(['her-phone', iphone, 'Europe/London'], ['her-laptop', laptop, 'Europe/London']), 'her-phone', 'her-laptop');
    expect(pair.score).toBeLessThan(mine.score - 3);
  });

  it("compares a signed-in customer's devices too: her phone and laptop, merged, against her sister's phone", async () => {
    const events = [
      ...flat(['sister-a', iphone, 'Europe/London'], ['sister-b', android, 'Europe/London']),
      ...[2, 3, 4].flatMap((d) => ['paint-31', 'paint-32'].map((p) => seen('laptop-a', laptop, 'Europe/London', d, p))),
      segmentEvent({ type: 'identify', anonymousId: 'sister-a', userId: 'user-a', timestamp: day(4, 22), context: { ip: 'sisters-flat', userAgent: iphone } }),
      segmentEvent({ type: 'identify', anonymousId: 'laptop-a', userId: 'user-a', timestamp: day(4, 22, 1), context: { ip: 'sisters-flat', userAgent: laptop } }),
    ];
    const stores = new MemoryStores();
    await ingest(stores, events);
    const merged = stores.profileItems.get(ownerOf(stores, 'laptop-a'))!;
    expect(merged.signals.kinds).toEqual(['ios-phone', 'windows']);
    const pair = await pairOf(events, 'sister-b', 'laptop-a');
    expect(pair.reasons).toContain('both have a phone, of different kinds');
  });

  it('states odds with the calibration of its stage: before any night, and after one', async () => {
    const stores = new MemoryStores();
    await ingest(stores, flat(['her-phone', iphone, 'Europe/London'], ['her-laptop', laptop, 'Europe/London']));
    const rules = config.rules.probabilistic;
    expect(rules.calibration.beforeNight).not.toEqual({ intercept: rules.calibration.intercept, priorSlope: rules.calibration.priorSlope, slope: rules.calibration.slope });
    const [a, b] = ['her-phone', 'her-laptop'].map((d) => matchCardOf(stores.profileItems.get(ownerOf(stores, d))!)) as [MatchCard, MatchCard];
    const networks = await new Neighbourhood(stores, config.rules).networksOf(a);
    for (const [weights, c] of [[NO_WEIGHTS, rules.calibration.beforeNight], [nightlyWeights(stores), rules.calibration]] as const) {
      const parts = weighPair(a, b, networks, rules, weights)!;
      expect(scorePair(a, b, networks, rules, weights)!.score).toBeCloseTo(c.intercept + c.priorSlope * parts.prior + c.slope * parts.evidence, 1);
    }
  });

  it('weighs devices set to different time zones as strong evidence of two people', async () => {
    const pair = await pairOf(flat(['guest-phone', iphone, 'America/New_York'], ['host-laptop', laptop, 'Europe/London']), 'guest-phone', 'host-laptop');
    expect(pair.reasons).toContain('time zone differs');
    const same = await pairOf(flat(['her-phone', iphone, 'Europe/London'], ['her-laptop', laptop, 'Europe/London']), 'her-phone', 'her-laptop');
    expect(pair.score).toBeLessThan(same.score - 3);
  });
});

describe('a home is where a profile spends its days', () => {
  it('does not take a carrier address some phones pass through in the evening for their home', async () => {
    // Thirty phones, each at its own home every evening. On their way back, eight of them pass the same
    // carrier address on two or three evenings; twenty others pass it once.
    const events: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 30; i++) {
      for (let d = 2; d < 16; d++) events.push(view(`commuter-${i}`, `flat-${i}`, day(d, 21, i), `lighting-${800 + i}`));
      const evenings = i < 8 ? [3, 6, 9].slice(0, 2 + (i % 2)) : [4];
      for (const d of evenings) events.push(view(`commuter-${i}`, 'carrier-addr', day(d, 18, 30 + i), `tools-${600 + i}`));
    }
    const stores = new MemoryStores();
    await ingest(stores, events);
    const hood = new Neighbourhood(stores, config.rules, { weights: NO_WEIGHTS });
    const [a, b] = ['commuter-0', 'commuter-1'].map((d) => matchCardOf(stores.profileItems.get(ownerOf(stores, d))!)) as [MatchCard, MatchCard];
    const pair = (await hood.candidatesOf(a)).find((l) => l.otherProfileId === b.profileId)!;
    // They live at their flats (every day), not at the address they pass on a few of their days: it is
    // weighed by everyone seen on it, not as a home of eight (before: "both live on ... (8 residents)").
    expect(pair.reasons[0]).toMatch(/^both seen on network .* \(30 profiles\)$/);
  });
});

describe("before the first night: a best-seller is known from the events", () => {
  /** Twelve coworkers' laptops on the office network on weekdays, each looking at two of the shop's three best-sellers (as 450 others do at home) and at something of its own. */
  function office(): Array<Record<string, unknown>> {
    const events: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 450; i++) events.push(view(`home-phone-${i}`, `someone-home-${i}`, day(2, 20, i % 60), `paint-best-${i % 3}`), view(`home-phone-${i}`, `someone-home-${i}`, day(2, 21, i % 60), `paint-best-${(i + 1) % 3}`));
    for (let i = 0; i < 12; i++) {
      for (const d of [3, 4, 5]) {
        events.push(view(`desk-laptop-${i}`, 'office-net', day(d, 10, i), `paint-best-${i % 3}`), view(`desk-laptop-${i}`, 'office-net', day(d, 11, i), `paint-best-${(i + 1) % 3}`));
        events.push(view(`desk-laptop-${i}`, 'office-net', day(d, 12, i), `tools-${900 + i}`));
      }
    }
    return events;
  }

  it('links no two coworkers for looking at the same best-sellers, with no night behind it', async () => {
    const stores = new MemoryStores();
    await ingest(stores, office(), 100);
    // Read as the ingest counted (the test's clock), with no weights from a night.
    const hood = new Neighbourhood(stores, config.rules, { weights: NO_WEIGHTS, at: config.now!() });
    const laptop = matchCardOf(stores.profileItems.get(ownerOf(stores, 'desk-laptop-0'))!);
    const pairs = await hood.candidatesOf(laptop);
    expect(pairs).toHaveLength(11);
    expect(pairs.some((p) => p.reasons.some((r) => r.includes('paint-best')))).toBe(true);
    expect(await hood.linksOf(laptop)).toEqual([]);
  });
});

describe('links are a function of the evidence', () => {
  it('follow a merge to the survivor, and go when the network they rested on fills with strangers', async () => {
    const stores = new MemoryStores();
    // A laptop and a phone at home, researching the same two products.
    await ingest(stores, [2, 3].flatMap((d) => ['laptop-x', 'phone-x'].flatMap((dev) => [view(dev, 'flat-9', day(d, 20), 'lighting-5'), view(dev, 'flat-9', day(d, 21), 'lighting-6')])));
    expect(await allLinks(stores)).toEqual([[ownerOf(stores, 'laptop-x'), ownerOf(stores, 'phone-x')].sort()]);
    // She logs in on the phone: the link now names her customer profile (the phone's was merged into it).
    await ingest(stores, [segmentEvent({ type: 'identify', anonymousId: 'phone-x', userId: 'user-x', timestamp: day(4, 9), context: { ip: 'flat-9' } })]);
    const customer = ownerOf(stores, 'phone-x');
    expect((await readProfile(stores, customer, config)).probableLinks.map((l) => l.profileId)).toEqual([ownerOf(stores, 'laptop-x')]);
    // The address turns out to be a café's: sixty strangers a day. What rested on it goes.
    await ingest(stores, Array.from({ length: 60 }, (_, i) => view(`stranger-${i}`, 'flat-9', day(5, 10, i % 60), `garden-${i}`)));
    expect(await allLinks(stores)).toEqual([]);
    expect((await readProfile(stores, customer, config)).probableLinks).toEqual([]);
  });
});

describe("an anonymous device's decisions and its person cluster", () => {
  /** Eve logs in on her phone, researches two paint products and browses garden on it; her laptop (never logged in) researches the same paint products at home, or others. */
  /** Each device's consent banner answers for itself (`context.consent`, as Segment's consent management sends it). */
  const consenting = (granted: boolean) => (e: Record<string, unknown>) => ({ ...e, context: { ...(e.context as object), consent: { categoryPreferences: { Personalization: granted, Advertising: false } } } });
  async function eve(sameResearch: boolean, consent: { phone: boolean; laptop: boolean } = { phone: true, laptop: true }): Promise<MemoryStores> {
    const stores = new MemoryStores();
    const phone = [2, 3].flatMap((d) => [view('eve-phone', 'eve-home', day(d, 20), 'paint-41'), view('eve-phone', 'eve-home', day(d, 20, 10), 'paint-42'), view('eve-phone', 'eve-home', day(d, 20, 20), `garden-5${d}`)]);
    const login = segmentEvent({ type: 'identify', anonymousId: 'eve-phone', userId: 'user-eve', timestamp: day(3, 21), context: { ip: 'eve-home' } });
    const laptop = [2, 4].flatMap((d) => [view('eve-laptop', 'eve-home', day(d, 22), sameResearch ? 'paint-41' : 'paint-9'), view('eve-laptop', 'eve-home', day(d, 22, 5), sameResearch ? 'paint-42' : 'paint-10')]);
    await ingest(stores, [...[...phone, login].map(consenting(consent.phone)), ...laptop.map(consenting(consent.laptop))]);
    return stores;
  }

  const decideFor = async (stores: MemoryStores, anonymousId: string) =>
    answerDecision(parseDecisionRequest(JSON.stringify({ identity: { namespace: 'anonymousId', value: anonymousId }, placement: 'home', count: 3, context: { timestamp: day(4, 12) } })), {
      stores,
      config,
      catalog: loadCatalog(),
      salt: config.salt,
    });

  it("uses the interests of the customer it probably is, says so, and keeps its own caps", async () => {
    const stores = await eve(true);
    const laptop = stores.profileItems.get(ownerOf(stores, 'eve-laptop'))!;
    const customer = ownerOf(stores, 'eve-phone');
    expect(laptop.cluster).toMatchObject({ profileId: customer });
    expect(laptop.cluster!.probability).toBeGreaterThanOrEqual(config.rules.probabilistic.cluster.contextProbability!);
    const decision = await decideFor(stores, 'eve-laptop');
    expect(decision.profileId).toBe(laptop.profileId);
    expect(decision.context.cluster).toMatch(/^interests and stage from her probable other devices/);
    // Whose they are is not said (the caller may be anyone holding the laptop's id).
    expect(JSON.stringify(decision)).not.toContain(customer);
    expect(decision.offers.find((o) => o.offerId === 'garden-season')?.reasons.join('; ')).toMatch(/interest in garden on her probable other devices \(cluster probability (0\.9\d*|1)\)/);
    expect(decision.consent).toEqual({ category: 'personalization', granted: true });
  });

  it("never borrows consent: a laptop that did not consent itself gets a generic decision, though the customer it probably is consented", async () => {
    const stores = await eve(true, { phone: true, laptop: false });
    expect(stores.profileItems.get(ownerOf(stores, 'eve-laptop'))!.cluster).toMatchObject({ profileId: ownerOf(stores, 'eve-phone') });
    const decision = await decideFor(stores, 'eve-laptop');
    expect(decision.consent).toEqual({ category: 'personalization', granted: false, reason: 'no consent to personalization: generic offers, ranked without her profile' });
    expect(decision.context.cluster).toBeUndefined();
    expect(decision.offers.flatMap((o) => o.reasons).join('; ')).not.toMatch(/interest in|probable other devices/);
    expect(decision.suppressed).toContainEqual({ offerId: 'diy-tools-bundle', reason: 'no consent to personalised offers' });
  });

  it('borrows nothing by default: the shipped rules keep borrowing off until a probability is 0.95 precise', async () => {
    const shipped = ingestConfig();
    expect(shipped.rules.probabilistic.cluster.contextProbability).toBeNull();
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const events = [...[2, 3].flatMap((d) => [view('eve-phone', 'eve-home', day(d, 20), 'paint-41'), view('eve-phone', 'eve-home', day(d, 20, 10), 'paint-42'), view('eve-phone', 'eve-home', day(d, 20, 20), `garden-5${d}`)]),
      segmentEvent({ type: 'identify', anonymousId: 'eve-phone', userId: 'user-eve', timestamp: day(3, 21), context: { ip: 'eve-home' } }),
      ...[2, 4].flatMap((d) => [view('eve-laptop', 'eve-home', day(d, 22), 'paint-41'), view('eve-laptop', 'eve-home', day(d, 22, 5), 'paint-42')])]
      .sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)));
    const result = await ingestBatch(events.map((e) => toRecord(e, seq.take())), stores, shipped);
    expect(result.failedSequenceNumbers).toEqual([]);
    // The ingest spends nothing on clusters no decision will read.
    expect(result.stats).toMatchObject({ clusterContexts: 0, clusterContextsSkipped: 0 });
    const laptop = ownerOf(stores, 'eve-laptop');
    expect(stores.profileItems.get(laptop)?.clusterCheckedAt).toBeUndefined();
    // Still her probable other device (the read API says so), but her decisions are the laptop's own.
    expect((await personCluster(matchCardOf(stores.profileItems.get(laptop)!), new Neighbourhood(stores, shipped.rules))).members.map((m) => m.profileId)).toEqual([ownerOf(stores, 'eve-phone')]);
    expect(stores.profileItems.get(laptop)?.cluster).toBeUndefined();
    const decision = await answerDecision(parseDecisionRequest(JSON.stringify({ identity: { namespace: 'anonymousId', value: 'eve-laptop' }, placement: 'home', count: 3, context: { timestamp: day(4, 12) } })), { stores, config: shipped, catalog: loadCatalog(), salt: shipped.salt });
    expect(decision.context.cluster).toBeUndefined();
    expect(decision.offers.flatMap((o) => o.reasons).join('; ')).not.toContain('probable other devices');
  });

  it('borrows nothing from a customer who withdrew her consent', async () => {
    const stores = await eve(true, { phone: false, laptop: true });
    const decision = await decideFor(stores, 'eve-laptop');
    expect(decision.consent.granted).toBe(true);
    expect(decision.context.cluster).toBeUndefined();
    expect(decision.offers.flatMap((o) => o.reasons).join('; ')).not.toContain('probable other devices');
  });

  it('uses nothing of a cluster it is not probably part of', async () => {
    const stores = await eve(false);
    const laptop = stores.profileItems.get(ownerOf(stores, 'eve-laptop'))!;
    expect(laptop.cluster).toBeUndefined();
    const decision = await decideFor(stores, 'eve-laptop');
    expect(decision.context.cluster).toBeUndefined();
    expect(decision.offers.flatMap((o) => o.reasons).join('; ')).not.toContain('probable other devices');
  });
});

describe('evidence flows through the graph, and old evidence fades', () => {
  const products = (device: string, network: string, d: number, hour: number, ids: string[]) => ids.map((p, k) => view(device, network, day(d, hour, k * 5), p));

  it("finds the customer a laptop never met, through the phone both share things with (two hops), when nothing speaks against her", async () => {
    const stores = new MemoryStores();
    await ingest(stores, [
      // The phone and the laptop at home research tools; the phone and the customer's tablet, at her mother's, paint.
      ...[2, 3].flatMap((d) => [...products('laptop-z', 'home-z', d, 20, ['tools-7', 'tools-8', 'tools-9']), ...products('phone-z', 'home-z', d, 21, ['tools-7', 'tools-8', 'tools-9'])]),
      ...[2, 3].flatMap((d) => [...products('tab-z', 'mum-z', d, 10, ['paint-1', 'paint-2', 'paint-3']), ...products('phone-z', 'mum-z', d, 11, ['paint-1', 'paint-2', 'paint-3'])]),
      segmentEvent({ type: 'identify', anonymousId: 'tab-z', userId: 'user-z', timestamp: day(3, 22), context: { ip: 'mum-z' } }),
    ]);
    const hood = new Neighbourhood(stores, config.rules);
    const [customer, phone, laptop] = ['tab-z', 'phone-z', 'laptop-z'].map((d) => ownerOf(stores, d)) as [string, string, string];
    expect((await hood.linksOf(matchCardOf(stores.profileItems.get(laptop)!))).map((l) => l.otherProfileId)).toEqual([phone]);
    const cluster = await personCluster(matchCardOf(stores.profileItems.get(laptop)!), hood);
    const viaPhone = cluster.members.find((m) => m.profileId === customer);
    expect(viaPhone).toMatchObject({ hops: 2, via: phone, authenticated: true });
    // Its probability: the average over the members it was scored with (only the phone: the laptop and the tablet never shared a network).
    const link = (await hood.linksOf(matchCardOf(stores.profileItems.get(phone)!))).find((l) => l.otherProfileId === customer)!;
    expect(viaPhone!.probability).toBeCloseTo(probabilityOf(link.score), 2);
    // The laptop's decisions (where borrowing is on) borrow from the customer, not from the anonymous phone.
    expect(stores.profileItems.get(laptop)?.cluster?.profileId).toBe(customer);
  });

  it('does not chain: a profile linked to one member stays out when its pair with another speaks against it', async () => {
    const stores = new MemoryStores();
    await ingest(stores, [
      // As above, but the tablet is at the same home as the laptop, and the two never researched anything alike.
      ...[2, 3].flatMap((d) => [...products('laptop-y', 'home-y', d, 20, ['tools-7', 'tools-8', 'tools-9']), ...products('phone-y', 'home-y', d, 21, ['tools-7', 'tools-8', 'tools-9', 'paint-1', 'paint-2', 'paint-3'])]),
      ...[2, 3].flatMap((d) => products('tab-y', 'home-y', d, 19, ['paint-1', 'paint-2', 'paint-3'])),
      segmentEvent({ type: 'identify', anonymousId: 'tab-y', userId: 'user-y', timestamp: day(3, 22), context: { ip: 'home-y' } }),
    ]);
    const hood = new Neighbourhood(stores, config.rules);
    const [customer, phone, laptop] = ['tab-y', 'phone-y', 'laptop-y'].map((d) => ownerOf(stores, d)) as [string, string, string];
    // The phone is linked to both; the laptop and the customer are scored (one home) and improbable.
    expect((await hood.linksOf(matchCardOf(stores.profileItems.get(phone)!))).map((l) => l.otherProfileId).sort()).toEqual([customer, laptop].sort());
    const pair = (await hood.candidatesOf(matchCardOf(stores.profileItems.get(laptop)!))).find((l) => l.otherProfileId === customer)!;
    expect(pair.probability).toBeLessThan(0.5);
    const cluster = await personCluster(matchCardOf(stores.profileItems.get(laptop)!), hood);
    expect(cluster.members.map((m) => m.profileId)).not.toContain(customer);
    // And the phone, as much the customer's as the laptop's, goes with neither: one device is one person's.
    expect(cluster.members).toEqual([]);
  });

  it("keeps one person's device out of her flatmate's cluster when it is as much her own phone's", async () => {
    // Two anglers share a flat; one has a phone and a laptop, the other a phone of the same model.
    const on = (anonymousId: string, userAgent: string, timestamp: string, product: string) =>
      segmentEvent({ anonymousId, timestamp, properties: { product_id: product, category: 'angling' }, context: { ip: 'flat-x', locale: 'en-GB', timezone: 'Europe/London', userAgent } });
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148';
    const events = [2, 3, 4, 5].flatMap((d) => [
      ...['angling-1', 'angling-2', 'angling-3'].map((p, k) => on('her-phone', iphone, day(d, 20, k), p)),
      ...['angling-1', 'angling-2', 'angling-3', 'angling-4'].map((p, k) => on('her-laptop', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0', day(d, 21, k), p)),
      ...['angling-3', 'angling-4', 'angling-5', 'angling-6'].map((p, k) => on('his-phone', iphone, day(d, 22, k), p)),
    ]);
    const stores = new MemoryStores();
    await ingest(stores, events);
    const hood = new Neighbourhood(stores, config.rules);
    const [herPhone, herLaptop, hisPhone] = ['her-phone', 'her-laptop', 'his-phone'].map((d) => ownerOf(stores, d)) as [string, string, string];
    // She and her laptop come back to the same three products; he shares two of them with the laptop.
    // The laptop is probably linked to both phones (research alike at the same flat)...
    expect((await hood.linksOf(matchCardOf(stores.profileItems.get(herLaptop)!))).map((l) => l.otherProfileId).sort()).toEqual([herPhone, hisPhone].sort());
    // ...but the two phones are two people (one model, research apart), and the laptop is far more
    // probably hers: his phone's cluster does not take it.
    expect((await hood.candidatesOf(matchCardOf(stores.profileItems.get(hisPhone)!))).find((l) => l.otherProfileId === herPhone)!.probability).toBeLessThan(0.5);
    const his = await personCluster(matchCardOf(stores.profileItems.get(hisPhone)!), hood);
    expect(his.members.map((m) => m.profileId)).not.toContain(herLaptop);
    // Hers does.
    const hers = await personCluster(matchCardOf(stores.profileItems.get(herPhone)!), hood);
    expect(hers.members.map((m) => m.profileId)).toEqual([herLaptop]);
  });

  it('gives a device as probably one signed-in sister\'s as the other\'s to neither', async () => {
    const on = (anonymousId: string, timestamp: string, product: string) =>
      segmentEvent({ anonymousId, timestamp, properties: { product_id: product, category: 'paint' }, context: { ip: 'flat-s', locale: 'en-GB', timezone: 'Europe/London' } });
    const events = [
      ...[2, 3, 4, 5].flatMap((d) => ['paint-1', 'paint-2', 'paint-3'].flatMap((p, k) => [on('ann-phone', day(d, 19, k), p), on('bea-phone', day(d, 20, k), p), on('the-laptop', day(d, 21, k), p)])),
      segmentEvent({ type: 'identify', anonymousId: 'ann-phone', userId: 'user-ann', timestamp: day(5, 22), context: { ip: 'flat-s' } }),
      segmentEvent({ type: 'identify', anonymousId: 'bea-phone', userId: 'user-bea', timestamp: day(5, 22, 1), context: { ip: 'flat-s' } }),
    ];
    const stores = new MemoryStores();
    await ingest(stores, events);
    const hood = new Neighbourhood(stores, config.rules);
    const [ann, bea, laptop] = ['ann-phone', 'bea-phone', 'the-laptop'].map((d) => ownerOf(stores, d)) as [string, string, string];
    // The laptop is as probably Ann's as Bea's (both links strong); Ann and Bea are two customers.
    expect((await hood.linksOf(matchCardOf(stores.profileItems.get(laptop)!))).map((l) => l.otherProfileId).sort()).toEqual([ann, bea].sort());
    for (const sister of [ann, bea]) expect((await personCluster(matchCardOf(stores.profileItems.get(sister)!), hood)).members).toEqual([]);
    // Nor does the laptop's own cluster take either sister (where borrowing is on, it borrows from neither).
    expect((await personCluster(matchCardOf(stores.profileItems.get(laptop)!), hood)).members).toEqual([]);
    expect(stores.profileItems.get(laptop)?.cluster).toBeUndefined();
  });

  it('does not let profiles that stopped using a home long ago weaken the link of the two that live there now', async () => {
    const fresh = [2, 3].flatMap((d) => ['phone-w', 'laptop-w'].map((dev) => view(dev, 'home-w', day(d, 20), 'lighting-3')));
    const linkNow = async (events: Array<Record<string, unknown>>, listed: number) => {
      const stores = new MemoryStores();
      await ingest(stores, events);
      expect(stores.visits.get(hashedNetwork('home-w', config.salt))?.size).toBe(listed);
      return (await readProfile(stores, ownerOf(stores, 'phone-w'), config)).probableLinks;
    };
    const alone = await linkNow(fresh, 2);
    expect(alone).toHaveLength(1);
    // Six old cookies that lived there a year ago (cleared, or the previous tenants).
    const year = (d: number, h: number) => new Date(Date.UTC(2025, 10, d, h)).toISOString();
    const old = Array.from({ length: 6 }, (_, i) => [2, 3].map((d) => segmentEvent({ anonymousId: `old-${i}`, timestamp: year(d, 20), receivedAt: year(d, 20), properties: { product_id: `garden-${i}`, category: 'garden' }, context: { ip: 'home-w' } }))).flat();
    expect(await linkNow([...old, ...fresh], 8)).toEqual(alone);
  });
});

describe('identity weights from hostile product ids', () => {
  it("counts ids named like an object's own properties, leaves __proto__ out, and stays within its byte budget", () => {
    const counts = addCounts(countProducts([['constructor', 'toString', '__proto__', 'x'], ['constructor', 'toString', '__proto__']]), countProducts([['constructor', 'toString', '__proto__']]));
    expect(Object.entries(counts.counts).sort()).toEqual([['__proto__', 3], ['constructor', 3], ['toString', 3], ['x', 1]]);
    const weights = weightsOf(counts, 'test');
    expect(Object.entries(weights.products).sort()).toEqual([['constructor', 1], ['toString', 1]]);
    const long = Array.from({ length: 20 }, (_, p) => Array.from({ length: 20 }, (_, k) => `${'p'.repeat(120)}-${p}-${k}`));
    const many = countProducts(Array.from({ length: 4000 }, (_, i) => long[i % 20] as string[]));
    const big = weightsOf({ profiles: many.profiles, counts: Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`${'q'.repeat(126)}${i}`, 5])) }, 'test');
    expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThanOrEqual(MAX_WEIGHTS_BYTES);
    expect(Object.keys(big.products).length).toBeGreaterThan(1000);
  });
});
