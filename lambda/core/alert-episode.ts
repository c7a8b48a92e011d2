import type { AlertPolicy } from './alert-policy';
import { INITIAL_ALERT_STATE, type AlertKind, type AlertState } from './alert-state';
import type { UnreadState } from './model';

/**
 * The first stage of a decision: what the observed snapshot means for the waiting episode
 * (start, end, a rise to fold), before anything is sent or scheduled.
 */

/**
 * A fresh state at `current`, keeping the counters that make eventIds unique. Used for a
 * baseline, and for an identity that has no alert state yet (registered before alerts existed):
 * if it is waiting, it counts as alerted at this total with no cooldown running.
 */
export function adopt(previous: AlertState | undefined, current: UnreadState, policy: AlertPolicy, now: number): AlertState {
  const waiting = current.total >= policy.minUnread;
  const counters = previous ?? INITIAL_ALERT_STATE;
  return {
    ...INITIAL_ALERT_STATE,
    episode: counters.episode + (waiting ? 1 : 0),
    sequence: counters.sequence,
    waiting,
    ...(waiting ? { waitingSince: now } : counters.waitingSince !== undefined ? { waitingSince: counters.waitingSince } : {}),
    alerted: waiting ? 'baseline' : 'none',
    lastAlertTotal: waiting ? current.total : 0,
  };
}

/**
 * Applies one observation. `previous` is the stored snapshot; `current` is the new one, or the
 * same object for a time-only check. A policy change alone can also start or end an episode
 * (a new `minUnread`): an episode started without a rise counts as alerted, like a baseline.
 */
export function observe(
  state: AlertState,
  previous: UnreadState | undefined,
  current: UnreadState,
  policy: AlertPolicy,
  now: number,
  dropped: AlertKind[],
): AlertState {
  const waiting = current.total >= policy.minUnread;
  if (!state.waiting && waiting) {
    if (state.clearedOwed) dropped.push('cleared');
    const byRise = previous !== undefined && current.total > previous.total;
    return {
      ...state,
      episode: state.episode + 1,
      waiting: true,
      waitingSince: now,
      alerted: byRise ? 'none' : 'baseline',
      lastAlertTotal: byRise ? previous.total : current.total,
      changes: byRise ? 1 : 0,
      reminders: 0,
      deferred: false,
      clearedOwed: false,
    };
  }
  if (state.waiting && !waiting) {
    if (state.deferred) dropped.push('digest');
    return {
      ...state,
      waiting: false,
      alerted: 'none',
      changes: 0,
      reminders: 0,
      deferred: false,
      clearedOwed: state.alerted === 'sent' && policy.notifyCleared,
    };
  }
  if (waiting && previous !== undefined && previous !== current && hasRisen(previous, current)) {
    return { ...state, changes: state.changes + 1 };
  }
  return state;
}

/** Someone has something new: the total rose, or some conversation gained unread messages. */
export function hasRisen(previous: UnreadState, next: UnreadState): boolean {
  if (next.total > previous.total) return true;
  const before = new Map(previous.conversations.map((c) => [c.objectId, c.unread]));
  return next.conversations.some((c) => c.unread > (before.get(c.objectId) ?? 0));
}
