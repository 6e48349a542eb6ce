import { dayWindow, ledgerDayAt } from '../../lib/decision/contact-ledger';
import { MemoryContactLedger } from '../../lib/store/ledger-memory';

/**
 * Which ledger day counts a contact (lib/decision/contact-ledger.ts ledgerDayAt): her local day, but a
 * day once opened stays in force until it ends, whatever time zone she (or a sender) names meanwhile.
 */
const contact = (id: string) => ({ id, channel: 'email' });
const limits = { total: 100 };

describe('the span of her local day', () => {
  it('runs from her midnight to the next, also across a daylight-saving change', () => {
    expect(dayWindow(new Date('2026-12-05T01:00:00Z'), 'Asia/Tokyo')).toEqual({ start: '2026-12-04T15:00:00.000Z', end: '2026-12-05T15:00:00.000Z' });
    expect(dayWindow(new Date('2026-12-05T01:00:00Z'), 'Pacific/Honolulu')).toEqual({ start: '2026-12-04T10:00:00.000Z', end: '2026-12-05T10:00:00.000Z' });
    // London's last Sunday of October is 25 hours long.
    expect(dayWindow(new Date('2026-10-25T12:00:00Z'), 'Europe/London')).toEqual({ start: '2026-10-24T23:00:00.000Z', end: '2026-10-26T00:00:00.000Z' });
    // At midnight exactly, the day that starts then.
    expect(dayWindow(new Date('2026-12-04T15:00:00Z'), 'Asia/Tokyo').start).toBe('2026-12-04T15:00:00.000Z');
  });
});

describe('the ledger day in force', () => {
  it('stays the day opened in Tokyo when she names Honolulu (still the day before there): no fresh day, no second set of caps', async () => {
    const ledger = new MemoryContactLedger();
    const at = new Date('2026-12-05T01:00:00Z');
    const tokyo = await ledgerDayAt(ledger, 'p', at, 'Asia/Tokyo');
    expect(tokyo.day).toBe('2026-12-05');
    await ledger.reserve('p', tokyo.day, contact('c1'), limits, 0, tokyo.window);
    const honolulu = await ledgerDayAt(ledger, 'p', new Date('2026-12-05T01:10:00Z'), 'Pacific/Honolulu');
    expect(honolulu).toMatchObject({ day: '2026-12-05', window: tokyo.window });
    expect(honolulu.counts.total).toBe(1);
  });

  it("takes her new zone when the day in force ends: a traveller's next day is her new local day", async () => {
    const ledger = new MemoryContactLedger();
    const london = await ledgerDayAt(ledger, 'p', new Date('2026-11-20T18:00:00Z'), 'Europe/London');
    await ledger.reserve('p', london.day, contact('c1'), limits, 0, london.window);
    // Landed in Tokyo: 03:00 there on the 21st, but London's 20th is still in force until midnight UTC.
    expect((await ledgerDayAt(ledger, 'p', new Date('2026-11-20T18:00:00Z'), 'Asia/Tokyo')).day).toBe('2026-11-20');
    const next = await ledgerDayAt(ledger, 'p', new Date('2026-11-21T01:00:00Z'), 'Asia/Tokyo');
    expect(next).toMatchObject({ day: '2026-11-21', window: { start: '2026-11-20T15:00:00.000Z', end: '2026-11-21T15:00:00.000Z' } });
    expect(next.counts.total).toBe(0);
  });
});

describe("reading her ledger's days", () => {
  it("finds every day of hers over any range, an export's whole partition included, and no one else's", async () => {
    const ledger = new MemoryContactLedger();
    for (const [profile, day] of [['p', '2026-12-04'], ['p', '2026-12-05'], ['q', '2026-12-05']] as const) await ledger.reserve(profile, day, contact(`${profile}${day}`), limits, 0);
    expect([...(await ledger.around('p', '2026-12-04', '2026-12-06')).keys()]).toEqual(['2026-12-04', '2026-12-05']);
    expect([...(await ledger.around('p', '0000-01-01', '9999-12-31')).keys()]).toEqual(['2026-12-04', '2026-12-05']);
  });
});
