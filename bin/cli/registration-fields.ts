import type { Command } from 'commander';
import { ALERT_FLAGS, ALERT_POLICY_FIELDS, formatAlertPolicyOverrides, type AlertPolicyField, type AlertPolicyOverrides } from '../../lambda/core/alert-policy';
import { InvalidAlertPolicyError, parseAlertPolicyValue } from '../../lambda/core/alert-policy-parse';
import type { RegistrationFields } from '../../lambda/core/model';
import { UsageError } from './io';

/**
 * The registration fields, one place for all of them: the flags of `identities add` and
 * `identities set`, and the keys of `identities import` and `export` (JSON-lines keys, CSV
 * header columns), each value checked by one parser. The alert policy fields are flags and keys
 * written the same way (`--cooldown 15m`, `"cooldown":"15m"`), checked by the alert core's parser.
 */
export const REGISTRATION_KEYS = ['label', ...ALERT_POLICY_FIELDS] as const;
export type RegistrationKey = (typeof REGISTRATION_KEYS)[number];

export const MAX_LABEL_LENGTH = 100;

/** `identities set --cooldown default`: the identity takes the stack-wide default again. */
export const DEFAULT_WORD = 'default';

/** The flags that set registration fields, as commander leaves them (one camelCase key per flag). */
export interface RegistrationFlags {
  readonly label?: string;
  readonly minUnread?: string;
  readonly cooldown?: string;
  readonly quietHours?: string;
  readonly timeZone?: string;
  readonly remindAfter?: string;
  readonly maxReminders?: string;
  /** `--notify-cleared` (true) or `--no-notify-cleared` (false). */
  readonly notifyCleared?: boolean;
  readonly snoozeUntil?: string;
}

/** What each valued policy flag takes, for `--help`. */
const POLICY_FLAG_HELP: Readonly<Record<Exclude<AlertPolicyField, 'notifyCleared'>, readonly [argument: string, help: string]>> = {
  minUnread: ['<n>', 'waiting while at least this many are unread'],
  cooldown: ['<duration>', 'at most one alert per this long (30s, 15m, 2h)'],
  quietHours: ['<HH:MM-HH:MM|off>', 'no alerts inside this daily window; they are deferred to its end'],
  timeZone: ['<zone>', 'IANA zone of the quiet hours and of the times in alert texts'],
  remindAfter: ['<duration|off>', 'remind when still waiting this long after the last alert'],
  maxReminders: ['<n>', 'reminders per waiting episode'],
  snoozeUntil: ['<ISO|off>', 'defer every alert until then'],
};

/**
 * Adds the flags of the registration fields. `set` also takes `default` as a policy flag's value
 * (the identity takes the stack-wide default again).
 */
export function withRegistrationFlags(command: Command, options: { readonly allowDefault?: boolean } = {}): Command {
  command.option('--label <text>', `a readable name carried in its events (1-${MAX_LABEL_LENGTH} printable characters)`);
  const orDefault = options.allowDefault ? `; ${DEFAULT_WORD}: the stack-wide default` : '';
  for (const field of ALERT_POLICY_FIELDS) {
    if (field === 'notifyCleared') {
      command.option(`${ALERT_FLAGS.notifyCleared}`, 'send a `cleared` alert when an alerted episode ends');
      command.option(`--no-${ALERT_FLAGS.notifyCleared.slice(2)}`, 'no `cleared` alerts');
      continue;
    }
    const [argument, help] = POLICY_FLAG_HELP[field];
    command.option(`${ALERT_FLAGS[field]} ${argument}`, `alert policy: ${help}${orDefault}`);
  }
  return command;
}

/**
 * The fields the flags give; a flag not given is not in the result. Throws UsageError naming the
 * flag and the value, before anything is written.
 */
export function fieldsFromFlags(flags: RegistrationFlags, options: { readonly allowDefault?: boolean } = {}): RegistrationFields {
  const policy: Partial<Record<AlertPolicyField, unknown>> = {};
  const toDefault: AlertPolicyField[] = [];
  for (const field of ALERT_POLICY_FIELDS) {
    const raw = flags[field];
    if (raw === undefined) continue;
    if (options.allowDefault && typeof raw === 'string' && raw.trim().toLowerCase() === DEFAULT_WORD) toDefault.push(field);
    else policy[field] = policyValue(field, raw);
  }
  return {
    ...(flags.label === undefined ? {} : { label: parseLabel(flags.label) }),
    ...(Object.keys(policy).length > 0 ? { alertPolicy: policy as AlertPolicyOverrides } : {}),
    ...(toDefault.length > 0 ? { alertPolicyToDefault: toDefault } : {}),
  };
}

/**
 * The fields of one import record (a JSON line's keys besides `id`, a CSV row's columns besides
 * `id`): values are strings as the flags take them (JSON lines may also give numbers and
 * booleans), an empty value is no value. Throws UsageError for an unknown key or a bad value.
 */
export function fieldsFromRecord(record: Readonly<Record<string, unknown>>): RegistrationFields {
  const unknown = Object.keys(record).filter((key) => !(REGISTRATION_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new UsageError(`unknown field ${JSON.stringify(unknown[0])}; the fields are id, ${REGISTRATION_KEYS.join(', ')}`);
  const given = (key: string): unknown => {
    const value = record[key];
    return value === undefined || value === null || value === '' ? undefined : value;
  };
  const label = given('label');
  if (label !== undefined && typeof label !== 'string') throw new UsageError('invalid label: expected a string');
  const policy: Partial<Record<AlertPolicyField, unknown>> = {};
  for (const field of ALERT_POLICY_FIELDS) {
    const raw = given(field);
    if (raw !== undefined) policy[field] = policyValue(field, raw);
  }
  return {
    ...(label === undefined ? {} : { label: parseLabel(label) }),
    ...(Object.keys(policy).length > 0 ? { alertPolicy: policy as AlertPolicyOverrides } : {}),
  };
}

/** The fields as an export record writes them, by key, as the flags write them; a field not set is left out. */
export function fieldsToRecord(fields: RegistrationFields): Partial<Record<RegistrationKey, string | number | boolean>> {
  return {
    ...(fields.label === undefined ? {} : { label: fields.label }),
    ...(fields.alertPolicy ? formatAlertPolicyOverrides(fields.alertPolicy) : {}),
  };
}

function policyValue(field: AlertPolicyField, raw: unknown): unknown {
  try {
    return parseAlertPolicyValue(field, raw);
  } catch (error) {
    if (error instanceof InvalidAlertPolicyError) throw new UsageError(error.message);
    throw error;
  }
}

/** Letters, digits, punctuation, spaces and emoji; no control characters, line breaks or broken surrogates. */
const UNPRINTABLE = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]/u;

export function parseLabel(raw: string): string {
  const label = raw.trim();
  if (label === '' || [...label].length > MAX_LABEL_LENGTH || UNPRINTABLE.test(label)) {
    throw new UsageError(`invalid label: expected 1-${MAX_LABEL_LENGTH} printable characters`);
  }
  return label;
}
