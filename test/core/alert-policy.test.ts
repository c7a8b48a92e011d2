import {
  ALERT_ENV,
  alertPolicyFingerprint,
  BUILT_IN_ALERT_DEFAULTS,
  formatAlertPolicyOverrides,
  resolveAlertPolicy,
  type AlertPolicy,
  type AlertPolicyField,
} from '../../lambda/core/alert-policy';
import { InvalidAlertPolicyError, parseAlertDefaults, parseAlertPolicyOverrides, parseAlertPolicyValue } from '../../lambda/core/alert-policy-parse';

const MIN = 60_000;
const HOUR = 60 * MIN;

const ACCEPTED: readonly (readonly [field: AlertPolicyField, raw: unknown, value: unknown])[] = [
  ['minUnread', '1', 1],
  ['minUnread', 12, 12],
  ['minUnread', ' 3 ', 3],
  ['cooldown', '30s', 30_000],
  ['cooldown', '15m', 15 * MIN],
  ['cooldown', '2h', 2 * HOUR],
  ['cooldown', '1d', 24 * HOUR],
  ['cooldown', '1h30m', 90 * MIN],
  ['cooldown', '0s', 0],
  ['quietHours', '22:00-07:00', { start: 22 * 60, end: 7 * 60 }],
  ['quietHours', '09:30-17:45', { start: 9 * 60 + 30, end: 17 * 60 + 45 }],
  ['quietHours', 'off', null],
  ['quietHours', 'OFF', null],
  ['timeZone', 'UTC', 'UTC'],
  ['timeZone', 'Europe/Berlin', 'Europe/Berlin'],
  ['timeZone', 'America/Argentina/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
  ['timeZone', 'Etc/GMT+5', 'Etc/GMT+5'],
  ['remindAfter', '45m', 45 * MIN],
  ['remindAfter', 'off', null],
  ['maxReminders', '0', 0],
  ['maxReminders', 3, 3],
  ['notifyCleared', true, true],
  ['notifyCleared', 'false', false],
  ['notifyCleared', 'on', true],
  ['snoozeUntil', '2026-03-01T08:00:00Z', Date.parse('2026-03-01T08:00:00Z')],
  ['snoozeUntil', '2026-03-01T09:00+01:00', Date.parse('2026-03-01T08:00:00Z')],
  ['snoozeUntil', '2026-03-01T08:00:00.250Z', Date.parse('2026-03-01T08:00:00.250Z')],
  ['snoozeUntil', 'off', null],
];

const REFUSED: readonly (readonly [field: AlertPolicyField, raw: unknown, message: string])[] = [
  ['minUnread', '0', 'invalid minUnread (--min-unread) "0": expected a whole number from 1 to 1000000'],
  ['minUnread', 1.5, 'invalid minUnread (--min-unread) 1.5: expected a whole number from 1 to 1000000'],
  ['minUnread', '-2', 'invalid minUnread (--min-unread) "-2": expected a whole number from 1 to 1000000'],
  ['cooldown', '15', 'invalid cooldown (--cooldown) "15": expected a duration such as 30s, 15m, 2h or 1d'],
  ['cooldown', '15x', 'invalid cooldown (--cooldown) "15x": expected a duration such as 30s, 15m, 2h or 1d'],
  ['cooldown', '30m1h', 'invalid cooldown (--cooldown) "30m1h": expected a duration such as 30s, 15m, 2h or 1d'],
  ['cooldown', 900, 'invalid cooldown (--cooldown) 900: expected a duration such as 30s, 15m, 2h or 1d'],
  ['cooldown', '400d', 'invalid cooldown (--cooldown) "400d": expected a duration from 0s to 366d'],
  ['cooldown', 'off', 'invalid cooldown (--cooldown) "off": expected a duration such as 30s, 15m, 2h or 1d'],
  ['quietHours', '22-7', 'invalid quietHours (--quiet-hours) "22-7": expected a daily window HH:MM-HH:MM such as 22:00-07:00 (may cross midnight), or off'],
  ['quietHours', '24:00-07:00', 'invalid quietHours (--quiet-hours) "24:00-07:00": expected a daily window HH:MM-HH:MM such as 22:00-07:00 (may cross midnight), or off'],
  ['quietHours', '08:00-08:00', 'invalid quietHours (--quiet-hours) "08:00-08:00": expected a daily window HH:MM-HH:MM such as 22:00-07:00 (may cross midnight), or off; start and end must differ'],
  ['timeZone', 'Mars/Olympus_Mons', 'invalid timeZone (--time-zone) "Mars/Olympus_Mons": expected an IANA time zone such as Europe/Berlin, America/New_York or UTC'],
  ['timeZone', '+01:00', 'invalid timeZone (--time-zone) "+01:00": expected an IANA time zone such as Europe/Berlin, America/New_York or UTC'],
  ['timeZone', '', 'invalid timeZone (--time-zone) "": expected an IANA time zone such as Europe/Berlin, America/New_York or UTC'],
  ['remindAfter', '30s', 'invalid remindAfter (--remind-after) "30s": expected a duration from 1m to 366d'],
  ['maxReminders', '101', 'invalid maxReminders (--max-reminders) "101": expected a whole number from 0 to 100'],
  ['notifyCleared', 'maybe', 'invalid notifyCleared (--notify-cleared) "maybe": expected true or false'],
  ['snoozeUntil', '2026-03-01T08:00', 'invalid snoozeUntil (--snooze-until) "2026-03-01T08:00": expected an ISO 8601 instant with a zone such as 2026-03-01T08:00:00Z or 2026-03-01T09:00+01:00, or off'],
  ['snoozeUntil', '2026-02-30T08:00Z', 'invalid snoozeUntil (--snooze-until) "2026-02-30T08:00Z": expected an ISO 8601 instant with a zone such as 2026-03-01T08:00:00Z or 2026-03-01T09:00+01:00, or off'],
  ['snoozeUntil', '2026-03-01', 'invalid snoozeUntil (--snooze-until) "2026-03-01": expected an ISO 8601 instant with a zone such as 2026-03-01T08:00:00Z or 2026-03-01T09:00+01:00, or off'],
];

describe('parseAlertPolicyValue', () => {
  test.each(ACCEPTED)('accepts %s %j', (field, raw, value) => {
    expect(parseAlertPolicyValue(field, raw)).toEqual(value);
  });

  test.each(REFUSED)('refuses %s %j with one line naming the field, its flag and the value', (field, raw, message) => {
    let error: unknown;
    try {
      parseAlertPolicyValue(field, raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidAlertPolicyError);
    expect((error as InvalidAlertPolicyError).message).toBe(message);
    expect((error as InvalidAlertPolicyError).field).toBe(field);
  });

  test('shortens a very long refused value in the message', () => {
    expect(() => parseAlertPolicyValue('timeZone', 'x'.repeat(500))).toThrow(`"${'x'.repeat(40)}…"`);
  });
});

describe('parseAlertPolicyOverrides (an import line)', () => {
  test('reads the policy fields as the CLI flags write them and leaves other keys alone', () => {
    const overrides = parseAlertPolicyOverrides({ id: '558355', label: 'Desk', cooldown: '15m', quietHours: '22:00-07:00', minUnread: 2, notifyCleared: true });
    expect(overrides).toEqual({ cooldown: 15 * MIN, quietHours: { start: 1320, end: 420 }, minUnread: 2, notifyCleared: true });
  });

  test('writes back what it read: an export imports back to the same overrides', () => {
    const line = { minUnread: 2, cooldown: '90m', quietHours: '22:00-07:00', timeZone: 'Europe/Berlin', remindAfter: 'off', maxReminders: 0, notifyCleared: false, snoozeUntil: '2026-03-01T08:00:00.000Z' };
    expect(formatAlertPolicyOverrides(parseAlertPolicyOverrides(line))).toEqual(line);
  });

  test('refuses the line at its first bad field', () => {
    expect(() => parseAlertPolicyOverrides({ cooldown: 'soon' })).toThrow('invalid cooldown (--cooldown) "soon"');
  });
});

describe('parseAlertDefaults (the stack-wide defaults)', () => {
  test('takes the built-in defaults when no variable is set (blank counts as unset)', () => {
    expect(parseAlertDefaults({ [ALERT_ENV.cooldown]: '  ' })).toEqual(BUILT_IN_ALERT_DEFAULTS);
    expect(BUILT_IN_ALERT_DEFAULTS).toMatchObject({ minUnread: 1, cooldown: 15 * MIN, quietHours: null, timeZone: 'UTC', remindAfter: null, maxReminders: 3, notifyCleared: false, snoozeUntil: null });
  });

  test('reads one variable per field', () => {
    const env = {
      ALERT_MIN_UNREAD: '2',
      ALERT_COOLDOWN: '5m',
      ALERT_QUIET_HOURS: '22:00-07:00',
      ALERT_TIME_ZONE: 'Europe/Berlin',
      ALERT_REMIND_AFTER: '1h',
      ALERT_MAX_REMINDERS: '1',
      ALERT_NOTIFY_CLEARED: 'true',
    };
    expect(parseAlertDefaults(env)).toEqual({
      minUnread: 2,
      cooldown: 5 * MIN,
      quietHours: { start: 1320, end: 420 },
      timeZone: 'Europe/Berlin',
      remindAfter: HOUR,
      maxReminders: 1,
      notifyCleared: true,
      snoozeUntil: null,
    });
  });

  test('refuses a bad value naming the variable', () => {
    expect(() => parseAlertDefaults({ ALERT_COOLDOWN: 'soon' })).toThrow(
      new InvalidAlertPolicyError('cooldown', 'soon', 'a duration such as 30s, 15m, 2h or 1d', 'ALERT_COOLDOWN'),
    );
    expect(() => parseAlertDefaults({ ALERT_TIME_ZONE: 'Berlin' })).toThrow(/^invalid ALERT_TIME_ZONE "Berlin": expected an IANA time zone/);
  });
});

describe('resolveAlertPolicy', () => {
  const defaults: AlertPolicy = { ...BUILT_IN_ALERT_DEFAULTS, quietHours: { start: 1320, end: 420 } };

  test('per-identity values win and the rest are reported as defaults', () => {
    const { policy, defaulted } = resolveAlertPolicy({ cooldown: 5 * MIN, quietHours: null }, defaults);
    expect(policy).toEqual({ ...defaults, cooldown: 5 * MIN, quietHours: null });
    expect(defaulted).toEqual(['minUnread', 'timeZone', 'remindAfter', 'maxReminders', 'notifyCleared', 'snoozeUntil']);
  });
});

describe('alertPolicyFingerprint', () => {
  test('is eight hex digits, equal for equal policies', () => {
    expect(alertPolicyFingerprint(BUILT_IN_ALERT_DEFAULTS)).toMatch(/^[0-9a-f]{8}$/);
    expect(alertPolicyFingerprint({ ...BUILT_IN_ALERT_DEFAULTS })).toBe(alertPolicyFingerprint(BUILT_IN_ALERT_DEFAULTS));
  });

  test.each<[string, Partial<AlertPolicy>]>([
    ['minUnread', { minUnread: 2 }],
    ['cooldown', { cooldown: MIN }],
    ['quietHours', { quietHours: { start: 0, end: 60 } }],
    ['timeZone', { timeZone: 'Europe/Berlin' }],
    ['remindAfter', { remindAfter: HOUR }],
    ['maxReminders', { maxReminders: 4 }],
    ['notifyCleared', { notifyCleared: true }],
    ['snoozeUntil', { snoozeUntil: 0 }],
  ])('changes when %s changes', (_field, change) => {
    expect(alertPolicyFingerprint({ ...BUILT_IN_ALERT_DEFAULTS, ...change })).not.toBe(alertPolicyFingerprint(BUILT_IN_ALERT_DEFAULTS));
  });
});
