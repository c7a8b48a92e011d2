import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CycleAbortedError } from '../../lambda/core/errors';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { formatRunId } from '../../lambda/core/run-receipt';
import { PENDING_EVENT, WITH_PENDING_EVENT } from '../adapters/dynamodb-today-items';
import { cycleHarness, type CycleHarness } from '../support/cycle-harness';

let h: CycleHarness;

beforeEach(async () => {
  h = await cycleHarness();
});

afterEach(async () => {
  await h.close();
});

function writes(): number {
  const r = h.store.requests;
  return r.UpdateItem + r.PutItem + r.DeleteItem;
}

describe('a poll cycle on dynalite and the CommBox simulator', () => {
  test('the first poll records a baseline and publishes nothing', async () => {
    h.simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 2 }]);
    await h.register('558355');

    const summary = await h.cycle();

    expect(summary).toMatchObject({ identities: 1, polled: 1, baselines: 1, changed: 0, published: 0 });
    expect(h.publisher.received).toEqual([]);
  });

  test('an increase is published with the conversations that changed', async () => {
    h.simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 1 }]);
    await h.register('558355');
    await h.cycle();
    h.simulator.world.setUnread('558355', 396002, 2, 19155);

    const summary = await h.cycle();

    expect(summary).toMatchObject({ changed: 1, published: 1 });
    expect(h.publisher.received).toEqual([
      expect.objectContaining({
        identityId: 558355,
        previousTotal: 1,
        total: 3,
        delta: 2,
        direction: 'increased',
        conversations: [{ objectId: 396002, streamId: 19155, previous: 0, current: 2 }],
      }),
    ]);
  });

  test('a decrease is published as decreased', async () => {
    h.simulator.world.addIdentity('7', [{ objectId: 11, streamId: 1, unread: 4 }]);
    await h.register('7');
    await h.cycle();
    h.simulator.world.setUnread('7', 11, 1);

    await h.cycle();

    expect(h.publisher.received).toEqual([expect.objectContaining({ previousTotal: 4, total: 1, delta: -3, direction: 'decreased' })]);
  });

  test('a conversation that disappeared counts as 0', async () => {
    h.simulator.world.addIdentity('8', [
      { objectId: 21, streamId: 1, unread: 2 },
      { objectId: 22, streamId: 1, unread: 1 },
    ]);
    await h.register('8');
    await h.cycle();
    h.simulator.world.removeConversation('8', 21);

    await h.cycle();

    expect(h.publisher.received).toEqual([
      expect.objectContaining({ previousTotal: 3, total: 1, conversations: [{ objectId: 21, streamId: 1, previous: 2, current: 0 }] }),
    ]);
  });

  test('an unchanged cycle writes no identity item (only the one cycle-end item) and publishes nothing', async () => {
    h.simulator.world.populate(20, { firstId: 1000 });
    await h.register(...h.simulator.world.ids());
    await h.cycle();
    const writesBefore = writes();
    const updatesBefore = h.store.requests.UpdateItem;

    const summary = await h.cycle();

    expect(summary).toMatchObject({ polled: 20, changed: 0, published: 0 });
    // The cycle-end item is updated (it keeps the last clean cycle's start); no run is opened.
    expect(h.store.requests.UpdateItem).toBe(updatesBefore + 1);
    expect(writes()).toBe(writesBefore + 1);
    expect(h.publisher.calls).toBe(0);
  });

  test('a publish that SNS refused is sent again by the next cycle with the same eventId, before any later change', async () => {
    h.simulator.world.addIdentity('9', [{ objectId: 31, streamId: 1, unread: 1 }]);
    await h.register('9');
    await h.cycle();
    h.simulator.world.setUnread('9', 31, 2);
    h.publisher.failNext();

    // The rise also owes a `new` alert: the change and its alert fail together, and are resent together.
    const failed = await h.cycle();
    expect(failed).toMatchObject({ changed: 1, published: 0, alertsSent: 0, publishFailed: 2 });
    h.simulator.world.setUnread('9', 31, 5);

    const resent = await h.cycle();
    expect(resent).toMatchObject({ resent: 2, published: 1, alertsSent: 1 });
    const later = await h.cycle();
    expect(later).toMatchObject({ changed: 1, published: 1 });

    const [first, second] = h.publisher.received;
    expect(first).toMatchObject({ previousTotal: 1, total: 2 });
    expect(second).toMatchObject({ previousTotal: 2, total: 5 });
    expect(h.publisher.received).toHaveLength(2);
  });

  test('the re-sent event carries the eventId the refused one had', async () => {
    h.simulator.world.addIdentity('10', [{ objectId: 41, streamId: 1, unread: 1 }]);
    await h.register('10');
    await h.cycle();
    h.simulator.world.setUnread('10', 41, 3);
    const stored: string[] = [];
    h.publisher.failNext();
    await h.cycle({}, { observer: { eventStored: (e) => stored.push(e.eventId) } });

    await h.cycle();

    expect(h.publisher.received.map((e) => e.eventId)).toEqual(stored);
  });

  test('two overlapping cycles publish a change once', async () => {
    h.simulator.world.populate(30, { firstId: 2000 });
    await h.register(...h.simulator.world.ids());
    await h.cycle();
    const changedIds = h.simulator.tick(0.5);

    const summaries = await Promise.all([h.cycle({}, { store: h.newStore() }), h.cycle({}, { store: h.newStore() })]);

    const published = h.publisher.received.map((e) => String(e.identityId)).sort();
    expect(new Set(published).size).toBe(published.length);
    expect(published).toEqual([...new Set(changedIds)].sort());
    expect(summaries[0].changed + summaries[1].changed).toBe(published.length);
  });

  test('an identity gone upstream (404) is counted and the others are still polled', async () => {
    h.simulator.world.addIdentity('11');
    await h.register('11', '12');
    h.simulator.world.removeIdentity('12');

    const summary = await h.cycle();

    expect(summary).toMatchObject({ identities: 2, polled: 1, notFound: 1, failed: 0 });
    expect((await h.registry.list()).find((r) => r.id === '12')).toMatchObject({ notFound: true });
  });

  test('an identity that keeps failing is counted, its streak recorded, the rest polled', async () => {
    h.simulator.world.addIdentity('13');
    h.simulator.world.addIdentity('14');
    await h.register('13', '14');
    h.simulator.faults.forIdentity('13', { status: 500 }, { status: 500 }, { status: 503 });

    const summary = await h.cycle();

    expect(summary).toMatchObject({ polled: 1, failed: 1 });
    expect((await h.registry.list()).find((r) => r.id === '13')).toMatchObject({ failureStreak: 1 });
  });

  test('a refused token (401) aborts the cycle', async () => {
    h.simulator.world.populate(5, { firstId: 3000 });
    await h.register(...h.simulator.world.ids());
    h.simulator.rotateToken('a-token-nobody-has');

    await expect(h.cycle()).rejects.toBeInstanceOf(CycleAbortedError);
    expect(h.simulator.stats.unauthorized).toBeLessThanOrEqual(2 * 4);
  });

  test('a cycle cut short by its deadline records where it stopped, and the next one starts there', async () => {
    h.simulator.world.populate(10, { firstId: 4000 });
    const ids = h.simulator.world.ids();
    await h.register(...ids);
    let allowed = 4;

    const cut = await h.cycle({ concurrency: 1, shouldStartMore: () => allowed-- > 0 });
    expect(cut).toMatchObject({ polled: 4, skipped: 6, resumeFrom: '4004' });

    const order: string[] = [];
    const next = await h.cycle({ concurrency: 1 }, { observer: { baselineRecorded: (id) => order.push(id) } });
    expect(next.resumeFrom).toBeUndefined();
    expect(order).toEqual(['4004', '4005', '4006', '4007', '4008', '4009']);
    expect((await h.store.loadCycle()).resumeFrom).toBeUndefined();
  });

  test('under a short wall-clock deadline every cycle finishes what it started and the next goes on from there, so none starves', async () => {
    // A slow upstream and a 100 ms deadline, as the handler's remaining-time check would cut a cycle.
    const slow = await cycleHarness({ latencyMs: 40 });
    try {
      slow.simulator.world.populate(24, { firstId: 7000 });
      const ids = slow.simulator.world.ids();
      await slow.register(...ids);
      const baselined: string[] = [];
      const summaries = [];
      while (baselined.length < ids.length && summaries.length < 12) {
        let firstAsked: number | undefined;
        const deadline = (): boolean => {
          firstAsked ??= Date.now();
          return Date.now() - firstAsked < 100;
        };
        // Three at a time finish in any order: each cycle's ids are put in id order before they are compared.
        const thisCycle: string[] = [];
        const summary = await slow.cycle({ concurrency: 3, shouldStartMore: deadline }, { observer: { baselineRecorded: (id) => thisCycle.push(id) } });
        baselined.push(...thisCycle.sort((a, b) => Number(a) - Number(b)));
        summaries.push(summary);
        // Whatever started was finished (polled), the rest left for later: nothing failed, nothing lost.
        expect(summary).toMatchObject({ identities: 24, failed: 0, conflicts: 0 });
        expect(summary.polled).toBeGreaterThan(0);
        expect(summary.polled + summary.skipped).toBe(24);
      }

      expect(summaries.length).toBeGreaterThan(1);
      // Cycle after cycle picked up exactly where the previous one stopped: one pass, in order, no repeats.
      expect(baselined).toEqual(ids);
      let cursor = 0;
      for (const summary of summaries) {
        cursor += summary.polled;
        if (summary.skipped > 0) expect(summary.resumeFrom).toBe(ids[cursor % ids.length]);
      }
    } finally {
      await slow.close();
    }
  });

  test('a targeted poll reads just the given identities by key, with the same outbox, and moves no resume point', async () => {
    h.simulator.world.populate(6, { firstId: 8000 });
    const ids = h.simulator.world.ids();
    await h.register(...ids);
    let allowed = 2;
    await h.cycle({ concurrency: 1, shouldStartMore: () => allowed-- > 0 });
    const resumeFrom = (await h.store.loadCycle()).resumeFrom;
    for (const id of ids) h.simulator.world.setUnread(id, 1, 9, 1);
    const scansBefore = h.store.requests.Scan;

    const summary = await h.cycle({ only: { ids: [ids[0]!, ids[5]!].map(parseIdentityId), unregistered: 'refuse' } });

    expect(summary).toMatchObject({ identities: 2, polled: 2, changed: 1, baselines: 1, published: 1 });
    expect(h.publisher.received).toEqual([expect.objectContaining({ identityId: 8000, total: expect.any(Number) })]);
    expect(h.store.requests).toMatchObject({ Scan: scansBefore, BatchGetItem: 1 });
    expect((await h.store.loadCycle()).resumeFrom).toBe(resumeFrom);
    expect(await h.registry.cycleEnds()).toEqual([{ endedAt: new Date(h.clock()).toISOString() }]);
  });

  test('a cycle that ran to its end puts when it ended in its bookkeeping item, one write per cycle', async () => {
    h.simulator.world.populate(3, { firstId: 8100 });
    await h.register(...h.simulator.world.ids());
    await h.cycle();
    h.advance(60_000);
    const before = writes();

    await h.cycle({ segment: { segment: 0, totalSegments: 1 } });

    expect(writes() - before).toBe(1);
    expect(await h.registry.cycleEnds()).toEqual([
      { segment: { segment: 0, totalSegments: 1 }, endedAt: new Date(h.clock()).toISOString() },
      { endedAt: new Date(h.clock() - 60_000).toISOString() },
    ]);
  });
});

describe('alerts on dynalite and the CommBox simulator', () => {
  const MIN = 60_000;

  /** What `identities set <id> --…` stores: the identity's own policy values, as the flags write them. */
  async function setPolicy(id: string, policy: Record<string, string | number | boolean>): Promise<void> {
    await h.client.send(
      new UpdateItemCommand({
        TableName: h.tableName,
        Key: { identityId: { S: id } },
        UpdateExpression: 'SET alertPolicy = :p',
        ExpressionAttributeValues: { ':p': { S: JSON.stringify(policy) } },
      }),
    );
  }

  test('a rise alerts `new` once; rises within the cooldown fold into one digest when it ends; a decrease alerts nobody', async () => {
    h.simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 0 }]);
    await h.register('558355');
    await h.cycle();

    for (const unread of [2, 3, 5, 7]) {
      h.simulator.world.setUnread('558355', 396001, unread);
      h.advance(MIN);
      await h.cycle();
    }
    h.simulator.world.setUnread('558355', 396001, 4);
    h.advance(MIN);
    await h.cycle();
    h.advance(15 * MIN);
    const due = await h.cycle();

    expect(h.publisher.alerts.map((a) => [a.kind, a.lastAlertTotal, a.total, a.changes])).toEqual([
      ['new', 0, 2, 1],
      ['digest', 2, 4, 3],
    ]);
    expect(due).toMatchObject({ changed: 0, alertsSent: 1 });
    expect(h.publisher.received.map((e) => e.total)).toEqual([2, 3, 5, 7, 4]);
  });

  test('an alert carries its renderings and the attributes subscriptions filter on', async () => {
    h.simulator.world.addIdentity('558355', []);
    await h.registry.register(parseIdentityId('558355'), { label: 'Support desk' });
    await h.cycle();
    h.simulator.world.setUnread('558355', 396001, 5, 19155);
    h.advance(MIN);
    const attributes: Record<string, string>[] = [];

    await h.cycle({}, { publisher: { publishBatch: (batch) => (attributes.push(...batch.map((p) => Object.fromEntries(Object.entries(p.attributes).map(([k, v]) => [k, v.value])))), h.publisher.publishBatch(batch)) } });

    const [alert] = h.publisher.alerts;
    expect(alert).toMatchObject({ kind: 'new', identityId: 558355, label: 'Support desk', total: 5, conversations: [{ objectId: 396001, streamId: 19155, unread: 5 }] });
    expect(alert?.texts.sms).toBe('CommBox: 5 unread in 1 conversation, waiting since 12:01 - Support desk');
    expect(alert?.texts.subject).toBe('CommBox: 5 unread waiting for Support desk');
    expect(attributes).toContainEqual({ eventType: 'unread.alert', alertKind: 'new', identityId: '558355', total: '5' });
  });

  test('quiet hours covering now hold the alert; turning them off sends one digest at the next poll', async () => {
    h.simulator.world.addIdentity('21', [{ objectId: 1, streamId: 1, unread: 0 }]);
    await h.register('21');
    await setPolicy('21', { quietHours: '11:00-13:00' });
    await h.cycle();
    h.simulator.world.setUnread('21', 1, 3);
    h.advance(MIN);
    const quiet = await h.cycle();
    h.simulator.world.setUnread('21', 1, 4);
    h.advance(MIN);
    await h.cycle();

    await setPolicy('21', { quietHours: 'off' });
    h.advance(MIN);
    const after = await h.cycle();

    expect(quiet).toMatchObject({ changed: 1, alertsSent: 0, alertsDeferred: 1 });
    expect(after).toMatchObject({ changed: 0, alertsSent: 1 });
    expect(h.publisher.alerts.map((a) => [a.kind, a.lastAlertTotal, a.total, a.changes])).toEqual([['digest', 0, 4, 2]]);
  });

  test('two overlapping cycles send a due alert once', async () => {
    h.simulator.world.populate(20, { firstId: 5000 });
    const ids = h.simulator.world.ids();
    await h.register(...ids);
    await h.cycle();
    for (const id of ids) h.simulator.world.setUnread(id, 990_001, 1, 1);
    h.advance(MIN);
    await h.cycle();
    for (const id of ids) h.simulator.world.setUnread(id, 990_001, 2, 1);
    h.advance(MIN);
    await h.cycle();
    const before = h.publisher.alerts.length;
    h.advance(15 * MIN);

    const summaries = await Promise.all([h.cycle({}, { store: h.newStore() }), h.cycle({}, { store: h.newStore() })]);

    const digests = h.publisher.alerts.slice(before);
    expect(digests.map((a) => String(a.identityId)).sort()).toEqual([...ids].sort());
    expect(new Set(digests.map((a) => a.eventId)).size).toBe(ids.length);
    expect(summaries[0].alertsSent + summaries[1].alertsSent).toBe(ids.length);
  });

  test("an item in today's format (one pending change, no alert state) is sent, then polled with alerts", async () => {
    h.simulator.world.addIdentity('558356', [{ objectId: 396001, streamId: 19155, unread: 3 }]);
    await h.client.send(new PutItemCommand({ TableName: h.tableName, Item: WITH_PENDING_EVENT }));

    const resend = await h.cycle();
    h.simulator.world.setUnread('558356', 396001, 6);
    h.advance(MIN);
    const next = await h.cycle();

    expect(resend).toMatchObject({ resent: 1, published: 1, polled: 0 });
    expect(h.publisher.received.map((e) => e.eventId)).toEqual([PENDING_EVENT.eventId, expect.any(String)]);
    expect(next).toMatchObject({ changed: 1, alertsSent: 1 });
    expect(h.publisher.alerts).toMatchObject([{ kind: 'new', lastAlertTotal: 3, total: 6 }]);
  });
});

describe('what a minute costs in writes, with run receipts and the built-in alert policy', () => {
  const RUN_BOUND_MS = 120_000;
  const withReceipt = (n: number) => ({ receipt: { run: formatRunId(h.clock() + RUN_BOUND_MS, `w${n}`), lastWriteBy: h.clock() + RUN_BOUND_MS - 60_000 } });

  test('a change costs one item write, with its alert or without; each run two bookkeeping writes and the cycle end one', async () => {
    const ids = h.simulator.world.populate(200, { firstId: 3000, maxConversations: 2 });
    await h.register(...ids);
    await h.cycle(withReceipt(0));
    let run = 0;
    const counted = { changes: 0, alerts: 0, updates: 0, cycles: 0 };
    for (let minute = 0; minute < 5; minute += 1) {
      h.advance(60_000);
      h.simulator.world.tick(0.1);
      const before = h.store.requests.UpdateItem;
      const summary = await h.cycle(withReceipt((run += 1)));
      counted.changes += summary.changed;
      counted.alerts += summary.alertsSent;
      counted.updates += h.store.requests.UpdateItem - before;
      counted.cycles += 1;
      expect(summary).toMatchObject({ receipted: summary.published + summary.alertsSent, resent: 0 });
    }

    // Identity writes: the changes, plus the time-only alert decisions (a digest or reminder that
    // came due with no change); none completes an entry. Bookkeeping: open, close, cycle end.
    const decisionsWithoutChange = counted.updates - counted.changes - 3 * counted.cycles;
    if (process.env.TIMINGS === '1') process.stdout.write(`writes: ${JSON.stringify({ ...counted, decisionsWithoutChange })}\n`);
    expect(counted.changes).toBeGreaterThan(50);
    expect(counted.alerts).toBeGreaterThan(10);
    expect(decisionsWithoutChange).toBeGreaterThanOrEqual(0);
    expect(decisionsWithoutChange).toBeLessThanOrEqual(counted.alerts);
    expect(h.store.requests.PutItem + h.store.requests.DeleteItem).toBe(0);
  });
});
