/**
 * Design note: the alert decisions of CONTRACT.md "Alerts for people", as one pure function.
 *
 * decideAlert(policy, state, previous, next?, now) -> (alert?, state'). The cycle calls it when a
 * snapshot changed, and for a time-only check (no `next`) when `needsDecision` says so: the stored
 * `dueAt` has come, or the policy's fingerprint differs from the one the state was computed with
 * while something is in flight. Otherwise an identity costs nothing: no decision, no write.
 *
 * Nothing owed is ever stored as a message; it is derived from the state each time:
 * - while waiting and nothing was said in this episode, or the total is above `lastAlertTotal`,
 *   an alert is owed; its earliest time is the end of the cooldown of the last alert (at once
 *   when there is none: a fresh identity, or a baseline);
 * - else, while waiting after a real alert, a `reminder` is scheduled at the last alert +
 *   max(remindAfter, cooldown), while fewer than `maxReminders` went out in this episode;
 * - else, after an alerted episode ended with `notifyCleared`, a `cleared` is owed at once.
 * The earliest time is then pushed past snooze and quiet hours (`releaseTime`). The alert goes
 * out when that is now; otherwise `dueAt` records it. Because every decision recomputes from
 * the state and the current policy, a policy change re-times deferred alerts (quiet hours
 * turned off: the deferred digest is due at once), and a deferral cannot be lost while the
 * identity keeps waiting: it stays owed until sent, or dropped when the identity stops waiting
 * or reads back down to what people last heard.
 *
 * Kinds: `new` is the first alert of an episode sent at once, by the rise that owes it (also the
 * first rise above a waiting baseline). An alert that had to wait (cooldown, quiet hours, snooze)
 * goes out as a `digest` of the current state with the rises folded meanwhile, as do later alerts
 * of the episode. `cleared` ignores the cooldown (good news should not wait and would be dropped
 * by the next episode) and starts none, but respects quiet hours and snooze. So: at most one
 * `new`/`digest`/`reminder` per cooldown per identity; `cleared` is exempt.
 */
import { releaseTime } from './alert-clock';
import { adopt, observe } from './alert-episode';
import { afterSending, alertOf, planAlert, type AlertToSend } from './alert-plan';
import { alertPolicyFingerprint, type AlertPolicy } from './alert-policy';
import type { AlertKind, AlertState } from './alert-state';
import type { UnreadState } from './model';

export type { AlertKind } from './alert-state';
export type { AlertToSend } from './alert-plan';

export interface AlertDecisionInput {
  readonly policy: AlertPolicy;
  /** Undefined for an identity never decided (new, or registered before alerts existed). */
  readonly state?: AlertState;
  /** The stored snapshot; undefined only at a baseline. */
  readonly previous?: UnreadState;
  /** The newly polled snapshot; undefined for a time-only check. */
  readonly next?: UnreadState;
  /** Epoch ms of this decision: the cycle's clock. */
  readonly now: number;
  /** The first successful poll: records the state, never alerts. */
  readonly isBaseline: boolean;
}

export interface AlertDecision {
  readonly alert?: AlertToSend;
  /** Store it when `encodeAlertState` of it differs from what is stored. */
  readonly state: AlertState;
  /** Alerts that became owed in this decision but are held back (for the "deferred" metric). */
  readonly deferred: readonly AlertKind[];
  /** Owed alerts that will now never go out (for the "dropped" metric). */
  readonly dropped: readonly AlertKind[];
}

/**
 * Cheap (no time-zone work): whether the cycle must call `decideAlert` for this identity.
 * `changed` = the poll found a different snapshot. An identity without state is adopted at its
 * next change. A policy change matters only while something is in flight.
 */
export function needsDecision(state: AlertState | undefined, policyFingerprint: string, now: number, changed: boolean): boolean {
  if (changed) return true;
  if (!state) return false;
  if (state.dueAt !== undefined && now >= state.dueAt) return true;
  const inFlight = state.waiting || state.clearedOwed || state.dueAt !== undefined;
  return inFlight && state.policy !== policyFingerprint;
}

export function decideAlert(input: AlertDecisionInput): AlertDecision {
  const { policy, now } = input;
  const current = input.next ?? input.previous;
  if (!current) throw new Error('decideAlert needs the stored or the new snapshot');
  const fingerprint = alertPolicyFingerprint(policy);
  if (input.isBaseline) {
    return { state: { ...adopt(input.state, current, policy, now), policy: fingerprint }, deferred: [], dropped: [] };
  }
  const before = input.state ?? adopt(undefined, input.previous ?? current, policy, now);
  const dropped: AlertKind[] = [];
  let state = observe(before, input.previous, current, policy, now, dropped);
  if (state.clearedOwed && !policy.notifyCleared) {
    dropped.push('cleared');
    state = { ...state, clearedOwed: false };
  }
  const plan = planAlert(state, current, policy);
  if (state.deferred && plan?.kind !== 'digest') {
    dropped.push('digest');
    state = { ...state, deferred: false };
  }
  const deferred: AlertKind[] = [];
  let alert: AlertToSend | undefined;
  if (plan && plan.earliest <= now && releaseTime(now, policy) === now) {
    alert = alertOf(plan.kind, state, current, now);
    state = afterSending(plan.kind, state, current.total, now);
  } else if (plan && (plan.kind === 'new' || plan.kind === 'digest') && !state.deferred) {
    deferred.push(plan.kind);
    state = { ...state, deferred: true };
  } else if (plan?.kind === 'cleared' && !before.clearedOwed) {
    deferred.push('cleared');
  }
  const next = planAlert(state, current, policy);
  const dueAt = next ? releaseTime(Math.max(next.earliest, now), policy) : undefined;
  return { ...(alert ? { alert } : {}), state: scheduled(state, dueAt, fingerprint), deferred, dropped };
}

function scheduled(state: AlertState, dueAt: number | undefined, policy: string): AlertState {
  const copy: { -readonly [K in keyof AlertState]: AlertState[K] } = { ...state, policy };
  if (dueAt === undefined) delete copy.dueAt;
  else copy.dueAt = dueAt;
  return copy;
}
