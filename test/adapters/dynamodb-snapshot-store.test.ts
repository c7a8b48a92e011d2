import { BatchGetItemCommand, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { DynamoDbIdentityRegistry } from '../../lambda/adapters/dynamodb-identity-registry';
import { AmbiguousWriteError, DynamoDbSnapshotStore, SCAN_PAGE_ITEMS } from '../../lambda/adapters/dynamodb-snapshot-store';
import { buildAlertNotice, type AlertNotice } from '../../lambda/core/alert-event';
import { decodeAlertState, encodeAlertState, INITIAL_ALERT_STATE } from '../../lambda/core/alert-state';
import { buildEvent } from '../../lambda/core/event-builder';
import { diffUnread } from '../../lambda/core/diff';
import { parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadChangedEvent, type UnreadState } from '../../lambda/core/model';
import { alertEntry, changeEntry } from '../../lambda/core/outbox';
import { createTestTable } from '../support/dynalite';
import { PENDING_EVENT, WITH_PENDING_EVENT } from './dynamodb-today-items';

const id = (raw: string): IdentityId => parseIdentityId(raw);
const AT = '2026-11-26T12:00:00.000Z';
const state = (total: number, ...convs: [string, string, number][]): UnreadState =>
  normalizeState(total, convs.map(([objectId, streamId, unread]) => ({ objectId, streamId, unread })));

async function setup() {
  const table = await createTestTable();
  const malformed: { key: string; reason: string }[] = [];
  const store = new DynamoDbSnapshotStore(table.client, table.tableName, {
    onMalformedItem: (key, error) => malformed.push({ key, reason: (error as Error).message }),
  });
  const putRaw = (item: Record<string, AttributeValue>) => table.client.send(new PutItemCommand({ TableName: table.tableName, Item: item }));
  const getRaw = async (key: string) =>
    (await table.client.send(new GetItemCommand({ TableName: table.tableName, Key: { identityId: { S: key } }, ConsistentRead: true }))).Item;
  return { ...table, store, malformed, putRaw, getRaw };
}

function changeEvent(identity: IdentityId, fromVersion: number, previous: UnreadState, next: UnreadState) {
  return buildEvent({ identityId: identity, fromVersion, previous, next, diff: diffUnread(previous, next)!, observedAt: new Date(0) });
}

/** Alert states as stored, each a different sequence: what the conditions compare. */
const [A0, A1, A2, A3] = [0, 1, 2, 3].map((sequence) => encodeAlertState({ ...INITIAL_ALERT_STATE, sequence })) as [string, string, string, string];

function noticeFor(raw: string, sequence = 1): AlertNotice {
  const at = Date.parse('2026-11-26T12:00:00Z');
  return buildAlertNotice({
    identityId: id(raw),
    label: 'Support',
    timeZone: 'Europe/Berlin',
    alert: { kind: 'new', episode: 1, sequence, total: 3, lastAlertTotal: 1, changes: 1, waitingSince: at, conversations: [{ objectId: '1', streamId: '2', unread: 3 }], observedAt: at },
  });
}

/** A change from 1 to 3 unread stored with its `new` alert, both pending under a claim until 100; the alert state is A2 after it. */
async function changedWithAlert(registry: DynamoDbIdentityRegistry, store: DynamoDbSnapshotStore, raw: string): Promise<{ event: UnreadChangedEvent; notice: AlertNotice }> {
  await registry.register(id(raw));
  const a = state(1, ['1', '2', 1]);
  const b = state(3, ['1', '2', 3]);
  await store.saveBaseline(id(raw), a, AT, A1);
  const event = changeEvent(id(raw), 1, a, b);
  const notice = noticeFor(raw);
  if (!(await store.saveChange({ id: id(raw), expectedVersion: 1, state: b, event, claimUntil: 100, alert: { seen: A1, next: A2, notice } }))) throw new Error('fixture not stored');
  return { event, notice };
}

const PENDING_EVENT_37 = { ...PENDING_EVENT, identityId: '37' };

describe('DynamoDbSnapshotStore on dynalite', () => {
  test('a registered identity loads without a baseline', async () => {
    const { registry, store } = await setup();
    await registry.register(id('558355'), { label: 'Support' });

    const { identities } = await store.loadCycle();

    expect(identities).toEqual([{ id: '558355', label: 'Support', failureStreak: 0, notFound: false }]);
  });

  test('parallel-scan segments split the registry without overlap', async () => {
    const { registry, store } = await setup();
    const ids = Array.from({ length: 60 }, (_, i) => String(1000 + i));
    for (const raw of ids) await registry.register(id(raw));

    const segments = await Promise.all([0, 1, 2, 3].map((segment) => store.loadCycle({ segment, totalSegments: 4 })));

    const seen = segments.flatMap((s) => s.identities.map((w) => w.id));
    expect(seen.sort()).toEqual(ids.sort());
    expect(new Set(seen).size).toBe(ids.length);
  });

  test('a baseline is stored once, with its alert state, and read back with its conversations and when it was observed', async () => {
    const { registry, store } = await setup();
    await registry.register(id('7'));
    const observed = state(3, ['396001', '19155', 2], ['396002', '19155', 1]);

    expect(await store.saveBaseline(id('7'), observed, AT, A1)).toBe(true);
    expect(await store.saveBaseline(id('7'), observed, AT, A1)).toBe(false);

    const [watched] = (await store.loadCycle()).identities;
    expect(watched?.snapshot).toEqual({ version: 1, state: observed, changedAt: AT });
    expect(watched?.alert).toEqual({ state: decodeAlertState(A1), encoded: A1 });
  });

  test('a baseline for an identity removed meanwhile does not bring it back', async () => {
    const { client, tableName, store } = await setup();

    expect(await store.saveBaseline(id('8'), state(1), AT, A0)).toBe(false);

    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { identityId: { S: '8' } } }));
    expect(Item).toBeUndefined();
  });

  test('a change is stored with its event and alert state only from the expected version', async () => {
    const { registry, store } = await setup();
    await registry.register(id('9'));
    const before = state(1, ['1', '2', 1]);
    const after = state(3, ['1', '2', 3]);
    await store.saveBaseline(id('9'), before, AT, A0);
    const event = changeEvent(id('9'), 1, before, after);

    expect(await store.saveChange({ id: id('9'), expectedVersion: 2, state: after, event, claimUntil: 5, alert: { seen: A0, next: A1 } })).toBe(false);
    expect(await store.saveChange({ id: id('9'), expectedVersion: 1, state: after, event, claimUntil: 5, alert: { seen: A0, next: A1 } })).toBe(true);

    const [watched] = (await store.loadCycle()).identities;
    expect(watched?.snapshot).toEqual({ version: 2, state: after, changedAt: event.observedAt });
    expect(watched?.outbox).toEqual([changeEntry(event, 1, 5)]);
    expect(watched?.alert?.encoded).toBe(A1);
  });

  test('a change and its alert are pending at once, each with its own id, in order', async () => {
    const { registry, store } = await setup();
    const { event, notice } = await changedWithAlert(registry, store, '30');

    const [watched] = (await store.loadCycle()).identities;

    expect(watched?.outbox).toEqual([changeEntry(event, 1, 100), alertEntry(notice, 2, 100)]);
  });

  test('a change is refused when the alert state is no longer the one read (an overlapping cycle decided first)', async () => {
    const { registry, store } = await setup();
    await registry.register(id('31'));
    const a = state(1);
    const b = state(2);
    await store.saveBaseline(id('31'), a, AT, A0);

    const refused = await store.saveChange({ id: id('31'), expectedVersion: 1, state: b, event: changeEvent(id('31'), 1, a, b), claimUntil: 5, alert: { seen: A1, next: A2 } });
    const noStateExpected = await store.saveChange({ id: id('31'), expectedVersion: 1, state: b, event: changeEvent(id('31'), 1, a, b), claimUntil: 5, alert: { next: A2 } });

    expect([refused, noStateExpected]).toEqual([false, false]);
    expect((await store.loadCycle()).identities[0]?.snapshot?.version).toBe(1);
  });

  test('a change of an item stored before alerts existed is stored when no alert state was read', async () => {
    const { registry, store, putRaw } = await setup();
    await registry.register(id('32'));
    await putRaw({ identityId: { S: '32' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, v: { N: '1' }, total: { N: '1' }, convs: { S: '' } });
    const a = state(1);
    const b = state(2);

    expect(await store.saveChange({ id: id('32'), expectedVersion: 1, state: b, event: changeEvent(id('32'), 1, a, b), claimUntil: 5, alert: { next: A1 } })).toBe(true);
    expect((await store.loadCycle()).identities[0]?.alert?.encoded).toBe(A1);
  });

  test('no new change is stored while an event or an alert is pending', async () => {
    const { registry, store } = await setup();
    const { event, notice } = await changedWithAlert(registry, store, '10');
    const b = state(3, ['1', '2', 3]);
    const c = state(4, ['1', '2', 4]);
    const next = { id: id('10'), expectedVersion: 2, state: c, event: changeEvent(id('10'), 2, b, c), claimUntil: 5, alert: { seen: A2, next: A2 } };

    expect(await store.saveChange(next)).toBe(false);
    await store.completePending(id('10'), changeEntry(event, 1, 100));
    expect(await store.saveChange(next)).toBe(false);
    await store.completePending(id('10'), alertEntry(notice, 2, 100));
    expect(await store.saveChange(next)).toBe(true);
  });

  test('an alert decision alone is stored on the version and alert state read, with nothing pending', async () => {
    const { registry, store } = await setup();
    await registry.register(id('33'));
    await store.saveBaseline(id('33'), state(2), AT, A1);
    const notice = noticeFor('33');

    expect(await store.saveAlert({ id: id('33'), version: 2, seen: A1, next: A2, notice, claimUntil: 7 })).toBe(false);
    expect(await store.saveAlert({ id: id('33'), version: 1, seen: A0, next: A2, notice, claimUntil: 7 })).toBe(false);
    expect(await store.saveAlert({ id: id('33'), version: 1, seen: A1, next: A2, notice, claimUntil: 7 })).toBe(true);
    expect(await store.saveAlert({ id: id('33'), version: 1, seen: A2, next: A3, claimUntil: 7 })).toBe(false);

    const [watched] = (await store.loadCycle()).identities;
    expect(watched?.outbox).toEqual([alertEntry(notice, 1, 7)]);
    expect(watched?.alert?.encoded).toBe(A2);
  });

  test('an alert decision without an alert changes the alert state only', async () => {
    const { registry, store, getRaw } = await setup();
    await registry.register(id('34'));
    await store.saveBaseline(id('34'), state(2), AT, A1);

    expect(await store.saveAlert({ id: id('34'), version: 1, seen: A1, next: A2, claimUntil: 7 })).toBe(true);

    expect(await getRaw('34')).toMatchObject({ alert: { S: A2 }, v: { N: '1' } });
    expect((await getRaw('34'))?.outbox).toBeUndefined();
  });

  test('a claim is a compare-and-set on the claim seen of every entry taken over, in one write', async () => {
    const { registry, store } = await setup();
    const { event, notice } = await changedWithAlert(registry, store, '11');
    const entries = [changeEntry(event, 1, 100), alertEntry(notice, 2, 100)];
    const writes = store.requests.UpdateItem;

    expect(await store.claimPending(id('11'), entries, 200)).toBe(true);
    expect(store.requests.UpdateItem - writes).toBe(1);
    expect(await store.claimPending(id('11'), entries, 300)).toBe(false);
    expect(await store.claimPending(id('11'), [changeEntry(event, 1, 200), alertEntry(notice, 2, 100)], 300)).toBe(false);
    expect(await store.claimPending(id('11'), [{ ...changeEntry(event, 1, 200), eventId: 'another-event' }], 300)).toBe(false);

    expect((await store.loadCycle()).identities[0]?.outbox?.map((e) => e.claimUntil)).toEqual([200, 200]);
  });

  test('entries are completed one by one; releasing keeps one for the next cycle', async () => {
    const { registry, store } = await setup();
    const { event, notice } = await changedWithAlert(registry, store, '12');
    const change = changeEntry(event, 1, 100);
    const alert = alertEntry(notice, 2, 100);

    await store.releasePending(id('12'), alert);
    expect((await store.loadCycle()).identities[0]?.outbox).toEqual([change, { ...alert, claimUntil: 0 }]);

    await store.completePending(id('12'), { ...change, eventId: 'not-this-one' });
    await store.completePending(id('12'), change);
    expect((await store.loadCycle()).identities[0]?.outbox).toEqual([{ ...alert, claimUntil: 0 }]);

    await store.completePending(id('12'), alert);
    expect((await store.loadCycle()).identities[0]?.outbox).toBeUndefined();
  });

  test('completing or releasing an entry that is gone writes nothing back', async () => {
    const { registry, store, getRaw } = await setup();
    const { event } = await changedWithAlert(registry, store, '35');
    const change = changeEntry(event, 1, 100);
    await store.completePending(id('35'), change);

    await store.completePending(id('35'), change);
    await store.releasePending(id('35'), change);

    expect(Object.keys((await getRaw('35'))?.outbox?.M ?? {})).toHaveLength(1);
  });

  test("the pending change of an item in today's format is claimed, released and completed where it is", async () => {
    const { store, putRaw, getRaw } = await setup();
    await putRaw(WITH_PENDING_EVENT);
    const [watched] = (await store.loadCycle()).identities;
    const legacy = watched?.outbox?.[0];
    if (!legacy) throw new Error('the pending change was not read');

    expect(legacy).toMatchObject({ kind: 'change', eventId: PENDING_EVENT.eventId, claimUntil: 1770908963998, legacySlot: true });
    expect(await store.claimPending(id('558356'), [{ ...legacy, claimUntil: 1 }], 2)).toBe(false);
    expect(await store.claimPending(id('558356'), [legacy], 2)).toBe(true);
    await store.releasePending(id('558356'), legacy);
    expect(await getRaw('558356')).toMatchObject({ claimUntil: { N: '0' }, pendingId: { S: PENDING_EVENT.eventId } });

    await store.completePending(id('558356'), legacy);
    const after = await getRaw('558356');
    expect([after?.pendingEvent, after?.pendingId, after?.claimUntil]).toEqual([undefined, undefined, undefined]);
    expect((await store.loadCycle()).identities[0]?.outbox).toBeUndefined();
  });

  test("no change is stored over today's pending change until it is completed; then the outbox takes the next", async () => {
    const { store, putRaw } = await setup();
    await putRaw(WITH_PENDING_EVENT);
    const legacy = (await store.loadCycle()).identities[0]?.outbox?.[0];
    const b = state(3, ['396001', '19155', 3]);
    const c = state(4, ['396001', '19155', 4]);
    const next = { id: id('558356'), expectedVersion: 2, state: c, event: changeEvent(id('558356'), 2, b, c), claimUntil: 5, alert: { next: A1 } };

    expect(await store.saveChange(next)).toBe(false);
    if (legacy) await store.completePending(id('558356'), legacy);
    expect(await store.saveChange(next)).toBe(true);

    expect((await store.loadCycle()).identities[0]?.outbox).toEqual([changeEntry(next.event, 1, 5)]);
  });

  test('an identity\'s own alert policy is read back as overrides', async () => {
    const { registry, store, putRaw } = await setup();
    await registry.register(id('36'));
    await putRaw({ identityId: { S: '36' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, alertPolicy: { S: '{"cooldown":"20s","quietHours":"22:00-07:00","futureField":1}' } });

    const [watched] = (await store.loadCycle()).identities;

    expect(watched?.alertPolicy).toEqual({ cooldown: 20_000, quietHours: { start: 1320, end: 420 } });
  });

  test.each([
    ['an alert policy that is not JSON', { alertPolicy: { S: 'cooldown=15m' } }, 'alertPolicy'],
    ['an alert policy with a bad value', { alertPolicy: { S: '{"cooldown":"canary-9931"}' } }, 'alertPolicy has an invalid cooldown'],
    ['an alert state that cannot be read', { alert: { S: 'canary-9931' } }, 'alert is not an alert state'],
    ['an outbox that is not a map', { outbox: { S: 'canary-9931' } }, 'outbox is not a map'],
    ['an outbox entry of a kind this version does not know', { outbox: { M: { x: { M: { kind: { S: 'canary-9931' }, seq: { N: '1' }, body: { S: '{}' }, claimUntil: { N: '0' } } } } } }, 'kind this version does not know'],
    ['an outbox entry keyed by another id', { outbox: { M: { 'canary-9931': { M: { kind: { S: 'change' }, seq: { N: '1' }, body: { S: JSON.stringify(PENDING_EVENT_37) }, claimUntil: { N: '0' } } } } } }, 'not keyed by its eventId'],
  ])('%s makes the item malformed, reported by attribute and never by contents', async (_what, attributes, reason) => {
    const { registry, store, malformed, putRaw } = await setup();
    await registry.register(id('38'));
    await putRaw({ identityId: { S: '37' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, ...attributes });

    expect((await store.loadCycle()).identities.map((w) => w.id)).toEqual(['38']);
    expect(malformed).toEqual([{ key: '37', reason: expect.stringContaining(reason) }]);
    expect(JSON.stringify(malformed)).not.toContain('canary-9931');
  });

  test('failure streaks and not-found marks are recorded and cleared', async () => {
    const { registry, store } = await setup();
    await registry.register(id('13'));

    await store.recordFailure(id('13'), 3);
    await store.markNotFound(id('13'));
    expect((await store.loadCycle()).identities[0]).toMatchObject({ failureStreak: 3, notFound: true });

    await store.clearFailures(id('13'));
    expect((await store.loadCycle()).identities[0]).toMatchObject({ failureStreak: 0, notFound: false });
  });

  test('the resume point of a segment is stored, read back, cleared, and never listed as an identity', async () => {
    const { registry, store } = await setup();
    await registry.register(id('14'));
    const segment = { segment: 1, totalSegments: 2 };

    await store.saveResumePoint(segment, id('14'));
    expect((await store.loadCycle(segment)).resumeFrom).toBe('14');
    expect((await store.loadCycle()).identities.map((w) => w.id)).toEqual(['14']);
    expect((await registry.list()).map((r) => r.id)).toEqual(['14']);

    await store.saveResumePoint(segment, undefined);
    expect((await store.loadCycle(segment)).resumeFrom).toBeUndefined();
  });

  test('a cycle end is one bookkeeping item per segment, put whole, and never listed as an identity', async () => {
    const { registry, store, getRaw } = await setup();
    await registry.register(id('24'));

    await store.recordCycleEnd(undefined, '2026-11-26T12:00:00.000Z');
    await store.recordCycleEnd({ segment: 0, totalSegments: 2 }, '2026-11-26T12:01:00.000Z');
    await store.recordCycleEnd({ segment: 0, totalSegments: 2 }, '2026-11-26T12:02:00.000Z');

    expect(await getRaw('#cycle#0/2')).toEqual({ identityId: { S: '#cycle#0/2' }, endedAt: { S: '2026-11-26T12:02:00.000Z' } });
    expect(await getRaw('#cycle#all')).toEqual({ identityId: { S: '#cycle#all' }, endedAt: { S: '2026-11-26T12:00:00.000Z' } });
    expect((await store.loadCycle()).identities.map((w) => w.id)).toEqual(['24']);
    expect(await registry.cycleEnds()).toEqual([
      { segment: { segment: 0, totalSegments: 2 }, endedAt: '2026-11-26T12:02:00.000Z' },
      { endedAt: '2026-11-26T12:00:00.000Z' },
    ]);
  });

  test('int64 ids keep every digit through the table', async () => {
    const { registry, store } = await setup();
    await registry.register(id('9223372036854775807'));

    expect((await store.loadCycle()).identities.map((w) => w.id)).toEqual(['9223372036854775807']);
  });

  test('an item that cannot be decoded is reported by key and reason, and the others still load', async () => {
    const { registry, store, malformed, putRaw } = await setup();
    await registry.register(id('15'));
    await putRaw({ identityId: { S: '16' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, v: { N: '1' }, total: { S: 'canary-9931' } });
    await registry.register(id('17'));

    const { identities } = await store.loadCycle();

    expect(identities.map((w) => w.id).sort()).toEqual(['15', '17']);
    expect(malformed).toEqual([{ key: '16', reason: expect.stringContaining('total') }]);
    expect(JSON.stringify(malformed)).not.toContain('canary-9931');
  });

  test('a resume point that cannot be decoded is reported and the cycle starts from the beginning', async () => {
    const { registry, store, malformed, putRaw } = await setup();
    await registry.register(id('18'));
    await putRaw({ identityId: { S: '#resume#all' }, resumeFrom: { S: 'not-an-id' } });

    expect((await store.loadCycle()).resumeFrom).toBeUndefined();
    expect(malformed).toEqual([{ key: '#resume#all', reason: expect.stringContaining('resumeFrom') }]);
  });

  test('every write keeps the attributes this version does not know', async () => {
    const { registry, store, putRaw, getRaw } = await setup();
    const newer = { alertState: { M: { lastAlertTotal: { N: '3' } } }, policy: { M: { cooldown: { S: '15m' } } }, pendingAlert: { S: '{}' }, alertPolicy: { S: '{"cooldown":"20s"}' } };
    await putRaw({ identityId: { S: '19' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, ...newer });
    const a = state(1);
    const b = state(2);
    const event = changeEvent(id('19'), 1, a, b);

    const notice = noticeFor('19');

    await registry.update(id('19'), { label: 'Relabelled' });
    await store.saveBaseline(id('19'), a, AT, A0);
    await store.recordFailure(id('19'), 2);
    await store.markNotFound(id('19'));
    await store.clearFailures(id('19'));
    await store.saveChange({ id: id('19'), expectedVersion: 1, state: b, event, claimUntil: 100, alert: { seen: A0, next: A1 } });
    await store.claimPending(id('19'), [changeEntry(event, 1, 100)], 200);
    await store.releasePending(id('19'), changeEntry(event, 1, 100));
    await store.completePending(id('19'), changeEntry(event, 1, 100));
    await store.saveAlert({ id: id('19'), version: 2, seen: A1, next: A2, notice, claimUntil: 300 });
    await store.completePending(id('19'), alertEntry(notice, 1, 300));

    expect(await getRaw('19')).toMatchObject({ ...newer, label: { S: 'Relabelled' }, v: { N: '2' } });
  });

  test('a table larger than one Scan page is read to the end, one counted request per page', async () => {
    const { registry, store, putRaw } = await setup();
    // Four items of about 380 KB: a Scan page holds at most 1 MB, so the scan takes more than one page.
    const padding = { S: 'x'.repeat(380_000) };
    for (const raw of ['20', '21', '22', '23']) {
      await registry.register(id(raw));
      await putRaw({ identityId: { S: raw }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, padding });
    }

    const { identities } = await store.loadCycle();

    expect(identities.map((w) => w.id).sort()).toEqual(['20', '21', '22', '23']);
    expect(store.requests.Scan).toBeGreaterThan(1);
    expect(store.requests.GetItem).toBe(1);
  });
  test('loadIdentities reads the given identities by key and names those not registered', async () => {
    const { registry, store, malformed, putRaw } = await setup();
    await registry.register(id('30'), { label: 'Support' });
    await registry.register(id('31'));
    await putRaw({ identityId: { S: '32' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, total: { S: 'canary-5120' } });

    const input = await store.loadIdentities([id('31'), id('30'), id('33'), id('30'), id('32')]);

    expect(input.identities).toEqual([
      { id: '31', failureStreak: 0, notFound: false },
      { id: '30', label: 'Support', failureStreak: 0, notFound: false },
    ]);
    expect(input.unregistered).toEqual(['33']);
    expect(malformed).toEqual([{ key: '32', reason: expect.stringContaining('total') }]);
    expect(store.requests).toMatchObject({ BatchGetItem: 1, Scan: 0, GetItem: 0 });
  });

  test('loadIdentities asks in requests of at most 100 keys', async () => {
    const { registry, store } = await setup();
    const ids = Array.from({ length: 250 }, (_, i) => id(String(5000 + i)));
    for (const one of ids.slice(0, 3)) await registry.register(one);

    const input = await store.loadIdentities(ids);

    expect(input.identities.map((w) => w.id)).toEqual(['5000', '5001', '5002']);
    expect(input.unregistered).toHaveLength(247);
    expect(store.requests.BatchGetItem).toBe(3);
  });
});

describe('DynamoDbSnapshotStore.loadIdentities against BatchGetItem', () => {
  // Made in beforeAll: a mock made while the file is collected would stub the dynalite tests' client too.
  let ddb: ReturnType<typeof mockClient>;
  beforeAll(() => (ddb = mockClient(DynamoDBClient)));
  afterAll(() => ddb.restore());

  test('asks again, after a backoff, for the keys DynamoDB left unprocessed, and reads consistently', async () => {
    const sleeps: number[] = [];
    const item = (raw: string) => ({ identityId: { S: raw }, registeredAt: { S: '2026-02-01T08:00:00.000Z' } });
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({ Responses: { t: [item('1')] }, UnprocessedKeys: { t: { Keys: [{ identityId: { S: '2' } }], ConsistentRead: true } } })
      .resolvesOnce({ Responses: { t: [item('2')] } });
    const store = new DynamoDbSnapshotStore(new DynamoDBClient({ region: 'eu-west-1' }), 't', { sleep: (ms) => Promise.resolve(void sleeps.push(ms)) });

    const input = await store.loadIdentities([id('1'), id('2')]);

    expect(input.identities.map((w) => w.id)).toEqual(['1', '2']);
    expect(sleeps).toEqual([50]);
    expect(ddb).toHaveReceivedNthCommandWith(1, BatchGetItemCommand, { RequestItems: { t: { Keys: [{ identityId: { S: '1' } }, { identityId: { S: '2' } }], ConsistentRead: true } } });
    expect(ddb).toHaveReceivedNthCommandWith(2, BatchGetItemCommand, { RequestItems: { t: { Keys: [{ identityId: { S: '2' } }], ConsistentRead: true } } });
  });

  test('gives up with an error when keys stay unprocessed', async () => {
    ddb.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { t: { Keys: [{ identityId: { S: '1' } }] } } });
    const store = new DynamoDbSnapshotStore(new DynamoDBClient({ region: 'eu-west-1' }), 't', { sleep: () => Promise.resolve() });

    await expect(store.loadIdentities([id('1')])).rejects.toThrow(/left 1 keys unprocessed after 8 attempts/);
  });
});

describe('DynamoDbSnapshotStore conditional writes against UpdateItem', () => {
  let ddb: ReturnType<typeof mockClient>;
  beforeAll(() => (ddb = mockClient(DynamoDBClient)));
  afterEach(() => ddb.reset());
  afterAll(() => ddb.restore());

  const refused = (attempts: number) =>
    new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { attempts, httpStatusCode: 400 } });
  const change = () => {
    const a = state(1, ['1', '2', 1]);
    const b = state(3, ['1', '2', 3]);
    return { id: id('558355'), expectedVersion: 1, state: b, event: changeEvent(id('558355'), 1, a, b), claimUntil: 100, alert: { next: A0 } };
  };

  test('a refusal on the first attempt is another cycle first: false', async () => {
    ddb.on(UpdateItemCommand).rejects(refused(1));
    const store = new DynamoDbSnapshotStore(new DynamoDBClient({ region: 'eu-west-1' }), 't');

    await expect(store.saveChange(change())).resolves.toBe(false);
  });

  test('a refusal on a retry is unknown (an earlier attempt may have been applied): it throws, so a run does not close over it', async () => {
    ddb.on(UpdateItemCommand).rejects(refused(2));
    const store = new DynamoDbSnapshotStore(new DynamoDBClient({ region: 'eu-west-1' }), 't');

    await expect(store.saveChange(change())).rejects.toBeInstanceOf(AmbiguousWriteError);
  });
});

describe('DynamoDbSnapshotStore.loadCycle against Scan', () => {
  let ddb: ReturnType<typeof mockClient>;
  beforeAll(() => (ddb = mockClient(DynamoDBClient)));
  afterEach(() => ddb.reset());
  afterAll(() => ddb.restore());

  test(`asks for ${SCAN_PAGE_ITEMS} items a page, so a page of items that keep their last event dies young`, async () => {
    ddb.on(ScanCommand).resolves({ Items: [] });
    ddb.on(GetItemCommand).resolves({});
    const store = new DynamoDbSnapshotStore(new DynamoDBClient({ region: 'eu-west-1' }), 't');

    await store.loadCycle({ segment: 1, totalSegments: 4 }, Date.parse(AT));

    expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: 't', Segment: 1, TotalSegments: 4, Limit: SCAN_PAGE_ITEMS });
  });
});
