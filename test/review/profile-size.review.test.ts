import { deriveProfileId } from '../../lib/identity/resolver';
import { ingestBatch, type StreamRecord } from '../../lib/ingest/pipeline';
import { fitBudget, PROFILE_BUDGET_BYTES } from '../../lib/profile/size';
import { foldEvent, newProfile } from '../../lib/profile/profile';
import type { CollectedEvent } from '../../lib/events/segment';
import { MemoryStores } from '../../lib/store/memory';
import { ingestConfig, segmentEvent, SequenceFactory, toRecord } from '../support/factories';

/**
 * A profile stays within its 128 KB budget whatever arrives (issue #13, defect 2). The list of merged
 * members is neither bounded nor trimmable (fitBudget never touches it): a shared device that each
 * visitor's profile merges into (the shop assistant logs in on the visitor's session) and that then
 * moves on (the visitor logs in, the device follows her) grows it by one profile id per cycle.
 */
const OWNER = deriveProfileId('userId:shop-assistant');
const t = (i: number) => new Date(Date.UTC(2026, 10, 20, 9) + i * 1000).toISOString();

async function grow(stores: MemoryStores, seq: SequenceFactory, until: (size: number, failed: string[]) => boolean) {
  const start = segmentEvent({ type: 'identify', userId: 'shop-assistant', messageId: 'assistant', event: undefined, timestamp: '2026-11-20T08:00:00.000Z' });
  expect((await ingestBatch([toRecord(start, seq.take())], stores, ingestConfig())).failedSequenceNumbers).toEqual([]);
  let cycle = 0;
  let size = 0;
  let failed: string[] = [];
  let last: StreamRecord[] = [];
  let errors: string[] = [];
  for (let batch = 0; batch < 400 && !until(size, failed); batch++) {
    last = [];
    for (let i = 0; i < 100; i++, cycle++) {
      const visitor = `visitor-${cycle}`;
      last.push(toRecord(segmentEvent({ anonymousId: visitor, messageId: `view-${cycle}`, timestamp: t(3 * cycle) }), seq.take()));
      last.push(toRecord(segmentEvent({ type: 'identify', userId: 'shop-assistant', anonymousId: visitor, messageId: `assist-${cycle}`, event: undefined, timestamp: t(3 * cycle + 1) }), seq.take()));
      last.push(toRecord(segmentEvent({ type: 'identify', userId: `customer-${cycle}`, anonymousId: visitor, messageId: `login-${cycle}`, event: undefined, timestamp: t(3 * cycle + 2) }), seq.take()));
    }
    const result = await ingestBatch(last, stores, ingestConfig({ now: () => new Date(t(3 * cycle)) }));
    failed = result.failedSequenceNumbers;
    errors = result.errors.map((e) => e.message);
    size = Buffer.byteLength(JSON.stringify(stores.profileItems.get(OWNER)));
  }
  return { size, failed, errors, members: stores.profileItems.get(OWNER)?.members.length ?? 0 };
}

describe('review: profile size budget', () => {
  it('keeps a profile within the 128 KB budget when visitor after visitor is merged into it and moves on (members list is unbounded and untrimmable)', async () => {
    const stores = new MemoryStores();
    const { size, members } = await grow(stores, new SequenceFactory(), (bytes) => bytes > PROFILE_BUDGET_BYTES);
    expect({ members, bytes: size, withinBudget: size <= PROFILE_BUDGET_BYTES }).toEqual({ members, bytes: size, withinBudget: true });
  });

  it("never writes a profile item over DynamoDB's 400 KB (the group of a profile that absorbed ~14,000 merged members fails: ValidationException, item too large)", async () => {
    const stores = new MemoryStores();
    const { failed, members, errors } = await grow(stores, new SequenceFactory(), (_bytes, f) => f.length > 0);
    expect({ members, failed, errors }).toEqual({ members, failed: [], errors: [] });
  }, 180_000);
});

describe('review: what fitBudget does when the budget cannot be met', () => {
  it('never turns a timestamp aggregate (lastOrderAt, firstSeen, lastSeen) into a truncated, invalid date', () => {
    const config = ingestConfig();
    const p = newProfile('p_over');
    foldEvent(p, segmentEvent({ userId: 'u', event: 'Order Completed', properties: { total: 10 }, timestamp: '2026-11-20T10:00:00.000Z' }) as unknown as CollectedEvent, config.aggregates);
    // What it cannot trim (here: the members of ~4,600 merges, as the test above builds) keeps it over budget.
    p.members = Array.from({ length: 4600 }, (_, i) => `p_${String(i).padStart(24, '0')}`);
    fitBudget(p, config.aggregates);
    const stamps = ['lastOrderAt', 'firstSeen', 'lastSeen'].map((name) => (p.aggregates[name] as { v?: unknown } | undefined)?.v);
    expect(stamps.filter((v) => v !== undefined && Number.isNaN(Date.parse(v as string)))).toEqual([]);
  });
});
