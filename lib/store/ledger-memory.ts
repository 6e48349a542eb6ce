import { emptyLedgerDay, fitsLimits, limitsOpen } from '../decision/contact-ledger';
import { shiftDay } from '../profile/time';
import type { ContactLedgerStore, LedgerContact, LedgerDay, LedgerLimits, LedgerOutcome, LedgerWindow } from './ports';

/**
 * The contact ledger in memory, with the DynamoDB adapter's semantics: a reservation checks and counts
 * in one step (nothing else runs between), a contact counts once by its id, copies on read.
 */
/** The widest range `around` walks day by day; a wider one (an export of her partition) filters her items instead. */
const MAX_STEPPED_DAYS = 31;

export class MemoryContactLedger implements ContactLedgerStore {
  /** Days by `profileId|day`. */
  readonly days = new Map<string, LedgerDay & { expiresAt: number; seq: number }>();

  async read(profileId: string, day: string): Promise<LedgerDay> {
    const d = this.days.get(`${profileId}|${day}`);
    if (d === undefined) return emptyLedgerDay();
    const { expiresAt: _e, seq: _s, ...rest } = structuredClone(d);
    return rest;
  }

  async around(profileId: string, first: string, last: string): Promise<Map<string, LedgerDay>> {
    const out = new Map<string, LedgerDay>();
    const span = (Date.parse(last) - Date.parse(first)) / 86_400_000;
    if (span >= 0 && span <= MAX_STEPPED_DAYS) {
      // Day by day from the first to the last (a decision's few), as the DynamoDB adapter's range query finds them.
      for (let day = first; day <= last; day = shiftDay(day, 1)) if (this.days.has(`${profileId}|${day}`)) out.set(day, await this.read(profileId, day));
      return out;
    }
    // A wide range (an export's whole partition): her items, whatever their days.
    for (const key of this.days.keys()) {
      const day = key.slice(key.indexOf('|') + 1);
      if (key.startsWith(`${profileId}|`) && day >= first && day <= last) out.set(day, await this.read(profileId, day));
    }
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async reserve(profileId: string, day: string, contact: LedgerContact, limits: LedgerLimits, expiresAt: number, window?: LedgerWindow): Promise<LedgerOutcome> {
    const key = `${profileId}|${day}`;
    const d = this.days.get(key) ?? { ...emptyLedgerDay(), expiresAt, seq: 0 };
    if (d.window === undefined && window !== undefined) d.window = { ...window };
    if (d.counted[contact.id] !== undefined) return { reserved: true, already: true };
    if (!limitsOpen(contact, limits) || !fitsLimits(d, contact, limits)) return { reserved: false, day: await this.read(profileId, day) };
    d.total += 1;
    if (contact.channel !== undefined) d.channels[contact.channel] = (d.channels[contact.channel] ?? 0) + 1;
    if (contact.offerId !== undefined) d.offers[contact.offerId] = (d.offers[contact.offerId] ?? 0) + 1;
    d.seq += 1;
    d.counted[contact.id] = { ...(contact.channel !== undefined ? { channel: contact.channel } : {}), ...(contact.offerId !== undefined ? { offerId: contact.offerId } : {}), seq: d.seq };
    d.expiresAt = expiresAt;
    this.days.set(key, d);
    return { reserved: true, already: false };
  }

  async release(profileId: string, day: string, id: string): Promise<boolean> {
    const d = this.days.get(`${profileId}|${day}`);
    const mine = d?.counted[id];
    if (d === undefined || mine === undefined) return false;
    d.total -= 1;
    if (mine.channel !== undefined) d.channels[mine.channel] = (d.channels[mine.channel] ?? 1) - 1;
    if (mine.offerId !== undefined) d.offers[mine.offerId] = (d.offers[mine.offerId] ?? 1) - 1;
    delete d.counted[id];
    return true;
  }

  /** Removes a profile's days (erasure, with her campaign entries). */
  removeProfile(profileId: string): void {
    for (const k of this.days.keys()) if (k.startsWith(`${profileId}|`)) this.days.delete(k);
  }
}
