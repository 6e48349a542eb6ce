import { localDay } from '../../lib/profile/time';
import { contactId } from '../../lib/decision/contact-ledger';
import { loadCatalog } from '../../lib/decision/catalog';
import type { StreamRecord } from '../../lib/ingest/pipeline';
import type { ActivationInstance } from '../../lib/store/ports';
import { TABLES } from '../../lib/store/tables';
import type { Profile } from '../../lib/profile/profile';
import type { LocalStack } from '../../local/stack';
import shippedCatalog from '../../config/catalog.json';
import shippedCampaigns from '../../config/campaigns.json';
import type { Person, PlannedEvent } from './workload';

/**
 * Campaign sends in the reliability run (issue 21, item 4): every product view e-mails her at once
 * (a campaign that enters her on every trigger), with e-mail offers of their own, so each person is
 * sent many e-mails due together while her events, the decisions' impressions, the faults and the
 * kills go on. At the end the caps are checked from what happened (no person over any cap on any day)
 * and her contact ledger against her contacts (each counted once, none lost).
 */

/** Five e-mail offers of the run's own (one with a stricter cap of its own): 15 a day would pass the e-mail channel's cap of 10. */
const MAIL_OFFERS = Array.from({ length: 5 }, (_, i) => ({
  id: `rel-mail-${i + 1}`,
  content: `offers/rel-mail-${i + 1}`,
  placements: ['email'],
  channels: ['email'],
  category: `mail-${i + 1}`,
  value: 10 + i,
  personalised: false,
  ...(i === 0 ? { caps: { perDay: 2 } } : {}),
}));

/**
 * The shipped catalog with the run's e-mail offers, and no other offer for e-mail (so in-app impressions
 * and e-mails share only the channel-free caps), and without quiet hours: the e-mails are sent as their
 * views arrive, on the wall clock, and the run must send them whatever hour it runs at (the shipped
 * 22:00-6:00 held every e-mail back in a run after 22:00 UTC).
 */
export const RUN_CATALOG = {
  ...shippedCatalog,
  version: shippedCatalog.version + 1,
  quiet: { placeKinds: shippedCatalog.quiet.placeKinds },
  offers: [...shippedCatalog.offers.map((o) => ({ ...o, placements: o.placements.filter((p) => p !== 'email') })).filter((o) => o.placements.length > 0), ...MAIL_OFFERS],
};

const RUN_CAMPAIGNS = {
  version: 1,
  channels: { email: shippedCampaigns.channels.email },
  campaigns: [{ id: 'rel-every-view', name: 'An e-mail for every product view', trigger: { event: ['Product Viewed'] }, reentry: { afterDays: 0 }, action: { placement: 'email', channel: 'email' } }],
};

/** The workload's time zone: the days the caps count. */
const TIMEZONE = 'Europe/London';

/** Publishes the run's catalog and campaign through the admin API, and waits until they serve. */
export async function publishCampaign(stack: LocalStack, adminKey: string, refreshMs: number): Promise<void> {
  for (const [path, body] of [['/v1/catalog', RUN_CATALOG], ['/v1/campaigns', RUN_CAMPAIGNS]] as const) {
    const res = await fetch(`${stack.url}${path}`, { method: 'PUT', headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
  }
  await new Promise((r) => setTimeout(r, refreshMs + 500));
}

/** Waits until no campaign entry is due or being sent (the local scheduler runs them every second), and the ingest has what they put on the stream. */
export async function settleSends(stack: LocalStack, activations: () => Promise<ActivationInstance[]>, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await stack.poller.idle(timeoutMs);
    const open = (await activations()).filter((i) => i.status === 'sending' || ((i.status === 'planned' || i.status === 'waiting') && (i.dueAt ?? '') <= new Date().toISOString()));
    if (open.length === 0) break;
    if (Date.now() > until) throw new Error(`${open.length} campaign entries still due after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await stack.poller.idle(timeoutMs);
}

type Item = Record<string, unknown>;

/** The `Message Sent` records on the stream, as the person's events (her profile counts them). */
export function sentMessages(records: StreamRecord[], persons: Person[]): PlannedEvent[] {
  const byUser = new Map(persons.map((p) => [p.userId, p]));
  const out = new Map<string, PlannedEvent>();
  for (const r of records) {
    try {
      const m = JSON.parse(Buffer.from(r.data, 'base64').toString('utf8')) as Record<string, unknown>;
      const p = byUser.get(String(m.userId));
      if (m.event === 'Message Sent' && p !== undefined) out.set(String(m.messageId), { person: p.index, device: '', message: m });
    } catch {
      // Not a message (the fuzzer's records).
    }
  }
  return [...out.values()];
}

export interface CapsReport {
  /** Campaign e-mails sent, and to how many people. */
  sends: number;
  people: number;
  /** Entries the caps stopped (cancelled naming a cap). */
  capped: number;
  /** Person, day and cap a send passed, with the count (empty is right). */
  overCap: string[];
  /** Person-days that ended over the global cap by in-app impressions counted after it was reached (reported by apps, or brought by a later login). */
  overByImpressions: number;
  /** Her ledger against her contacts: contacts it lost or counted without a contact, items whose counters disagree (empty is right). */
  ledgerMismatches: string[];
}

/**
 * The caps from what happened, per person (but those who share a tablet) and local day:
 * - the e-mails sent (the entries that ended `sent`) per offer and on the e-mail channel, against the
 *   caps: only e-mails count there (the run's e-mail offers and channel are theirs alone);
 * - the global cap in her ledger's order: each e-mail, counting every contact her ledger had counted
 *   before it (impressions, e-mails, what a login brought), is within every cap. In-app impressions
 *   counted after her cap was reached (banners shown at once, impressions still on the stream when
 *   the e-mail went, a device joined to her later) are no send's doing: they are counted apart;
 * - her contact ledger: the contacts counted under any of her profile ids are exactly her accepted
 *   impressions and her e-mails, each once; every day's item counts in all what it records, each in
 *   its own place in the day's order.
 */
export function checkCaps(persons: Person[], accepted: PlannedEvent[], sent: PlannedEvent[], all: Record<string, Item[]>, profiles: Map<string, Profile>): CapsReport {
  const catalog = loadCatalog(RUN_CATALOG);
  const policy = catalog.contactPolicy;
  const offerMax = (offerId: string) => Math.min(policy.perOfferPerDay, catalog.byId.get(offerId)?.caps?.perDay ?? Infinity);
  const root = (id: string): Profile | undefined => {
    let p = profiles.get(id);
    for (let hops = 0; p?.mergedInto !== undefined && hops < 32; hops++) p = profiles.get(p.mergedInto);
    return p;
  };
  const personOf = new Map<string, Person>();
  for (const p of persons.filter((x) => !x.shared)) {
    const live = [...profiles.values()].find((x) => x.mergedInto === undefined && x.identities.userId?.[0] === p.userId);
    if (live !== undefined) personOf.set(live.profileId, p);
  }
  const whose = (profileId: string) => personOf.get(root(profileId)?.profileId ?? '');
  const items = all[TABLES.activations.localName] ?? [];
  const instances = items.filter((i) => typeof i.doc === 'string').map((i) => JSON.parse(i.doc as string) as ActivationInstance);
  const overCap: string[] = [];

  // E-mails per offer and on the channel, from the entries themselves.
  const counts = new Map<string, number>();
  const add = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const sentTo = new Set<number>();
  let sends = 0;
  for (const i of instances.filter((x) => x.status === 'sent')) {
    const p = whose(i.profileId);
    if (p === undefined) continue;
    const day = localDay(new Date(i.sentAt as string), TIMEZONE);
    sends += 1;
    sentTo.add(p.index);
    add(`${p.userId} ${day} offer ${i.offerId}`);
    add(`${p.userId} ${day} channel email`);
  }
  for (const [key, n] of counts) {
    const [, , kind, what] = key.split(' ') as [string, string, string, string];
    const max = kind === 'channel' ? policy.perChannelPerDay : offerMax(what);
    if (n > max) overCap.push(`${key}: ${n} e-mails (max ${max})`);
  }

  // Her ledger: each e-mail's standing among the contacts counted before it, on her live profile's days.
  const ledgerMismatches: string[] = [];
  const emails = new Set(sent.map((e) => contactId(String(e.message.messageId))));
  let overByImpressions = 0;
  const days = items.filter((i) => String(i.sk).startsWith('L#'));
  for (const item of days) {
    const ids = Object.keys(item).filter((k) => k.startsWith('r:')).map((k) => k.slice(2));
    const seqs = ids.map((id) => Number(item[`q:${id}`]));
    const sum = (prefix: string) => Object.entries(item).filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + Number(v), 0);
    if (Number(item.n ?? 0) !== ids.length || sum('c:') > ids.length || sum('o:') > ids.length || new Set(seqs).size !== ids.length) {
      ledgerMismatches.push(`${item.pk} ${item.sk}: counts ${item.n} for ${ids.length} contacts in ${new Set(seqs).size} places`);
    }
    const p = personOf.get(String(item.pk).slice(2));
    if (p === undefined) continue;
    const entries = ids.map((id) => ({ id, seq: Number(item[`q:${id}`]), ...(item[`r:${id}`] as { c?: string; o?: string }) })).sort((a, b) => a.seq - b.seq);
    entries.forEach((e, place) => {
      if (!emails.has(e.id)) return;
      const before = entries.slice(0, place);
      const standing = { global: place + 1, channel: before.filter((x) => x.c === e.c).length + 1, offer: before.filter((x) => x.o === e.o).length + 1 };
      const max = { global: policy.globalPerDay, channel: policy.perChannelPerDay, offer: offerMax(e.o ?? '') };
      for (const cap of ['global', 'channel', 'offer'] as const) {
        if (standing[cap] > max[cap]) overCap.push(`${p.userId} ${String(item.sk).slice(2)} ${cap}: an e-mail was contact ${standing[cap]} (max ${max[cap]})`);
      }
    });
    if (entries.length > policy.globalPerDay) overByImpressions += 1;
  }

  // Every contact of hers counted once under one of her profile ids, nothing counted that was not one.
  const counted = new Map<number, Set<string>>();
  for (const item of days) {
    const p = whose(String(item.pk).slice(2));
    if (p === undefined) continue;
    const set = counted.get(p.index) ?? new Set<string>();
    for (const k of Object.keys(item)) if (k.startsWith('r:')) set.add(k.slice(2));
    counted.set(p.index, set);
  }
  const expected = new Map<number, Set<string>>();
  for (const e of [...accepted, ...sent]) {
    const p = persons[e.person];
    if (p === undefined || p.shared || (e.message.event !== 'Promotion Viewed' && e.message.event !== 'Message Sent')) continue;
    expected.set(p.index, (expected.get(p.index) ?? new Set()).add(contactId(String(e.message.messageId))));
  }
  for (const p of persons.filter((x) => !x.shared)) {
    const want = expected.get(p.index) ?? new Set<string>();
    const got = counted.get(p.index) ?? new Set<string>();
    const lost = [...want].filter((id) => !got.has(id)).length;
    const extra = [...got].filter((id) => !want.has(id)).length;
    if (lost > 0 || extra > 0) ledgerMismatches.push(`${p.userId}: ${lost} contacts not in her ledger, ${extra} counted without a contact`);
  }
  const capped = instances.filter((i) => i.status === 'cancelled' && /cap/.test(i.reason ?? '')).length;
  return { sends, people: sentTo.size, capped, overCap, overByImpressions, ledgerMismatches };
}
