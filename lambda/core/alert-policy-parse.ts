import {
  ALERT_ENV,
  ALERT_FLAGS,
  ALERT_POLICY_FIELDS,
  BUILT_IN_ALERT_DEFAULTS,
  formatDuration,
  type AlertPolicy,
  type AlertPolicyField,
  type AlertPolicyOverrides,
  type QuietHours,
} from './alert-policy';
import { isKnownTimeZone } from './zoned-time';

/**
 * Parsing of every policy field at the edge (CLI flags, import lines, the stack's environment):
 * a bad value is refused with one line naming the field, its flag and the value.
 */
export class InvalidAlertPolicyError extends Error {
  override readonly name = 'InvalidAlertPolicyError';
  constructor(
    readonly field: AlertPolicyField,
    readonly value: unknown,
    readonly expected: string,
    /** How the value was given: the field and its flag, or an environment variable's name. */
    source = `${field} (${ALERT_FLAGS[field]})`,
  ) {
    super(`invalid ${source} ${show(value)}: expected ${expected}`);
  }
}

function show(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value) ?? String(value);
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const MAX_DURATION = 366 * DAY;
const DURATION = /^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,9})s)?$/;
const QUIET_HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;
/** IANA names start with a letter; offsets such as `+01:00` are refused (Node 20's Intl rejects them, Node 24's accepts). */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/;
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** `30s`, `15m`, `2h`, `1d`, or units combined largest first (`1h30m`). */
export function parseDuration(field: AlertPolicyField, raw: unknown, min: number): number {
  const expected = 'a duration such as 30s, 15m, 2h or 1d';
  const match = typeof raw === 'string' && raw !== '' ? DURATION.exec(raw.trim()) : null;
  if (!match || match.slice(1).every((g) => g === undefined)) throw new InvalidAlertPolicyError(field, raw, expected);
  const [d, h, m, s] = match.slice(1).map((g) => Number(g ?? 0)) as [number, number, number, number];
  const ms = d * DAY + h * 60 * MINUTE + m * MINUTE + s * 1000;
  if (ms < min || ms > MAX_DURATION) throw new InvalidAlertPolicyError(field, raw, `a duration from ${formatDuration(min)} to 366d`);
  return ms;
}

function parseWholeNumber(field: AlertPolicyField, raw: unknown, min: number, max: number): number {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InvalidAlertPolicyError(field, raw, `a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

function isOff(raw: unknown): boolean {
  return typeof raw === 'string' && raw.trim().toLowerCase() === 'off';
}

export function parseQuietHours(raw: unknown): QuietHours | null {
  if (isOff(raw)) return null;
  const match = typeof raw === 'string' ? QUIET_HOURS.exec(raw.trim()) : null;
  const expected = 'a daily window HH:MM-HH:MM such as 22:00-07:00 (may cross midnight), or off';
  if (!match) throw new InvalidAlertPolicyError('quietHours', raw, expected);
  const [sh, sm, eh, em] = match.slice(1).map(Number) as [number, number, number, number];
  const window = { start: sh * 60 + sm, end: eh * 60 + em };
  if (window.start === window.end) throw new InvalidAlertPolicyError('quietHours', raw, `${expected}; start and end must differ`);
  return window;
}

/** Kept as written (after trimming): canonical names differ between ICU versions, the name must not. */
export function parseTimeZone(raw: unknown): string {
  const zone = typeof raw === 'string' ? raw.trim() : '';
  if (!ZONE_NAME.test(zone) || !isKnownTimeZone(zone)) {
    throw new InvalidAlertPolicyError('timeZone', raw, 'an IANA time zone such as Europe/Berlin, America/New_York or UTC');
  }
  return zone;
}

/** An instant with an explicit zone (`Z` or `+01:00`): a local time would depend on the machine. */
export function parseSnoozeUntil(raw: unknown): number | null {
  if (isOff(raw)) return null;
  const match = typeof raw === 'string' ? ISO_INSTANT.exec(raw.trim()) : null;
  const expected = 'an ISO 8601 instant with a zone such as 2026-03-01T08:00:00Z or 2026-03-01T09:00+01:00, or off';
  if (!match) throw new InvalidAlertPolicyError('snoozeUntil', raw, expected);
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = match;
  const fields = [y, mo, d, h, mi, s ?? '0'].map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5], Number((frac ?? '0').padEnd(3, '0')));
  const check = new Date(wall);
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * MINUTE : 0;
  const valid =
    check.getUTCMonth() === fields[1] - 1 && check.getUTCDate() === fields[2] && fields[3] < 24 && fields[4] < 60 && fields[5] < 60 && Number(oh ?? 0) < 24 && Number(om ?? 0) < 60;
  if (!valid || fields[0] < 2000) throw new InvalidAlertPolicyError('snoozeUntil', raw, expected);
  return wall - offset;
}

const TRUE_WORDS = new Set(['true', 'on', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'off', 'no', '0']);

export function parseNotifyCleared(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const word = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new InvalidAlertPolicyError('notifyCleared', raw, 'true or false');
}

/** One field from a flag's text or an import line's JSON value (numbers and booleans may be JSON-typed). */
export function parseAlertPolicyValue<K extends AlertPolicyField>(field: K, raw: unknown): AlertPolicy[K] {
  const parsers: { [F in AlertPolicyField]: (raw: unknown) => AlertPolicy[F] } = {
    minUnread: (r) => parseWholeNumber('minUnread', r, 1, 1_000_000),
    cooldown: (r) => parseDuration('cooldown', r, 0),
    quietHours: parseQuietHours,
    timeZone: parseTimeZone,
    remindAfter: (r) => (isOff(r) ? null : parseDuration('remindAfter', r, MINUTE)),
    maxReminders: (r) => parseWholeNumber('maxReminders', r, 0, 100),
    notifyCleared: parseNotifyCleared,
    snoozeUntil: parseSnoozeUntil,
  };
  return parsers[field](raw);
}

/** The policy fields of one import line (or stored item); other keys (`id`, `label`) are the caller's. */
export function parseAlertPolicyOverrides(record: Readonly<Record<string, unknown>>): AlertPolicyOverrides {
  const overrides: Partial<Record<AlertPolicyField, unknown>> = {};
  for (const field of ALERT_POLICY_FIELDS) {
    if (record[field] !== undefined) overrides[field] = parseAlertPolicyValue(field, record[field]);
  }
  return overrides as AlertPolicyOverrides;
}

/**
 * The stack-wide defaults from the environment of the process that runs the cycle (a plain
 * record, so this stays pure). Unset or blank variables take the built-in defaults.
 */
export function parseAlertDefaults(env: Readonly<Record<string, string | undefined>>): AlertPolicy {
  const policy: Record<string, unknown> = { ...BUILT_IN_ALERT_DEFAULTS };
  for (const [field, name] of Object.entries(ALERT_ENV) as [keyof typeof ALERT_ENV, string][]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    try {
      policy[field] = parseAlertPolicyValue(field, raw);
    } catch (error) {
      if (!(error instanceof InvalidAlertPolicyError)) throw error;
      throw new InvalidAlertPolicyError(field, raw, error.expected, name);
    }
  }
  return Object.freeze(policy) as unknown as AlertPolicy;
}
