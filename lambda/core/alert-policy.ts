import { createHash } from 'node:crypto';

/**
 * The alert policy of CONTRACT.md "Alerts for people": how an identity's unread counts become
 * `unread.alert` events for people. Field names are the CONTRACT's (and the import/export JSON
 * keys); durations and instants are held in ms, `null` means "off".
 */

/** A daily window in local minutes of the day [0, 1440); `start > end` crosses midnight. */
export interface QuietHours {
  readonly start: number;
  readonly end: number;
}

export interface AlertPolicy {
  /** The identity is *waiting* while its total unread is at least this (>= 1). */
  readonly minUnread: number;
  /** At most one alert (other than `cleared`) per identity per this many ms. */
  readonly cooldown: number;
  readonly quietHours: QuietHours | null;
  /** IANA zone of `quietHours` and of the times in alert texts. */
  readonly timeZone: string;
  /** Remind when still waiting this many ms after the last alert; null = no reminders. */
  readonly remindAfter: number | null;
  /** Reminders per waiting episode. */
  readonly maxReminders: number;
  /** Send `cleared` when a waiting episode that got an alert ends. */
  readonly notifyCleared: boolean;
  /** Epoch ms until which every alert is deferred, like quiet hours; null = not snoozed. */
  readonly snoozeUntil: number | null;
}

export type AlertPolicyField = keyof AlertPolicy;

/** Per-identity values; a field left out takes the stack-wide default (`null` is an explicit "off"). */
export type AlertPolicyOverrides = { readonly [K in AlertPolicyField]?: AlertPolicy[K] };

/** The environment variables of the stack-wide defaults (the stack sets them; `snoozeUntil` has none). */
export const ALERT_ENV = {
  minUnread: 'ALERT_MIN_UNREAD',
  cooldown: 'ALERT_COOLDOWN',
  quietHours: 'ALERT_QUIET_HOURS',
  timeZone: 'ALERT_TIME_ZONE',
  remindAfter: 'ALERT_REMIND_AFTER',
  maxReminders: 'ALERT_MAX_REMINDERS',
  notifyCleared: 'ALERT_NOTIFY_CLEARED',
} as const satisfies Partial<Record<AlertPolicyField, string>>;

/** The CLI flag of each field (`--no-notify-cleared` turns `notifyCleared` off). */
export const ALERT_FLAGS: Readonly<Record<AlertPolicyField, string>> = {
  minUnread: '--min-unread',
  cooldown: '--cooldown',
  quietHours: '--quiet-hours',
  timeZone: '--time-zone',
  remindAfter: '--remind-after',
  maxReminders: '--max-reminders',
  notifyCleared: '--notify-cleared',
  snoozeUntil: '--snooze-until',
};

/** In the order people read them (and the fingerprint hashes them). */
export const ALERT_POLICY_FIELDS: readonly AlertPolicyField[] = [
  'minUnread',
  'cooldown',
  'quietHours',
  'timeZone',
  'remindAfter',
  'maxReminders',
  'notifyCleared',
  'snoozeUntil',
];

const MINUTE = 60_000;

/** The defaults when neither the identity nor the stack's environment sets a value. */
export const BUILT_IN_ALERT_DEFAULTS: AlertPolicy = Object.freeze({
  minUnread: 1,
  cooldown: 15 * MINUTE,
  quietHours: null,
  timeZone: 'UTC',
  remindAfter: null,
  maxReminders: 3,
  notifyCleared: false,
  snoozeUntil: null,
});

export interface EffectiveAlertPolicy {
  readonly policy: AlertPolicy;
  /** The fields that came from the defaults, for `identities show`. */
  readonly defaulted: readonly AlertPolicyField[];
}

export function resolveAlertPolicy(overrides: AlertPolicyOverrides, defaults: AlertPolicy): EffectiveAlertPolicy {
  const policy: Record<string, unknown> = {};
  const defaulted: AlertPolicyField[] = [];
  for (const field of ALERT_POLICY_FIELDS) {
    const own = overrides[field];
    if (own === undefined) defaulted.push(field);
    policy[field] = own === undefined ? defaults[field] : own;
  }
  return { policy: Object.freeze(policy) as unknown as AlertPolicy, defaulted };
}

/** One line per field for `identities show`: its value as the flags write it, and whether it is a default. */
export function describeAlertPolicy(effective: EffectiveAlertPolicy): { field: AlertPolicyField; flag: string; value: string | number | boolean; isDefault: boolean }[] {
  return ALERT_POLICY_FIELDS.map((field) => ({
    field,
    flag: ALERT_FLAGS[field],
    value: formatAlertPolicyValue(field, effective.policy[field]),
    isDefault: effective.defaulted.includes(field),
  }));
}

/**
 * Eight hex digits that change whenever any field of the effective policy changes. Stored next to
 * a due time: when the current policy's fingerprint differs, the due time is computed again
 * ("due times follow the current policy"). A 32-bit collision only delays that recomputation
 * until the identity's next change.
 */
export function alertPolicyFingerprint(policy: AlertPolicy): string {
  const text = ALERT_POLICY_FIELDS.map((field) => formatAlertPolicyValue(field, policy[field])).join('|');
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** A value as the CLI flags and the import/export JSON write it (`15m`, `22:00-07:00`, `off`, 3, true). */
export function formatAlertPolicyValue<K extends AlertPolicyField>(field: K, value: AlertPolicy[K]): string | number | boolean {
  switch (field) {
    case 'cooldown':
      return formatDuration(value as number);
    case 'remindAfter':
      return value === null ? 'off' : formatDuration(value as number);
    case 'quietHours':
      return value === null ? 'off' : formatQuietHours(value as QuietHours);
    case 'snoozeUntil':
      return value === null ? 'off' : new Date(value as number).toISOString();
    default:
      return value as string | number | boolean;
  }
}

/** Overrides as one JSON object of an export line: only the fields the identity sets itself. */
export function formatAlertPolicyOverrides(overrides: AlertPolicyOverrides): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const field of ALERT_POLICY_FIELDS) {
    const value = overrides[field];
    if (value !== undefined) out[field] = formatAlertPolicyValue(field, value);
  }
  return out;
}

const UNITS: readonly (readonly [suffix: string, ms: number])[] = [
  ['d', 24 * 60 * MINUTE],
  ['h', 60 * MINUTE],
  ['m', MINUTE],
  ['s', 1000],
];

/** The largest unit that divides the duration: 900000 -> `15m`, 5400000 -> `90m`, 0 -> `0s`. */
export function formatDuration(ms: number): string {
  for (const [suffix, unit] of UNITS) if (ms > 0 && ms % unit === 0) return `${ms / unit}${suffix}`;
  return `${Math.round(ms / 1000)}s`;
}

export function formatQuietHours(quiet: QuietHours): string {
  const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return `${hhmm(quiet.start)}-${hhmm(quiet.end)}`;
}
