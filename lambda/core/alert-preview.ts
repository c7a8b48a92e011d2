import { releaseTime } from './alert-clock';
import { adopt, observe } from './alert-episode';
import { alertOf, planAlert, type AlertToSend } from './alert-plan';
import type { AlertPolicy } from './alert-policy';
import type { AlertKind, AlertState } from './alert-state';
import type { UnreadState } from './model';

/**
 * Read-only views of the alert that comes next, for `identities show` ("next due alert") and
 * `preview <id>` (its texts). Nothing here is stored or sent.
 */

export interface NextAlertInput {
  readonly policy: AlertPolicy;
  /** Undefined for an identity never decided. */
  readonly state?: AlertState;
  /** The stored snapshot. */
  readonly current: UnreadState;
  readonly now: number;
}

export interface NextAlert {
  readonly kind: AlertKind;
  /** When it goes out under the current policy: the first cycle at or after this instant. */
  readonly dueAt: number;
  /** The alert as it would be built if it went out at `dueAt` with the stored snapshot. */
  readonly alert: AlertToSend;
}

/** The alert owed or scheduled for this identity under the current policy, or undefined when none is. */
export function nextAlert(input: NextAlertInput): NextAlert | undefined {
  const { policy, current, now } = input;
  const state = observe(input.state ?? adopt(undefined, current, policy, now), current, current, policy, now, []);
  const plan = planAlert(state, current, policy);
  if (!plan) return undefined;
  const dueAt = releaseTime(Math.max(plan.earliest, now), policy);
  return { kind: plan.kind, dueAt, alert: alertOf(plan.kind, state, current, dueAt) };
}

/**
 * What `preview` shows: the next alert if one is owed or scheduled, otherwise a sample `new`
 * alert for the stored snapshot (`sample: true`), so an operator always sees what people get.
 */
export function previewAlert(input: NextAlertInput): { readonly alert: AlertToSend; readonly sample: boolean } {
  const next = nextAlert(input);
  if (next) return { alert: next.alert, sample: false };
  const { current, now } = input;
  const base = input.state ?? adopt(undefined, current, input.policy, now);
  const sample: AlertState = { ...base, alerted: 'none', deferred: false, waitingSince: base.waiting ? (base.waitingSince ?? now) : now, changes: Math.max(1, base.changes) };
  return { alert: alertOf('new', sample, current, now), sample: true };
}
