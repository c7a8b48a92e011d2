/**
 * Wall-clock arithmetic in IANA time zones with Node's `Intl` only: never the machine's time zone,
 * never `Date`'s local-time methods, so results are the same on any host and any `TZ`.
 *
 * Instants are epoch ms. A "wall" value is the local date and time of an instant written as if it
 * were UTC (`Date.UTC(y, m, d, h, min, s)`), which makes local times plain numbers to compare.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A calendar date in some zone; month is 1-12. */
export interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** Creating a DateTimeFormat costs far more than using one, and the set of zones is small. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    // hourCycle h23 (not hour12: false): some ICU versions print midnight as "24" with the latter.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** Whether Node's Intl knows this zone (it throws a RangeError for names it does not). */
export function isKnownTimeZone(zone: string): boolean {
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** The local date and time of an instant, as a wall value (seconds precision, plus the instant's ms). */
export function wallClock(instant: number, zone: string): number {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const hour = (fields.hour ?? 0) % 24;
  const wall = Date.UTC(fields.year ?? 1970, (fields.month ?? 1) - 1, fields.day ?? 1, hour, fields.minute ?? 0, fields.second ?? 0);
  return wall + (((instant % 1000) + 1000) % 1000);
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
export function offsetAt(instant: number, zone: string): number {
  return wallClock(instant, zone) - instant;
}

export function localDateOf(instant: number, zone: string): LocalDate {
  const wall = new Date(wallClock(instant, zone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

export function addDays(date: LocalDate, days: number): LocalDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
}

/**
 * The earliest instant at which the zone's clock shows `date` at `minuteOfDay` or later.
 * - An ordinary time has one instant.
 * - A time repeated by a fall-back (01:30 twice) resolves to its FIRST occurrence.
 * - A time skipped by a spring-forward (02:30 when clocks jump 02:00 -> 03:00) resolves to the
 *   jump itself, the first instant after the gap (03:00 local).
 * Zones change offset at most once within any two days, which this relies on.
 */
export function resolveWallTime(date: LocalDate, minuteOfDay: number, zone: string): number {
  // Identities share zones and windows, so a cycle asks for the same boundaries again and again.
  const key = `${zone}|${date.year}-${date.month}-${date.day}|${minuteOfDay}`;
  const known = resolved.get(key);
  if (known !== undefined) return known;
  if (resolved.size >= RESOLVED_CACHE_SIZE) resolved.clear();
  const instant = resolveUncached(date, minuteOfDay, zone);
  resolved.set(key, instant);
  return instant;
}

const RESOLVED_CACHE_SIZE = 4096;
const resolved = new Map<string, number>();

function resolveUncached(date: LocalDate, minuteOfDay: number, zone: string): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day) + minuteOfDay * MINUTE_MS;
  const offsetBefore = offsetAt(wall - DAY_MS, zone);
  const offsetAfter = offsetAt(wall + DAY_MS, zone);
  const matches = [wall - offsetBefore, wall - offsetAfter].filter((t) => wallClock(t, zone) === wall);
  if (matches.length > 0) return Math.min(...matches);
  return firstInstantShowing(wall, wall - offsetAfter, wall - offsetBefore, zone);
}

/** Binary search, to the second, for the first instant in (low, high] whose wall value is >= wall. */
function firstInstantShowing(wall: number, low: number, high: number, zone: string): number {
  let lo = low;
  let hi = high;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (wallClock(mid, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * A local time for people, as short as it can be next to `reference` (when the text is read):
 * `14:05` on the same local day, `Feb 12 14:05` in the same year, `2025-12-31 14:05` otherwise.
 * Month names come from this file, not from the ICU locale data, so every Node prints the same.
 */
export function formatLocalTime(instant: number, reference: number, zone: string): string {
  const wall = new Date(wallClock(instant, zone));
  const ref = new Date(wallClock(reference, zone));
  const clock = `${pad2(wall.getUTCHours())}:${pad2(wall.getUTCMinutes())}`;
  const sameYear = wall.getUTCFullYear() === ref.getUTCFullYear();
  if (sameYear && wall.getUTCMonth() === ref.getUTCMonth() && wall.getUTCDate() === ref.getUTCDate()) return clock;
  if (sameYear) return `${MONTHS[wall.getUTCMonth()] ?? ''} ${wall.getUTCDate()} ${clock}`;
  return `${wall.getUTCFullYear()}-${pad2(wall.getUTCMonth() + 1)}-${pad2(wall.getUTCDate())} ${clock}`;
}
