import type { AlertPolicy, QuietHours } from './alert-policy';
import { addDays, localDateOf, resolveWallTime } from './zoned-time';

/**
 * When alerts may go out: outside quiet hours and after a snooze. Both defer, never drop.
 *
 * Quiet hours are a daily window of instants: the window that starts on local date D runs from
 * the start time on D to the end time on D (or on D+1 when it crosses midnight), each boundary
 * resolved by `resolveWallTime`: a boundary in a repeated (fall-back) hour is its first
 * occurrence, a boundary in a skipped (spring-forward) hour is the jump. So a window is always one
 * unbroken stretch (no second quiet half-hour after a fall-back), it is an hour shorter or longer
 * on the nights the clocks change, and a window lying wholly inside a skipped hour is empty that day.
 */

/** At most this many hops from one blocking window to the next before giving up (none chain that long). */
const MAX_HOPS = 8;

/** The end of the quiet window holding `instant`, or undefined when it is outside quiet hours. */
export function quietWindowEnd(instant: number, quiet: QuietHours, zone: string): number | undefined {
  const today = localDateOf(instant, zone);
  const crosses = quiet.start > quiet.end;
  // Only the windows starting yesterday (if they cross midnight) and today can hold the instant.
  for (const startDate of crosses ? [addDays(today, -1), today] : [today]) {
    const start = resolveWallTime(startDate, quiet.start, zone);
    const end = resolveWallTime(crosses ? addDays(startDate, 1) : startDate, quiet.end, zone);
    if (start <= instant && instant < end) return end;
  }
  return undefined;
}

export function isQuiet(instant: number, quiet: QuietHours, zone: string): boolean {
  return quietWindowEnd(instant, quiet, zone) !== undefined;
}

/** Whether the policy holds alerts back at this instant (snoozed or inside quiet hours). */
export function isHeld(instant: number, policy: AlertPolicy): boolean {
  return releaseTime(instant, policy) !== instant;
}

/**
 * The first instant at or after `instant` at which the policy lets an alert out. Time-zone work
 * happens only when the policy has quiet hours.
 */
export function releaseTime(instant: number, policy: AlertPolicy): number {
  let t = instant;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    if (policy.snoozeUntil !== null && t < policy.snoozeUntil) t = policy.snoozeUntil;
    const quietEnd = policy.quietHours ? quietWindowEnd(t, policy.quietHours, policy.timeZone) : undefined;
    if (quietEnd === undefined) return t;
    t = quietEnd;
  }
  return t;
}
