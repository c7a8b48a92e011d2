import type { AlertPolicy } from './alert-policy';
import type { AlertKind, AlertState } from './alert-state';
import type { ConversationUnread, UnreadState } from './model';

/**
 * The second stage of a decision: from the state after the observation, what alert is owed or
 * scheduled next and from when (before snooze and quiet hours), and what sending it does.
 * Shared by the decision and by `nextAlert` (what `identities show` and `preview` display).
 */

/** Everything an alert event needs that the identity's registration does not hold. */
export interface AlertToSend {
  readonly kind: AlertKind;
  readonly episode: number;
  readonly sequence: number;
  readonly total: number;
  /** What people last heard: the last alert's total, or the total just before this episode. */
  readonly lastAlertTotal: number;
  /** Rises folded since the last alert (0 for `reminder` and `cleared`). */
  readonly changes: number;
  readonly waitingSince: number;
  /** The previous alert of this episode, which texts say "since"; undefined for its first. */
  readonly lastAlertAt?: number;
  /** The current state's conversations (the stored one for a time-only check). */
  readonly conversations: readonly ConversationUnread[];
  readonly observedAt: number;
}

export interface AlertPlan {
  readonly kind: AlertKind;
  /** Epoch ms from which the cooldown allows it (-Infinity: at once); quiet hours and snooze come on top. */
  readonly earliest: number;
}

/** What is owed or scheduled next, and its earliest time before snooze and quiet hours. */
export function planAlert(state: AlertState, current: UnreadState, policy: AlertPolicy): AlertPlan | undefined {
  const cooldownEnd = state.lastAlertAt === undefined ? -Infinity : state.lastAlertAt + policy.cooldown;
  if (state.waiting) {
    if (state.alerted === 'none' || current.total > state.lastAlertTotal) {
      const kind = state.deferred || state.alerted === 'sent' ? 'digest' : 'new';
      return { kind, earliest: cooldownEnd };
    }
    if (state.alerted === 'sent' && policy.remindAfter !== null && state.reminders < policy.maxReminders && state.lastAlertAt !== undefined) {
      return { kind: 'reminder', earliest: state.lastAlertAt + Math.max(policy.remindAfter, policy.cooldown) };
    }
    return undefined;
  }
  return state.clearedOwed ? { kind: 'cleared', earliest: -Infinity } : undefined;
}

export function alertOf(kind: AlertKind, state: AlertState, current: UnreadState, now: number): AlertToSend {
  const folds = kind === 'new' || kind === 'digest';
  const since = kind === 'cleared' || state.alerted === 'sent' ? state.lastAlertAt : undefined;
  return {
    kind,
    episode: state.episode,
    sequence: state.sequence + 1,
    total: current.total,
    lastAlertTotal: state.lastAlertTotal,
    changes: folds ? state.changes : 0,
    waitingSince: state.waitingSince ?? now,
    ...(since !== undefined ? { lastAlertAt: since } : {}),
    conversations: current.conversations,
    observedAt: now,
  };
}

export function afterSending(kind: AlertKind, state: AlertState, total: number, now: number): AlertState {
  if (kind === 'cleared') return { ...state, sequence: state.sequence + 1, clearedOwed: false, lastAlertTotal: total };
  return {
    ...state,
    sequence: state.sequence + 1,
    alerted: 'sent',
    lastAlertAt: now,
    lastAlertTotal: total,
    changes: 0,
    deferred: false,
    reminders: state.reminders + (kind === 'reminder' ? 1 : 0),
  };
}
