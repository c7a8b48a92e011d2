/**
 * What the alert decisions remember per identity. It is stored on the identity's item and read
 * by every Scan every minute, so it is kept small and encoded as one short string.
 */

export type AlertKind = 'new' | 'digest' | 'reminder' | 'cleared';

/** How the current waiting episode stands with people. */
export type AlertedStatus =
  /** Nothing said yet: an alert is owed. */
  | 'none'
  /** Waiting at its baseline (or when adopted): counts as alerted at that total, no cooldown running. */
  | 'baseline'
  /** At least one alert went out in this episode. */
  | 'sent';

export interface AlertState {
  /** Grows by one each time the identity starts waiting; part of every alert's eventId. */
  readonly episode: number;
  /** Whether the identity is waiting (total >= minUnread) as of the last decision. */
  readonly waiting: boolean;
  /** Epoch ms the current (or, once it ended, the last) episode began. */
  readonly waitingSince?: number;
  readonly alerted: AlertedStatus;
  /** Epoch ms of the last `new`, `digest` or `reminder` (`cleared` starts no cooldown). */
  readonly lastAlertAt?: number;
  /** The total people last heard of: at the last alert, or just before the episode began. */
  readonly lastAlertTotal: number;
  /** Alerts sent for this identity, ever; part of every alert's eventId. */
  readonly sequence: number;
  /** Rises folded since the last alert of this episode. */
  readonly changes: number;
  /** Reminders sent in this episode. */
  readonly reminders: number;
  /** An alert is owed and was held back at least once: it goes out as a `digest`. */
  readonly deferred: boolean;
  /** An alerted episode ended with `notifyCleared` on and the `cleared` alert is not sent yet. */
  readonly clearedOwed: boolean;
  /** Epoch ms of the next time-only check; undefined = nothing scheduled. */
  readonly dueAt?: number;
  /** Fingerprint of the policy the state (and `dueAt`) was computed with. */
  readonly policy?: string;
}

export const INITIAL_ALERT_STATE: AlertState = Object.freeze({
  episode: 0,
  waiting: false,
  alerted: 'none',
  lastAlertTotal: 0,
  sequence: 0,
  changes: 0,
  reminders: 0,
  deferred: false,
  clearedOwed: false,
});

export class InvalidAlertStateError extends Error {
  override readonly name = 'InvalidAlertStateError';
}

/**
 * Encoding: `A1.` then dot-separated fields, numbers in base 36, optional ones empty:
 * episode, flags, waitingSince, lastAlertAt, lastAlertTotal, sequence, changes, reminders, dueAt,
 * policy fingerprint. Flags: 1 waiting, 2/4 alerted (baseline/sent), 8 deferred, 16 clearedOwed.
 * Evolution: a later version may only append fields (and raise the number after `A`); this
 * decoder reads the fields it knows from any `A<n>` and ignores the rest. A change that is not an
 * append needs a new letter, which this decoder refuses.
 */
const TAG = 'A1';
const FIELD_COUNT = 11;
const ALERTED_BITS: readonly AlertedStatus[] = ['none', 'baseline', 'sent'];

export function encodeAlertState(state: AlertState): string {
  const flags =
    (state.waiting ? 1 : 0) | (ALERTED_BITS.indexOf(state.alerted) << 1) | (state.deferred ? 8 : 0) | (state.clearedOwed ? 16 : 0);
  const optional = (n: number | undefined): string => (n === undefined ? '' : n.toString(36));
  return [
    TAG,
    state.episode.toString(36),
    flags.toString(36),
    optional(state.waitingSince),
    optional(state.lastAlertAt),
    state.lastAlertTotal.toString(36),
    state.sequence.toString(36),
    state.changes.toString(36),
    state.reminders.toString(36),
    optional(state.dueAt),
    state.policy ?? '',
  ].join('.');
}

export function decodeAlertState(text: string): AlertState {
  const fields = text.split('.');
  if (!/^A[1-9][0-9]*$/.test(fields[0] ?? '') || fields.length < FIELD_COUNT) {
    throw new InvalidAlertStateError(`unreadable alert state ${JSON.stringify(text.slice(0, 80))}`);
  }
  const number = (index: number): number => {
    const raw = fields[index] ?? '';
    const value = /^[0-9a-z]{1,11}$/.test(raw) ? parseInt(raw, 36) : NaN;
    if (!Number.isSafeInteger(value)) throw new InvalidAlertStateError(`unreadable alert state field ${index} in ${JSON.stringify(text.slice(0, 80))}`);
    return value;
  };
  const optional = (index: number): number | undefined => (fields[index] === '' ? undefined : number(index));
  const flags = number(2);
  const alerted = ALERTED_BITS[(flags >> 1) & 3];
  const policy = fields[10] ?? '';
  if (alerted === undefined || !/^[0-9a-f]{0,16}$/.test(policy)) throw new InvalidAlertStateError(`unreadable alert state ${JSON.stringify(text.slice(0, 80))}`);
  const waitingSince = optional(3);
  const lastAlertAt = optional(4);
  const dueAt = optional(9);
  return {
    episode: number(1),
    waiting: (flags & 1) !== 0,
    ...(waitingSince !== undefined ? { waitingSince } : {}),
    alerted,
    ...(lastAlertAt !== undefined ? { lastAlertAt } : {}),
    lastAlertTotal: number(5),
    sequence: number(6),
    changes: number(7),
    reminders: number(8),
    deferred: (flags & 8) !== 0,
    clearedOwed: (flags & 16) !== 0,
    ...(dueAt !== undefined ? { dueAt } : {}),
    ...(policy !== '' ? { policy } : {}),
  };
}
