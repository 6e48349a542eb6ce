/**
 * Calendar arithmetic in a customer's time zone, with formatters cached per zone (creating an
 * Intl.DateTimeFormat is far slower than using one).
 */
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatter(timezone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(timezone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch {
      f = null;
    }
    if (formatters.size < 1000) formatters.set(timezone, f);
  }
  return f;
}

/** The zone if it is a valid IANA time zone, else the fallback. */
export function resolveTimezone(timezone: string, fallback: string): string {
  return formatter(timezone) === null ? fallback : timezone;
}

/** The local calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDay(at: Date, timezone: string): string {
  const f = formatter(timezone) ?? (formatter('UTC') as Intl.DateTimeFormat);
  return f.format(at);
}

/** A date N days after a YYYY-MM-DD date (negative: before). */
export function shiftDay(day: string, days: number): string {
  const t = Date.parse(`${day}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** The local date of the Monday that starts the ISO week of an instant, in a time zone. */
export function localWeek(at: Date, timezone: string): string {
  const day = localDay(at, timezone);
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0
  return shiftDay(day, -weekday);
}

const hourFormatters = new Map<string, Intl.DateTimeFormat>();
/** The local hour (0-23) of an instant in a (valid) time zone. */
export function localHour(at: Date, timezone: string): number {
  let f = hourFormatters.get(timezone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: resolveTimezone(timezone, 'UTC'), hour: '2-digit', hourCycle: 'h23' });
    if (hourFormatters.size < 1000) hourFormatters.set(timezone, f);
  }
  return Number(f.format(at)) % 24;
}
