/**
 * Quiet hours and snooze on the instant line, in IANA zones, across midnight and clock changes.
 * Dates in 2026: US clocks spring forward on Mar 8 (02:00 -> 03:00) and fall back on Nov 1
 * (02:00 -> 01:00); EU clocks on Mar 29 (02:00 -> 03:00) and Oct 25 (03:00 -> 02:00).
 */
import { isHeld, isQuiet, quietWindowEnd, releaseTime } from '../../lambda/core/alert-clock';
import { BUILT_IN_ALERT_DEFAULTS, type AlertPolicy, type QuietHours } from '../../lambda/core/alert-policy';
import { formatLocalTime, resolveWallTime } from '../../lambda/core/zoned-time';

const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());
const night: QuietHours = { start: 22 * 60, end: 7 * 60 };
const hm = (text: string): number => Number(text.slice(0, 2)) * 60 + Number(text.slice(3));

describe('resolveWallTime: a local date and time to an instant', () => {
  test.each([
    ['an ordinary winter evening in Berlin', 'Europe/Berlin', '2026-02-12', '22:00', '2026-02-12T21:00:00.000Z'],
    ['a half-hour zone', 'Asia/Kolkata', '2026-02-12', '07:00', '2026-02-12T01:30:00.000Z'],
    ['a time skipped by spring-forward resolves to the jump (New York)', 'America/New_York', '2026-03-08', '02:30', '2026-03-08T07:00:00.000Z'],
    ['a time skipped by spring-forward resolves to the jump (Berlin)', 'Europe/Berlin', '2026-03-29', '02:30', '2026-03-29T01:00:00.000Z'],
    ['a repeated time resolves to its first occurrence (New York)', 'America/New_York', '2026-11-01', '01:30', '2026-11-01T05:30:00.000Z'],
    ['a repeated time resolves to its first occurrence (Berlin)', 'Europe/Berlin', '2026-10-25', '02:30', '2026-10-25T00:30:00.000Z'],
    ['a half-hour clock change (Lord Howe Island)', 'Australia/Lord_Howe', '2026-10-04', '02:15', '2026-10-03T15:30:00.000Z'],
  ])('%s', (_case, zone, date, time, expected) => {
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    expect(iso(resolveWallTime({ year, month, day }, hm(time), zone))).toBe(expected);
  });
});

describe('quiet hours', () => {
  test.each([
    ['before a window that crosses midnight', '2026-02-12T21:59:59Z', undefined],
    ['at its start', '2026-02-12T22:00:00Z', '2026-02-13T07:00:00.000Z'],
    ['after midnight inside it', '2026-02-13T03:00:00Z', '2026-02-13T07:00:00.000Z'],
    ['at its end: already outside', '2026-02-13T07:00:00Z', undefined],
  ])('UTC 22:00-07:00 %s', (_case, at, end) => {
    expect(iso(quietWindowEnd(Date.parse(at), night, 'UTC'))).toBe(end);
  });

  test('a window that does not cross midnight', () => {
    const lunch = { start: hm('12:00'), end: hm('13:30') };
    expect(isQuiet(Date.parse('2026-02-12T11:59:00Z'), lunch, 'UTC')).toBe(false);
    expect(iso(quietWindowEnd(Date.parse('2026-02-12T12:10:00Z'), lunch, 'UTC'))).toBe('2026-02-12T13:30:00.000Z');
  });

  test.each([
    ['Europe/Berlin, spring-forward night (an hour shorter)', 'Europe/Berlin', '2026-03-28T22:00:00Z', '2026-03-29T05:00:00.000Z'],
    ['Europe/Berlin, fall-back night (an hour longer)', 'Europe/Berlin', '2026-10-25T01:30:00Z', '2026-10-25T06:00:00.000Z'],
    ['America/New_York, spring-forward night', 'America/New_York', '2026-03-08T06:30:00Z', '2026-03-08T11:00:00.000Z'],
    ['America/New_York, fall-back night', 'America/New_York', '2026-11-01T06:30:00Z', '2026-11-01T12:00:00.000Z'],
  ])('22:00-07:00 in %s ends at 07:00 local', (_case, zone, at, end) => {
    expect(iso(quietWindowEnd(Date.parse(at), night, zone))).toBe(end);
  });

  test('the second pass through a repeated hour is not quiet again once the window has ended', () => {
    const endsAt0130 = { start: hm('22:00'), end: hm('01:30') };
    // 06:15Z on Nov 1 is 01:15 EST, after the first 01:30 (EDT, 05:30Z) ended the window.
    expect(isQuiet(Date.parse('2026-11-01T05:29:00Z'), endsAt0130, 'America/New_York')).toBe(true);
    expect(isQuiet(Date.parse('2026-11-01T06:15:00Z'), endsAt0130, 'America/New_York')).toBe(false);
  });

  test('a window lying wholly inside a skipped hour is empty that day', () => {
    const skipped = { start: hm('02:10'), end: hm('02:40') };
    for (let t = Date.parse('2026-03-08T06:00:00Z'); t < Date.parse('2026-03-08T09:00:00Z'); t += 60_000) {
      expect(isQuiet(t, skipped, 'America/New_York')).toBe(false);
    }
    expect(isQuiet(Date.parse('2026-03-09T06:20:00Z'), skipped, 'America/New_York')).toBe(true);
  });
});

describe('releaseTime', () => {
  const policy = (fields: Partial<AlertPolicy>): AlertPolicy => ({ ...BUILT_IN_ALERT_DEFAULTS, ...fields });

  test('is the instant itself when nothing holds alerts back', () => {
    const t = Date.parse('2026-02-12T03:00:00Z');
    expect(releaseTime(t, policy({}))).toBe(t);
    expect(isHeld(t, policy({}))).toBe(false);
  });

  test('is the end of a snooze', () => {
    const until = Date.parse('2026-02-14T00:00:00Z');
    expect(releaseTime(Date.parse('2026-02-12T03:00:00Z'), policy({ snoozeUntil: until }))).toBe(until);
  });

  test('a snooze ending inside quiet hours releases at their end', () => {
    const p = policy({ snoozeUntil: Date.parse('2026-02-13T23:00:00Z'), quietHours: night });
    expect(iso(releaseTime(Date.parse('2026-02-12T12:00:00Z'), p))).toBe('2026-02-14T07:00:00.000Z');
  });
});

describe('formatLocalTime', () => {
  const reference = Date.parse('2026-02-12T15:00:00Z');
  test.each([
    ['the same local day', '2026-02-12T13:05:00Z', 'Europe/Berlin', '14:05'],
    ['an earlier day', '2026-02-11T13:05:00Z', 'Europe/Berlin', 'Feb 11 14:05'],
    ['an earlier year', '2025-12-31T13:05:00Z', 'UTC', '2025-12-31 13:05'],
    ['a day that is still today in a zone behind UTC', '2026-02-12T03:00:00Z', 'America/New_York', 'Feb 11 22:00'],
  ])('on %s', (_case, at, zone, expected) => {
    expect(formatLocalTime(Date.parse(at), reference, zone)).toBe(expected);
  });
});
