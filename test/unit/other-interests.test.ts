import { Neighbourhood, personCluster } from '../../lib/identity/links';
import { otherInterests } from '../../lib/identity/likeness';
import { NO_WEIGHTS } from '../../lib/identity/weights';
import { ingestBatch } from '../../lib/ingest/pipeline';
import { matchCardOf, type MatchCard } from '../../lib/profile/profile';
import { MemoryStores } from '../../lib/store/memory';
import { nightlyWeights } from '../../bench/synthetic/links';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

const card = (interests: Record<string, number>): MatchCard => ({ profileId: 'p', updatedAt: '', authenticated: false, signals: { interests, networks: {} } });

describe('other interests: what two profiles look at beside the interest they share most', () => {
  it('sets the most looked-at category aside and compares the rest', () => {
    expect(otherInterests(card({ angling: 10, baking: 3 }), card({ angling: 8, baking: 2 }))).toEqual({ cosine: 1, shared: 'angling' });
    expect(otherInterests(card({ angling: 10, baking: 3 }), card({ angling: 8, pottery: 2 }))).toEqual({ cosine: 0, shared: 'angling' });
    // The category set aside is the pair's, not each side's: here the laptop looks mostly at baking.
    expect(otherInterests(card({ angling: 10, baking: 3 }), card({ angling: 1, baking: 6 }))?.shared).toBe('angling');
  });

  it('sets aside only a category both looked at, the same whichever side is asked', () => {
    // Only one of them looked at paint: what they share is garden, and b looked at nothing else.
    expect(otherInterests(card({ paint: 100, garden: 10 }), card({ garden: 10 }))).toBeUndefined();
    expect(otherInterests(card({ garden: 10 }), card({ paint: 100, garden: 10 }))).toBeUndefined();
    expect(otherInterests(card({ paint: 100, garden: 10 }), card({ garden: 10, tools: 3 }))).toEqual({ cosine: 0, shared: 'garden' });
    expect(otherInterests(card({ paint: 2 }), card({ garden: 3 }))).toBeUndefined();
  });

  it('says nothing when either side looked at nothing else', () => {
    expect(otherInterests(card({ angling: 10 }), card({ angling: 8, baking: 2 }))).toBeUndefined();
    expect(otherInterests(card({}), card({ angling: 8, baking: 2 }))).toBeUndefined();
  });
});

describe('two anglers share a flat: the same products, other hobbies', () => {
  const config = ingestConfig();
  const day = (d: number, hour: number, minute = 0) => new Date(Date.UTC(2026, 10, d, hour, minute)).toISOString();
  const angling = ['angling-rod-1', 'angling-reel-2', 'angling-line-3', 'angling-bait-4', 'angling-net-5', 'angling-box-6'];
  const people = [
    { name: 'ann', other: ['baking-tin-1', 'baking-mixer-2', 'baking-scale-3'] },
    { name: 'bob', other: ['pottery-wheel-1', 'pottery-clay-2', 'pottery-kiln-3'] },
  ];

  /** Fourteen evenings at home: each device views four of the club's products and one of its owner's other hobby. */
  function flat(): Array<Record<string, unknown>> {
    const events: Array<Record<string, unknown>> = [];
    people.forEach(({ name, other }, p) => {
      ['phone', 'laptop'].forEach((device, k) => {
        for (let d = 2; d < 16; d++) {
          const products = [0, 1, 2, 3].map((i) => angling[(d + i + p) % angling.length] as string);
          products.push(other[d % other.length] as string);
          products.forEach((product, i) =>
            events.push(
              segmentEvent({
                anonymousId: `${name}-${device}`,
                timestamp: day(d, 19 + k, p * 20 + i * 3),
                properties: { product_id: product, category: product.split('-')[0] },
                context: { ip: 'flat-net', locale: 'en-GB', timezone: 'Europe/London' },
              }),
            ),
          );
        }
      });
    });
    return events;
  }

  it("keeps each one's laptop with her own phone, before any night and after one, and says why", async () => {
    const stores = new MemoryStores();
    const seq = new SequenceFactory();
    const records = flat()
      .sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)))
      .map((e) => toRecord(e, seq.take()));
    for (let i = 0; i < records.length; i += 50) expect((await ingestBatch(records.slice(i, i + 50), stores, config)).failedSequenceNumbers).toEqual([]);
    const owner = (anonymousId: string) => stores.owners.get(`anonymousId:${anonymousId}`) as string;
    for (const weights of [NO_WEIGHTS, nightlyWeights(stores)]) {
      const hood = new Neighbourhood(stores, config.rules, { weights });
      for (const { name } of people) {
        const laptop = matchCardOf(stores.profileItems.get(owner(`${name}-laptop`))!);
        const cluster = await personCluster(laptop, hood);
        expect(cluster.members.map((m) => m.profileId)).toEqual([owner(`${name}-phone`)]);
        const flatmate = (await hood.candidatesOf(laptop)).find((l) => l.otherProfileId === owner(`${name === 'ann' ? 'bob' : 'ann'}-phone`));
        expect(flatmate?.reasons).toContain('other interests differ beside angling');
      }
    }
  });
});
