import { localHour, resolveTimezone } from '../profile/time';

/**
 * Time for campaigns: ISO 8601 durations (`PT65M`, `P1D`) and instants at a local time of day in a
 * customer's time zone (the next 09:00 for her, whatever the server's zone).
 */
const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Milliseconds in an ISO 8601 duration of weeks, days, hours, minutes and seconds; undefined if it is not one. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (m === null || text === 'P' || text.endsWith('T')) return undefined;
  const [w, d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number];
  return ((((w * 7 + d) * 24 + h) * 60 + min) * 60 + s) * 1000;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();
/** The local wall-clock time of an instant, as if it were UTC (for offset arithmetic). */
function wallClock(at: Date, timezone: string): number {
  let f = partsFormatters.get(timezone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    if (partsFormatters.size < 1000) partsFormatters.set(timezone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
}

/**
 * The first instant at or after `from` whose local time in `timezone` is `hour:minute`. Across a
 * daylight-saving change the local time is matched to the minute on the wall clock (a time skipped by
 * a spring-forward moves past the jump, never before it).
 */
export function nextLocalTime(from: Date, hour: number, minute: number, timezone: string): Date {
  const zone = resolveTimezone(timezone, 'UTC');
  const wall = wallClock(from, zone);
  const offset = wall - from.getTime();
  const day = new Date(wall);
  for (let add = 0; add < 3; add++) {
    const target = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + add, hour, minute);
    // The instant whose wall clock is the target: start from today's offset, correct once for a change.
    const first = target - offset;
    let t = first + (target - wallClock(new Date(first), zone));
    // A time skipped by a spring-forward has no instant: the correction lands before it; take the first guess, just after the jump.
    if (wallClock(new Date(t), zone) !== target) t = Math.max(first, t);
    if (t >= from.getTime()) return new Date(t);
  }
  return new Date(from.getTime() + 86_400_000);
}

/** Whether a local hour is within [from, to) (a window may wrap midnight: 22 to 6). */
export const inHours = (hour: number, from: number, to: number): boolean => (from <= to ? hour >= from && hour < to : hour >= from || hour < to);

/** The instant itself if its local hour is inside the window, else the window's next start. */
export function intoWindow(at: Date, window: { from: number; to: number }, timezone: string): Date {
  return inHours(localHour(at, timezone), window.from, window.to) ? at : nextLocalTime(at, window.from, 0, timezone);
}
