/**
 * The poll cycle's branches on in-memory ports: each row or test is one behaviour of
 * `runPollCycle`, run in milliseconds. The same cycle on dynalite and the CommBox simulator is in
 * test/integration/poll-cycle.test.ts.
 */
import { diffUnread } from '../../lambda/core/diff';
import { CycleAbortedWithSummary, TokenUnavailableError, UnregisteredIdentitiesError, UpstreamError, UpstreamUnauthorizedError } from '../../lambda/core/errors';
import { buildEvent } from '../../lambda/core/event-builder';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { UnreadChangedEvent, UnreadState } from '../../lambda/core/model';
import { BUILT_IN_ALERT_DEFAULTS, type AlertPolicy } from '../../lambda/core/alert-policy';
import { changeEntry } from '../../lambda/core/outbox';
import { noIdentityCouldBePolled, runPollCycle, type CycleObserver, type CycleSummary, type PollCycleOptions } from '../../lambda/core/poll-cycle';
import { InMemorySnapshotStore, type StoreOperation, type StoredIdentity } from '../support/in-memory-snapshot-store';
import { ScriptedPublisher } from '../support/scripted-publisher';
import { ScriptedUnreadSource, unread, type ScriptedAnswer } from '../support/scripted-unread-source';

const T0 = Date.parse('2026-11-26T12:00:00Z');
const LEASE_MS = 60_000;
const ID = '558355';

const ONE = unread(['396001', '19155', 1]);
const THREE = unread(['396001', '19155', 3]);
const FIVE = unread(['396001', '19155', 5]);

/**
 * The change tests run under a policy no identity ever reaches, so they see change events only;
 * the alert step has its own tests (test/core/poll-cycle-alerts.test.ts).
 */
const NO_ALERTS: AlertPolicy = { ...BUILT_IN_ALERT_DEFAULTS, minUnread: 1_000_000 };

/** The event a cycle stores for `previous` → `next` from snapshot `fromVersion`. */
function changeEvent(previous: UnreadState, next: UnreadState, fromVersion: number, id = ID): UnreadChangedEvent {
  const diff = diffUnread(previous, next);
  if (!diff) throw new Error('fixture has no change');
  return buildEvent({ identityId: parseIdentityId(id), fromVersion, previous, next, diff, observedAt: new Date(T0 - 60_000) });
}

interface ObservedCall {
  readonly hook: keyof CycleObserver;
  readonly id: string;
  readonly detail?: unknown;
}

function setup(alertDefaults: AlertPolicy = NO_ALERTS) {
  let now = T0;
  const source = new ScriptedUnreadSource();
  const store = new InMemorySnapshotStore();
  const publisher = new ScriptedPublisher();
  const observed: ObservedCall[] = [];
  const observer: CycleObserver = {
    identityFailed: (id, error, streak) => observed.push({ hook: 'identityFailed', id, detail: streak }),
    identityNotFound: (id) => observed.push({ hook: 'identityNotFound', id }),
    eventStored: (event) => observed.push({ hook: 'eventStored', id: event.identityId, detail: event.eventId }),
    publishFailed: (event, reason) => observed.push({ hook: 'publishFailed', id: event.identityId, detail: reason }),
    outboxUpdateFailed: (id, error) => observed.push({ hook: 'outboxUpdateFailed', id, detail: (error as Error).message }),
    resumePointFailed: (error) => observed.push({ hook: 'resumePointFailed', id: '', detail: (error as Error).message }),
    cycleEndFailed: (error) => observed.push({ hook: 'cycleEndFailed', id: '', detail: (error as Error).message }),
  };
  return {
    source,
    store,
    publisher,
    observed,
    advance: (ms: number) => (now += ms),
    cycle: (options: Partial<PollCycleOptions> = {}) =>
      runPollCycle({ source, store, publisher, clock: () => now, observer }, { concurrency: 1, claimLeaseMs: LEASE_MS, alertDefaults, ...options }),
  };
}

type Setup = ReturnType<typeof setup>;

/** The rejection of a cycle that must abort. */
async function aborted(cycle: Promise<CycleSummary>): Promise<CycleAbortedWithSummary> {
  const error = await cycle.then(
    () => new Error('expected the cycle to abort'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CycleAbortedWithSummary);
  return error as CycleAbortedWithSummary;
}

describe('one identity through one cycle', () => {
  const pending = changeEvent(ONE, THREE, 3);

  interface Branch {
    readonly name: string;
    /** What earlier cycles stored for the identity. */
    readonly stored: Partial<Omit<StoredIdentity, 'id'>>;
    /** What CommBox answers; undefined when the identity must not be asked at all. */
    readonly upstream?: ScriptedAnswer;
    readonly summary: Partial<CycleSummary>;
    readonly writes: readonly StoreOperation[];
    /** The item afterwards (matched, so unnamed fields are not checked). */
    readonly after: Partial<StoredIdentity>;
    /** Totals of the events published, in order. */
    readonly published: readonly number[];
  }

  const branches: readonly Branch[] = [
    {
      name: 'a first poll records a baseline, observed now, and publishes nothing',
      stored: {},
      upstream: THREE,
      summary: { polled: 1, baselines: 1, changed: 0, published: 0 },
      writes: ['saveBaseline'],
      after: { snapshot: { version: 1, state: THREE, changedAt: new Date(T0).toISOString() } },
      published: [],
    },
    {
      name: 'an unchanged poll writes nothing (not even a time) and publishes nothing',
      stored: { snapshot: { version: 3, state: THREE, changedAt: '2026-11-01T00:00:00.000Z' } },
      upstream: THREE,
      summary: { polled: 1, changed: 0, published: 0 },
      writes: [],
      after: { snapshot: { version: 3, state: THREE, changedAt: '2026-11-01T00:00:00.000Z' } },
      published: [],
    },
    {
      name: 'an unchanged poll after failures or a 404 clears the streak and the mark',
      stored: { snapshot: { version: 3, state: THREE }, failureStreak: 2, notFound: true },
      upstream: THREE,
      summary: { polled: 1, failed: 0 },
      writes: ['clearFailures'],
      after: { failureStreak: 0, notFound: false },
      published: [],
    },
    {
      name: 'a change is stored with its event and its time, published, and leaves the outbox',
      stored: { snapshot: { version: 3, state: ONE } },
      upstream: THREE,
      summary: { polled: 1, changed: 1, published: 1, publishRequests: 1, failed: 0 },
      writes: ['saveChange', 'completePending'],
      after: { snapshot: { version: 4, state: THREE, changedAt: new Date(T0).toISOString() }, outbox: undefined },
      published: [3],
    },
    {
      name: 'a pending event whose claim expired is claimed and resent, and the identity not polled',
      stored: { snapshot: { version: 4, state: THREE }, outbox: [changeEntry(pending, 1, T0 - 1)] },
      summary: { polled: 0, resent: 1, published: 1 },
      writes: ['claimPending', 'completePending'],
      after: { outbox: undefined },
      published: [3],
    },
    {
      name: 'a pending event released after a refused publish (claim 0) is resent',
      stored: { snapshot: { version: 4, state: THREE }, outbox: [changeEntry(pending, 1, 0)] },
      summary: { resent: 1, published: 1 },
      writes: ['claimPending', 'completePending'],
      after: { outbox: undefined },
      published: [3],
    },
    {
      name: 'a pending event whose claim another cycle still holds is skipped',
      stored: { snapshot: { version: 4, state: THREE }, outbox: [changeEntry(pending, 1, T0 + 1)] },
      summary: { polled: 0, skipped: 1, resent: 0, published: 0, failed: 0 },
      writes: [],
      after: { outbox: [changeEntry(pending, 1, T0 + 1)] },
      published: [],
    },
    {
      name: 'an identity gone upstream (404) is counted and marked',
      stored: { snapshot: { version: 3, state: THREE } },
      upstream: 'not-found',
      summary: { polled: 0, notFound: 1, failed: 0 },
      writes: ['markNotFound'],
      after: { notFound: true },
      published: [],
    },
    {
      name: 'an identity already marked gone is not written again',
      stored: { snapshot: { version: 3, state: THREE }, notFound: true },
      upstream: 'not-found',
      summary: { notFound: 1 },
      writes: [],
      after: { notFound: true },
      published: [],
    },
    {
      name: 'a failed poll adds one to the failure streak',
      stored: { snapshot: { version: 3, state: THREE }, failureStreak: 2 },
      upstream: new UpstreamError('CommBox answered HTTP 503 (server error); gave up after 4 attempts', 'server'),
      summary: { polled: 0, failed: 1, pollFailed: 1, publishFailed: 0 },
      writes: ['recordFailure'],
      after: { failureStreak: 3, snapshot: { version: 3, state: THREE } },
      published: [],
    },
  ];

  it.each(branches)('$name', async ({ stored, upstream, summary, writes, after, published }) => {
    // Prepare
    const h = setup();
    h.store.put(ID, stored);
    if (upstream !== undefined) h.source.answerNext(ID, upstream);

    // Act
    const result = await h.cycle();

    // Assess
    expect(result).toMatchObject({ identities: 1, ...summary });
    expect(h.source.asked).toEqual(upstream === undefined ? [] : [ID]);
    expect(h.store.writes).toEqual(writes);
    // `outbox: undefined` in a row means "nothing pending": the item has no such field then.
    expect({ outbox: undefined, ...h.store.get(ID) }).toMatchObject(after);
    expect(h.publisher.delivered.map((e) => e.total)).toEqual(published);
  });
});

describe('a refused or unreadable token', () => {
  const stops = [
    { name: 'CommBox refusing the token (401)', error: new UpstreamUnauthorizedError('CommBox refused the API token (HTTP 401), also after fetching it again') },
    { name: 'a token that cannot be read', error: new TokenUnavailableError('secret s has no value: store the CommBox token with …', 'no-value') },
  ];

  /** Four identities in id order: 1 changed, 2 stops the cycle, 3 and 4 come after. */
  function stoppedAtTheSecond(h: Setup, error: Error): void {
    for (const id of ['1', '2', '3', '4']) h.store.put(id, { snapshot: { version: 1, state: ONE } });
    for (const id of ['1', '3', '4']) h.source.set(id, THREE);
    h.source.answerNext('2', error);
  }

  it.each(stops)('after $name, no identity starts and the cycle aborts with its cause and summary', async ({ error }) => {
    const h = setup();
    stoppedAtTheSecond(h, error);

    const abort = await aborted(h.cycle());

    expect(abort.cause).toBe(error);
    expect(abort.message).toBe(`cycle aborted: ${error.message}`);
    expect(h.source.asked).toEqual(['1', '2']);
    expect(abort.summary).toMatchObject({ identities: 4, polled: 1, changed: 1, failed: 0, skipped: 2 });
  });

  it.each(stops)('after $name, events already stored are still published before the abort', async ({ error }) => {
    const h = setup();
    stoppedAtTheSecond(h, error);

    const abort = await aborted(h.cycle());

    expect(h.publisher.delivered).toEqual([expect.objectContaining({ identityId: 1, previousTotal: 1, total: 3 })]);
    expect(abort.summary).toMatchObject({ published: 1, publishRequests: 1 });
    expect(h.store.get('1')?.outbox).toBeUndefined();
  });

  it.each(stops)('after $name, no failure is recorded and no resume point moved', async ({ error }) => {
    const h = setup();
    stoppedAtTheSecond(h, error);

    await aborted(h.cycle());

    expect(h.store.get('2')).toMatchObject({ failureStreak: 0 });
    expect(h.store.calls.saveResumePoint).toBe(0);
  });

  it('lets identities already in flight finish', async () => {
    const h = setup();
    stoppedAtTheSecond(h, new UpstreamUnauthorizedError('401'));

    const abort = await aborted(h.cycle({ concurrency: 3 }));

    expect(h.source.asked).toEqual(['1', '2', '3']);
    expect(abort.summary).toMatchObject({ changed: 2, published: 2, skipped: 1 });
  });
});

describe('overlapping cycles', () => {
  it('a change an overlapping cycle stored first is a conflict: not stored again, not published', async () => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 3, state: ONE } });
    h.source.set(ID, THREE);
    const theirs = changeEvent(ONE, THREE, 3);
    h.store.before('saveChange', () => h.store.put(ID, { snapshot: { version: 4, state: THREE }, outbox: [changeEntry(theirs, 1, T0 + LEASE_MS)] }));

    const summary = await h.cycle();

    expect(summary).toMatchObject({ polled: 1, changed: 0, conflicts: 1, published: 0 });
    expect(h.publisher.calls).toEqual([]);
    expect(h.store.get(ID)?.outbox).toEqual([changeEntry(theirs, 1, T0 + LEASE_MS)]);
  });

  it('a baseline an overlapping cycle stored first is a conflict', async () => {
    const h = setup();
    h.store.put(ID);
    h.source.set(ID, THREE);
    h.store.before('saveBaseline', () => h.store.put(ID, { snapshot: { version: 1, state: ONE } }));

    const summary = await h.cycle();

    expect(summary).toMatchObject({ baselines: 0, conflicts: 1 });
    expect(h.store.get(ID)?.snapshot).toEqual({ version: 1, state: ONE });
  });

  it.each([
    { name: 'claimed first', move: (h: Setup, event: UnreadChangedEvent) => h.store.put(ID, { outbox: [changeEntry(event, 1, T0 + LEASE_MS)] }) },
    { name: 'already published', move: (h: Setup) => h.store.put(ID, { snapshot: { version: 4, state: THREE } }) },
  ])('a pending event an overlapping cycle $name is a conflict, not sent twice', async ({ move }) => {
    const h = setup();
    const event = changeEvent(ONE, THREE, 3);
    h.store.put(ID, { snapshot: { version: 4, state: THREE }, outbox: [changeEntry(event, 1, T0 - 1)] });
    h.store.before('claimPending', () => move(h, event));

    const summary = await h.cycle();

    expect(summary).toMatchObject({ resent: 0, conflicts: 1, published: 0 });
    expect(h.publisher.calls).toEqual([]);
  });
});

describe('a refused publish', () => {
  it.each([
    { name: 'one entry refused', refuse: (h: Setup) => h.publisher.refuseNextEntry(ID, 'InternalError') },
    { name: 'the whole call failed', refuse: (h: Setup) => h.publisher.failNextCall(new Error('InternalError: SNS is having a moment')) },
  ])('($name) is released: pending with an expired claim, counted and reported', async ({ refuse }) => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 3, state: ONE } });
    h.source.set(ID, THREE);
    refuse(h);

    const summary = await h.cycle();

    expect(summary).toMatchObject({ changed: 1, published: 0, publishFailed: 1 });
    expect(h.store.get(ID)?.outbox).toMatchObject([{ claimUntil: 0, event: { previousTotal: 1, total: 3 } }]);
    expect(h.observed).toContainEqual({ hook: 'publishFailed', id: ID, detail: expect.stringContaining('InternalError') });
  });

  it('is sent again by the next cycle with the same eventId, before the change that came after it', async () => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 3, state: ONE } });
    h.source.set(ID, THREE);
    h.publisher.refuseNextEntry(ID);
    await h.cycle();
    const refusedId = h.store.get(ID)?.outbox?.[0]?.eventId;
    h.source.set(ID, FIVE);
    h.advance(60_000);

    const resend = await h.cycle();
    h.advance(60_000);
    const later = await h.cycle();

    expect(resend).toMatchObject({ resent: 1, published: 1, polled: 0 });
    expect(later).toMatchObject({ changed: 1, published: 1 });
    expect(h.publisher.delivered.map((e) => [e.previousTotal, e.total])).toEqual([[1, 3], [3, 5]]);
    expect(h.publisher.delivered[0]?.eventId).toBe(refusedId);
  });
});

describe('an outbox update that fails', () => {
  it.each([
    { name: 'completing an accepted event', operation: 'completePending' as const, refuse: false, published: 1, failed: 0 },
    { name: 'releasing a refused event', operation: 'releasePending' as const, refuse: true, published: 0, failed: 1 },
  ])('($name) is reported and leaves the event pending under its claim', async ({ operation, refuse, published, failed }) => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 3, state: ONE } });
    h.source.set(ID, THREE);
    if (refuse) h.publisher.refuseNextEntry(ID);
    h.store.before(operation, () => {
      throw new Error('ProvisionedThroughputExceededException');
    });

    const summary = await h.cycle();

    expect(summary).toMatchObject({ changed: 1, published, failed });
    expect(h.observed).toContainEqual({ hook: 'outboxUpdateFailed', id: ID, detail: 'ProvisionedThroughputExceededException' });
    expect(h.store.get(ID)?.outbox).toMatchObject([{ claimUntil: T0 + LEASE_MS }]);
  });

  it('leaves the event to a cycle after the claim: skipped while it holds, then resent with the same eventId', async () => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 3, state: ONE } });
    h.source.set(ID, THREE);
    h.store.before('completePending', () => {
      throw new Error('ProvisionedThroughputExceededException');
    });
    await h.cycle();
    const eventId = h.store.get(ID)?.outbox?.[0]?.eventId;

    h.advance(LEASE_MS - 1);
    const held = await h.cycle();
    h.advance(1);
    const resent = await h.cycle();

    expect(held).toMatchObject({ skipped: 1, resent: 0, published: 0 });
    expect(resent).toMatchObject({ resent: 1, published: 1 });
    expect(h.publisher.delivered.map((e) => e.eventId)).toEqual([eventId, eventId]);
    expect(h.store.get(ID)?.outbox).toBeUndefined();
  });
});

describe('failure streaks', () => {
  it('grow by one per failing cycle, are reported with the streak, and reset on a good poll', async () => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 3, state: THREE } });
    h.source.set(ID, THREE);
    const failure = new UpstreamError('no answer within 5000 ms; gave up after 4 attempts', 'timeout');
    h.source.answerNext(ID, failure, failure, failure);

    const streaks: number[] = [];
    for (let cycle = 0; cycle < 4; cycle += 1) {
      await h.cycle();
      streaks.push(h.store.get(ID)?.failureStreak ?? -1);
    }

    expect(streaks).toEqual([1, 2, 3, 0]);
    expect(h.observed.filter((o) => o.hook === 'identityFailed')).toEqual([1, 2, 3].map((streak) => ({ hook: 'identityFailed', id: ID, detail: streak })));
  });

  it('a streak that cannot be stored is reported and the cycle goes on', async () => {
    const h = setup();
    h.store.put('1').put('2');
    h.source.answerNext('1', new UpstreamError('CommBox answered HTTP 400 (request refused)', 'rejected')).set('2', ONE);
    h.store.before('recordFailure', () => {
      throw new Error('ThrottlingException');
    });

    const summary = await h.cycle();

    expect(summary).toMatchObject({ failed: 1, baselines: 1 });
    expect(h.observed).toContainEqual({ hook: 'outboxUpdateFailed', id: '1', detail: 'ThrottlingException' });
  });

  it('an identity gone upstream does not stop the others', async () => {
    const h = setup();
    h.store.put('1').put('2').put('3');
    h.source.set('1', ONE).set('3', ONE);

    const summary = await h.cycle();

    expect(summary).toMatchObject({ identities: 3, polled: 2, baselines: 2, notFound: 1 });
    expect(h.observed).toContainEqual({ hook: 'identityNotFound', id: '2' });
  });
});

describe('the deadline and the resume point', () => {
  const IDS = ['1', '2', '3', '4', '5', '6'];

  function sixIdentities(h: Setup): void {
    for (const id of IDS) {
      h.store.put(id);
      h.source.set(id, ONE);
    }
  }

  /** Lets `n` identities start, then says no. */
  const startOnly = (n: number) => () => n-- > 0;

  it('stops starting identities when the deadline says so, and records where', async () => {
    const h = setup();
    sixIdentities(h);

    const summary = await h.cycle({ shouldStartMore: startOnly(2) });

    expect(summary).toMatchObject({ identities: 6, polled: 2, skipped: 4, resumeFrom: '3' });
    expect(h.source.asked).toEqual(['1', '2']);
    expect(h.store.resumePoint()).toBe('3');
  });

  it('the next cycle starts at the resume point, goes round, and clears it', async () => {
    const h = setup();
    sixIdentities(h);
    await h.cycle({ shouldStartMore: startOnly(2) });
    h.source.asked.length = 0;

    const summary = await h.cycle();

    expect(h.source.asked).toEqual(['3', '4', '5', '6', '1', '2']);
    expect(summary.resumeFrom).toBeUndefined();
    expect(h.store.resumePoint()).toBeUndefined();
  });

  it('keeps one resume point per segment', async () => {
    const h = setup();
    sixIdentities(h);
    const segment = { segment: 1, totalSegments: 2 };

    const summary = await h.cycle({ segment, shouldStartMore: startOnly(1) });

    expect(summary).toMatchObject({ identities: 3, polled: 1, resumeFrom: '4' });
    expect(h.store.resumePoint(segment)).toBe('4');
    expect(h.store.resumePoint()).toBeUndefined();
  });

  it('a whole cycle with no resume point to clear writes none', async () => {
    const h = setup();
    sixIdentities(h);

    await h.cycle();

    expect(h.store.calls.saveResumePoint).toBe(0);
  });

  it('a resume point that cannot be stored is reported; the cycle still succeeds', async () => {
    const h = setup();
    sixIdentities(h);
    h.store.before('saveResumePoint', () => {
      throw new Error('ThrottlingException');
    });

    const summary = await h.cycle({ shouldStartMore: startOnly(2) });

    expect(summary.resumeFrom).toBe('3');
    expect(h.observed).toContainEqual({ hook: 'resumePointFailed', id: '', detail: 'ThrottlingException' });
  });
});

describe('an unreadable registry', () => {
  it('aborts the cycle with an empty summary, asking CommBox nothing', async () => {
    const h = setup();
    h.store.put(ID);
    h.store.before('loadCycle', () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:8000');
    });

    const abort = await aborted(h.cycle());

    expect(abort.message).toBe('cannot read the registry: connect ECONNREFUSED 127.0.0.1:8000');
    expect(abort.summary).toMatchObject({ identities: 0, polled: 0, published: 0 });
    expect(h.source.asked).toEqual([]);
  });
});

describe('the summary tells the truth', () => {
  it('an identity whose event was not accepted is failed: left undone, its event pending', async () => {
    const h = setup();
    h.store.put('1', { snapshot: { version: 1, state: ONE } }).put('2', { snapshot: { version: 1, state: ONE } });
    h.source.set('1', THREE).set('2', THREE);
    h.publisher.refuseNextEntry('1', 'InternalError');

    const summary = await h.cycle();

    expect(summary).toMatchObject({ identities: 2, polled: 2, changed: 2, published: 1, failed: 1, pollFailed: 0, publishFailed: 1 });
    expect(h.store.get('1')?.outbox).toBeDefined();
  });

  it('a resent event that is refused again is failed too', async () => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 4, state: THREE }, outbox: [changeEntry(changeEvent(ONE, THREE, 3), 1, 0)] });
    h.publisher.refuseNextEntry(ID);

    expect(await h.cycle()).toMatchObject({ resent: 1, published: 0, failed: 1, publishFailed: 1, pollFailed: 0 });
  });

  it('identities not started (another cycle holds the claim, the deadline came) are skipped, not failed', async () => {
    const h = setup();
    h.store.put('1', { snapshot: { version: 4, state: THREE }, outbox: [changeEntry(changeEvent(ONE, THREE, 3, '1'), 1, T0 + 1)] });
    h.store.put('2').put('3');
    h.source.set('2', ONE).set('3', ONE);
    let starts = 2;

    const summary = await h.cycle({ shouldStartMore: () => starts-- > 0 });

    expect(summary).toMatchObject({ identities: 3, polled: 1, skipped: 2, failed: 0 });
  });

  const none = { identities: 3, polled: 0, notFound: 0, pollFailed: 0, resent: 0, skipped: 0 };
  it.each([
    { name: 'every poll failed', summary: { ...none, pollFailed: 3 }, verdict: true },
    { name: 'every poll failed, and pending events were resent', summary: { ...none, pollFailed: 2, resent: 1 }, verdict: true },
    { name: 'one poll succeeded', summary: { ...none, pollFailed: 2, polled: 1 }, verdict: false },
    { name: 'one identity answered 404', summary: { ...none, pollFailed: 2, notFound: 1 }, verdict: false },
    { name: 'only resends, no poll', summary: { ...none, resent: 3 }, verdict: false },
    { name: 'everything skipped', summary: { ...none, skipped: 3 }, verdict: false },
    { name: 'no identity registered', summary: { ...none, identities: 0 }, verdict: false },
  ])('noIdentityCouldBePolled: $name → $verdict', ({ summary, verdict }) => {
    expect(noIdentityCouldBePolled(summary as unknown as CycleSummary)).toBe(verdict);
  });
});

describe('the end of a cycle', () => {
  it('a cycle that ran to its end records when, per segment', async () => {
    const h = setup();
    h.store.put('1').put('2');
    h.source.set('1', ONE).set('2', ONE);
    const segment = { segment: 0, totalSegments: 2 };

    await h.cycle();
    h.advance(60_000);
    await h.cycle({ segment });

    expect(h.store.cycleEnd()).toBe(new Date(T0).toISOString());
    expect(h.store.cycleEnd(segment)).toBe(new Date(T0 + 60_000).toISOString());
  });

  it('a cycle cut short by its deadline has ended too', async () => {
    const h = setup();
    h.store.put('1').put('2');
    h.source.set('1', ONE).set('2', ONE);
    let starts = 1;

    await h.cycle({ shouldStartMore: () => starts-- > 0 });

    expect(h.store.cycleEnd()).toBe(new Date(T0).toISOString());
  });

  it('an aborted cycle records no end', async () => {
    const h = setup();
    h.store.put(ID);
    h.source.answerNext(ID, new UpstreamUnauthorizedError('401'));

    await aborted(h.cycle());

    expect(h.store.calls.recordCycleEnd).toBe(0);
  });

  it('an end that cannot be stored is reported; the cycle still succeeds', async () => {
    const h = setup();
    h.store.put(ID);
    h.source.set(ID, ONE);
    h.store.before('recordCycleEnd', () => {
      throw new Error('AccessDeniedException');
    });

    expect(await h.cycle()).toMatchObject({ baselines: 1 });
    expect(h.observed).toContainEqual({ hook: 'cycleEndFailed', id: '', detail: 'AccessDeniedException' });
  });
});

describe('a targeted poll', () => {
  /** Four registered identities with baselines; CommBox has a change for each. */
  function fourRegistered(h: Setup): void {
    for (const id of ['1', '2', '3', '4']) {
      h.store.put(id, { snapshot: { version: 1, state: ONE } });
      h.source.set(id, THREE);
    }
  }
  const only = (unregistered: 'refuse' | 'ignore', ...ids: string[]) => ({ only: { ids: ids.map(parseIdentityId), unregistered } });

  it('polls just the given identities, in id order, read by key and not scanned', async () => {
    const h = setup();
    fourRegistered(h);

    const summary = await h.cycle(only('refuse', '3', '1'));

    expect(h.source.asked).toEqual(['1', '3']);
    expect(summary).toMatchObject({ identities: 2, polled: 2, changed: 2, published: 2 });
    expect(h.store.calls).toMatchObject({ loadIdentities: 1, loadCycle: 0 });
  });

  it('moves no resume point and records no cycle end, even when the deadline cuts it short', async () => {
    const h = setup();
    fourRegistered(h);
    let starts = 1;

    const summary = await h.cycle({ ...only('refuse', '1', '2'), shouldStartMore: () => starts-- > 0 });

    expect(summary).toMatchObject({ polled: 1, skipped: 1 });
    expect(summary.resumeFrom).toBeUndefined();
    expect(h.store.calls).toMatchObject({ saveResumePoint: 0, recordCycleEnd: 0 });
  });

  it('keeps the outbox order: a given identity with a pending event gets it resent, not polled', async () => {
    const h = setup();
    fourRegistered(h);
    h.store.put('2', { snapshot: { version: 2, state: THREE }, outbox: [changeEntry(changeEvent(ONE, THREE, 1, '2'), 1, 0)] });

    const summary = await h.cycle(only('refuse', '2'));

    expect(summary).toMatchObject({ resent: 1, polled: 0, published: 1 });
    expect(h.source.asked).toEqual([]);
    expect(h.store.get('2')?.outbox).toBeUndefined();
  });

  it('refuses ids that are not registered before polling any', async () => {
    const h = setup();
    fourRegistered(h);

    const error = await h.cycle(only('refuse', '1', '8', '9')).then(() => undefined, (e: unknown) => e);

    expect(error).toBeInstanceOf(UnregisteredIdentitiesError);
    expect((error as UnregisteredIdentitiesError).ids).toEqual(['8', '9']);
    expect(h.source.asked).toEqual([]);
    expect(h.store.writes).toEqual([]);
  });

  it("with unregistered: 'ignore' polls the registered ones", async () => {
    const h = setup();
    fourRegistered(h);

    const summary = await h.cycle(only('ignore', '1', '8'));

    expect(h.source.asked).toEqual(['1']);
    expect(summary).toMatchObject({ identities: 1, polled: 1 });
  });

  it('an unreadable store aborts it, asking CommBox nothing', async () => {
    const h = setup();
    fourRegistered(h);
    h.store.before('loadIdentities', () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:8000');
    });

    const abort = await aborted(h.cycle(only('refuse', '1')));

    expect(abort.message).toBe('cannot read the registry: connect ECONNREFUSED 127.0.0.1:8000');
    expect(h.source.asked).toEqual([]);
  });

  it('does not take a scan segment', async () => {
    const h = setup();

    await expect(h.cycle({ ...only('refuse', '1'), segment: { segment: 0, totalSegments: 2 } })).rejects.toThrow(/takes no scan segment/);
  });
});
