import { CONTACT_EVENTS, ledgerContact, ledgerDay, ledgerDayAt, ledgerExpiry, MAX_CONTACTS_PER_DAY } from '../decision/contact-ledger';
import { asObject } from '../events/json';
import type { CollectedEvent } from '../events/segment';
import { eventChannel, eventTimezone, type AggregateModel } from '../profile/aggregates';
import type { ContactLedgerStore, LedgerWindow } from '../store/ports';

/**
 * Her contacts into the contact ledger (lib/decision/contact-ledger.ts) as the ingest folds them:
 * each event her profile's impression aggregates count (an in-app `Promotion Viewed`, a campaign's
 * `Message Sent`) counts once, by its messageId, in the ledger of the profile it is folded into, on
 * the day in force for her at its time (ledgerDayAt), per channel and offer. So the ledger holds every
 * contact her profile counts today (a send's `Message Sent` finds its own reservation and adds
 * nothing), and a campaign send right after her 11th impression of the day is her 12th contact
 * whether or not anything else has been folded. A day counts at most MAX_CONTACTS_PER_DAY contacts:
 * a flood of impressions costs bounded items.
 */
export interface ContactGroup {
  /** The live profile the events were folded into. */
  profileId: string;
  events: CollectedEvent[];
}

export async function countContacts(groups: ContactGroup[], ledger: Pick<ContactLedgerStore, 'reserve' | 'around'>, model: AggregateModel): Promise<{ failed: Set<string>; errors: Error[] }> {
  const failed = new Set<string>();
  const errors: Error[] = [];
  await Promise.all(
    groups.map(async (g) => {
      try {
        // The day in force at each contact (ledgerDayAt: one read per profile, again only for a contact outside that day).
        let current: { day: string; window: LedgerWindow } | undefined;
        for (const event of g.events) {
          if (event.type !== 'track' || !CONTACT_EVENTS.includes(event.event ?? '')) continue;
          const at = new Date(event.timestamp);
          if (current === undefined || !(Date.parse(current.window.start) <= at.getTime() && at.getTime() < Date.parse(current.window.end))) {
            current = await ledgerDayAt(ledger, g.profileId, at, eventTimezone(event, model));
          }
          const offerId = asObject(event.properties)?.promotion_id;
          const contact = ledgerContact(event.messageId, eventChannel(event), typeof offerId === 'string' ? offerId : undefined);
          await ledger.reserve(g.profileId, current.day, contact, { total: MAX_CONTACTS_PER_DAY }, ledgerExpiry(current.day), current.window);
        }
      } catch (e) {
        failed.add(g.profileId);
        errors.push(e as Error);
      }
    }),
  );
  return { failed, errors };
}

/** The most days of a merged profile's ledger copied at a merge: the latest days its batch's events fall on. */
const MERGED_DAYS = 3;

/**
 * Copies the ledger days of profiles merged into hers (the losers of a merge) into her own, each
 * contact by its id (a copy made again adds nothing): after a login, her caps count what her devices'
 * profiles were shown and sent today, as her merged aggregates do. The days are the latest ones the
 * merging batch's events fall on (her today). Called before the losers become tombstones, so a
 * failure fails the merge and its retry copies again.
 */
export async function mergeLedgers(survivorId: string, loserIds: string[], events: CollectedEvent[], ledger: Pick<ContactLedgerStore, 'read' | 'reserve'>, model: AggregateModel): Promise<void> {
  if (loserIds.length === 0) return;
  const days = [...new Set(events.map((e) => ledgerDay(new Date(e.timestamp), eventTimezone(e, model))))].sort().slice(-MERGED_DAYS);
  for (const loser of loserIds) {
    for (const day of days) {
      const { counted, window } = await ledger.read(loser, day);
      for (const [id, { channel, offerId }] of Object.entries(counted)) {
        await ledger.reserve(survivorId, day, { id, ...(channel !== undefined ? { channel } : {}), ...(offerId !== undefined ? { offerId } : {}) }, { total: MAX_CONTACTS_PER_DAY }, ledgerExpiry(day), window);
      }
    }
  }
}
