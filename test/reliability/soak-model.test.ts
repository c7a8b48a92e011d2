/**
 * The soak's model must not be vacuous: each check flags the history that breaks it. A small
 * consistent history (baseline, two published transitions) passes every check; each test
 * breaks it in one way and expects that check, and only what it implies, to complain.
 */
import { buildEvent } from '../../lambda/core/event-builder';
import { diffUnread } from '../../lambda/core/diff';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadChangedEvent, type UnreadState } from '../../lambda/core/model';
import { buildAlertNotice, type AlertNotice } from '../../lambda/core/alert-event';
import { BUILT_IN_ALERT_DEFAULTS, type AlertPolicy } from '../../lambda/core/alert-policy';
import type { AlertKind } from '../../lambda/core/alert-state';
import { alertEventToJson } from '../../lambda/core/alert-publication';
import { eventToJson } from '../../lambda/core/publication';
import { checkHistory, type CheckName, type SoakFacts } from './soak-model';
import { SoakHistory, type LoadedView, type TableView } from './soak-rig';

const ID = '558355';
const QUIET = '558356';
const S0 = normalizeState(1, [{ objectId: '396001', streamId: '19155', unread: 1 }]);
const S1 = normalizeState(3, [{ objectId: '396001', streamId: '19155', unread: 3 }]);
const S2 = normalizeState(0, []);
const LEASE = 60_000;
/** minUnread 3: S1 (3 unread) is waiting, S0 and S2 are not. Quiet from 00:30 to 01:00 UTC of the epoch's day. */
const POLICY: AlertPolicy = { ...BUILT_IN_ALERT_DEFAULTS, minUnread: 3, cooldown: 60_000, quietHours: { start: 30, end: 60 }, remindAfter: 120_000, maxReminders: 1, notifyCleared: true };

function event(fromVersion: number, previous: UnreadState, next: UnreadState): UnreadChangedEvent {
  const diff = diffUnread(previous, next);
  if (!diff) throw new Error('no change');
  return buildEvent({ identityId: parseIdentityId(ID), fromVersion, previous, next, diff, observedAt: new Date(0) });
}

/** Cycle 1 records baselines; cycles 2 and 3 each store and publish one transition of ID. */
function consistent(): { history: SoakHistory; facts: SoakFacts; e1: UnreadChangedEvent; e2: UnreadChangedEvent } {
  const history = new SoakHistory();
  const e1 = event(1, S0, S1);
  const e2 = event(2, S1, S2);
  const quietState = normalizeState(0, []);
  const log = (cycle: number, loaded: [string, LoadedView][]): void => {
    history.cycles.set(cycle, { cycle, round: cycle, now: cycle * 1000, loaded: new Map(loaded) });
  };
  log(1, [[ID, {}], [QUIET, {}]]);
  log(2, [[ID, { version: 1, state: S0 }], [QUIET, { version: 1, state: quietState }]]);
  log(3, [[ID, { version: 2, state: S1 }], [QUIET, { version: 1, state: quietState }]]);
  history.served.push(
    { cycle: 1, id: ID, state: S0 },
    { cycle: 1, id: QUIET, state: quietState },
    { cycle: 2, id: ID, state: S1 },
    { cycle: 2, id: QUIET, state: quietState },
    { cycle: 3, id: ID, state: S2 },
    { cycle: 3, id: QUIET, state: quietState },
  );
  history.ledger.push(
    { kind: 'baseline', cycle: 1, id: ID, state: S0, at: 1000 },
    { kind: 'baseline', cycle: 1, id: QUIET, state: quietState, at: 1000 },
    { kind: 'change', cycle: 2, id: ID, fromVersion: 1, state: S1, event: e1, claimUntil: 2000 + LEASE },
    { kind: 'complete', cycle: 2, id: ID, eventId: e1.eventId },
    { kind: 'change', cycle: 3, id: ID, fromVersion: 2, state: S2, event: e2, claimUntil: 3000 + LEASE },
    { kind: 'complete', cycle: 3, id: ID, eventId: e2.eventId },
  );
  history.deliveries.push(
    { seq: 1, cycle: 2, eventId: e1.eventId, identityId: ID, payload: eventToJson(e1) },
    { seq: 2, cycle: 3, eventId: e2.eventId, identityId: ID, payload: eventToJson(e2) },
  );
  const final: TableView = {
    afterCycle: 3,
    identities: new Map([
      [ID, { version: 3, state: S2, failureStreak: 0, notFound: false }],
      [QUIET, { version: 1, state: quietState, failureStreak: 0, notFound: false }],
    ]),
  };
  return { history, facts: { final, upstream: new Map([[ID, S2], [QUIET, quietState]]), quiet: new Set([QUIET]), alertPolicy: POLICY }, e1, e2 };
}

function complaints(history: SoakHistory, facts: SoakFacts): CheckName[] {
  const { violations } = checkHistory(history, facts);
  return (Object.keys(violations) as CheckName[]).filter((name) => violations[name].length > 0);
}

describe('the soak model', () => {
  test('passes a consistent history, counting its two transitions', () => {
    const { history, facts } = consistent();

    expect(complaints(history, facts)).toEqual([]);
    expect(checkHistory(history, facts).figures.transitionsChecked).toBe(2);
  });

  test('accepts a redelivery of the same event after a crash (at-least-once)', () => {
    const { history, facts, e1 } = consistent();
    history.ledger.push({ kind: 'claim', cycle: 3, id: ID, eventId: e1.eventId, seen: 2000 + LEASE, until: 3000 + 2 * LEASE, now: 3000 + LEASE });
    history.deliveries.push({ seq: 3, cycle: 3, eventId: e1.eventId, identityId: ID, payload: eventToJson(e1) });

    expect(complaints(history, facts)).toEqual([]);
  });

  test('flags a stored transition that was never delivered', () => {
    const { history, facts } = consistent();
    history.deliveries.splice(1, 1);

    expect(complaints(history, facts)).toEqual(expect.arrayContaining(['everyTransitionPublished', 'onceInOrder']));
  });

  test('flags two writes of one version (an unconditional write)', () => {
    const { history, facts, e2 } = consistent();
    history.ledger.push({ kind: 'change', cycle: 4, id: ID, fromVersion: 2, state: S2, event: e2, claimUntil: 1 });

    expect(complaints(history, facts)).toContain('chained');
  });

  test('flags transitions delivered out of order', () => {
    const { history, facts } = consistent();
    const [first, second] = history.deliveries.splice(0, 2);
    history.deliveries.push({ ...second!, seq: 1 }, { ...first!, seq: 2 });

    expect(complaints(history, facts)).toEqual(expect.arrayContaining(['onceInOrder', 'consumerChain']));
  });

  test('flags a redelivered eventId with another content', () => {
    const { history, facts, e1 } = consistent();
    history.ledger.push({ kind: 'claim', cycle: 3, id: ID, eventId: e1.eventId, seen: 0, until: 1, now: 3000 });
    history.deliveries.push({ seq: 3, cycle: 3, eventId: e1.eventId, identityId: ID, payload: eventToJson({ ...e1, total: 99 }) });

    expect(complaints(history, facts)).toContain('identicalRedeliveries');
  });

  test('flags an event delivered by a cycle that never held its claim', () => {
    const { history, facts, e1 } = consistent();
    history.deliveries.push({ seq: 3, cycle: 3, eventId: e1.eventId, identityId: ID, payload: eventToJson(e1) });

    expect(complaints(history, facts)).toEqual(['publishedUnderClaim']);
  });

  test('flags a claim taken over before it expired', () => {
    const { history, facts, e1 } = consistent();
    history.ledger.push({ kind: 'claim', cycle: 3, id: ID, eventId: e1.eventId, seen: 2000 + LEASE, until: 3000 + LEASE, now: 3000 });

    expect(complaints(history, facts)).toEqual(['publishedUnderClaim']);
  });

  test('flags one claim value taken over twice (a claim without compare-and-set)', () => {
    const { history, facts, e1 } = consistent();
    const claim = { kind: 'claim', id: ID, eventId: e1.eventId, seen: 2000 + LEASE, until: 9e9, now: 9e9 } as const;
    history.ledger.push({ ...claim, cycle: 4 }, { ...claim, cycle: 5 });

    expect(complaints(history, facts)).toEqual(['publishedUnderClaim']);
  });

  describe('after SNS refused event 1 in cycle 2, which released it', () => {
    function refusedThenLoaded(claimUntil: number): ReturnType<typeof consistent> {
      const built = consistent();
      built.history.ledger.push({ kind: 'release', cycle: 2, id: ID, eventId: built.e1.eventId });
      built.history.cycleLog(3).loaded.set(ID, { version: 2, state: S1, pending: [{ eventId: built.e1.eventId, claimUntil }] });
      return built;
    }

    test('accepts the next cycle taking it over at once', () => {
      const { history, facts, e1 } = refusedThenLoaded(0);
      history.ledger.push({ kind: 'claim', cycle: 3, id: ID, eventId: e1.eventId, seen: 0, until: 3000 + LEASE, now: 3000 });

      expect(complaints(history, facts)).toEqual([]);
    });

    test('flags the next cycle leaving it alone', () => {
      const { history, facts } = refusedThenLoaded(0);

      expect(complaints(history, facts)).toEqual(['resentByNextCycle']);
    });

    test('flags a release that left the claim running', () => {
      const { history, facts } = refusedThenLoaded(2000 + LEASE);

      expect(complaints(history, facts)).toEqual(['resentByNextCycle']);
    });
  });

  test('flags a read that went back to an older version', () => {
    const { history, facts } = consistent();
    history.cycles.set(4, { cycle: 4, round: 4, now: 4000, loaded: new Map([[ID, { version: 1, state: S0 }]]) });

    expect(complaints(history, facts)).toEqual(['versionsMonotonic']);
  });

  test('flags a change served to a live cycle and dropped', () => {
    const { history, facts } = consistent();
    history.served.push({ cycle: 2, id: QUIET, state: S1 });
    history.served.splice(history.served.findIndex((s) => s.cycle === 2 && s.id === QUIET && s.state.total === 0), 1);

    expect(complaints(history, facts)).toEqual(['observedChangesKept']);
  });

  test('does not hold a killed cycle to what it was served', () => {
    const { history, facts } = consistent();
    history.served.push({ cycle: 2, id: QUIET, state: S1 });
    history.cycleLog(2).crashed = { step: 'after-publish', id: ID };

    expect(complaints(history, facts)).toEqual([]);
  });

  test('flags an event for an identity that never changed', () => {
    const { history, facts, e1 } = consistent();
    history.deliveries.push({ seq: 3, cycle: 2, eventId: e1.eventId, identityId: QUIET, payload: eventToJson(e1) });

    expect(complaints(history, facts)).toContain('quietStaySilent');
  });

  test('flags a final snapshot that differs from the upstream, or an event left pending', () => {
    const { history, facts } = consistent();
    const stale = { ...facts, upstream: new Map([...facts.upstream, [ID, S1]]) };
    const pending = new Map(facts.final.identities);
    pending.set(ID, { version: 3, state: S2, pending: [{ eventId: 'x', claimUntil: 0 }], failureStreak: 0, notFound: false });

    expect(complaints(history, stale)).toEqual(['finalMatchesUpstream']);
    expect(complaints(history, { ...facts, final: { afterCycle: 3, identities: pending } })).toEqual(['finalMatchesUpstream']);
  });

  describe('alerts', () => {
    /** The alert a cycle at `at` (ms) would send for ID at `state`; the episode began with e1 (cycle 2, at 2000). */
    function alert(kind: AlertKind, at: number, total: number, lastAlertTotal: number, sequence: number): AlertNotice {
      const state = total === S1.total ? S1 : S2;
      return buildAlertNotice({
        identityId: parseIdentityId(ID),
        timeZone: 'UTC',
        alert: { kind, episode: 1, sequence, total, lastAlertTotal, changes: kind === 'new' ? 1 : 0, waitingSince: 2000, conversations: state.conversations, observedAt: at },
      });
    }

    /** The consistent history with e1's `new` alert stored with it (cycle 2) and delivered, and e2's `cleared` (cycle 3). */
    function withAlerts(): ReturnType<typeof consistent> & { a1: AlertNotice; a2: AlertNotice } {
      const built = consistent();
      const a1 = alert('new', 2000, 3, 1, 1);
      const a2 = alert('cleared', 3000, 0, 3, 2);
      const [change1, change2] = built.history.ledger.filter((e) => e.kind === 'change');
      built.history.ledger.splice(built.history.ledger.indexOf(change1!), 1, { ...(change1 as Extract<typeof change1, { kind: 'change' }>), alert: a1 });
      built.history.ledger.splice(built.history.ledger.indexOf(change2!), 1, { ...(change2 as Extract<typeof change2, { kind: 'change' }>), alert: a2 });
      built.history.deliveries.push(
        { seq: 3, cycle: 2, eventId: a1.event.eventId, identityId: ID, payload: alertEventToJson(a1.event) },
        { seq: 4, cycle: 3, eventId: a2.event.eventId, identityId: ID, payload: alertEventToJson(a2.event) },
      );
      return { ...built, a1, a2 };
    }

    test('pass a consistent history: a `new` with its rise, a `cleared` with its end', () => {
      const { history, facts } = withAlerts();

      expect(complaints(history, facts)).toEqual([]);
      expect(checkHistory(history, facts).figures).toMatchObject({ alertsStored: 2, alertsDelivered: 2, alertsByKind: { new: 1, cleared: 1 } });
    });

    test('flags a stored alert that was never delivered', () => {
      const { history, facts } = withAlerts();
      history.deliveries.splice(2, 1);

      expect(complaints(history, facts)).toEqual(['alertsDeliveredOnce']);
    });

    test('flags one alert decided twice (two cycles storing it), and a delivered alert nobody stored', () => {
      const twice = withAlerts();
      twice.history.ledger.push({ kind: 'alert', cycle: 3, id: ID, version: 2, alert: twice.a1, claimUntil: 1 });
      const phantom = withAlerts();
      const other = alert('digest', 2500, 3, 1, 7);
      phantom.history.ledger.push({ kind: 'claim', cycle: 3, id: ID, eventId: other.event.eventId, seen: 0, until: 1, now: 3000 });
      phantom.history.deliveries.push({ seq: 5, cycle: 3, eventId: other.event.eventId, identityId: ID, payload: alertEventToJson(other.event) });

      expect(complaints(twice.history, twice.facts)).toContain('alertsDeliveredOnce');
      expect(complaints(phantom.history, phantom.facts)).toContain('alertsDeliveredOnce');
    });

    test('flags an alert inside quiet hours, and two within one cooldown', () => {
      const quiet = withAlerts();
      quiet.facts = { ...quiet.facts, alertPolicy: { ...POLICY, quietHours: { start: 0, end: 1 } } };
      const twice = withAlerts();
      const soon = alert('digest', 2500, 3, 1, 3);
      twice.history.ledger.push({ kind: 'alert', cycle: 3, id: ID, version: 2, alert: soon, claimUntil: 1 });
      twice.history.deliveries.push({ seq: 5, cycle: 3, eventId: soon.event.eventId, identityId: ID, payload: alertEventToJson(soon.event) });

      expect(complaints(quiet.history, quiet.facts)).toEqual(['alertRules']);
      expect(complaints(twice.history, twice.facts)).toContain('alertRules');
    });

    test('flags an alert for a decrease', () => {
      const { history, facts, a1 } = withAlerts();
      const decrease = { ...a1, event: { ...a1.event, lastAlertTotal: 5 } };
      history.deliveries[2] = { ...history.deliveries[2]!, payload: alertEventToJson(decrease.event) };

      expect(complaints(history, facts)).toEqual(expect.arrayContaining(['alertRules']));
    });

    test('flags an alert reporting counts no stored snapshot had', () => {
      const { history, facts, a1 } = withAlerts();
      history.deliveries[2] = { ...history.deliveries[2]!, payload: alertEventToJson({ ...a1.event, total: 4 }) };

      expect(complaints(history, facts)).toEqual(expect.arrayContaining(['alertsReportStoredStates']));
    });

    test('flags an identity left waiting at the end with nothing told', () => {
      const { history, facts } = consistent();
      // Version 2 (S1, 3 unread) is the last: the episode that e1 began is never alerted.
      history.ledger.splice(history.ledger.findIndex((e) => e.kind === 'change' && e.fromVersion === 2), 2);
      history.deliveries.splice(1, 1);
      history.served.splice(history.served.findIndex((s) => s.cycle === 3 && s.id === ID), 1);
      const final = new Map(facts.final.identities).set(ID, { version: 2, state: S1, failureStreak: 0, notFound: false });
      const upstream = new Map(facts.upstream).set(ID, S1);

      expect(complaints(history, { ...facts, final: { afterCycle: 3, identities: final }, upstream })).toEqual(['noAlertOwedAtTheEnd']);
    });
  });
});
