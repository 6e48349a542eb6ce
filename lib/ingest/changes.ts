import { z } from 'zod';
import type { ProfileChange } from '../campaign/journey';
import type { StoredEvent } from '../store/ports';

/**
 * What the ingest announces after a batch, one change per profile (lib/campaign/journey.ts reacts):
 * its new track events with their scalar properties and location (bounded: campaigns' conditions
 * read them; the collector removed personal data before the stream), and the segments it entered or
 * left. On AWS an EventBridge bus carries them to the trigger function.
 */
export interface ChangeBus {
  /** Publishes changes; returns the profile ids whose change did not go out (their groups are retried). */
  publish(changes: ProfileChange[]): Promise<Set<string>>;
}

export const MAX_CHANGE_EVENTS = 25;
/** The profiles merged into hers the change names (their waiting entries are hers): the latest 20. */
export const MAX_MEMBERS = 20;
const MAX_PROPERTIES = 12;
const MAX_TEXT = 100;
const MAX_KEY = 64;

/** The scalar properties of an event, at most 12 of 100 characters: what a trigger's `where` reads. */
function scalars(properties: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof properties !== 'object' || properties === null) return out;
  for (const [k, v] of Object.entries(properties)) {
    if (Object.keys(out).length >= MAX_PROPERTIES) break;
    if (k.length > MAX_KEY) continue;
    if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'string') out[k] = v.slice(0, MAX_TEXT);
  }
  return out;
}

/** A location rounded to 4 decimals (about 11 m): enough for a geofence. */
function locationOf(context: unknown): { latitude: number; longitude: number } | undefined {
  const l = (context as { location?: { latitude?: unknown; longitude?: unknown } } | undefined)?.location;
  const lat = Number(l?.latitude);
  const lon = Number(l?.longitude);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  return { latitude: Math.round(lat * 1e4) / 1e4, longitude: Math.round(lon * 1e4) / 1e4 };
}

/**
 * A profile's changes from the events this batch stored for it and its segment moves: its track
 * events in order, 25 to a change (so none is dropped, whatever else the batch carried), the segment
 * moves on the last; none if there is nothing to say.
 */
export function changesOf(profileId: string, fresh: StoredEvent[], segments: { before: string[]; after: string[] }, members: string[] = []): ProfileChange[] {
  const tracks = fresh
    .map((f) => f.event)
    .filter((e) => e.type === 'track')
    .map((e) => {
      const location = locationOf((e as { context?: unknown }).context);
      return { name: String((e as { event: string }).event).slice(0, 300), messageId: e.messageId, timestamp: e.timestamp as string, properties: scalars((e as { properties?: unknown }).properties), ...(location ? { location } : {}) };
    });
  const entered = segments.after.filter((s) => !segments.before.includes(s));
  const left = segments.before.filter((s) => !segments.after.includes(s));
  const last = fresh.at(-1)?.event;
  if (last === undefined || (tracks.length === 0 && entered.length === 0 && left.length === 0)) return [];
  const chunks: Array<typeof tracks> = [];
  for (let i = 0; i < tracks.length; i += MAX_CHANGE_EVENTS) chunks.push(tracks.slice(i, i + MAX_CHANGE_EVENTS));
  if (chunks.length === 0) chunks.push([]);
  return chunks.map((events, n) => {
    const final = n === chunks.length - 1;
    const cause = final ? { messageId: last.messageId, timestamp: last.timestamp as string } : { messageId: (events.at(-1) as (typeof tracks)[number]).messageId, timestamp: (events.at(-1) as (typeof tracks)[number]).timestamp };
    return {
      profileId,
      ...(members.length > 0 ? { members: members.slice(-MAX_MEMBERS) } : {}),
      cause,
      events,
      ...(final && (entered.length > 0 || left.length > 0) ? { segments: { entered, left } } : {}),
    };
  });
}

const text = (max: number) => z.string().min(1).max(max);
/** A change as the trigger function receives it (from the bus: checked, not trusted). */
export const profileChangeSchema = z.strictObject({
  profileId: text(100),
  members: z.array(text(100)).max(MAX_MEMBERS).optional(),
  cause: z.strictObject({ messageId: text(300), timestamp: z.iso.datetime({ offset: true }) }),
  events: z
    .array(
      z.strictObject({
        name: text(300),
        messageId: text(300),
        timestamp: z.iso.datetime({ offset: true }),
        properties: z.record(z.string().max(MAX_KEY), z.union([z.string().max(MAX_TEXT), z.number(), z.boolean()])).refine((p) => Object.keys(p).length <= MAX_PROPERTIES, 'too many properties'),
        location: z.strictObject({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) }).optional(),
      }),
    )
    .max(MAX_CHANGE_EVENTS),
  segments: z.strictObject({ entered: z.array(text(100)).max(100), left: z.array(text(100)).max(100) }).optional(),
});

export function parseProfileChange(detail: unknown): ProfileChange {
  const result = profileChangeSchema.safeParse(detail);
  if (!result.success) throw new Error(`not a profile change: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return result.data as ProfileChange;
}
