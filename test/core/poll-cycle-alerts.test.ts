/**
 * The alert step of the poll cycle on in-memory ports: what each cycle decides, stores, publishes
 * and counts for one identity, and how alerts share the outbox's guarantees with change events.
 * The decisions themselves are tested in alert-decision.test.ts; here, their plumbing.
 */
import type { AlertNotice } from '../../lambda/core/alert-event';
import { BUILT_IN_ALERT_DEFAULTS, type AlertPolicy } from '../../lambda/core/alert-policy';
import { decodeAlertState, encodeAlertState } from '../../lambda/core/alert-state';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { UnreadState } from '../../lambda/core/model';
import { runPollCycle, type AlertsHeld, type CycleSummary } from '../../lambda/core/poll-cycle';
import { InMemorySnapshotStore, type StoreOperation, type StoredIdentity } from '../support/in-memory-snapshot-store';
import { ScriptedPublisher } from '../support/scripted-publisher';
import { ScriptedUnreadSource, unread } from '../support/scripted-unread-source';

const T0 = Date.parse('2026-11-26T12:00:00Z');
const MIN = 60_000;
const LEASE_MS = MIN;
const ID = '558355';

const with_ = (n: number): UnreadState => unread(['396001', '19155', n]);

/** The CONTRACT's defaults, with a 10-minute cooldown to keep the clock arithmetic short. */
const POLICY: AlertPolicy = { ...BUILT_IN_ALERT_DEFAULTS, cooldown: 10 * MIN };

interface Wire {
  readonly type: string;
  readonly kind?: string;
  readonly eventId: string;
  readonly total: number;
  readonly lastAlertTotal?: number;
  readonly changes?: number;
}

function setup(alertDefaults: AlertPolicy = POLICY) {
  let now = T0;
  const source = new ScriptedUnreadSource();
  const store = new InMemorySnapshotStore();
  const publisher = new ScriptedPublisher();
  const held: { id: string; held: AlertsHeld }[] = [];
  const stored: AlertNotice[] = [];
  const sent: AlertNotice[] = [];
  const cycle = (): Promise<CycleSummary> =>
    runPollCycle(
      {
        source,
        store,
        publisher,
        clock: () => now,
        observer: {
          alertsHeld: (id, h) => held.push({ id, held: h }),
          alertStored: (notice) => stored.push(notice),
          alertPublished: (notice) => sent.push(notice),
        },
      },
      { concurrency: 1, claimLeaseMs: LEASE_MS, alertDefaults },
    );
  const h = {
    source,
    store,
    publisher,
    held,
    stored,
    sent,
    cycle,
    now: () => now,
    advance: (ms: number) => (now += ms),
    /** What subscribers got, in order: `changed 3` or `alert new 3`. */
    delivered: () => (publisher.delivered as unknown as Wire[]).map((e) => (e.type === 'unread.alert' ? `alert ${e.kind} ${e.total}` : `changed ${e.total}`)),
    alerts: () => (publisher.delivered as unknown as Wire[]).filter((e) => e.type === 'unread.alert'),
    /** Registers the identity and runs its baseline cycle at `total` unread. */
    baseline: async (total: number, item: Partial<Omit<StoredIdentity, 'id'>> = {}) => {
      store.put(ID, item);
      source.set(ID, with_(total));
      await cycle();
      publisher.delivered.length = 0;
      store.writes.length = 0;
    },
    /** The next cycle, a minute on, with the upstream at `total` (or as it was). */
    next: async (total?: number, after = MIN) => {
      now += after;
      if (total !== undefined) source.set(ID, with_(total));
      store.writes.length = 0;
      return cycle();
    },
  };
  return h;
}

describe('the alert step of one cycle', () => {
  interface Row {
    readonly name: string;
    readonly baseline: number;
    /** Totals of the cycles before the one checked, a minute apart. */
    readonly before?: readonly number[];
    /** The checked cycle's total (undefined: unchanged), and how long after the previous cycle it runs. */
    readonly total?: number;
    readonly after?: number;
    readonly policy?: Partial<AlertPolicy>;
    readonly writes: readonly StoreOperation[];
    readonly summary: Partial<CycleSummary>;
    readonly delivered: readonly string[];
  }

  const rows: readonly Row[] = [
    {
      name: 'a rise from nothing stores the change and its `new` alert in one write, and publishes both, the change first',
      baseline: 0,
      total: 3,
      writes: ['saveChange', 'completePending', 'completePending'],
      summary: { changed: 1, published: 1, alertsSent: 1, alertsDeferred: 0 },
      delivered: ['changed 3', 'alert new 3'],
    },
    {
      name: 'the first rise above a waiting baseline alerts at once',
      baseline: 5,
      total: 6,
      writes: ['saveChange', 'completePending', 'completePending'],
      summary: { changed: 1, alertsSent: 1 },
      delivered: ['changed 6', 'alert new 6'],
    },
    {
      name: 'a rise within the cooldown is stored with the change and deferred, not sent',
      baseline: 0,
      before: [1],
      total: 4,
      writes: ['saveChange', 'completePending'],
      summary: { changed: 1, alertsSent: 0, alertsDeferred: 1 },
      delivered: ['changed 4'],
    },
    {
      name: 'when the cooldown has passed, a cycle without a change sends the deferred digest in a write of its own',
      baseline: 0,
      before: [1, 4],
      after: 10 * MIN,
      writes: ['saveAlert', 'completePending'],
      summary: { changed: 0, alertsSent: 1 },
      delivered: ['alert digest 4'],
    },
    {
      name: 'a cycle with no change and nothing due writes nothing',
      baseline: 0,
      before: [1, 4],
      after: MIN,
      writes: [],
      summary: { changed: 0, alertsSent: 0, alertsDeferred: 0 },
      delivered: [],
    },
    {
      name: 'a cycle with no change of an identity that is not waiting writes nothing',
      baseline: 0,
      after: 60 * MIN,
      writes: [],
      summary: { polled: 1, alertsSent: 0 },
      delivered: [],
    },
    {
      name: 'a decrease is a change event and never an alert',
      baseline: 0,
      before: [5],
      total: 2,
      after: 30 * MIN,
      writes: ['saveChange', 'completePending'],
      summary: { changed: 1, alertsSent: 0, alertsDeferred: 0 },
      delivered: ['changed 2'],
    },
    {
      name: 'a deferred alert whose identity read everything before it was due is dropped',
      baseline: 0,
      before: [1, 4],
      total: 0,
      writes: ['saveChange', 'completePending'],
      summary: { changed: 1, alertsDropped: 1 },
      delivered: ['changed 0'],
    },
    {
      name: 'with notifyCleared, an alerted episode that ends sends `cleared` with its change',
      baseline: 0,
      before: [3],
      total: 0,
      policy: { notifyCleared: true },
      writes: ['saveChange', 'completePending', 'completePending'],
      summary: { changed: 1, alertsSent: 1 },
      delivered: ['changed 0', 'alert cleared 0'],
    },
    {
      name: 'a reminder is due `remindAfter` after the last alert while still waiting',
      baseline: 0,
      before: [3],
      after: 30 * MIN,
      policy: { remindAfter: 30 * MIN },
      writes: ['saveAlert', 'completePending'],
      summary: { alertsSent: 1 },
      delivered: ['alert reminder 3'],
    },
    {
      name: "an identity's own policy wins over the defaults: below its minUnread nothing is owed",
      baseline: 0,
      total: 3,
      policy: { minUnread: 5 },
      writes: ['saveChange', 'completePending'],
      summary: { changed: 1, alertsSent: 0, alertsDeferred: 0 },
      delivered: ['changed 3'],
    },
  ];

  it.each(rows)('$name', async (row) => {
    // Prepare
    const h = setup();
    await h.baseline(row.baseline, row.policy ? { alertPolicy: row.policy } : {});
    for (const total of row.before ?? []) await h.next(total);
    h.publisher.delivered.length = 0;

    // Act
    const summary = await h.next(row.total, row.after);

    // Assess
    expect(summary).toMatchObject(row.summary);
    expect(h.store.writes).toEqual(row.writes);
    expect(h.delivered()).toEqual(row.delivered);
    expect(h.store.get(ID)?.outbox).toBeUndefined();
  });
});

describe('alert state', () => {
  it('a baseline stores the alert state adopted at it and sends nothing, however busy', async () => {
    const h = setup();
    h.store.put(ID);
    h.source.set(ID, with_(1000));

    const summary = await h.cycle();

    expect(summary).toMatchObject({ baselines: 1, alertsSent: 0 });
    expect(h.store.get(ID)?.alert?.state).toMatchObject({ waiting: true, alerted: 'baseline', lastAlertTotal: 1000, sequence: 0 });
    expect(h.publisher.calls).toEqual([]);
  });

  it('an identity stored before alerts existed is adopted at its next change: a rise above its stored total alerts at once', async () => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 7, state: with_(5) } });
    h.source.set(ID, with_(5));
    await h.cycle();
    expect(h.store.writes).toEqual([]);

    await h.next(8);

    expect(h.delivered()).toEqual(['changed 8', 'alert new 8']);
    expect(h.alerts()[0]).toMatchObject({ lastAlertTotal: 5, total: 8 });
  });

  it('the alert carries the label and the eventId derived from identity, episode and sequence', async () => {
    const h = setup();
    await h.baseline(0, { label: 'Support desk' });

    await h.next(3);

    expect(h.stored).toHaveLength(1);
    expect(h.stored[0]?.event).toMatchObject({ label: 'Support desk', kind: 'new', identityId: ID });
    expect(h.alerts()[0]?.eventId).toBe(h.stored[0]?.event.eventId);
    expect(h.store.get(ID)?.alert?.state).toMatchObject({ sequence: 1, alerted: 'sent' });
  });

  it('reports what a stored decision held back, with when it is due', async () => {
    const h = setup();
    await h.baseline(0);
    await h.next(1);

    await h.next(2);

    expect(h.held).toEqual([{ id: ID, held: { deferred: ['digest'], dropped: [], dueAt: T0 + 10 * MIN + MIN } }]);
  });
});

describe('quiet hours and policy changes', () => {
  /** Quiet from 11:00 to 13:00 UTC: the cycles at 12:0x are inside. */
  const QUIET = { quietHours: { start: 11 * 60, end: 13 * 60 } };

  it('a rise inside quiet hours is deferred; turning quiet hours off sends one digest at the next cycle', async () => {
    const h = setup();
    await h.baseline(0, { alertPolicy: QUIET });
    await h.next(2);
    await h.next(5);
    expect(h.alerts()).toEqual([]);
    expect(decodeAlertState(h.store.get(ID)?.alert?.encoded ?? '')).toMatchObject({ deferred: true, dueAt: Date.parse('2026-11-26T13:00:00Z') });

    h.store.put(ID, { ...h.store.get(ID), alertPolicy: { quietHours: null } });
    const summary = await h.next();

    expect(summary).toMatchObject({ alertsSent: 1, changed: 0 });
    expect(h.store.writes).toEqual(['saveAlert', 'completePending']);
    expect(h.alerts()).toMatchObject([{ kind: 'digest', lastAlertTotal: 0, total: 5, changes: 2 }]);
  });

  it('a changed stack-wide default re-times what is in flight: quiet hours from the environment end', async () => {
    const quiet = setup({ ...POLICY, ...QUIET });
    await quiet.baseline(0);
    await quiet.next(3);
    expect(quiet.alerts()).toEqual([]);

    // The same table, read by a cycle whose process has no quiet hours (a redeploy).
    const after = runPollCycle(
      { source: quiet.source, store: quiet.store, publisher: quiet.publisher, clock: () => quiet.now() + MIN },
      { concurrency: 1, claimLeaseMs: LEASE_MS, alertDefaults: POLICY },
    );

    expect(await after).toMatchObject({ alertsSent: 1 });
    expect(quiet.alerts()).toMatchObject([{ kind: 'digest', total: 3 }]);
  });

  it('a policy change with nothing in flight costs no write', async () => {
    const h = setup();
    await h.baseline(0);
    h.store.put(ID, { ...h.store.get(ID), alertPolicy: { cooldown: 5 * MIN } });

    await h.next();

    expect(h.store.writes).toEqual([]);
  });
});

describe('alerts have the outbox guarantees of change events', () => {
  it('an alert the publisher refused is released, and sent again by the next cycle with the same eventId; its change is not', async () => {
    const h = setup();
    await h.baseline(0);
    h.publisher.refuseNextOfType(ID, 'unread.alert');
    const first = await h.next(3);
    const pending = h.store.get(ID)?.outbox;

    const second = await h.next();

    expect(first).toMatchObject({ published: 1, alertsSent: 0, publishFailed: 1 });
    expect(pending).toMatchObject([{ kind: 'alert', claimUntil: 0 }]);
    expect(second).toMatchObject({ polled: 0, resent: 1, alertsSent: 1 });
    expect(h.delivered()).toEqual(['changed 3', 'alert new 3']);
    expect(h.alerts()[0]?.eventId).toBe(pending?.[0]?.eventId);
  });

  it('a change and its alert left pending (their cycle died) are taken over together in one claim and sent in order', async () => {
    const h = setup();
    await h.baseline(0);
    h.store.before('completePending', () => {
      throw new Error('the process died');
    });
    h.store.before('completePending', () => {
      throw new Error('the process died');
    });
    await h.next(3);
    const eventIds = h.store.get(ID)?.outbox?.map((e) => e.eventId);

    h.advance(LEASE_MS);
    const resend = await h.next(undefined, 0);

    expect(resend).toMatchObject({ resent: 2, published: 1, alertsSent: 1, polled: 0 });
    expect(h.store.writes).toEqual(['claimPending', 'completePending', 'completePending']);
    expect(h.publisher.calls.at(-1)).toEqual(eventIds);
    expect(h.store.get(ID)?.outbox).toBeUndefined();
  });

  it('an identity with one entry still claimed by a live cycle waits, so its entries never go out of order', async () => {
    const h = setup();
    await h.baseline(0);
    h.publisher.failNextCall();
    await h.next(3);
    const [change, alert] = h.store.get(ID)?.outbox ?? [];
    if (!change || !alert) throw new Error('expected a change and an alert pending');
    h.store.put(ID, { ...h.store.get(ID), outbox: [{ ...change, claimUntil: h.now() + LEASE_MS }, alert] });

    const summary = await h.next(undefined, 1);

    expect(summary).toMatchObject({ skipped: 1, resent: 0 });
    expect(h.store.writes).toEqual([]);
  });

  /** Another cycle that read the same item decides first: it stores its own alert state (and sends what it owes). */
  function anotherCycleDecidesFirst(h: ReturnType<typeof setup>): void {
    const item = h.store.get(ID);
    if (!item?.alert) throw new Error('expected an alert state');
    const theirs = { ...item.alert.state, sequence: item.alert.state.sequence + 1 };
    h.store.put(ID, { ...item, alert: { state: theirs, encoded: encodeAlertState(theirs) } });
  }

  it('two overlapping cycles that both find an alert due never both send it: the later write is refused', async () => {
    const h = setup();
    await h.baseline(0);
    await h.next(1);
    await h.next(4);
    h.store.before('saveAlert', () => anotherCycleDecidesFirst(h));
    h.publisher.delivered.length = 0;

    const summary = await h.next(undefined, 10 * MIN);

    expect(summary).toMatchObject({ alertsSent: 0, conflicts: 1 });
    expect(h.publisher.delivered).toEqual([]);
  });

  it('a change that an overlapping alert decision beat is refused, not stored over its alert state', async () => {
    const h = setup();
    await h.baseline(0);
    await h.next(1);
    await h.next(4);
    const version = h.store.get(ID)?.snapshot?.version;
    h.store.before('saveChange', () => anotherCycleDecidesFirst(h));

    const summary = await h.next(6, 10 * MIN);

    expect(summary).toMatchObject({ changed: 0, conflicts: 1, alertsSent: 0 });
    expect(h.store.get(ID)?.snapshot?.version).toBe(version);
  });
});

describe('the summary', () => {
  it('counts an identity once in `failed` when both its change and its alert were refused', async () => {
    const h = setup();
    await h.baseline(0);
    h.publisher.failNextCall();

    const summary = await h.next(3);

    expect(summary).toMatchObject({ changed: 1, publishFailed: 2, failed: 1, pollFailed: 0 });
  });

  it('a targeted poll decides and sends alerts like a cycle', async () => {
    const h = setup();
    await h.baseline(0);
    h.advance(MIN);
    h.source.set(ID, with_(3));

    const summary = await runPollCycle(
      { source: h.source, store: h.store, publisher: h.publisher, clock: () => h.now() },
      { concurrency: 1, claimLeaseMs: LEASE_MS, alertDefaults: POLICY, only: { ids: [parseIdentityId(ID)], unregistered: 'refuse' } },
    );

    expect(summary).toMatchObject({ changed: 1, alertsSent: 1 });
    expect(h.delivered()).toEqual(['changed 3', 'alert new 3']);
  });
});
