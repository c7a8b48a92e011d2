/**
 * The soak's model must not be vacuous: each check flags the history that breaks it. A small
 * consistent history (baseline, two published transitions) passes every check; each test
 * breaks it in one way and expects that check, and only what it implies, to complain.
 */
import { buildEvent } from '../../lambda/core/event-builder';
import { diffUnread } from '../../lambda/core/diff';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadChangedEvent, type UnreadState } from '../../lambda/core/model';
import { eventToJson } from '../../lambda/core/publication';
import { checkHistory, type CheckName, type SoakFacts } from './soak-model';
import { SoakHistory, type LoadedView, type TableView } from './soak-rig';

const ID = '558355';
const QUIET = '558356';
const S0 = normalizeState(1, [{ objectId: '396001', streamId: '19155', unread: 1 }]);
const S1 = normalizeState(3, [{ objectId: '396001', streamId: '19155', unread: 3 }]);
const S2 = normalizeState(0, []);
const LEASE = 60_000;

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
    { kind: 'baseline', cycle: 1, id: ID, state: S0 },
    { kind: 'baseline', cycle: 1, id: QUIET, state: quietState },
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
  return { history, facts: { final, upstream: new Map([[ID, S2], [QUIET, quietState]]), quiet: new Set([QUIET]) }, e1, e2 };
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
      built.history.cycleLog(3).loaded.set(ID, { version: 2, state: S1, pendingEventId: built.e1.eventId, pendingClaimUntil: claimUntil });
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
    pending.set(ID, { version: 3, state: S2, pendingEventId: 'x', failureStreak: 0, notFound: false });

    expect(complaints(history, stale)).toEqual(['finalMatchesUpstream']);
    expect(complaints(history, { ...facts, final: { afterCycle: 3, identities: pending } })).toEqual(['finalMatchesUpstream']);
  });
});
