/**
 * A poll cycle reduced to its alert part, for tests: every `everyMs` the identity is "polled"
 * (the latest scripted snapshot), and the cycle calls the pure decision exactly as the real one
 * must: on a change, or on a time-only check when `needsDecision` says so; the state goes through
 * its string encoding between cycles, as it would through the store.
 */
import { decideAlert, needsDecision, type AlertToSend } from '../../lambda/core/alert-decision';
import { alertPolicyFingerprint, type AlertPolicy } from '../../lambda/core/alert-policy';
import { decodeAlertState, encodeAlertState, type AlertKind } from '../../lambda/core/alert-state';
import { diffUnread } from '../../lambda/core/diff';
import { normalizeState, type UnreadState } from '../../lambda/core/model';

export interface SimulationInput {
  /** Epoch ms of the first cycle, which records the baseline. */
  readonly start: number;
  /** The last cycle runs at or before this. */
  readonly end: number;
  readonly everyMs?: number;
  /** Scripted snapshots, sorted by time; the first must be at or before `start`. */
  readonly snapshots: readonly (readonly [at: number, state: UnreadState])[];
  readonly policy: AlertPolicy | ((now: number) => AlertPolicy);
  /** Also decide in cycles where `needsDecision` said no, and fail unless that changed nothing. */
  readonly checkSkips?: boolean;
}

export interface CycleRecord {
  readonly at: number;
  readonly snapshot: UnreadState;
  readonly policy: AlertPolicy;
  /** The stored alert state after this cycle, encoded. */
  readonly encodedState: string;
  readonly alert?: AlertToSend;
}

export interface SimulationResult {
  readonly alerts: readonly AlertToSend[];
  readonly deferred: readonly (readonly [at: number, kind: AlertKind])[];
  readonly dropped: readonly (readonly [at: number, kind: AlertKind])[];
  readonly cycles: readonly CycleRecord[];
  readonly decisions: number;
}

/** A state with one conversation per unit of total up to 3, so conversations move too. */
export function unread(total: number): UnreadState {
  const conversations = [0, 1, 2].map((i) => ({
    objectId: String(396001 + i),
    streamId: '19155',
    unread: Math.floor(total / 3) + (i < total % 3 ? 1 : 0),
  }));
  return normalizeState(total, conversations);
}

export function simulate(input: SimulationInput): SimulationResult {
  const every = input.everyMs ?? 60_000;
  const policyAt = typeof input.policy === 'function' ? input.policy : () => input.policy as AlertPolicy;
  const alerts: AlertToSend[] = [];
  const deferred: [number, AlertKind][] = [];
  const dropped: [number, AlertKind][] = [];
  const cycles: CycleRecord[] = [];
  let stored: UnreadState | undefined;
  let encoded: string | undefined;
  let decisions = 0;
  let index = 0;
  const fingerprints = new Map<AlertPolicy, string>();
  const fingerprintOf = (policy: AlertPolicy): string => {
    const known = fingerprints.get(policy) ?? alertPolicyFingerprint(policy);
    fingerprints.set(policy, known);
    return known;
  };
  for (let now = input.start; now <= input.end; now += every) {
    while (index + 1 < input.snapshots.length && (input.snapshots[index + 1]?.[0] ?? Infinity) <= now) index++;
    const polled = input.snapshots[index]?.[1];
    if (!polled) throw new Error('no snapshot at the first cycle');
    const policy = policyAt(now);
    const state = encoded === undefined ? undefined : decodeAlertState(encoded);
    const changed = stored !== undefined && diffUnread(stored, polled) !== undefined;
    let alert: AlertToSend | undefined;
    if (stored === undefined || needsDecision(state, fingerprintOf(policy), now, changed)) {
      const decision = decideAlert({ policy, state, previous: stored, next: changed || stored === undefined ? polled : undefined, now, isBaseline: stored === undefined });
      decisions++;
      alert = decision.alert;
      if (alert) alerts.push(alert);
      for (const kind of decision.deferred) deferred.push([now, kind]);
      for (const kind of decision.dropped) dropped.push([now, kind]);
      encoded = encodeAlertState(decision.state);
      if (changed || stored === undefined) stored = polled;
    } else if (input.checkSkips && state) {
      const skipped = decideAlert({ policy, state, previous: stored, now, isBaseline: false });
      if (skipped.alert || encodeAlertState(skipped.state) !== encoded) {
        throw new Error(`a skipped cycle at ${new Date(now).toISOString()} would have changed ${encoded} to ${encodeAlertState(skipped.state)}`);
      }
    }
    cycles.push({ at: now, snapshot: polled, policy, encodedState: encoded ?? '', ...(alert ? { alert } : {}) });
  }
  return { alerts, deferred, dropped, cycles, decisions };
}

/** `10:16 digest 1->5 (3)`: UTC time of day, prefixed `+1d ` on later days than `day0`. */
export function describeAlert(alert: AlertToSend, day0: number): string {
  const days = Math.floor((alert.observedAt - day0) / 86_400_000);
  const time = new Date(alert.observedAt).toISOString().slice(11, 16);
  return `${days > 0 ? `+${days}d ` : ''}${time} ${alert.kind} ${alert.lastAlertTotal}->${alert.total} (${alert.changes})`;
}
