import type { Command } from 'commander';
import type { RegistrationFields } from '../../lambda/core/model';
import { UsageError } from './io';

/**
 * The registration fields, one place for all of them: the flags of `identities add` and
 * `identities set`, and the keys of `identities import` and `export` (JSON-lines keys, CSV
 * header columns), each value checked by one parser. The alert policy fields join here, as
 * flags and keys written the same way (`--cooldown 15m`, `"cooldown":"15m"`).
 */
export const REGISTRATION_KEYS = ['label'] as const;
export type RegistrationKey = (typeof REGISTRATION_KEYS)[number];

export const MAX_LABEL_LENGTH = 100;

/** The flags that set registration fields. */
export interface RegistrationFlags {
  readonly label?: string;
}

export function withRegistrationFlags(command: Command): Command {
  return command.option('--label <text>', `a readable name carried in its events (1-${MAX_LABEL_LENGTH} printable characters)`);
}

/** The fields the flags give; a flag not given is not in the result. Throws UsageError naming the flag. */
export function fieldsFromFlags(flags: RegistrationFlags): RegistrationFields {
  return flags.label === undefined ? {} : { label: parseLabel(flags.label) };
}

/**
 * The fields of one import record (a JSON line's keys besides `id`, a CSV row's columns besides
 * `id`): values are strings as the flags take them, an empty value is no value. Throws UsageError
 * for an unknown key or a bad value.
 */
export function fieldsFromRecord(record: Readonly<Record<string, unknown>>): RegistrationFields {
  const unknown = Object.keys(record).filter((key) => !(REGISTRATION_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new UsageError(`unknown field ${JSON.stringify(unknown[0])}; the fields are id, ${REGISTRATION_KEYS.join(', ')}`);
  const label = record.label;
  if (label === undefined || label === null || label === '') return {};
  if (typeof label !== 'string') throw new UsageError('invalid label: expected a string');
  return { label: parseLabel(label) };
}

/** The fields as an export record writes them, by key; a field not set is left out. */
export function fieldsToRecord(fields: RegistrationFields): Partial<Record<RegistrationKey, string>> {
  return fields.label === undefined ? {} : { label: fields.label };
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
