/**
 * The CONTRACT's alert rules as properties over random policies and random unread histories,
 * on a simulated one-minute cycle. A small model, written from the CONTRACT and independent of
 * the implementation's state, walks every cycle and checks each alert that went out (safety)
 * and each cycle in which one was owed and allowed but none went out (liveness).
 *
 * Quiet hours are checked against the wall clock read by a separate Intl formatter. Within three
 * hours of a clock change the two definitions may differ by design (see alert-clock.ts: window
 * boundaries in a skipped or repeated hour), so there only the snooze and cooldown are checked.
 */
import fc from 'fast-check';
import type { AlertPolicy } from '../../lambda/core/alert-policy';
import { BUILT_IN_ALERT_DEFAULTS } from '../../lambda/core/alert-policy';
import { simulate, unread, type SimulationResult } from '../support/alert-simulation';

const MIN = 60_000;
const HOUR = 60 * MIN;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];
/** Starts near clock changes in those zones, and on an ordinary day. */
const STARTS = ['2026-02-12T00:00:00Z', '2026-03-07T20:00:00Z', '2026-03-28T18:00:00Z', '2026-10-03T06:00:00Z', '2026-10-24T18:00:00Z', '2026-10-31T20:00:00Z'].map(Date.parse);

const oracleFormatters = new Map<string, Intl.DateTimeFormat>();
function oracle(zone: string): Intl.DateTimeFormat {
  let f = oracleFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset' });
    oracleFormatters.set(zone, f);
  }
  return f;
}
function part(t: number, zone: string, type: Intl.DateTimeFormatPartTypes): string {
  return oracle(zone).formatToParts(t).find((p) => p.type === type)?.value ?? '';
}
function wallMinute(t: number, zone: string): number {
  return (Number(part(t, zone, 'hour')) % 24) * 60 + Number(part(t, zone, 'minute'));
}
function nearClockChange(t: number, zone: string): boolean {
  return part(t - 3 * HOUR, zone, 'timeZoneName') !== part(t + 3 * HOUR, zone, 'timeZoneName');
}
function wallQuiet(t: number, policy: AlertPolicy): boolean {
  const q = policy.quietHours;
  if (!q) return false;
  const m = wallMinute(t, policy.timeZone);
  return q.start < q.end ? q.start <= m && m < q.end : m >= q.start || m < q.end;
}

const quarterHour = fc.integer({ min: 0, max: 95 }).map((n) => n * 15);
const policyArb: fc.Arbitrary<(start: number) => AlertPolicy> = fc
  .record({
    minUnread: fc.integer({ min: 1, max: 4 }),
    cooldown: fc.constantFrom(0, 5, 15, 45).map((m) => m * MIN),
    quietHours: fc.option(fc.tuple(quarterHour, quarterHour).filter(([s, e]) => s !== e).map(([start, end]) => ({ start, end })), { nil: null, freq: 2 }),
    timeZone: fc.constantFrom(...ZONES),
    remindAfter: fc.option(fc.integer({ min: 5, max: 120 }).map((m) => m * MIN), { nil: null, freq: 2 }),
    maxReminders: fc.integer({ min: 0, max: 3 }),
    notifyCleared: fc.boolean(),
    // fc.option gives "off" one time in freq: one in two here (its default, 5, would hide the plain path).
    snoozeHours: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null, freq: 2 }),
  })
  .map(({ snoozeHours, ...rest }) => (start: number) => ({ ...BUILT_IN_ALERT_DEFAULTS, ...rest, snoozeUntil: snoozeHours === null ? null : start + snoozeHours * HOUR }));

/** A history: the baseline total, then (minutes later, new total) steps. */
const historyArb = fc.record({
  start: fc.tuple(fc.constantFrom(...STARTS), fc.integer({ min: 0, max: 23 })).map(([t, h]) => t + h * HOUR),
  baseline: fc.integer({ min: 0, max: 6 }),
  // Gaps mostly within a cooldown (folding) and sometimes hours long (quiet hours, reminders).
  steps: fc.array(fc.tuple(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 240 })), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 14 }),
});

function run(makePolicy: (start: number) => AlertPolicy, history: { start: number; baseline: number; steps: [number, number][] }, checkSkips = false): { policy: AlertPolicy; result: SimulationResult } {
  const policy = makePolicy(history.start);
  let t = history.start;
  const snapshots: [number, ReturnType<typeof unread>][] = [[t, unread(history.baseline)]];
  for (const [gap, total] of history.steps) snapshots.push([(t += gap * MIN), unread(total)]);
  const result = simulate({ start: history.start, end: t + 12 * HOUR, snapshots, policy, checkSkips });
  return { policy, result };
}

/** Walks the cycles with the CONTRACT's rules; throws at the first cycle that breaks one. */
function checkRules(policy: AlertPolicy, result: SimulationResult): void {
  const [first, ...rest] = result.cycles;
  if (!first) return;
  let waiting = first.snapshot.total >= policy.minUnread;
  let episodeAlerted = waiting; // a waiting baseline counts as alerted at its total
  let realAlert = false;
  let reported = first.snapshot.total;
  let lastAlertAt = -Infinity;
  let reminders = 0;
  let clearedOwed = false;
  let previousTotal = first.snapshot.total;
  for (const cycle of rest) {
    const { at: t, snapshot, alert } = cycle;
    const total = snapshot.total;
    const where = `at ${new Date(t).toISOString()} (total ${total}, alert ${alert?.kind ?? 'none'})`;
    if (!waiting && total >= policy.minUnread) [episodeAlerted, realAlert, reminders, clearedOwed] = [false, false, 0, false];
    if (waiting && total < policy.minUnread) clearedOwed = policy.notifyCleared && realAlert;
    waiting = total >= policy.minUnread;
    const unreported = waiting && (!episodeAlerted || total > reported);
    const owedAlert = unreported && t >= lastAlertAt + policy.cooldown;
    const remindAt = policy.remindAfter === null ? Infinity : lastAlertAt + Math.max(policy.remindAfter, policy.cooldown);
    const owedReminder = waiting && !unreported && realAlert && reminders < policy.maxReminders && t >= remindAt;
    const owedCleared = !waiting && clearedOwed;
    const snoozed = policy.snoozeUntil !== null && t < policy.snoozeUntil;
    const reliable = (): boolean => policy.quietHours === null || !nearClockChange(t, policy.timeZone);
    if (alert) {
      if (snoozed) throw new Error(`alert while snoozed ${where}`);
      if (wallQuiet(t, policy) && reliable()) throw new Error(`alert inside quiet hours ${where}`);
      if (alert.kind === 'new' || alert.kind === 'digest') {
        if (!owedAlert) throw new Error(`${alert.kind} that was not owed (a decrease, nothing new, or within the cooldown) ${where}`);
        if (alert.kind === 'new' && (realAlert || total === previousTotal)) throw new Error(`new that is not the first, immediate alert of its episode ${where}`);
        [episodeAlerted, realAlert, reported, lastAlertAt] = [true, true, total, t];
      } else if (alert.kind === 'reminder') {
        if (!owedReminder) throw new Error(`reminder that was not due ${where}`);
        [reported, lastAlertAt, reminders] = [total, t, reminders + 1];
      } else {
        if (!owedCleared) throw new Error(`cleared that was not owed ${where}`);
        clearedOwed = false;
      }
    } else if ((owedAlert || owedReminder || owedCleared) && !snoozed && !wallQuiet(t, policy) && reliable()) {
      throw new Error(`an owed ${owedAlert ? 'alert' : owedReminder ? 'reminder' : 'cleared'} was not sent ${where}`);
    }
    previousTotal = total;
  }
}

describe('alert decisions over random histories (one-minute cycle)', () => {
  test('every alert obeys quiet hours, snooze, cooldown and owing; every owed and allowed alert goes out at once', () => {
    fc.assert(
      fc.property(policyArb, historyArb, (makePolicy, history) => {
        const { policy, result } = run(makePolicy, history);
        checkRules(policy, result);
      }),
      { numRuns: 100 },
    );
  });

  test('at most one new/digest/reminder per cooldown per identity (cleared is exempt)', () => {
    fc.assert(
      fc.property(policyArb, historyArb, (makePolicy, history) => {
        const { policy, result } = run(makePolicy, history);
        const counted = result.alerts.filter((a) => a.kind !== 'cleared').map((a) => a.observedAt);
        counted.forEach((t, i) => i === 0 || expect(t - counted[i - 1]!).toBeGreaterThanOrEqual(Math.max(policy.cooldown, 1)));
      }),
      { numRuns: 50 },
    );
  });

  test('an episode gets at most one new, and its first alert is a new or a digest', () => {
    fc.assert(
      fc.property(policyArb, historyArb, (makePolicy, history) => {
        const { result } = run(makePolicy, history);
        const byEpisode = new Map<number, string[]>();
        for (const a of result.alerts) if (a.kind !== 'cleared') byEpisode.set(a.episode, [...(byEpisode.get(a.episode) ?? []), a.kind]);
        for (const kinds of byEpisode.values()) {
          expect(kinds.filter((k) => k === 'new').length).toBeLessThanOrEqual(1);
          expect(['new', 'digest']).toContain(kinds[0]);
        }
      }),
      { numRuns: 50 },
    );
  });

  test('skipping cycles that needsDecision rules out never changes anything, and alert ids never repeat', () => {
    fc.assert(
      fc.property(policyArb, historyArb, (makePolicy, history) => {
        const { result } = run(makePolicy, history, true);
        const ids = result.alerts.map((a) => `${a.episode}/${a.sequence}`);
        expect(new Set(ids).size).toBe(ids.length);
      }),
      { numRuns: 20 },
    );
  });
});
