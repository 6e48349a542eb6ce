import { z } from 'zod';
import { describeIssues } from '../config/issues';
import { own } from '../events/json';
import defaults from '../../config/campaigns.json';
import type { Catalog } from '../decision/catalog';
import type { CollectedEvent } from '../events/segment';
import { eventConditionSchema, holds } from '../profile/aggregates';
import { compileCondition, conditionSchema, type Facts } from '../profile/segments';
import { durationMs } from './time';

/**
 * Triggered campaigns as data (config/campaigns.json, or published at run time through
 * `PUT /v1/campaigns`): what starts one (an event with conditions, entering a geofence, entering or
 * leaving a segment), who it is for, how long it waits, what ends it early, and what it sends: the
 * decision engine's best offer for its placement on its channel, so the contact policy, quiet places
 * and hours, consent and arbitration of in-app decisions apply to it too. Validated when loaded (errors
 * name the campaign and the field) and compiled once.
 */
/**
 * The longest wait a campaign may ask (a delay, an `until`'s timeout): an open entry is kept 400 days
 * from its entry (ACTIVATION_RETENTION_DAYS), so it is still there when its wait ends, and every due
 * time the trigger computes is a date (a wait of 10^8 days is not, and would fail every entry).
 */
export const MAX_WAIT = 'P365D';
const MAX_WAIT_MS = 365 * 86_400_000;
const duration = z
  .string()
  .refine((d) => durationMs(d) !== undefined, 'must be an ISO 8601 duration such as PT1H, PT30M or P1D')
  .refine((d) => (durationMs(d) ?? 0) <= MAX_WAIT_MS, `must be at most ${MAX_WAIT} (a year: an open entry is kept 400 days)`);
const eventNames = z.array(z.string().min(1).max(200)).min(1).max(20);
const hour = z.number().int().min(0).max(23);

/**
 * How a message leaves: to a webhook (HMAC-signed), onto an EventBridge bus for any tool to take, as an
 * e-mail through Amazon SES, or as an SMS through Amazon SNS (these two to her sealed address).
 */
export const ADAPTERS = ['webhook', 'eventbridge', 'ses', 'sns'] as const;

/** The address an adapter needs, if any. */
export const ADDRESS_OF = { ses: 'email', sns: 'phone' } as const satisfies Partial<Record<(typeof ADAPTERS)[number], 'email' | 'phone'>>;

const triggerSchema = z
  .strictObject({
    /** One of these events (track calls)... */
    event: eventNames.optional(),
    /** ...meeting these conditions on its fields (the aggregate selectors' language). */
    where: z.array(eventConditionSchema).max(10).optional(),
    /** ...sent from inside one of our places of these kinds (the catalog's places: the event's context.location). */
    geofence: z.strictObject({ kinds: z.array(z.string().min(1)).min(1) }).optional(),
    /** Or the profile entering or leaving a segment (config/profile.json): thresholds on aggregates are segments. */
    segment: z.strictObject({ entered: z.string().min(1).optional(), left: z.string().min(1).optional() }).refine((s) => (s.entered === undefined) !== (s.left === undefined), 'needs entered or left').optional(),
  })
  .refine((t) => (t.event === undefined) !== (t.segment === undefined), 'needs event or segment (one of them)')
  .refine((t) => t.event !== undefined || (t.where === undefined && t.geofence === undefined), 'where and geofence apply to an event trigger');

const waitSchema = z.strictObject({
  /** How long after the trigger. */
  delay: duration.optional(),
  /** Then at the next time of day (HH:MM) in her time zone: "next morning" is a delay and 09:00. */
  at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)').optional(),
  /** Only between these local hours: a due time outside moves to the next start. */
  window: z.strictObject({ from: hour, to: hour }).refine((w) => w.from !== w.to, 'from and to must differ (the window would hold no hour)').optional(),
  /** Until one of these events comes (then send), or the timeout passes (then exit). */
  until: z.strictObject({ event: eventNames, timeout: duration }).optional(),
});

export const campaignSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lower-case letters, digits and dashes (at most 64)'),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  enabled: z.boolean().default(true),
  trigger: triggerSchema,
  /** Conditions on her profile when the trigger fires (the segments' language): all must hold. */
  audience: z.array(conditionSchema).max(20).default([]),
  wait: waitSchema.default({}),
  exit: z
    .strictObject({
      /** Any of these events after she entered ends it (a purchase in any channel). */
      events: eventNames.optional(),
      /** Re-checked at send time: any that holds ends it. */
      when: z.array(conditionSchema).max(20).optional(),
    })
    .default({}),
  /** Once ever, or again only this many days after her last entry (0: every trigger). */
  reentry: z.union([z.literal('once'), z.strictObject({ afterDays: z.number().int().min(0).max(3650) })]).default({ afterDays: 1 }),
  /** Share of entries held out (not sent) to measure the campaign against. */
  controlPercent: z.number().min(0).max(50).default(0),
  /** What counts as a conversion, and for how long after the send (or the hold-out) it is attributed. */
  conversion: z.strictObject({ events: eventNames, windowHours: z.number().int().min(1).max(24 * 90) }).default({ events: ['Order Completed'], windowHours: 72 }),
  action: z.strictObject({
    placement: z.string().min(1).max(100),
    /** The contact policy's channel (caps per channel are shared with in-app decisions of that channel). */
    channel: z.string().min(1).max(32),
  }),
});

export const campaignsSchema = z.strictObject({
  $comment: z.string().optional(),
  version: z.number().int().min(1),
  /** How each channel's messages leave. */
  channels: z.record(
    z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and dashes'),
    z
      .strictObject({
        adapter: z.enum(ADAPTERS),
        /** Delivery speed on AWS: how many sends of this channel run at once (the send queue's maximum concurrency). */
        maxConcurrency: z.number().int().min(2).max(1000).default(5),
        /** SES: the verified sender and the stored template the offer fills. */
        from: z.email().optional(),
        template: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an SES template name').optional(),
        configurationSet: z.string().min(1).max(64).optional(),
        /** SNS: the SMS text, with {{offerId}}, {{content}} and {{items}} filled in; an optional sender id. */
        text: z.string().min(1).max(480).optional(),
        senderId: z.string().regex(/^[A-Za-z0-9]{1,11}$/).optional(),
        $comment: z.string().optional(),
      })
      .refine((c) => c.adapter !== 'ses' || (c.from !== undefined && c.template !== undefined), 'an ses channel needs from and template')
      .refine((c) => c.adapter !== 'sns' || c.text !== undefined, 'an sns channel needs text'),
  ),
  campaigns: z.array(campaignSchema).max(200),
});

export type CampaignConfig = z.output<typeof campaignSchema>;
export type CampaignsConfig = z.output<typeof campaignsSchema>;

export interface Campaign extends CampaignConfig {
  /** Whether an event (of a change) fires the trigger; places are the catalog's, for geofences. */
  firedBy(event: ChangeEvent): boolean;
  inAudience(facts: Facts): boolean;
  /** The first exit condition that holds at send time, as a reason. */
  exitReason(facts: Facts): string | undefined;
  delayMs: number;
  untilTimeoutMs?: number;
}

export interface Campaigns {
  version: number;
  channels: CampaignsConfig['channels'];
  campaigns: Campaign[];
  byId: Map<string, Campaign>;
  /** Every event name a campaign reads (triggers, waits, exits, conversions): the ingest announces only these. */
  watched: Set<string>;
}

/**
 * One event of a profile change as the ingest announces it: its name, id, time and the few fields
 * campaigns read (never personal data: the collector removed it before the stream).
 */
export interface ChangeEvent {
  name: string;
  messageId: string;
  timestamp: string;
  properties: Record<string, unknown>;
  /** Our place the event was sent from, if its location is inside one's geofence. */
  place?: { id: string; kind: string; latitude: number; longitude: number };
}

/**
 * Validates and compiles campaigns. Errors name the campaign and the field; a channel without an
 * adapter, a segment that does not exist, or a campaign declared twice is an error too.
 */
export function loadCampaigns(input: unknown = defaults, segments?: string[]): Campaigns {
  const result = campaignsSchema.safeParse(input);
  const fail = (detail: string) => new Error(`Invalid campaigns: ${detail}`);
  if (!result.success) throw fail(describeIssues(result.error.issues, input, [{ path: ['campaigns'], label: 'campaign', nameKey: 'id' }]));
  const config = result.data;
  const byId = new Map<string, Campaign>();
  const watched = new Set<string>();
  for (const c of config.campaigns) {
    if (byId.has(c.id)) throw fail(`campaign "${c.id}" is declared twice`);
    if (own(config.channels, c.action.channel) === undefined) throw fail(`campaign "${c.id}" action.channel: no adapter for channel "${c.action.channel}" in channels`);
    const segment = c.trigger.segment?.entered ?? c.trigger.segment?.left;
    if (segment !== undefined && segments !== undefined && !segments.includes(segment)) throw fail(`campaign "${c.id}" trigger.segment: no segment "${segment}" in config/profile.json`);
    for (const names of [c.trigger.event, c.wait.until?.event, c.exit.events, c.conversion.events]) for (const n of names ?? []) watched.add(n);
    byId.set(c.id, compile(c));
  }
  return { version: config.version, channels: config.channels, campaigns: [...byId.values()], byId, watched };
}

function compile(c: CampaignConfig): Campaign {
  const audience = c.audience.map(compileCondition);
  const exits = (c.exit.when ?? []).map((w) => ({ holds: compileCondition(w), reason: `${w.path} ${w.op}${w.value === undefined ? '' : ` ${JSON.stringify(w.value)}`}` }));
  const where = c.trigger.where ?? [];
  const kinds = c.trigger.geofence?.kinds;
  return {
    ...c,
    firedBy: (e) =>
      c.trigger.event !== undefined &&
      c.trigger.event.includes(e.name) &&
      (kinds === undefined || (e.place !== undefined && kinds.includes(e.place.kind))) &&
      where.every((w) => holds(w, { type: 'track', event: e.name, properties: e.properties } as unknown as CollectedEvent)),
    inAudience: (facts) => audience.every((p) => p(facts)),
    exitReason: (facts) => exits.find((x) => x.holds(facts))?.reason,
    delayMs: durationMs(c.wait.delay ?? 'PT0S') as number,
    ...(c.wait.until ? { untilTimeoutMs: durationMs(c.wait.until.timeout) as number } : {}),
  };
}

/**
 * What stops a campaign as things stand, each as the field and what it means: it is disabled, or the
 * catalog (published apart, so it may change after the campaigns) has no place of a geofence kind it
 * triggers on (it enters no one) or no offer for its placement on its channel (it sends to no one:
 * each entry ends "no offer"). Empty when nothing does. Its statistics show these.
 */
export function campaignProblems(campaign: CampaignConfig, catalog: Pick<Catalog, 'offers' | 'places'>): string[] {
  return [...(campaign.enabled ? [] : [{ field: 'enabled', problem: 'false: it enters no one' }]), ...catalogProblems(campaign, catalog)].map((p) => `${p.field}: ${p.problem}`);
}

function catalogProblems(c: CampaignConfig, catalog: Pick<Catalog, 'offers' | 'places'>): Array<{ field: string; problem: string }> {
  const problems: Array<{ field: string; problem: string }> = [];
  const { placement, channel } = c.action;
  if (!catalog.offers.some((o) => o.placements.includes(placement) && o.channels.includes(channel))) {
    problems.push({ field: 'action', problem: `no offer of the catalog is for placement "${placement}" on channel "${channel}": it sends to no one (each entry ends "no offer")` });
  }
  const kinds = new Set(catalog.places.map((p) => p.kind));
  for (const kind of c.trigger.geofence?.kinds ?? []) {
    if (!kinds.has(kind)) problems.push({ field: 'trigger.geofence.kinds', problem: `the catalog has no place of kind "${kind}": it enters no one` });
  }
  return problems;
}

/**
 * What the catalog can say of campaigns that their schema cannot: each action's placement has an
 * offer on its channel, and each geofence names a kind of place the catalog has. Checked when the CDK
 * app synthesises (a published catalog may change later: a send then ends with "no offer" and why,
 * and the campaign's statistics say what stops it).
 */
export function checkCampaignsAgainst(campaigns: Campaigns, catalog: Pick<Catalog, 'offers' | 'places'>): Campaigns {
  for (const c of campaigns.campaigns) {
    const [first] = catalogProblems(c, catalog);
    if (first) throw new Error(`Invalid campaigns: campaign "${c.id}" ${first.field}: ${first.problem}`);
  }
  return campaigns;
}
