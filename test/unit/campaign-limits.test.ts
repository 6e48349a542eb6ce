import { campaignProblems, loadCampaigns, MAX_WAIT } from '../../lib/campaign/campaign';
import { onProfileChange, type ProfileChange, type Wakeups } from '../../lib/campaign/journey';
import { campaignStats } from '../../lib/campaign/stats';
import { loadCatalog } from '../../lib/decision/catalog';
import { CampaignHarness, treatedUserId } from '../support/campaigns';
import shipped from '../../config/campaigns.json';

/**
 * What a campaign document may hold so that the trigger can always plan an entry (bounded waits, a
 * channel that is one of its own), that one campaign failing leaves the others' entries alone, and
 * that a campaign which can enter (or send to) no one says why in its statistics.
 */
type Doc = { campaigns: Array<Record<string, unknown>>; channels: Record<string, unknown> };
const withCampaign = (change: Record<string, unknown>): Doc => {
  const input = structuredClone(shipped) as Doc;
  input.campaigns[0] = { ...input.campaigns[0], ...change };
  return input;
};

describe('every duration of a campaign is bounded', () => {
  it.each([
    ['a delay of 100,000,001 days', { wait: { delay: 'P100000001D' } }, 'campaign "cart-abandoned" wait.delay: must be at most P365D'],
    ['a delay of 366 days', { wait: { delay: 'P366D' } }, 'campaign "cart-abandoned" wait.delay: must be at most P365D'],
    ['a delay of 400 nines seconds (Infinity ms)', { wait: { delay: `PT${'9'.repeat(400)}S` } }, 'campaign "cart-abandoned" wait.delay: must be at most P365D'],
    ['a timeout of 10^30 days', { wait: { until: { event: ['Order Completed'], timeout: `P1${'0'.repeat(30)}D` } } }, 'campaign "cart-abandoned" wait.until.timeout: must be at most P365D'],
  ])('refuses %s, naming the campaign and the field', (_what, change, message) => {
    expect(() => loadCampaigns(withCampaign(change))).toThrow(message);
  });

  it(`takes a wait of ${MAX_WAIT} (an open entry is kept 400 days, so it is still there when the wait ends)`, () => {
    const c = loadCampaigns(withCampaign({ wait: { delay: MAX_WAIT, at: '09:00', window: { from: 9, to: 21 } } })).byId.get('cart-abandoned');
    expect(c?.delayMs).toBe(365 * 86_400_000);
    expect(loadCampaigns(withCampaign({ wait: { until: { event: ['Order Completed'], timeout: MAX_WAIT } } })).byId.get('cart-abandoned')?.untilTimeoutMs).toBe(365 * 86_400_000);
  });
});

describe('a campaign failing at entry leaves the other campaigns alone', () => {
  it('enters her into every other campaign the change triggers when one campaign\'s wake-up cannot be scheduled, then fails the change so it comes again, and the retry completes the entry without entering the others twice', async () => {
    // Prepare: an order triggers both bought-together and win-back; her profile exists.
    const h = new CampaignHarness('2026-11-20T14:00:00Z');
    const ann = treatedUserId('limits-ann', ['bought-together', 'win-back']);
    await h.ingest([{ type: 'identify', userId: ann.userId, traits: { email: 'ann@example.com' }, context: { timezone: 'Europe/London' } }]);
    const change: ProfileChange = {
      profileId: ann.profileId,
      cause: { messageId: 'order-1', timestamp: '2026-11-20T14:05:00.000Z' },
      events: [{ name: 'Order Completed', messageId: 'order-1', timestamp: '2026-11-20T14:05:00.000Z', properties: { order_id: 'o-1', total: 40 } }],
    };
    const scheduled: string[] = [];
    const flaky: Wakeups = {
      schedule: async (i) => {
        if (i.campaignId === 'bought-together') throw new Error('Scheduler: ThrottlingException');
        scheduled.push(i.campaignId);
      },
      cancel: async () => undefined,
    };
    const deps = { stores: h.stores, campaigns: h.campaigns, catalog: h.catalog, config: h.config };

    // Act: the first delivery meets the failing schedule.
    await expect(onProfileChange(change, { ...deps, wakeups: flaky })).rejects.toThrow('campaign "bought-together": Scheduler: ThrottlingException');

    // Assess: win-back entered her and was scheduled all the same.
    expect(scheduled).toEqual(['win-back']);
    expect((await h.instances('win-back')).map((i) => i.status)).toEqual(['planned']);

    // Act: the change is delivered again and the scheduler answers.
    const again = await onProfileChange(change, { ...deps, wakeups: { schedule: async (i) => void scheduled.push(i.campaignId), cancel: async () => undefined } });

    // Assess: bought-together's wake-up is scheduled; nobody entered twice.
    expect(again.entered).toBe(0);
    expect(scheduled).toContain('bought-together');
    expect((await h.instances('bought-together')).map((i) => i.status)).toEqual(['planned']);
    expect(await h.instances('win-back')).toHaveLength(1);
  });
});

describe('a campaign that can enter or send to no one says why', () => {
  const catalog = loadCatalog();

  it('names a disabled campaign, a geofence kind the catalog has no place of, and a placement the catalog has no offer for on the channel', () => {
    const doc = structuredClone(shipped) as Doc;
    doc.campaigns.push(
      { ...doc.campaigns[0], id: 'paused', enabled: false },
      { ...doc.campaigns[2], id: 'kiosk-visit', trigger: { event: ['Location Updated'], geofence: { kinds: ['kiosk'] } } },
      { ...doc.campaigns[0], id: 'no-offer', action: { placement: 'checkout', channel: 'email' } },
    );
    const campaigns = loadCampaigns(doc);
    const problems = (id: string) => campaignProblems(campaigns.byId.get(id)!, catalog);
    expect(problems('cart-abandoned')).toEqual([]);
    expect(problems('paused')).toEqual(['enabled: false: it enters no one']);
    expect(problems('kiosk-visit')).toEqual(['trigger.geofence.kinds: the catalog has no place of kind "kiosk": it enters no one']);
    expect(problems('no-offer')).toEqual(['action: no offer of the catalog is for placement "checkout" on channel "email": it sends to no one (each entry ends "no offer")']);
  });

  it('puts what stops it in its statistics', () => {
    const doc = structuredClone(shipped) as Doc;
    doc.campaigns.push({ ...doc.campaigns[0], id: 'paused', enabled: false });
    const paused = loadCampaigns(doc).byId.get('paused')!;
    expect(campaignStats(paused, [], catalog)).toMatchObject({ campaignId: 'paused', entered: 0, blocked: ['enabled: false: it enters no one'] });
    expect(campaignStats(loadCampaigns().byId.get('cart-abandoned')!, [], catalog).blocked).toEqual([]);
  });
});
