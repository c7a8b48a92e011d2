/**
 * Wall-clock arithmetic and quiet hours against an independent reading of the local clock (a
 * separate Intl formatter), at random instants around the 2026 clock changes of several zones.
 */
import fc from 'fast-check';
import { isHeld, isQuiet, releaseTime } from '../../lambda/core/alert-clock';
import { BUILT_IN_ALERT_DEFAULTS, type QuietHours } from '../../lambda/core/alert-policy';
import { resolveWallTime, wallClock } from '../../lambda/core/zoned-time';

const HOUR = 3_600_000;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/St_Johns', 'Pacific/Chatham'];
const CHANGES = ['2026-03-08T07:00:00Z', '2026-03-29T01:00:00Z', '2026-04-05T15:00:00Z', '2026-10-04T15:30:00Z', '2026-10-25T01:00:00Z', '2026-11-01T06:00:00Z'].map(Date.parse);

const instant = fc.tuple(fc.constantFrom(...CHANGES), fc.integer({ min: -72 * 60, max: 72 * 60 })).map(([t, m]) => t + m * 60_000);
const zone = fc.constantFrom(...ZONES);
const window: fc.Arbitrary<QuietHours> = fc
  .tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 0, max: 1439 }))
  .filter(([s, e]) => s !== e)
  .map(([start, end]) => ({ start, end }));

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The local clock as "YYYY-MM-DD HH:MM:SS", read by a formatter of its own. */
function localText(t: number, z: string): string {
  let f = formatters.get(z);
  if (!f) {
    f = new Intl.DateTimeFormat('sv-SE', { timeZone: z, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(z, f);
  }
  return f.format(t);
}
function offsetName(t: number, z: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: z, timeZoneName: 'longOffset' }).format(t);
}

describe('zoned time against an independent reading of the clock', () => {
  test('wallClock shows what the local clock shows', () => {
    fc.assert(
      fc.property(instant, zone, (t, z) => {
        expect(new Date(wallClock(t, z)).toISOString().slice(0, 19).replace('T', ' ')).toBe(localText(t, z));
      }),
    );
  });

  test('resolveWallTime is the earliest instant whose local clock shows the time or later', () => {
    fc.assert(
      fc.property(instant, zone, fc.integer({ min: 0, max: 1439 }), (near, z, minute) => {
        const day = new Date(wallClock(near, z));
        const date = { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
        const target = Date.UTC(date.year, date.month - 1, date.day) + minute * 60_000;
        const t = resolveWallTime(date, minute, z);
        expect(wallClock(t, z)).toBeGreaterThanOrEqual(target);
        expect(wallClock(t - 1000, z)).toBeLessThan(target);
        expect(wallClock(t, z) - target).toBeLessThanOrEqual(HOUR); // only a skipped time moves, by the skip
      }),
    );
  });
});

describe('quiet hours against the wall clock', () => {
  test('away from a clock change, an instant is quiet exactly when the local clock is inside the window', () => {
    fc.assert(
      fc.property(instant, zone, window, (t, z, q) => {
        fc.pre(offsetName(t - 3 * HOUR, z) === offsetName(t + 3 * HOUR, z));
        const [hh, mm] = localText(t, z).slice(11, 16).split(':').map(Number) as [number, number];
        const m = hh * 60 + mm;
        const inside = q.start < q.end ? q.start <= m && m < q.end : m >= q.start || m < q.end;
        expect(isQuiet(t, q, z)).toBe(inside);
      }),
      { numRuns: 300 },
    );
  });

  test('releaseTime is the first instant not held back: everything before it, from the start, is', () => {
    fc.assert(
      fc.property(instant, zone, window, fc.option(fc.integer({ min: -24, max: 48 }), { nil: null, freq: 2 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), (t, z, q, snooze, probes) => {
        const policy = { ...BUILT_IN_ALERT_DEFAULTS, quietHours: q, timeZone: z, snoozeUntil: snooze === null ? null : t + snooze * HOUR };
        const release = releaseTime(t, policy);
        expect(release).toBeGreaterThanOrEqual(t);
        expect(isHeld(release, policy)).toBe(false);
        for (const p of probes) {
          const probe = t + Math.floor(p * (release - t));
          if (probe < release) expect(isHeld(probe, policy)).toBe(true);
        }
      }),
    );
  });
});
