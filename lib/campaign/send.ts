import { createHash } from 'node:crypto';
import { publish, type EventStream } from '../collect/collector';
import type { Catalog } from '../decision/catalog';
import type { Decision } from '../decision/decide';
import type { Model } from '../decision/model';
import { decideForProfile, type SendDecision } from '../decision/service';
import { releaseContact, reserveContact } from '../decision/contact-ledger';
import type { CollectedEvent } from '../events/segment';
import type { EngineConfig } from '../ingest/config';
import { factsOf, timezoneOf } from '../profile/facts';
import { userIdOf, type Profile } from '../profile/profile';
import { followMerges } from '../profile/read';
import { ConflictError, type ActivationInstance, type Stores } from '../store/ports';
import { ADDRESS_OF, type Campaign, type Campaigns } from './campaign';
import { DeliveryError, type CampaignMessage, type Channel } from './channels';
import { moved, type Wakeups } from './journey';
import { intoWindow, nextLocalTime } from './time';

/**
 * The send step, when an instance is due: re-check everything that may have changed while it
 * waited (her profile, exit conditions, consent), ask the decision engine for the campaign's
 * placement on its channel (contact policy, quiet places and hours, consent and arbitration as for
 * in-app decisions), hold out the control group, deliver through the channel, and put the contact on
 * the stream so it counts against the same caps as an in-app impression.
 *
 * At most one send per instance: it is claimed (`sending`, conditional on its revision) before the
 * delivery; a redelivered wake-up that finds it `sending` does not deliver again (the outcome of a
 * crash mid-send is unknown: it is marked failed, never sent twice).
 */
export interface SendDeps {
  stores: Pick<Stores, 'profiles' | 'activations' | 'ledger'>;
  stream: EventStream;
  campaigns: Campaigns;
  catalog: Catalog;
  model?: Model;
  config: Pick<EngineConfig, 'aggregates' | 'profileRules' | 'rules'>;
  wakeups: Wakeups;
  /** The channel adapter by the campaign's channel name. */
  channelFor(channel: string): Promise<Channel>;
  /** Her address of a kind, opened from its seal (lib/campaign/addresses.ts); undefined if none is on file. */
  addressOf?(profile: Profile, kind: 'email' | 'phone'): Promise<string | undefined>;
  now: () => Date;
}

/** Which instance a wake-up is for. */
export interface InstanceRef {
  profileId: string;
  campaignId: string;
  occurrence: string;
}

export type SendOutcome = ActivationInstance['status'] | 'deferred' | 'not due' | 'gone';

/** Longest a deferral may push a send (quiet hours and windows are hours; a quiet place an hour). */
const MAX_DEFERRALS = 6;
/** A claim older than this stopped mid-delivery (the send function's timeout is 40 s). */
const STALE_CLAIM_MS = 10 * 60_000;

export async function sendDue(ref: InstanceRef, deps: SendDeps): Promise<SendOutcome> {
  const now = deps.now();
  const at = now.toISOString();
  const instance = await deps.stores.activations.get(ref.profileId, ref.campaignId, ref.occurrence);
  if (instance === undefined) return 'gone';
  if (instance.status === 'sent' && !instance.contactLogged) return logContact(instance, deps);
  if (instance.status === 'sending') {
    // Another wake-up is delivering it now; one claimed long ago stopped mid-delivery (its outcome unknown): never delivered again.
    const claimedAt = Date.parse(instance.history.at(-1)?.at ?? instance.enteredAt);
    if (now.getTime() - claimedAt < STALE_CLAIM_MS) return 'sending';
    return settle(instance, moved(instance, 'failed', at, 'the send stopped mid-delivery (outcome unknown): not delivered again'), deps);
  }
  if (instance.status !== 'planned' && instance.status !== 'waiting') return instance.status;
  if (instance.dueAt !== undefined && instance.dueAt > at) {
    // An early or stale wake-up (a deferral's schedule may be what failed): make sure the due one exists (idempotent).
    await deps.wakeups.schedule(instance);
    return 'not due';
  }
  const campaign = deps.campaigns.byId.get(instance.campaignId);
  if (campaign === undefined || !campaign.enabled) return settle(instance, moved(instance, 'cancelled', at, 'the campaign was removed or disabled'), deps);
  if (instance.status === 'waiting') return settle(instance, moved(instance, 'cancelled', at, `timeout: no ${campaign.wait.until?.event.join(' or ')} within ${campaign.wait.until?.timeout}`), deps);

  const profile = await followMerges(deps.stores, instance.profileId).catch(() => undefined);
  if (profile === undefined) return settle(instance, moved(instance, 'cancelled', at, 'her profile is gone (erased)'), deps);
  const exit = campaign.exitReason(factsOf(profile, deps.config.aggregates, deps.config.profileRules, now));
  if (exit !== undefined) return settle(instance, moved(instance, 'cancelled', at, `exit: ${exit}`), deps);
  const timezone = timezoneOf(profile, deps.config.aggregates);
  const window = campaign.wait.window;
  const inWindow = window ? intoWindow(now, window, timezone) : now;
  if (window && inWindow !== now) return defer(instance, inWindow, `outside the campaign's window (${window.from}:00-${window.to}:00 local)`, deps);

  const decision = await decideForProfile(profile, { placement: campaign.action.placement, channel: campaign.action.channel, ...(instance.place ? { location: instance.place } : {}), messageId: messageIdOf(instance) }, { ...deps, ledger: deps.stores.ledger }, now);
  if (!decision.consent.granted) return settle(instance, moved(instance, 'cancelled', at, `consent: ${decision.consent.reason ?? 'not granted'}`), deps);
  if (decision.context.quiet) return defer(instance, quietUntil(decision, deps.catalog, now, timezone), decision.context.quiet, deps, !decision.context.quiet.startsWith('quiet hours'));
  const offer = decision.offers[0];
  if (offer === undefined) return settle(instance, moved(instance, 'cancelled', at, `no offer: ${summarise(decision)}`), deps);
  // The address before the hold-out, so the control group is drawn from the same customers as those sent to.
  const kind = addressKindOf(campaign, deps.campaigns);
  const to = kind === undefined ? undefined : await deps.addressOf?.(profile, kind);
  if (kind !== undefined && to === undefined) return settle(instance, moved(instance, 'cancelled', at, `no ${kind === 'email' ? 'e-mail address' : 'phone number'} on file`), deps);
  if (instance.group === 'control') {
    const held = moved(instance, 'held-out', at, 'control group: held out', { sentAt: at, offerId: offer.offerId, decisionId: decision.decisionId });
    // On the stream before it is settled (a retry sends it again under the same messageId, a duplicate the ingest drops): the nightly job's control arm.
    await logHeldOut(held, profile, deps);
    return settle(instance, held, deps);
  }
  return deliver(instance, campaign, profile, decision, deps, to);
}

/** The kind of address the campaign's channel sends to (e-mail for SES, phone for SNS), if any. */
function addressKindOf(campaign: Campaign, campaigns: Campaigns): 'email' | 'phone' | undefined {
  const adapter = campaigns.channels[campaign.action.channel]?.adapter;
  return adapter === 'ses' || adapter === 'sns' ? ADDRESS_OF[adapter] : undefined;
}

/** When a quiet moment ends: the end of quiet hours in her time zone, or an hour later at a quiet place. */
function quietUntil(decision: Decision, catalog: Catalog, now: Date, timezone: string): Date {
  const hours = catalog.quiet.hours;
  if (decision.context.quiet?.startsWith('quiet hours') && hours) return nextLocalTime(now, hours.to, 0, timezone);
  return new Date(now.getTime() + 3_600_000);
}

/** The contact policy's reasons, said first: a cap reached is why a send did not go, more than another offer's eligibility. */
const POLICY = /^(global cap|channel cap|offer cap|cooldown|contact nothing)/;

/** Why no offer was chosen, from the decision's suppressions (a cap reached, consent, eligibility). */
function summarise(decision: Decision): string {
  const all = [...new Set(decision.suppressed.map((s) => s.reason))];
  const reasons = [...all.filter((r) => POLICY.test(r)), ...all.filter((r) => !POLICY.test(r))];
  return reasons.length === 0 ? 'no offer of the catalog is for this placement and channel' : reasons.slice(0, 3).join('; ');
}

/** Moves the send later, keeping it planned; after MAX_DEFERRALS it is cancelled rather than chased. A quiet place forgets where she was. */
async function defer(instance: ActivationInstance, until: Date, why: string, deps: SendDeps, leftPlace = false): Promise<SendOutcome> {
  const at = deps.now().toISOString();
  if (instance.deferrals >= MAX_DEFERRALS) return settle(instance, moved(instance, 'cancelled', at, `deferred ${instance.deferrals} times (last: ${why})`), deps);
  const next = moved(instance, 'planned', at, `deferred: ${why}, until ${until.toISOString()}`, { dueAt: until.toISOString(), deferrals: instance.deferrals + 1 });
  if (leftPlace) delete next.place;
  await deps.stores.activations.update(next, instance.rev);
  await deps.wakeups.schedule(next);
  return 'deferred';
}

/** Stores an instance's end (conditional on the revision read: a concurrent change wins, and nothing is sent). */
async function settle(instance: ActivationInstance, next: ActivationInstance, deps: SendDeps): Promise<SendOutcome> {
  await deps.stores.activations.update(next, instance.rev);
  if (next.status === 'cancelled' && instance.dueAt !== undefined && instance.dueAt > next.history.at(-1)!.at) await deps.wakeups.cancel(instance);
  return next.status;
}

/**
 * Reserves the contact in her ledger, claims the send, delivers, and records the outcome; a transient
 * failure after the adapter's retries fails it too (dead letter with the reason). The reservation
 * comes first (one conditional write, lib/decision/contact-ledger.ts): sends due together cannot pass
 * a cap, whatever has been folded, and a retry of this send reserves nothing more. A delivery the
 * channel refused for good gives it back; one whose outcome is unknown keeps it.
 */
async function deliver(instance: ActivationInstance, campaign: Campaign, profile: Profile, decision: SendDecision, deps: SendDeps, to?: string): Promise<SendOutcome> {
  const at = deps.now().toISOString();
  const offer = decision.offers[0] as Decision['offers'][number];
  const refused = decision.reservation && (await reserveContact(deps.stores.ledger, decision.reservation));
  if (refused !== undefined) return settle(instance, moved(instance, 'cancelled', at, `contact policy: ${refused}`), deps);
  const claimed = moved(instance, 'sending', at, undefined, { offerId: offer.offerId, decisionId: decision.decisionId });
  try {
    await deps.stores.activations.update(claimed, instance.rev);
  } catch (e) {
    if (e instanceof ConflictError) return 'sending';
    throw e;
  }
  const userId = userIdOf(profile);
  const message: CampaignMessage = {
    id: messageIdOf(instance),
    campaignId: campaign.id,
    profileId: profile.profileId,
    ...(userId ? { userId } : {}),
    channel: campaign.action.channel,
    offer: { offerId: offer.offerId, content: offer.content, ...(offer.items ? { items: offer.items } : {}) },
    decisionId: decision.decisionId,
    at,
  };
  try {
    await (await deps.channelFor(campaign.action.channel)).deliver(message, to);
  } catch (e) {
    const reason = e instanceof DeliveryError ? e.message : `delivery failed: ${(e as Error).message}`;
    if (e instanceof DeliveryError && e.permanent && decision.reservation) await releaseContact(deps.stores.ledger, decision.reservation);
    return settle(claimed, moved(claimed, 'failed', deps.now().toISOString(), reason), deps);
  }
  const sent = moved(claimed, 'sent', deps.now().toISOString(), undefined, { sentAt: at, contactLogged: false });
  await deps.stores.activations.update(sent, claimed.rev);
  return logContact(sent, deps, profile);
}

/** The instance's stable message id: the webhook's idempotency key and the contact event's messageId. */
const messageIdOf = (i: ActivationInstance): string => `campaign-${createHash('sha256').update(`${i.profileId}\n${i.campaignId}\n${i.occurrence}`).digest('base64url').slice(0, 32)}`;

/**
 * Puts the contact on the stream as a `Message Sent` event under one of her identifiers (its
 * messageId is stable, so a retry is a duplicate the ingest drops): the impression aggregates count
 * it, so the next in-app decision and the next send see the same caps.
 */
async function logContact(sent: ActivationInstance, deps: SendDeps, loaded?: Profile): Promise<SendOutcome> {
  const profile = loaded ?? (await followMerges(deps.stores, sent.profileId).catch(() => undefined));
  const ids = profile ? identityOf(profile) : undefined;
  if (ids !== undefined) await publish(deps.stream, [campaignRecord('Message Sent', sent, ids, deps)]);
  await deps.stores.activations.update({ ...sent, contactLogged: true, rev: sent.rev + 1 }, sent.rev);
  return 'sent';
}

/**
 * Puts a control-group hold-out on the stream as a `Message Held Out` event (the offer she would have
 * been sent, `promotion_id`): not a contact, so no cap counts it; what the nightly job measures an
 * offer's uplift against (lib/learn/training-set.ts).
 */
async function logHeldOut(held: ActivationInstance, profile: Profile, deps: SendDeps): Promise<void> {
  const ids = identityOf(profile);
  if (ids === undefined) return;
  await publish(deps.stream, [campaignRecord('Message Held Out', held, ids, deps)]);
}

/** A campaign's record of one activation under her identifiers, with a stable messageId (a retry is a duplicate the ingest drops). */
function campaignRecord(event: 'Message Sent' | 'Message Held Out', a: ActivationInstance, ids: NonNullable<ReturnType<typeof identityOf>>, deps: SendDeps): CollectedEvent {
  return {
    type: 'track',
    event,
    ...ids,
    messageId: messageIdOf(a),
    timestamp: a.sentAt,
    receivedAt: a.sentAt,
    properties: { campaign_id: a.campaignId, promotion_id: a.offerId, decision_id: a.decisionId },
    context: { channel: deps.campaigns.byId.get(a.campaignId)?.action.channel },
  } as unknown as CollectedEvent;
}

/** The identifier a contact event goes under: her userId, else a device's. */
function identityOf(p: Profile): Record<string, string> | undefined {
  const userId = userIdOf(p);
  if (userId) return { userId };
  const anonymousId = p.identities.anonymousId?.[0];
  return anonymousId ? { anonymousId } : undefined;
}
