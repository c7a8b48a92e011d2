/**
 * Run receipts in the DynamoDB store, on dynalite: the open runs in one item (a string set), the
 * run's tag on the entries it answers for, the entries of closed runs set aside on read, and the
 * change write that replaces them (and only them).
 */
import { GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { decodeAlertState, encodeAlertState, INITIAL_ALERT_STATE } from '../../lambda/core/alert-state';
import { diffUnread } from '../../lambda/core/diff';
import { buildEvent } from '../../lambda/core/event-builder';
import { parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadState } from '../../lambda/core/model';
import { CLOCK_ALLOWANCE_MS, formatRunId } from '../../lambda/core/run-receipt';
import { TABLE_KEY } from '../../lambda/env-names';
import { createTestTable } from '../support/dynalite';

const AT = '2026-11-26T12:00:00.000Z';
const A0 = encodeAlertState(INITIAL_ALERT_STATE);
const RUN = formatRunId(Date.parse(AT) + 120_000, 'run1');
const LATER_RUN = formatRunId(Date.parse(AT) + 180_000, 'run2');
const id = (raw: string): IdentityId => parseIdentityId(raw);
const state = (total: number): UnreadState => normalizeState(total, [{ objectId: '1', streamId: '2', unread: total }]);
const event = (raw: string, fromVersion: number, from: number, to: number) =>
  buildEvent({ identityId: id(raw), fromVersion, previous: state(from), next: state(to), diff: diffUnread(state(from), state(to))!, observedAt: new Date(AT) });

async function setup() {
  const table = await createTestTable();
  const store = new DynamoDbSnapshotStore(table.client, table.tableName);
  const raw = async (key: string): Promise<Record<string, AttributeValue> | undefined> =>
    (await table.client.send(new GetItemCommand({ TableName: table.tableName, Key: { identityId: { S: key } }, ConsistentRead: true }))).Item;
  /** An identity at version 1 (1 unread) whose change to 3 was stored by `run`. */
  const changedBy = async (rawId: string, run: string | undefined, claimUntil = 100) => {
    await table.registry.register(id(rawId));
    await store.saveBaseline(id(rawId), state(1), AT, A0);
    const change = event(rawId, 1, 1, 3);
    const stored = await store.saveChange({ id: id(rawId), expectedVersion: 1, state: state(3), event: change, claimUntil, alert: { seen: A0, next: A0 }, ...(run ? { run } : {}) });
    if (!stored) throw new Error('fixture not stored');
    return change;
  };
  return { ...table, store, raw, changedBy };
}

describe('the open runs', () => {
  it('opening adds the run to one string set and answers every run open; closing removes it', async () => {
    const { store, raw } = await setup();

    expect(await store.openRun(RUN)).toEqual([RUN]);
    expect([...(await store.openRun(LATER_RUN))].sort()).toEqual([RUN, LATER_RUN].sort());
    await store.closeRun(RUN);

    expect((await raw(TABLE_KEY.runsKey))?.open).toEqual({ SS: [LATER_RUN] });
  });

  it('closing the last one leaves no set (DynamoDB keeps no empty set), and reads as none open', async () => {
    const { store, raw, changedBy } = await setup();
    await store.openRun(RUN);
    await changedBy('558355', RUN);
    await store.closeRun(RUN);

    const { identities } = await store.loadCycle();

    expect((await raw(TABLE_KEY.runsKey))?.open).toBeUndefined();
    expect(identities[0]?.delivered).toHaveLength(1);
    expect(identities[0]?.outbox).toBeUndefined();
  });

  it('the runs item is bookkeeping: neither an identity to poll nor one the registry lists', async () => {
    const { store, registry } = await setup();
    await store.openRun(RUN);

    expect((await store.loadCycle()).identities).toEqual([]);
    expect(await registry.list()).toEqual([]);
  });
});

describe('entries and their run', () => {
  it('an entry of an open run is pending; once the run closes it is delivered and only counted', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    const change = await changedBy('558355', RUN);

    const whileOpen = (await store.loadCycle()).identities[0];
    await store.closeRun(RUN);
    const afterClose = (await store.loadIdentities([id('558355')])).identities[0];

    expect(whileOpen?.outbox).toMatchObject([{ eventId: change.eventId, run: RUN, claimUntil: 100 }]);
    expect(whileOpen?.delivered).toBeUndefined();
    expect(afterClose?.delivered).toHaveLength(1);
    expect(afterClose?.outbox).toBeUndefined();
  });

  it('an entry without a run is pending whatever the open runs', async () => {
    const { store, changedBy } = await setup();
    await changedBy('558355', undefined);
    await store.openRun(RUN);
    await store.closeRun(RUN);

    expect((await store.loadCycle()).identities[0]?.outbox).toHaveLength(1);
  });

  it('the next change replaces the delivered entry in its one write, on the entries read', async () => {
    const { store, raw, changedBy } = await setup();
    await store.openRun(RUN);
    const first = await changedBy('558355', RUN);
    await store.closeRun(RUN);
    const next = event('558355', 2, 3, 5);

    const refused = await store.saveChange({ id: id('558355'), expectedVersion: 2, state: state(5), event: next, claimUntil: 200, alert: { seen: A0, next: A0 } });
    const stored = await store.saveChange({ id: id('558355'), expectedVersion: 2, state: state(5), event: next, claimUntil: 200, alert: { seen: A0, next: A0 }, delivered: [{ eventId: first.eventId, run: RUN, claimUntil: 100 }], run: LATER_RUN });

    expect(refused).toBe(false);
    expect(stored).toBe(true);
    expect(Object.keys((await raw('558355'))?.outbox?.M ?? {})).toEqual([next.eventId]);
    expect(Object.keys((await raw('558355'))?.outbox?.M ?? {})).not.toContain(first.eventId);
  });

  it('a change write is refused when the outbox holds more than the delivered entries read', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    const first = await changedBy('558355', RUN);
    await store.closeRun(RUN);
    const next = event('558355', 2, 3, 5);
    const kept = { eventId: first.eventId, run: RUN, claimUntil: 100 };

    expect(await store.saveChange({ id: id('558355'), expectedVersion: 2, state: state(5), event: next, claimUntil: 200, alert: { seen: A0, next: A0 }, delivered: [kept, { ...kept, eventId: 'another' }] })).toBe(false);
  });

  it('a change write is refused when a delivered entry read was released since (its run closed after the read): it is pending again', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    const first = await changedBy('558355', RUN);
    const [entry] = (await store.loadCycle()).identities[0]?.outbox ?? [];
    // Read as published (its run closed), then SNS's refusal is settled: released, untied from the run.
    await store.releasePending(id('558355'), entry!);
    await store.closeRun(RUN);
    const next = event('558355', 2, 3, 5);

    const stored = await store.saveChange({ id: id('558355'), expectedVersion: 2, state: state(5), event: next, claimUntil: 200, alert: { seen: A0, next: A0 }, delivered: [{ eventId: first.eventId, run: RUN, claimUntil: 100 }] });

    expect(stored).toBe(false);
    expect((await store.loadCycle()).identities[0]?.outbox).toMatchObject([{ eventId: first.eventId, claimUntil: 0 }]);
  });

  it('an alert decision replaces delivered entries the same way', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    const first = await changedBy('558355', RUN);
    await store.closeRun(RUN);
    const A1 = encodeAlertState({ ...decodeAlertState(A0), sequence: 1 });

    expect(await store.saveAlert({ id: id('558355'), version: 2, seen: A0, next: A1, claimUntil: 0 })).toBe(false);
    expect(await store.saveAlert({ id: id('558355'), version: 2, seen: A0, next: A1, claimUntil: 0, delivered: [{ eventId: first.eventId, run: RUN, claimUntil: 100 }] })).toBe(true);
  });

  it('a claim by a run tags the entries with it; a claim without one unties them', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    await changedBy('558355', RUN);
    const [entry] = (await store.loadCycle()).identities[0]?.outbox ?? [];
    await store.openRun(LATER_RUN);

    await store.claimPending(id('558355'), [entry!], 500, LATER_RUN);
    const tagged = (await store.loadCycle()).identities[0]?.outbox?.[0];
    await store.claimPending(id('558355'), [tagged!], 900);
    const untied = (await store.loadCycle()).identities[0]?.outbox?.[0];

    expect(tagged).toMatchObject({ claimUntil: 500, run: LATER_RUN });
    expect(untied).toMatchObject({ claimUntil: 900 });
    expect(untied?.run).toBeUndefined();
  });

  it('a release unties the entry from its run: closing the run does not publish a refused entry', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    await changedBy('558355', RUN);
    const [entry] = (await store.loadCycle()).identities[0]?.outbox ?? [];

    await store.releasePending(id('558355'), entry!);
    await store.closeRun(RUN);

    expect((await store.loadCycle()).identities[0]?.outbox).toMatchObject([{ claimUntil: 0 }]);
  });
});

describe('published entries kept in their items', () => {
  it('are removed in one write while still tagged with the run that published them', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    const change = await changedBy('558355', RUN, 100);
    await store.closeRun(RUN);

    const otherRun = await store.dropKept(id('558355'), [{ eventId: change.eventId, run: LATER_RUN, claimUntil: 100 }]);
    const sameRun = await store.dropKept(id('558355'), [{ eventId: change.eventId, run: RUN, claimUntil: 100 }]);
    const { identities } = await store.loadCycle(undefined, 101);

    expect(otherRun).toBe(false);
    expect(sameRun).toBe(true);
    expect(identities[0]?.outbox).toBeUndefined();
    expect(identities[0]?.delivered).toBeUndefined();
  });
});

describe('the registry shows what is still pending', () => {
  it('an entry a closed run published is not among the pending events `identities show` lists', async () => {
    const { store, registry, changedBy } = await setup();
    await store.openRun(RUN);
    await changedBy('558355', RUN);
    const whileOpen = await registry.get(id('558355'));
    await store.closeRun(RUN);

    const afterClose = await registry.get(id('558355'));

    expect(whileOpen?.outbox).toHaveLength(1);
    expect(afterClose?.outbox).toBeUndefined();
    expect(afterClose?.delivered).toHaveLength(1);
  });
});

describe('cycle ends and pruning', () => {
  it('a cycle end keeps the last clean cycle’s start when it was not clean itself', async () => {
    const { store, raw } = await setup();
    const segment = { segment: 0, totalSegments: 2 };

    await store.recordCycleEnd(segment, AT, 1_000);
    await store.recordCycleEnd(segment, '2026-11-26T12:01:00.000Z');

    expect(await raw(`${TABLE_KEY.cycleKeyPrefix}0/2`)).toMatchObject({ endedAt: { S: '2026-11-26T12:01:00.000Z' }, cleanSince: { N: '1000' } });
  });

  it('prunes a dead run only when every segment of the layout has a clean cycle after its last claim', async () => {
    const { store, raw } = await setup();
    const settledBy = Date.parse(AT) + 120_000 + CLOCK_ALLOWANCE_MS;
    await store.openRun(RUN);
    await store.recordCycleEnd({ segment: 0, totalSegments: 2 }, AT, settledBy + 1);

    await store.pruneRuns([RUN], 2);
    const whileOneSegmentLags = (await raw(TABLE_KEY.runsKey))?.open;
    await store.recordCycleEnd({ segment: 1, totalSegments: 2 }, AT, settledBy + 5);
    await store.pruneRuns([RUN], 2);

    expect(whileOneSegmentLags).toEqual({ SS: [RUN] });
    expect((await raw(TABLE_KEY.runsKey))?.open).toBeUndefined();
  });

  it('keeps a run whose id this version cannot read', async () => {
    const { store, raw } = await setup();
    await store.openRun('from-a-later-version');
    await store.recordCycleEnd(undefined, AT, Date.parse(AT) + 10 ** 9);

    await store.pruneRuns(['from-a-later-version'], undefined);

    expect((await raw(TABLE_KEY.runsKey))?.open).toEqual({ SS: ['from-a-later-version'] });
  });
});

describe('a scan that knows the time', () => {
  it('counts, without decoding, an entry whose claim ran out well before the read and whose run was closed then', async () => {
    const { store, changedBy, client, tableName } = await setup();
    await store.openRun(RUN);
    const change = await changedBy('558355', RUN, 100);
    await store.closeRun(RUN);
    // A body no decoder would accept: it is never read.
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { identityId: { S: '558355' } },
        UpdateExpression: 'SET outbox.#e.body = :broken',
        ExpressionAttributeNames: { '#e': change.eventId },
        ExpressionAttributeValues: { ':broken': { S: '{not json' } },
      }),
    );

    const { identities } = await store.loadCycle(undefined, 100 + CLOCK_ALLOWANCE_MS);

    expect(identities[0]?.delivered).toHaveLength(1);
    expect(identities[0]?.outbox).toBeUndefined();
  });

  it('decodes an entry whose claim still ran, and judges it on the open runs read after the scan', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    await changedBy('558355', RUN, 5_000);

    const whileOpen = (await store.loadCycle(undefined, 101)).identities[0];
    await store.closeRun(RUN);
    const afterClose = (await store.loadCycle(undefined, 101)).identities[0];

    expect(whileOpen?.outbox).toMatchObject([{ run: RUN, claimUntil: 5_000 }]);
    expect(afterClose?.delivered).toHaveLength(1);
  });

  it('decodes an entry of a run open at the read, even long after its bound (a run that died)', async () => {
    const { store, changedBy } = await setup();
    await store.openRun(RUN);
    await changedBy('558355', RUN, 100);

    const { identities } = await store.loadCycle(undefined, Date.parse(AT) + 120_000 + CLOCK_ALLOWANCE_MS);

    expect(identities[0]?.outbox).toMatchObject([{ run: RUN, claimUntil: 100 }]);
    expect(identities[0]?.delivered).toBeUndefined();
  });
});
