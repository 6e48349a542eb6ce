import { createHash } from 'node:crypto';
import { localDay, shiftDay } from '../profile/time';
import { nextLocalTime } from '../campaign/time';
import type { ContactLedgerStore, LedgerContact, LedgerDay, LedgerLimits, LedgerWindow } from '../store/ports';
import type { Catalog, Offer } from './catalog';

/**
 * The contact ledger (issue 21): what the contact policy's caps count today, so that they hold
 * however many contacts happen at once. A campaign send reserves its contact in her day's ledger item
 * with one conditional write before it delivers (each counter it adds to must be below its limit); the
 * ingest adds every contact her profile counts as it folds it (in-app impressions; a send's
 * `Message Sent` finds its reservation and adds nothing), and copies the days of profiles merged into
 * hers. Her profile's impression aggregates count the earlier days of the week, and stand in for what
 * the ledger cannot know (contacts folded before it existed): each cap counts today as the larger of
 * the two views.
 *
 * Counters are kept per person (her live profile id) and local day (the day in force for her:
 * `ledgerDayAt`, so no sender opens a fresh day by naming another time zone), in all, per channel and
 * per offer. Each contact is counted
 * once by its id (the hash of the campaign message's or the impression's messageId), so a retried
 * send or a redelivered impression counts once.
 */

/** The most contacts a day's ledger counts (an item stays small whatever is sent); the contact policy's global daily cap may not be higher. */
export const MAX_CONTACTS_PER_DAY = 100;
/** How long a day's ledger item is kept after the day ends (caps read only today's; the slack covers every time zone). */
export const LEDGER_RETENTION_DAYS = 3;
/** The events her profile's impression aggregates count (config/aggregates.json), which the ingest counts in the ledger too. */
export const CONTACT_EVENTS: readonly string[] = ['Promotion Viewed', 'Message Sent'];

const CHANNEL = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
const OFFER = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** The ledger's day of a moment in her time zone (the label of a day item). */
export const ledgerDay = (at: Date, timezone: string): string => localDay(at, timezone);

/** Days' spans already worked out, by zone and local day (a decision for a day with no item yet needs its span; it is the same all day). */
const windows = new Map<string, LedgerWindow>();

/** Her local day holding `at`, as UTC instants: from its midnight (inclusive) to the next (exclusive), across daylight saving. */
export function dayWindow(at: Date, timezone: string): LedgerWindow {
  const key = `${timezone}|${localDay(at, timezone)}`;
  let window = windows.get(key);
  if (window === undefined) {
    if (windows.size >= 1000) windows.clear();
    windows.set(key, (window = spanOf(at, timezone)));
  }
  return { ...window };
}

function spanOf(at: Date, timezone: string): LedgerWindow {
  // On whole seconds, the wall clock's resolution (nextLocalTime keeps a fraction of a second it is given).
  const t = Math.floor(at.getTime() / 1000) * 1000;
  const end = nextLocalTime(new Date(t + 1000), 0, 0, timezone);
  // The last midnight at or before `at`: a day is at most 25 hours long.
  let start = nextLocalTime(new Date(t - 26 * 3_600_000), 0, 0, timezone);
  for (let next = nextLocalTime(new Date(start.getTime() + 1000), 0, 0, timezone); next.getTime() <= t; next = nextLocalTime(new Date(next.getTime() + 1000), 0, 0, timezone)) start = next;
  return { start: start.toISOString(), end: end.toISOString() };
}

/**
 * The ledger day that counts a moment. Her time zone comes from what her devices send (the public
 * write key), so the day cannot be her local day in whatever zone she names now: Tokyo's 5 December,
 * then Honolulu's 4th in the same hour, would give every cap twice (the hostile review's F3). A day
 * item keeps the span it was opened with (its first contact's local day, in that contact's zone); the
 * day that counts `at` is the one among her local day and its two neighbours whose kept span holds
 * `at`, and only if none does, her local day in her zone now, opened with that day's span. A change of
 * zone (hers, or a sender's claim) so takes effect when the day in force ends, never sooner.
 */
export async function ledgerDayAt(ledger: Pick<ContactLedgerStore, 'around'>, profileId: string, at: Date, timezone: string): Promise<{ day: string; window: LedgerWindow; counts: LedgerDay }> {
  const label = ledgerDay(at, timezone);
  const days = await ledger.around(profileId, shiftDay(label, -1), shiftDay(label, 1));
  const t = at.getTime();
  const holding = [...days].filter(([, d]) => d.window !== undefined && Date.parse(d.window.start) <= t && t < Date.parse(d.window.end)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const found = holding[0];
  if (found !== undefined) return { day: found[0], window: found[1].window as LedgerWindow, counts: found[1] };
  // Her local day now; an item of it without a span (kept before spans were) counts too.
  return { day: label, window: days.get(label)?.window ?? dayWindow(at, timezone), counts: days.get(label) ?? emptyLedgerDay() };
}

/** When a day's ledger item may expire (epoch seconds): LEDGER_RETENTION_DAYS after the day ends anywhere. */
export const ledgerExpiry = (day: string): number => Math.floor(Date.parse(`${shiftDay(day, 1 + LEDGER_RETENTION_DAYS)}T00:00:00Z`) / 1000);

/** A contact's id in the ledger: a short hash of its messageId (the ledger keeps nothing a client wrote). */
export const contactId = (messageId: string): string => createHash('sha256').update(`contact|${messageId}`).digest('base64url').slice(0, 16);

/**
 * A contact as the ledger counts it: the channel and offer only when they are names the ledger can
 * keep (lower case, short); otherwise it counts in the total only.
 */
export function ledgerContact(messageId: string, channel: string | undefined, offerId: string | undefined): LedgerContact {
  const c = channel?.toLowerCase();
  return { id: contactId(messageId), ...(c !== undefined && CHANNEL.test(c) ? { channel: c } : {}), ...(offerId !== undefined && OFFER.test(offerId) ? { offerId } : {}) };
}

/** An empty day. */
export const emptyLedgerDay = (): LedgerDay => ({ total: 0, channels: {}, offers: {}, counted: {} });

/** The day without one contact (a send deciding again after its own reservation: a retry must not count itself). */
export function withoutContact(day: LedgerDay, id: string): LedgerDay {
  const mine = day.counted[id];
  if (mine === undefined) return day;
  const less = (counts: Record<string, number>, key: string | undefined) => (key === undefined ? counts : { ...counts, [key]: Math.max(0, (counts[key] ?? 0) - 1) });
  const counted = { ...day.counted };
  delete counted[id];
  return { total: Math.max(0, day.total - 1), channels: less(day.channels, mine.channel), offers: less(day.offers, mine.offerId), counted };
}

/** One cap as a decision reads it: the contacts it counts today and this week, its maxima, and the most the ledger's counter may hold before one more. */
export interface CapCount {
  today: number;
  week: number;
  maxDay: number;
  maxWeek: number;
  /** The ledger counter's limit for one more contact (reached when the counter is at or above it). */
  limit: number;
}

/**
 * One cap from both views. The profile counts what the ingest folded (today and this week, with
 * profiles merged into hers); the ledger counts today's contacts as they happen. What the profile
 * knows beyond the ledger today (at least `profileToday - ledger`, read in that order) and this week
 * (the earlier days) counts as well: today = max(profile, ledger), this week = the earlier days +
 * today; the limit is what the ledger may reach before either maximum is.
 */
export function capCount(profileToday: number, profileWeek: number, ledger: number, maxDay: number, maxWeek: number): CapCount {
  const outsideToday = Math.max(0, profileToday - ledger);
  const earlierDays = Math.max(0, profileWeek - profileToday);
  return { today: ledger + outsideToday, week: ledger + outsideToday + earlierDays, maxDay, maxWeek, limit: Math.min(maxDay - outsideToday, maxWeek - outsideToday - earlierDays) };
}

type Top = Array<{ value: string; count: number }>;
const countOf = (top: unknown, key: string | undefined): number => (key === undefined ? 0 : ((top as Top | undefined)?.find((t) => t.value === key)?.count ?? 0));

/** The global and channel caps of a moment (the channel's only when the decision is for one). */
export function globalCaps(policy: Catalog['contactPolicy'], contacts: Record<string, unknown>, ledger: LedgerDay | undefined, channel: string | undefined): { global: CapCount; channel?: CapCount } {
  const l = ledger ?? emptyLedgerDay();
  const global = capCount((contacts.impressionsToday as number | undefined) ?? 0, (contacts.impressionsWeek as number | undefined) ?? 0, l.total, policy.globalPerDay, policy.globalPerWeek);
  if (channel === undefined) return { global };
  const c = channel.toLowerCase();
  return { global, channel: capCount(countOf(contacts.channelImpressionsToday, c), countOf(contacts.channelImpressionsWeek, c), l.channels[c] ?? 0, policy.perChannelPerDay, policy.perChannelPerWeek) };
}

/** One offer's cap: the policy's per-offer caps, or the offer's own where stricter. */
export function offerCap(policy: Catalog['contactPolicy'], offer: Offer, contacts: Record<string, unknown>, ledger: LedgerDay | undefined): CapCount {
  const maxDay = Math.min(policy.perOfferPerDay, offer.caps?.perDay ?? Infinity);
  const maxWeek = Math.min(policy.perOfferPerWeek, offer.caps?.perWeek ?? Infinity);
  return capCount(countOf(contacts.offerImpressionsToday, offer.id), countOf(contacts.offerImpressionsWeek, offer.id), ledger?.offers[offer.id] ?? 0, maxDay, maxWeek);
}

/** What a send reserves for an offer on a channel: every counter it adds to, with its limit. */
export function reservationLimits(policy: Catalog['contactPolicy'], offer: Offer, channel: string, contacts: Record<string, unknown>, ledger: LedgerDay | undefined): LedgerLimits {
  const { global, channel: onChannel } = globalCaps(policy, contacts, ledger, channel);
  return { total: Math.min(global.limit, MAX_CONTACTS_PER_DAY), ...(onChannel ? { channel: onChannel.limit } : {}), offer: offerCap(policy, offer, contacts, ledger).limit };
}

/** Which counter a refused reservation met, in the words of the decision's reasons (`offer cap: ...`). */
export function refusal(day: LedgerDay, contact: LedgerContact, limits: LedgerLimits): string {
  if (day.total >= limits.total) return `global cap: ${day.total} contacts today in her ledger (limit now ${limits.total})`;
  const onChannel = contact.channel === undefined ? 0 : (day.channels[contact.channel] ?? 0);
  if (limits.channel !== undefined && onChannel >= limits.channel) return `channel cap: ${onChannel} contacts on ${contact.channel} today in her ledger (limit now ${limits.channel})`;
  const ofOffer = contact.offerId === undefined ? 0 : (day.offers[contact.offerId] ?? 0);
  if (limits.offer !== undefined && ofOffer >= limits.offer) return `offer cap: ${contact.offerId} ${ofOffer} times today in her ledger (limit now ${limits.offer})`;
  return 'a cap was reached at the moment of the reservation';
}

/** Whether the contact may be counted under these limits (the condition the store's one write checks). */
export function fitsLimits(day: LedgerDay, contact: LedgerContact, limits: LedgerLimits): boolean {
  if (limits.total <= 0 || day.total >= limits.total) return false;
  if (contact.channel !== undefined && limits.channel !== undefined && (day.channels[contact.channel] ?? 0) >= limits.channel) return false;
  if (contact.offerId !== undefined && limits.offer !== undefined && (day.offers[contact.offerId] ?? 0) >= limits.offer) return false;
  return true;
}

/** Whether any contact at all could fit these limits (a limit at or below zero is reached before the first). */
export function limitsOpen(contact: LedgerContact, limits: LedgerLimits): boolean {
  return limits.total > 0 && !(contact.channel !== undefined && limits.channel !== undefined && limits.channel <= 0) && !(contact.offerId !== undefined && limits.offer !== undefined && limits.offer <= 0);
}

/** What a campaign's send reserves in her contact ledger before it delivers: her day, the contact, and each counter's limit. */
export interface ContactReservation {
  profileId: string;
  day: string;
  /** The day's span, kept by its item from the first contact on (`ledgerDayAt`). */
  window?: LedgerWindow;
  contact: LedgerContact;
  limits: LedgerLimits;
  expiresAt: number;
}

/**
 * Reserves a send's contact (one conditional write): undefined when it is counted (now, or already by
 * an earlier attempt of the same send), else which cap it met. Store errors are thrown: a send that
 * could not reserve does not go (its wake-up is retried).
 */
export async function reserveContact(ledger: Pick<ContactLedgerStore, 'reserve'>, r: ContactReservation): Promise<string | undefined> {
  const outcome = await ledger.reserve(r.profileId, r.day, r.contact, r.limits, r.expiresAt, r.window);
  return outcome.reserved ? undefined : refusal(outcome.day, r.contact, r.limits);
}

/** Gives a contact back (a delivery the channel refused for good: nothing reached her). */
export async function releaseContact(ledger: Pick<ContactLedgerStore, 'release'>, r: ContactReservation): Promise<void> {
  await ledger.release(r.profileId, r.day, r.contact.id);
}
