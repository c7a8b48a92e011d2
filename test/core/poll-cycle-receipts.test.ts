/**
 * Run receipts (lambda/core/run-receipt.ts) on in-memory ports: a cycle with a receipt confirms
 * what it published by closing its run, one write, instead of one write per published entry; and
 * nothing it could not confirm is ever taken for delivered. The same on dynalite:
 * test/adapters/dynamodb-run-receipts.test.ts; under crashes and overlaps: the soak.
 */
import { BUILT_IN_ALERT_DEFAULTS, type AlertPolicy } from '../../lambda/core/alert-policy';
import { runPollCycle, type CycleObserver, type PollCycleOptions } from '../../lambda/core/poll-cycle';
import { CLOCK_ALLOWANCE_MS, formatRunId, KEEP_PUBLISHED_MS, MAX_OPEN_RUNS, runSettledBy } from '../../lambda/core/run-receipt';
import { InMemorySnapshotStore } from '../support/in-memory-snapshot-store';
import { ScriptedPublisher } from '../support/scripted-publisher';
import { ScriptedUnreadSource, unread } from '../support/scripted-unread-source';

const T0 = Date.parse('2026-11-26T12:00:00Z');
const LEASE_MS = 60_000;
const ID = '558355';
const OTHER = '558356';
const ONE = unread(['396001', '19155', 1]);
const THREE = unread(['396001', '19155', 3]);
const FIVE = unread(['396001', '19155', 5]);
const NO_ALERTS: AlertPolicy = { ...BUILT_IN_ALERT_DEFAULTS, minUnread: 1_000_000 };

function setup() {
  let now = T0;
  let runs = 0;
  const source = new ScriptedUnreadSource();
  const store = new InMemorySnapshotStore();
  const publisher = new ScriptedPublisher();
  const receipts: { stage: string; detail: unknown }[] = [];
  const observer: CycleObserver = { receiptFailed: (stage, detail) => receipts.push({ stage, detail }) };
  /** A run that writes for at most a minute and whose claims end a lease later, as the handler's do. */
  const nextReceipt = () => ({ run: formatRunId(now + 60_000 + LEASE_MS, `r${(runs += 1)}`), lastWriteBy: now + 60_000 });
  return {
    source,
    store,
    publisher,
    receipts,
    advance: (ms: number) => (now += ms),
    now: () => now,
    cycle: (options: Partial<PollCycleOptions> = {}) =>
      runPollCycle(
        { source, store, publisher, clock: () => now, observer },
        { concurrency: 1, claimLeaseMs: LEASE_MS, alertDefaults: NO_ALERTS, receipt: nextReceipt(), ...options },
      ),
    withoutReceipt: (options: Partial<PollCycleOptions> = {}) =>
      runPollCycle({ source, store, publisher, clock: () => now, observer }, { concurrency: 1, claimLeaseMs: LEASE_MS, alertDefaults: NO_ALERTS, ...options }),
  };
}

type Setup = ReturnType<typeof setup>;

function changed(h: Setup, ...ids: string[]): void {
  for (const id of ids) {
    h.store.put(id, { snapshot: { version: 3, state: ONE } });
    h.source.set(id, THREE);
  }
}

describe('a run with a receipt', () => {
  it('publishes its changes with one write each and closes with one more, instead of a completion per event', async () => {
    const h = setup();
    changed(h, ID, OTHER);

    const summary = await h.cycle();

    expect(summary).toMatchObject({ changed: 2, published: 2, receipted: 2 });
    expect(h.store.writes.filter((op) => op !== 'saveResumePoint')).toEqual(['saveChange', 'saveChange']);
    expect(h.store.calls).toMatchObject({ openRun: 1, closeRun: 1, completePending: 0 });
    expect(h.store.openRuns.size).toBe(0);
  });

  it('opens no run when it stores nothing', async () => {
    const h = setup();
    h.store.put(ID, { snapshot: { version: 3, state: ONE } });
    h.source.set(ID, ONE);

    await h.cycle();

    expect(h.store.calls).toMatchObject({ openRun: 0, closeRun: 0 });
  });

  it('leaves the published event in the item, where the next cycle neither resends nor waits for it', async () => {
    const h = setup();
    changed(h, ID);
    await h.cycle();
    h.advance(60_000);

    const next = await h.cycle();

    expect(h.store.deliveredEntries(ID)).toHaveLength(1);
    expect(h.store.pendingEntries(ID)).toEqual([]);
    expect(next).toMatchObject({ resent: 0, skipped: 0, polled: 1, published: 0 });
    expect(h.publisher.delivered).toHaveLength(1);
  });

  it('replaces the published event with the next change in that change write', async () => {
    const h = setup();
    changed(h, ID);
    await h.cycle();
    const first = h.store.get(ID)?.outbox?.[0]?.eventId;
    h.source.set(ID, FIVE);
    h.advance(60_000);

    await h.cycle();

    expect(h.store.get(ID)?.outbox?.map((e) => e.eventId)).not.toContain(first);
    expect(h.store.get(ID)?.outbox).toHaveLength(1);
    expect(h.publisher.delivered.map((e) => [e.previousTotal, e.total])).toEqual([[1, 3], [3, 5]]);
  });

  it('refuses the change write when the outbox holds more than the published entries it read', async () => {
    const h = setup();
    changed(h, ID);
    await h.cycle();
    h.source.set(ID, FIVE);
    h.advance(60_000);
    // An overlapping cycle stores its own change between this cycle's read and its write.
    h.store.before('saveChange', () => {
      const item = h.store.get(ID);
      const [published] = item?.outbox ?? [];
      if (!item || !published) throw new Error('fixture: the published entry is not there');
      h.store.put(ID, { ...item, outbox: [published, { ...published, eventId: 'overlap', run: 'open.x' }] });
      h.store.openRuns.add('open.x');
    });

    const summary = await h.cycle();

    expect(summary).toMatchObject({ changed: 0, conflicts: 1 });
  });
});

describe('what a run could not confirm stays pending', () => {
  it('an event SNS refused is untied from the run (the receipt does not cover it) and sent again next cycle', async () => {
    const h = setup();
    changed(h, ID, OTHER);
    h.publisher.refuseNextEntry(ID);

    const summary = await h.cycle();
    h.advance(60_000);
    const next = await h.cycle();

    expect(summary).toMatchObject({ published: 1, publishFailed: 1, receipted: 1 });
    expect(next).toMatchObject({ resent: 1, published: 1, receipted: 1 });
    expect(h.publisher.delivered.map((e) => String(e.identityId)).sort()).toEqual([ID, OTHER]);
    expect(h.store.pendingEntries(ID)).toEqual([]);
  });

  it('a release that failed keeps the run open: the event is sent again once its claim ends, not taken for delivered', async () => {
    const h = setup();
    changed(h, ID);
    h.publisher.refuseNextEntry(ID);
    h.store.before('releasePending', () => {
      throw new Error('ProvisionedThroughputExceededException');
    });

    await h.cycle();
    h.advance(LEASE_MS - 1);
    const held = await h.cycle();
    h.advance(1);
    const resent = await h.cycle();

    expect(h.store.calls.closeRun).toBe(1);
    expect(held).toMatchObject({ skipped: 1, published: 0 });
    expect(resent).toMatchObject({ resent: 1, published: 1 });
    expect(h.store.pendingEntries(ID)).toEqual([]);
  });

  it('a change write whose outcome is unknown keeps the run open, and what the run stored is sent again with the same eventId', async () => {
    const h = setup();
    changed(h, ID, OTHER);
    // The second change write reaches the table but its answer is lost.
    const original = h.store.saveChange.bind(h.store);
    h.store.saveChange = async (change) => {
      const done = await original(change);
      if (change.id === OTHER) throw new Error('socket hang up');
      return done;
    };

    const first = await h.cycle();
    h.advance(LEASE_MS);
    const second = await h.cycle();

    expect(first).toMatchObject({ changed: 1, published: 1, pollFailed: 1, receipted: 0 });
    expect(h.store.openRuns.size).toBe(1);
    expect(second).toMatchObject({ resent: 2, published: 2 });
    const delivered = h.publisher.delivered.map((e) => String(e.identityId));
    expect(delivered.filter((id) => id === ID)).toHaveLength(2);
    expect(delivered.filter((id) => id === OTHER)).toHaveLength(1);
  });

  it('a run that dies before its receipt: its events are sent again by the cycle after their claims, with the same ids', async () => {
    const h = setup();
    changed(h, ID);
    h.store.before('closeRun', () => {
      throw new Error('the function timed out');
    });

    await h.cycle();
    const eventId = h.publisher.delivered[0]?.eventId;
    h.advance(LEASE_MS);
    const resent = await h.cycle();

    expect(h.receipts).toContainEqual({ stage: 'close', detail: new Error('the function timed out') });
    expect(resent).toMatchObject({ resent: 1, published: 1, receipted: 1 });
    expect(h.publisher.delivered.map((e) => e.eventId)).toEqual([eventId, eventId]);
    expect(h.store.pendingEntries(ID)).toEqual([]);
  });

  it('a run that cannot open completes each event on its own', async () => {
    const h = setup();
    changed(h, ID);
    h.store.before('openRun', () => {
      throw new Error('AccessDeniedException');
    });

    const summary = await h.cycle();

    expect(summary).toMatchObject({ published: 1, receipted: 0 });
    expect(h.store.calls).toMatchObject({ completePending: 1, closeRun: 0 });
    expect(h.store.get(ID)?.outbox).toBeUndefined();
    expect(h.receipts.map((r) => r.stage)).toEqual(['open']);
  });

  it(`past ${MAX_OPEN_RUNS} open runs, a run closes at once and completes each event on its own`, async () => {
    const h = setup();
    for (let i = 0; i < MAX_OPEN_RUNS; i += 1) h.store.openRuns.add(formatRunId(h.now() + 3_600_000, `dead${i}`));
    changed(h, ID);

    const summary = await h.cycle();

    expect(summary).toMatchObject({ published: 1, receipted: 0 });
    expect(h.store.calls).toMatchObject({ completePending: 1, closeRun: 1 });
    expect(h.store.openRuns.size).toBe(MAX_OPEN_RUNS);
    expect(h.receipts).toEqual([{ stage: 'backlog', detail: MAX_OPEN_RUNS + 1 }]);
  });
});

describe('a published event kept in its item', () => {
  it(`is removed with one write once kept past ${KEEP_PUBLISHED_MS / 3_600_000} hours without a change, and not before`, async () => {
    const h = setup();
    changed(h, ID);
    await h.cycle();
    const claimUntil = h.store.get(ID)?.outbox?.[0]?.claimUntil ?? 0;
    h.advance(claimUntil + KEEP_PUBLISHED_MS - 1 - h.now());
    const before = await h.cycle();
    h.advance(1);
    const after = await h.cycle();

    expect(before).toMatchObject({ keptDropped: 0 });
    expect(after).toMatchObject({ keptDropped: 1 });
    expect(h.store.get(ID)?.outbox).toBeUndefined();
    expect(h.store.writes.filter((op) => op === 'dropKept')).toHaveLength(1);
  });

  it('is not removed once another run has taken it over', async () => {
    const h = setup();
    changed(h, ID);
    await h.cycle();
    h.advance(KEEP_PUBLISHED_MS + LEASE_MS);
    // An overlapping cycle took the entry over for a run of its own since: the removal is refused.
    h.store.before('dropKept', () => {
      const item = h.store.get(ID);
      const [entry] = item?.outbox ?? [];
      if (!item || !entry) throw new Error('fixture: no kept entry');
      h.store.put(ID, { ...item, outbox: [{ ...entry, run: 'other.run' }] });
    });

    const summary = await h.cycle();

    expect(summary).toMatchObject({ keptDropped: 0 });
    expect(h.store.get(ID)?.outbox).toHaveLength(1);
  });
});

describe('dead runs are pruned only when no entry can carry them', () => {
  async function deadRun(h: Setup): Promise<void> {
    changed(h, ID);
    h.store.before('closeRun', () => {
      throw new Error('killed');
    });
    await h.cycle();
  }

  it('after a clean cycle that started past the run’s last claim (and the clock allowance), and not before', async () => {
    const h = setup();
    await deadRun(h);
    const [dead] = [...h.store.openRuns];
    const settledBy = runSettledBy(dead!) ?? 0;
    h.advance(LEASE_MS);
    changed(h, OTHER);
    await h.cycle(); // resends the dead run's event: clean, but started before the dead run's bound
    expect(h.store.openRuns).toContain(dead);

    h.advance(settledBy + CLOCK_ALLOWANCE_MS - h.now());
    changed(h, '558357');
    await h.cycle(); // clean, but it started at the bound, not after it
    expect(h.store.openRuns).toContain(dead);
    h.advance(60_000);
    changed(h, '558358');
    await h.cycle(); // clean and started after the bound: no entry can carry the dead run

    expect(h.store.openRuns.size).toBe(0);
  });

  it('not after a cycle that skipped an identity; a failed poll does not count against it', async () => {
    const h = setup();
    const LIVE_RUN = formatRunId(h.now() + 24 * 3_600_000, 'live');
    await deadRun(h);
    const [dead] = [...h.store.openRuns];
    h.advance(LEASE_MS);
    await h.cycle();
    h.advance((runSettledBy(dead!) ?? 0) + CLOCK_ALLOWANCE_MS + 60_000 - h.now());
    // Another run, still open, holds a live claim on this identity's event: the cycle skips it.
    h.store.openRuns.add(LIVE_RUN);
    const [kept] = h.store.get(ID)?.outbox ?? [];
    if (!kept) throw new Error('fixture: no kept entry');
    h.store.put(OTHER, { snapshot: { version: 1, state: ONE }, outbox: [{ ...kept, run: LIVE_RUN, claimUntil: h.now() + 10 * LEASE_MS }] });
    changed(h, '558357');
    const skipping = await h.cycle();
    h.advance(60_000);
    changed(h, '558358');
    await h.cycle();
    const stillOpen = h.store.openRuns.has(dead!);
    h.store.openRuns.delete(LIVE_RUN);
    h.source.answerNext('558358', new Error('503 from CommBox'));
    h.advance(60_000);
    changed(h, '558359');
    await h.cycle(); // clean despite the failed poll
    h.advance(60_000);
    changed(h, '558360');
    await h.cycle();

    expect(skipping.skipped).toBe(1);
    expect(stillOpen).toBe(true);
    expect(h.store.openRuns.has(dead!)).toBe(false);
  });
});

describe('a cycle that read the table only in part', () => {
  it('is not clean: an unreadable item may hold a dead run’s entry, so no run is pruned on its account', async () => {
    const h = setup();
    changed(h, ID);
    h.store.before('closeRun', () => {
      throw new Error('killed');
    });
    await h.cycle();
    const [dead] = [...h.store.openRuns];
    h.advance(LEASE_MS);
    await h.cycle();
    h.store.unreadableItems = 1;
    for (let i = 0; i < 3; i += 1) {
      h.advance((runSettledBy(dead!) ?? 0) + CLOCK_ALLOWANCE_MS + 60_000 * (i + 1) - h.now());
      changed(h, `55836${i}`);
      await h.cycle();
    }

    expect(h.store.openRuns.has(dead!)).toBe(true);
    expect(h.store.lastCleanCycle()).toBeLessThan(runSettledBy(dead!) ?? 0);
  });
});

describe('what the receipt may cover', () => {
  it('an entry written after the receipt’s last write time is completed on its own', async () => {
    const h = setup();
    changed(h, ID);

    const summary = await h.cycle({ receipt: { run: formatRunId(h.now() + LEASE_MS, 'late'), lastWriteBy: h.now() } });

    expect(summary).toMatchObject({ published: 1, receipted: 0 });
    expect(h.store.calls.completePending).toBe(1);
    expect(h.store.get(ID)?.outbox).toBeUndefined();
  });

  it('an entry that cannot be rendered is not claimed: it stays pending, and the run that met it still closes', async () => {
    const h = setup();
    changed(h, ID);
    h.store.before('closeRun', () => {
      throw new Error('killed');
    });
    await h.cycle();
    const item = h.store.get(ID);
    const entry = item?.outbox?.[0];
    if (!item || !entry || entry.kind !== 'change') throw new Error('fixture: no change entry');
    h.store.put(ID, { ...item, outbox: [{ ...entry, event: { ...entry.event, conversations: null as never } }] });
    h.advance(LEASE_MS);

    const summary = await h.cycle();

    expect(summary).toMatchObject({ resent: 0, pollFailed: 1 });
    expect(h.store.pendingEntries(ID)).toHaveLength(1);
    expect(h.store.calls.claimPending).toBe(0);
  });
});

describe('polls without a receipt', () => {
  it('a targeted poll opens no run and completes its event on its own', async () => {
    const h = setup();
    changed(h, ID);

    const summary = await h.cycle({ only: { ids: [ID as never], unregistered: 'refuse' } });

    expect(summary).toMatchObject({ published: 1, receipted: 0 });
    expect(h.store.calls).toMatchObject({ openRun: 0, completePending: 1 });
  });

  it('a targeted poll does not send again what a closed run published', async () => {
    const h = setup();
    changed(h, ID);
    await h.cycle();
    h.advance(LEASE_MS);

    const summary = await h.cycle({ only: { ids: [ID as never], unregistered: 'refuse' } });

    expect(summary).toMatchObject({ resent: 0, polled: 1 });
    expect(h.publisher.delivered).toHaveLength(1);
  });

  it('a cycle without a receipt takes over a dead run’s event and completes it on its own', async () => {
    const h = setup();
    changed(h, ID);
    h.store.before('closeRun', () => {
      throw new Error('killed');
    });
    await h.cycle();
    h.advance(LEASE_MS);

    const summary = await h.withoutReceipt();

    expect(summary).toMatchObject({ resent: 1, published: 1 });
    expect(h.store.get(ID)?.outbox).toBeUndefined();
  });
});
