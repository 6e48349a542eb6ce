import { createHash } from 'node:crypto';
import { bucketOf } from '../decision/decide';
import { placesNear } from '../decision/context';
import type { Catalog } from '../decision/catalog';
import type { EngineConfig } from '../ingest/config';
import { factsOf, timezoneOf } from '../profile/facts';
import type { Profile } from '../profile/profile';
import { followMerges } from '../profile/read';
import { ConflictError, type ActivationInstance, type ActivationStatus, type ActivationStore, type Stores } from '../store/ports';
import type { Campaign, Campaigns, ChangeEvent } from './campaign';
import { intoWindow, nextLocalTime } from './time';

/**
 * A journey through a campaign: a trigger occurrence enters her (once, whatever is redelivered),
 * waits (a delay, a local time, a window, or until an event), may be ended early by an exit event,
 * and is sent (lib/campaign/send.ts) when due. This module reacts to profile changes; sending is
 * apart. Pure domain: the stores, the wake-ups (EventBridge Scheduler on AWS, the local scheduler)
 * and the clock come in.
 */

/** What the ingest announces for one profile after a batch: the events campaigns read, and segment changes. */
export interface ProfileChange {
  profileId: string;
  /** Profiles merged into hers (their entries are hers: a purchase ends a wait begun on a device before she logged in). */
  members?: string[];
  /** The batch's last event for her: a segment change's occurrence and time. */
  cause: { messageId: string; timestamp: string };
  events: Array<Omit<ChangeEvent, 'place'> & { location?: { latitude: number; longitude: number } }>;
  segments?: { entered: string[]; left: string[] };
}

/** Wakes a planned or waiting instance at its due time. */
export interface Wakeups {
  schedule(instance: ActivationInstance): Promise<void>;
  /** Forgets the wake-up of an instance as it was scheduled (with its due time), once it ended early. */
  cancel(scheduled: ActivationInstance): Promise<void>;
}

export interface JourneyDeps {
  stores: Pick<Stores, 'profiles' | 'activations'>;
  campaigns: Campaigns;
  catalog: Pick<Catalog, 'places'>;
  config: Pick<EngineConfig, 'aggregates' | 'profileRules'>;
  wakeups: Wakeups;
}

/** What one change did, for logs and the trigger benchmark. */
export interface ChangeOutcome {
  entered: number;
  refused: Array<{ campaignId: string; reason: string }>;
  exited: number;
  resumed: number;
  converted: number;
}

const MAX_HISTORY = 12;

/** An instance moved to a status, with why, its history kept short. */
export function moved(i: ActivationInstance, status: ActivationStatus, at: string, reason?: string, changes: Partial<ActivationInstance> = {}): ActivationInstance {
  const history = [...i.history, { at, status, ...(reason ? { reason } : {}) }].slice(-MAX_HISTORY);
  const next: ActivationInstance = { ...i, ...changes, status, history, rev: i.rev + 1 };
  if (reason === undefined) delete next.reason;
  else next.reason = reason;
  if (status !== 'planned' && status !== 'waiting' && !('dueAt' in changes)) delete next.dueAt;
  return next;
}

/** The occurrence of a trigger: the campaign and the triggering event (or segment change), as a short hash. */
export const occurrenceOf = (campaignId: string, what: string): string => createHash('sha256').update(`${campaignId}\n${what}`).digest('base64url').slice(0, 22);

/**
 * Reacts to one profile change: each campaign the change triggers is entered, then its events are
 * applied to her entries (exit events end waits, awaited events resume them, conversions are
 * attributed). Safe to repeat: an occurrence enters once, an instance changes only from the state it
 * was read in. One campaign failing to enter her (a store or scheduler error) keeps no other from
 * entering her, nor her events from being applied; the change then fails, naming each campaign that
 * failed and why, so it is delivered again and the retry completes what failed (entering the others
 * no second time).
 */
export async function onProfileChange(change: ProfileChange, deps: JourneyDeps): Promise<ChangeOutcome> {
  const outcome: ChangeOutcome = { entered: 0, refused: [], exited: 0, resumed: 0, converted: 0 };
  const events = change.events.map((e) => placed(e, deps.catalog));
  // Entries first, then what the events do to every entry (an order after a cart in the same batch ends the reminder just planned).
  const fired = triggered(change, events, deps.campaigns);
  const profile = fired.length === 0 ? undefined : await followMerges(deps.stores, change.profileId).catch(() => undefined);
  const failed: Array<{ campaignId: string; error: unknown }> = [];
  for (const f of fired) {
    try {
      const refusal = profile === undefined ? 'her profile is not stored yet or is gone' : await enter(profile, f, deps);
      if (refusal === undefined) outcome.entered += 1;
      else outcome.refused.push({ campaignId: f.campaign.id, reason: refusal });
    } catch (error) {
      failed.push({ campaignId: f.campaign.id, error });
    }
  }
  await reactToEvents([change.profileId, ...(change.members ?? [])], events, deps, outcome);
  if (failed.length > 0) {
    const what = failed.map((f) => `campaign "${f.campaignId}": ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('; ');
    throw new AggregateError(failed.map((f) => f.error), `entering failed for ${what}`);
  }
  return outcome;
}

/** The event with the place whose geofence its location is in (nearest first), if any. */
function placed(e: ProfileChange['events'][number], catalog: Pick<Catalog, 'places'>): ChangeEvent {
  const { location, ...event } = e;
  if (location === undefined) return event;
  const place = placesNear(location, catalog.places)[0];
  return place ? { ...event, place: { id: place.id, kind: place.kind, latitude: place.latitude, longitude: place.longitude } } : event;
}

interface Fired {
  campaign: Campaign;
  occurrence: string;
  /** The triggering event (for a segment change, one named after it, at the change's cause). */
  event: ChangeEvent;
}

/** The campaigns this change triggers, each occurrence once. */
function triggered(change: ProfileChange, events: ChangeEvent[], campaigns: Campaigns): Fired[] {
  const fired = new Map<string, Fired>();
  for (const campaign of campaigns.campaigns) {
    if (!campaign.enabled) continue;
    for (const event of events) {
      if (campaign.firedBy(event)) fired.set(`${campaign.id}\n${event.messageId}`, { campaign, occurrence: occurrenceOf(campaign.id, event.messageId), event });
    }
    const segment = campaign.trigger.segment;
    if (segment) {
      const hit = segment.entered ? change.segments?.entered.includes(segment.entered) : change.segments?.left.includes(segment.left as string);
      const name = segment.entered ? `entered ${segment.entered}` : `left ${segment.left}`;
      const event: ChangeEvent = { name, messageId: change.cause.messageId, timestamp: change.cause.timestamp, properties: {} };
      if (hit) fired.set(`${campaign.id}\nsegment`, { campaign, occurrence: occurrenceOf(campaign.id, `segment:${name}:${change.cause.messageId}`), event });
    }
  }
  return [...fired.values()];
}

/**
 * Enters her into a campaign for one occurrence, or says why not: not in the audience, or the
 * re-entry rule. The entry is taken before the instance is stored, both for this occurrence only
 * (conditional writes), so a redelivered change finds both taken and enters nothing new.
 */
async function enter(profile: Profile, { campaign, occurrence, event }: Fired, deps: JourneyDeps): Promise<string | undefined> {
  const at = new Date(event.timestamp);
  const facts = factsOf(profile, deps.config.aggregates, deps.config.profileRules, at);
  if (!campaign.inAudience(facts)) return 'not in the audience';
  const since = campaign.reentry === 'once' ? null : new Date(at.getTime() - campaign.reentry.afterDays * 86_400_000).toISOString();
  const refusedReentry = campaign.reentry === 'once' ? 'entered once already (re-entry: once)' : `entered within ${campaign.reentry.afterDays} day(s) (re-entry rule)`;
  // The profiles merged into hers count as hers: an occurrence one of them entered (a change announced
  // again under the survivor after a merge), or an entry of theirs within the re-entry period.
  const members = profile.members.slice(-20);
  if (members.length > 0) {
    const held = await deps.stores.activations.lookup(members, campaign.id, occurrence);
    if (held.entered) return 'this occurrence entered already (under a profile merged into hers since)';
    if (held.entries.some((e) => e.occurrence !== occurrence && (since === null || e.at > since))) return refusedReentry;
  }
  if (!(await deps.stores.activations.claimEntry(profile.profileId, campaign.id, occurrence, event.timestamp, since))) return refusedReentry;
  const waiting = campaign.wait.until !== undefined;
  const instance: ActivationInstance = {
    profileId: profile.profileId,
    campaignId: campaign.id,
    occurrence,
    triggerMessageId: event.messageId,
    group: bucketOf(`control:${campaign.id}:${profile.profileId}`) < campaign.controlPercent ? 'control' : 'treatment',
    status: waiting ? 'waiting' : 'planned',
    reason: `triggered by ${event.name}`,
    enteredAt: event.timestamp,
    dueAt: (waiting ? new Date(at.getTime() + (campaign.untilTimeoutMs as number)) : dueAfter(campaign, at, timezoneOf(profile, deps.config.aggregates))).toISOString(),
    ...(event.place ? { place: event.place } : {}),
    deferrals: 0,
    history: [{ at: event.timestamp, status: waiting ? 'waiting' : 'planned', reason: `triggered by ${event.name}` }],
    rev: 1,
  };
  if (!(await deps.stores.activations.create(instance))) {
    // A retry: the wake-up may be what failed the first time (scheduling is idempotent).
    const existing = await deps.stores.activations.get(profile.profileId, campaign.id, occurrence);
    if (existing && (existing.status === 'planned' || existing.status === 'waiting')) await deps.wakeups.schedule(existing);
    return 'this occurrence entered already';
  }
  await deps.wakeups.schedule(instance);
  return undefined;
}

/** When a wait that starts at `from` ends: the delay, then the next local time of day, then into the window. */
export function dueAfter(campaign: Campaign, from: Date, timezone: string): Date {
  let due = new Date(from.getTime() + campaign.delayMs);
  const at = campaign.wait.at;
  if (at !== undefined) due = nextLocalTime(due, Number(at.slice(0, 2)), Number(at.slice(3, 5)), timezone);
  if (campaign.wait.window) due = intoWindow(due, campaign.wait.window, timezone);
  return due;
}

/**
 * Exit events end her waiting instances (a purchase in any channel cancels the reminder), awaited
 * events resume them, and conversions within the window after a send or a hold-out are attributed.
 * Read only when an event of the change is one of these for some campaign.
 */
async function reactToEvents(profileIds: string[], events: ChangeEvent[], deps: JourneyDeps, outcome: ChangeOutcome): Promise<void> {
  const { campaigns } = deps;
  const reacting = events.filter((e) => campaigns.campaigns.some((c) => c.exit.events?.includes(e.name) || c.wait.until?.event.includes(e.name) || c.conversion.events.includes(e.name)));
  if (reacting.length === 0) return;
  const instances = (await Promise.all(profileIds.map((id) => deps.stores.activations.ofProfile(id)))).flat();
  for (const found of instances) {
    const campaign = campaigns.byId.get(found.campaignId);
    if (campaign === undefined) continue;
    // Changed meanwhile (a deferral, a send, another change): read it again and apply the event to what it is now.
    let instance: ActivationInstance | undefined = found;
    for (let attempt = 0; instance !== undefined && attempt < 5; attempt++) {
      const next = firstReaction(instance, campaign, reacting);
      if (next === undefined) break;
      try {
        await deps.stores.activations.update(next.instance, instance.rev);
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
        instance = await deps.stores.activations.get(found.profileId, found.campaignId, found.occurrence);
        continue;
      }
      if (next.kind === 'exited') await deps.wakeups.cancel(instance);
      if (next.kind === 'resumed') await deps.wakeups.schedule(next.instance);
      outcome[next.kind] += 1;
      break;
    }
  }
}

/** The first of the events (strictly after the trigger: one of the same instant is not known to come after it) that does something to the instance. */
function firstReaction(instance: ActivationInstance, campaign: Campaign, events: ChangeEvent[]) {
  for (const e of events) {
    if (e.messageId === instance.triggerMessageId || e.timestamp <= instance.enteredAt) continue;
    const next = reaction(instance, campaign, e);
    if (next !== undefined) return next;
  }
  return undefined;
}

/** What an event does to an instance, if anything. */
function reaction(i: ActivationInstance, campaign: Campaign, e: ChangeEvent): { kind: 'exited' | 'resumed' | 'converted'; instance: ActivationInstance } | undefined {
  const open = i.status === 'planned' || i.status === 'waiting';
  if (open && campaign.exit.events?.includes(e.name)) return { kind: 'exited', instance: moved(i, 'cancelled', e.timestamp, `exit: ${e.name} at ${e.timestamp}`) };
  if (i.status === 'waiting' && campaign.wait.until?.event.includes(e.name)) {
    return { kind: 'resumed', instance: moved(i, 'planned', e.timestamp, `${e.name} came`, { dueAt: e.timestamp }) };
  }
  const from = i.sentAt;
  if ((i.status === 'sent' || i.status === 'held-out') && from !== undefined && i.convertedAt === undefined && campaign.conversion.events.includes(e.name)) {
    const within = Date.parse(e.timestamp) - Date.parse(from) <= campaign.conversion.windowHours * 3_600_000 && e.timestamp >= from;
    if (within) return { kind: 'converted', instance: { ...i, convertedAt: e.timestamp, rev: i.rev + 1 } };
  }
  return undefined;
}
