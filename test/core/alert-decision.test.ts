/**
 * The rules of CONTRACT.md "Alerts for people", one scenario each, on a simulated one-minute
 * cycle with a fake clock. Times are UTC unless the policy names a zone; an alert reads
 * `time kind lastAlertTotal->total (changes folded)`.
 */
import { decideAlert, needsDecision } from '../../lambda/core/alert-decision';
import { alertPolicyFingerprint, BUILT_IN_ALERT_DEFAULTS, type AlertPolicy } from '../../lambda/core/alert-policy';
import { describeAlert, simulate, unread } from '../support/alert-simulation';

const MIN = 60_000;

interface Scenario {
  readonly policy?: Partial<AlertPolicy>;
  /** A policy change: from this time on, these fields. */
  readonly change?: readonly [at: string, fields: Partial<AlertPolicy>];
  /** UTC day of the times (`HH:MM`, or `+1d HH:MM` for the next day). */
  readonly day?: string;
  /** Total unread from each time on; the first entry is the baseline. */
  readonly totals: Readonly<Record<string, number>>;
  readonly until: string;
  readonly everyMinutes?: number;
  readonly alerts: readonly string[];
}

function at(day: string, time: string): number {
  const [, plus, hhmm] = /^(?:\+(\d)d )?(\d\d:\d\d)$/.exec(time) ?? [];
  if (!hhmm) throw new Error(`bad time ${time}`);
  return Date.parse(`${day}T${hhmm}:00Z`) + Number(plus ?? 0) * 86_400_000;
}

function run(s: Scenario): { alerts: string[]; deferred: string[]; dropped: string[] } {
  const day = s.day ?? '2026-02-12';
  const base: AlertPolicy = { ...BUILT_IN_ALERT_DEFAULTS, ...s.policy };
  const changed: AlertPolicy = { ...base, ...s.change?.[1] };
  const snapshots = Object.entries(s.totals).map(([time, total]) => [at(day, time), unread(total)] as const);
  const firstAt = snapshots[0]?.[0] ?? 0;
  const result = simulate({
    start: firstAt,
    end: at(day, s.until),
    everyMs: (s.everyMinutes ?? 1) * MIN,
    snapshots,
    policy: s.change ? (now) => (now >= at(day, s.change![0]) ? changed : base) : base,
    checkSkips: true,
  });
  const day0 = Date.parse(`${day}T00:00:00Z`);
  const hhmm = (t: number): string => new Date(t).toISOString().slice(11, 16);
  return {
    alerts: result.alerts.map((a) => describeAlert(a, day0)),
    deferred: result.deferred.map(([t, kind]) => `${hhmm(t)} ${kind}`),
    dropped: result.dropped.map(([t, kind]) => `${hhmm(t)} ${kind}`),
  };
}

const quietNight = { start: 22 * 60, end: 7 * 60 };

const RULES: readonly (readonly [rule: string, scenario: Scenario])[] = [
  ['a baseline never alerts, however busy', { totals: { '10:00': 1000 }, until: '12:00', alerts: [] }],
  ['below minUnread nothing is sent; reaching it sends `new` at once', {
    policy: { minUnread: 3 },
    totals: { '10:00': 0, '10:02': 2, '10:05': 3 },
    until: '10:30',
    alerts: ['10:05 new 2->3 (1)'],
  }],
  ['waiting at baseline counts as alerted at its total: no alert until it rises above it', {
    totals: { '10:00': 5, '10:02': 4, '10:03': 5 },
    until: '10:30',
    alerts: [],
  }],
  ['waiting at baseline: the first rise above its total alerts at once as `new` (no cooldown running)', {
    totals: { '10:00': 5, '10:01': 6 },
    until: '10:30',
    alerts: ['10:01 new 5->6 (1)'],
  }],
  ['rises within the cooldown fold into one digest when it ends', {
    totals: { '10:00': 0, '10:01': 1, '10:03': 2, '10:05': 4, '10:07': 5 },
    until: '11:00',
    alerts: ['10:01 new 0->1 (1)', '10:16 digest 1->5 (3)'],
  }],
  ['a rise after the cooldown has passed goes out at once as a digest', {
    totals: { '10:00': 0, '10:01': 1, '10:40': 3 },
    until: '11:00',
    alerts: ['10:01 new 0->1 (1)', '10:40 digest 1->3 (1)'],
  }],
  ['no digest when the total is back at or below the last alert by the end of the cooldown', {
    totals: { '10:00': 0, '10:01': 3, '10:03': 5, '10:10': 2 },
    until: '11:00',
    alerts: ['10:01 new 0->3 (1)'],
  }],
  ['a deferred alert whose identity read everything meanwhile is dropped', {
    totals: { '10:00': 0, '10:01': 1, '10:03': 4, '10:10': 0 },
    until: '11:00',
    alerts: ['10:01 new 0->1 (1)'],
  }],
  ['a new episode within the cooldown of the last alert is deferred to its end, as a digest', {
    totals: { '10:00': 0, '10:01': 1, '10:02': 0, '10:05': 2 },
    until: '11:00',
    alerts: ['10:01 new 0->1 (1)', '10:16 digest 0->2 (1)'],
  }],
  ['decreases never alert', {
    totals: { '10:00': 0, '10:01': 9, '10:20': 7, '10:40': 3, '11:00': 0 },
    until: '12:00',
    alerts: ['10:01 new 0->9 (1)'],
  }],
  ['quiet hours across midnight defer to their end: one digest of the current state', {
    policy: { quietHours: quietNight },
    totals: { '21:50': 0, '23:30': 2, '+1d 02:00': 5 },
    until: '+1d 09:00',
    alerts: ['+1d 07:00 digest 0->5 (2)'],
  }],
  ['quiet hours: an identity that read everything before their end gets nothing', {
    policy: { quietHours: quietNight },
    totals: { '21:50': 0, '23:30': 2, '+1d 03:00': 0 },
    until: '+1d 09:00',
    alerts: [],
  }],
  ['quiet hours in Europe/Berlin are local: 22:00-07:00 is 21:00-06:00 UTC in winter', {
    policy: { quietHours: quietNight, timeZone: 'Europe/Berlin' },
    totals: { '20:00': 0, '20:59': 1, '21:00': 2 },
    until: '+1d 07:00',
    alerts: ['20:59 new 0->1 (1)', '+1d 06:00 digest 1->2 (1)'],
  }],
  ['Europe/Berlin spring-forward night: quiet until 07:00 CEST (05:00 UTC)', {
    day: '2026-03-28',
    policy: { quietHours: quietNight, timeZone: 'Europe/Berlin' },
    totals: { '20:00': 0, '23:00': 3 },
    until: '+1d 08:00',
    alerts: ['+1d 05:00 digest 0->3 (1)'],
  }],
  ['Europe/Berlin fall-back night: quiet until 07:00 CET (06:00 UTC)', {
    day: '2026-10-24',
    policy: { quietHours: quietNight, timeZone: 'Europe/Berlin' },
    totals: { '19:00': 0, '23:00': 3 },
    until: '+1d 08:00',
    alerts: ['+1d 06:00 digest 0->3 (1)'],
  }],
  ['America/New_York spring-forward night: a window ending in the skipped hour ends at the jump (03:00 EDT)', {
    day: '2026-03-08',
    policy: { quietHours: { start: 0, end: 2 * 60 + 30 }, timeZone: 'America/New_York' },
    totals: { '04:00': 0, '05:30': 3 },
    until: '09:00',
    alerts: ['07:00 digest 0->3 (1)'],
  }],
  ['America/New_York fall-back night: a window ending in the repeated hour ends at its first 01:30 (EDT), not again at the second', {
    day: '2026-11-01',
    policy: { quietHours: { start: 22 * 60, end: 90 }, timeZone: 'America/New_York' },
    totals: { '01:00': 0, '04:00': 3, '06:10': 4 },
    until: '09:00',
    alerts: ['05:30 digest 0->3 (1)', '06:10 digest 3->4 (1)'],
  }],
  ['reminders: still waiting remindAfter after the last alert, up to maxReminders per episode', {
    policy: { remindAfter: 30 * MIN, maxReminders: 2 },
    totals: { '10:00': 0, '10:01': 5 },
    until: '13:00',
    alerts: ['10:01 new 0->5 (1)', '10:31 reminder 5->5 (0)', '11:01 reminder 5->5 (0)'],
  }],
  ['reminders count from the last alert of any kind and never come before the cooldown', {
    policy: { remindAfter: 5 * MIN, cooldown: 15 * MIN, maxReminders: 1 },
    totals: { '10:00': 0, '10:01': 1, '10:05': 3 },
    until: '11:00',
    alerts: ['10:01 new 0->1 (1)', '10:16 digest 1->3 (1)', '10:31 reminder 3->3 (0)'],
  }],
  ['a new episode starts a new count of reminders', {
    policy: { remindAfter: 30 * MIN, maxReminders: 1, cooldown: 0 },
    totals: { '10:00': 0, '10:01': 2, '11:00': 0, '11:10': 1 },
    until: '12:00',
    alerts: ['10:01 new 0->2 (1)', '10:31 reminder 2->2 (0)', '11:10 new 0->1 (1)', '11:40 reminder 1->1 (0)'],
  }],
  ['cleared (notifyCleared) when an alerted episode ends, at once outside quiet hours', {
    policy: { notifyCleared: true },
    totals: { '10:00': 0, '10:01': 4, '10:20': 0 },
    until: '11:00',
    alerts: ['10:01 new 0->4 (1)', '10:20 cleared 4->0 (0)'],
  }],
  ['cleared ignores the cooldown', {
    policy: { notifyCleared: true },
    totals: { '10:00': 0, '10:01': 4, '10:03': 0 },
    until: '11:00',
    alerts: ['10:01 new 0->4 (1)', '10:03 cleared 4->0 (0)'],
  }],
  ['cleared inside quiet hours is deferred to their end', {
    policy: { notifyCleared: true, quietHours: quietNight },
    totals: { '21:00': 0, '21:01': 4, '23:00': 0 },
    until: '+1d 09:00',
    alerts: ['21:01 new 0->4 (1)', '+1d 07:00 cleared 4->0 (0)'],
  }],
  ['a deferred cleared is dropped when a new episode began meanwhile', {
    policy: { notifyCleared: true, quietHours: quietNight },
    totals: { '21:00': 0, '21:01': 4, '23:00': 0, '+1d 03:00': 2 },
    until: '+1d 09:00',
    alerts: ['21:01 new 0->4 (1)', '+1d 07:00 digest 0->2 (1)'],
  }],
  ['no cleared without notifyCleared, nor for an episode that only counted as alerted at baseline', {
    policy: { notifyCleared: true },
    totals: { '10:00': 5, '10:30': 0 },
    until: '11:00',
    alerts: [],
  }],
  ['snooze defers every alert until its end, then one digest', {
    policy: { snoozeUntil: Date.parse('2026-02-12T12:00:00Z') },
    totals: { '10:00': 0, '10:01': 1, '11:00': 3 },
    until: '13:00',
    alerts: ['12:00 digest 0->3 (2)'],
  }],
  ['quiet hours turned off: the deferred digest is due at the next cycle', {
    policy: { quietHours: quietNight },
    change: ['23:30', { quietHours: null }],
    totals: { '21:00': 0, '23:00': 2 },
    until: '+1d 09:00',
    alerts: ['23:30 digest 0->2 (1)'],
  }],
  ['a longer cooldown set meanwhile moves the pending digest later', {
    change: ['10:05', { cooldown: 60 * MIN }],
    totals: { '10:00': 0, '10:01': 1, '10:03': 2 },
    until: '12:00',
    alerts: ['10:01 new 0->1 (1)', '11:01 digest 1->2 (1)'],
  }],
  ['reminders turned on later are scheduled from the last alert', {
    change: ['10:30', { remindAfter: 60 * MIN, maxReminders: 1 }],
    totals: { '10:00': 0, '10:01': 1 },
    until: '13:00',
    alerts: ['10:01 new 0->1 (1)', '11:01 reminder 1->1 (0)'],
  }],
  ['a due alert goes out in the first cycle at or after its due time (7-minute cycle)', {
    everyMinutes: 7,
    totals: { '10:00': 0, '10:07': 1, '10:14': 2 },
    until: '11:00',
    alerts: ['10:07 new 0->1 (1)', '10:28 digest 1->2 (1)'],
  }],
];

describe('decideAlert on a one-minute cycle', () => {
  test.each(RULES)('%s', (_rule, scenario) => {
    expect(run(scenario).alerts).toEqual(scenario.alerts);
  });
});

describe('decideAlert outcomes for metrics', () => {
  test('a rise within the cooldown is reported deferred once, and sent later', () => {
    const result = run(RULES.find(([rule]) => rule.startsWith('rises within the cooldown'))![1]);
    expect(result.deferred).toEqual(['10:03 digest']);
    expect(result.dropped).toEqual([]);
  });

  test('a deferred alert that will never go out is reported dropped', () => {
    const result = run(RULES.find(([rule]) => rule.startsWith('a deferred alert whose identity read everything'))![1]);
    expect(result.deferred).toEqual(['10:03 digest']);
    expect(result.dropped).toEqual(['10:10 digest']);
  });

  test('a deferred cleared overtaken by a new episode is reported dropped', () => {
    const result = run(RULES.find(([rule]) => rule.startsWith('a deferred cleared is dropped'))![1]);
    expect(result.deferred).toEqual(['23:00 cleared', '03:00 new']);
    expect(result.dropped).toEqual(['03:00 cleared']);
  });
});

describe('decideAlert on its own', () => {
  const policy = BUILT_IN_ALERT_DEFAULTS;
  const now = Date.parse('2026-02-12T10:00:00Z');

  test('an identity registered before alerts existed is adopted at its stored snapshot: a rise above it alerts as new', () => {
    const decision = decideAlert({ policy, previous: unread(5), next: unread(6), now, isBaseline: false });
    expect(decision.alert).toMatchObject({ kind: 'new', total: 6, lastAlertTotal: 5, episode: 1, sequence: 1 });
  });

  test('an identity registered before alerts existed gets no alert for a decrease', () => {
    const decision = decideAlert({ policy, previous: unread(5), next: unread(4), now, isBaseline: false });
    expect(decision.alert).toBeUndefined();
    expect(decision.state).toMatchObject({ waiting: true, alerted: 'baseline', lastAlertTotal: 5 });
  });

  test('an idle identity costs nothing: no decision is needed and none is scheduled', () => {
    const { state } = decideAlert({ policy, next: unread(0), now, isBaseline: true });
    expect(state.dueAt).toBeUndefined();
    expect(needsDecision(state, alertPolicyFingerprint(policy), now + 3_600_000, false)).toBe(false);
  });

  test('a policy change is noticed while something is in flight, and only then', () => {
    const waiting = decideAlert({ policy, next: unread(3), now, isBaseline: true }).state;
    const idle = decideAlert({ policy, next: unread(0), now, isBaseline: true }).state;
    const other = alertPolicyFingerprint({ ...policy, cooldown: 5 * MIN });
    expect(needsDecision(waiting, other, now, false)).toBe(true);
    expect(needsDecision(idle, other, now, false)).toBe(false);
  });

  test('a time-only check before the due time is not needed; at it, it is', () => {
    const first = decideAlert({ policy, previous: unread(0), next: unread(1), now, isBaseline: false }).state;
    const { state } = decideAlert({ policy, state: first, previous: unread(1), next: unread(2), now: now + MIN, isBaseline: false });
    expect(state.dueAt).toBe(now + 15 * MIN);
    const fingerprint = alertPolicyFingerprint(policy);
    expect(needsDecision(state, fingerprint, now + 15 * MIN - 1, false)).toBe(false);
    expect(needsDecision(state, fingerprint, now + 15 * MIN, false)).toBe(true);
  });

  test('refuses to decide without any snapshot', () => {
    expect(() => decideAlert({ policy, now, isBaseline: false })).toThrow('needs the stored or the new snapshot');
  });
});
