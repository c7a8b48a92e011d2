import { BatchGetItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { buildEvent } from '../../lambda/core/event-builder';
import { diffUnread } from '../../lambda/core/diff';
import { parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadState } from '../../lambda/core/model';
import { createTestTable } from '../support/dynalite';

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

  test('a baseline is stored once and read back with its conversations and when it was observed', async () => {
    const { registry, store } = await setup();
    await registry.register(id('7'));
    const observed = state(3, ['396001', '19155', 2], ['396002', '19155', 1]);

    expect(await store.saveBaseline(id('7'), observed, AT)).toBe(true);
    expect(await store.saveBaseline(id('7'), observed, AT)).toBe(false);

    const [watched] = (await store.loadCycle()).identities;
    expect(watched?.snapshot).toEqual({ version: 1, state: observed, changedAt: AT });
  });

  test('a baseline for an identity removed meanwhile does not bring it back', async () => {
    const { client, tableName, store } = await setup();

    expect(await store.saveBaseline(id('8'), state(1), AT)).toBe(false);

    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { identityId: { S: '8' } } }));
    expect(Item).toBeUndefined();
  });

  test('a change is stored with its pending event and its time only from the expected version', async () => {
    const { registry, store } = await setup();
    await registry.register(id('9'));
    const before = state(1, ['1', '2', 1]);
    const after = state(3, ['1', '2', 3]);
    await store.saveBaseline(id('9'), before, AT);
    const event = changeEvent(id('9'), 1, before, after);

    expect(await store.saveChange({ id: id('9'), expectedVersion: 2, state: after, event, claimUntil: 5 })).toBe(false);
    expect(await store.saveChange({ id: id('9'), expectedVersion: 1, state: after, event, claimUntil: 5 })).toBe(true);

    const [watched] = (await store.loadCycle()).identities;
    expect(watched?.snapshot).toEqual({ version: 2, state: after, changedAt: event.observedAt });
    expect(watched?.pending).toEqual({ event, claimUntil: 5 });
  });

  test('no new change is stored while an event is pending', async () => {
    const { registry, store } = await setup();
    await registry.register(id('10'));
    const a = state(1);
    const b = state(2);
    const c = state(3);
    await store.saveBaseline(id('10'), a, AT);
    await store.saveChange({ id: id('10'), expectedVersion: 1, state: b, event: changeEvent(id('10'), 1, a, b), claimUntil: 5 });

    expect(await store.saveChange({ id: id('10'), expectedVersion: 2, state: c, event: changeEvent(id('10'), 2, b, c), claimUntil: 5 })).toBe(false);
  });

  test('a pending claim is a compare-and-set on the claim seen', async () => {
    const { registry, store } = await setup();
    await registry.register(id('11'));
    const a = state(1);
    const b = state(2);
    const event = changeEvent(id('11'), 1, a, b);
    await store.saveBaseline(id('11'), a, AT);
    await store.saveChange({ id: id('11'), expectedVersion: 1, state: b, event, claimUntil: 100 });

    expect(await store.claimPending(id('11'), event.eventId, 100, 200)).toBe(true);
    expect(await store.claimPending(id('11'), event.eventId, 100, 300)).toBe(false);
    expect(await store.claimPending(id('11'), 'another-event', 200, 300)).toBe(false);
  });

  test('completing a pending event clears it, releasing keeps it for the next cycle', async () => {
    const { registry, store } = await setup();
    await registry.register(id('12'));
    const a = state(1);
    const b = state(2);
    const event = changeEvent(id('12'), 1, a, b);
    await store.saveBaseline(id('12'), a, AT);
    await store.saveChange({ id: id('12'), expectedVersion: 1, state: b, event, claimUntil: 100 });

    await store.releasePending(id('12'), event.eventId);
    expect((await store.loadCycle()).identities[0]?.pending).toEqual({ event, claimUntil: 0 });

    await store.completePending(id('12'), 'not-this-one');
    expect((await store.loadCycle()).identities[0]?.pending).toBeDefined();

    await store.completePending(id('12'), event.eventId);
    expect((await store.loadCycle()).identities[0]?.pending).toBeUndefined();
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
    const newer = { alertState: { M: { lastAlertTotal: { N: '3' } } }, policy: { M: { cooldown: { S: '15m' } } }, pendingAlert: { S: '{}' } };
    await putRaw({ identityId: { S: '19' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, ...newer });
    const a = state(1);
    const b = state(2);
    const event = changeEvent(id('19'), 1, a, b);

    await registry.update(id('19'), { label: 'Relabelled' });
    await store.saveBaseline(id('19'), a, AT);
    await store.recordFailure(id('19'), 2);
    await store.markNotFound(id('19'));
    await store.clearFailures(id('19'));
    await store.saveChange({ id: id('19'), expectedVersion: 1, state: b, event, claimUntil: 100 });
    await store.claimPending(id('19'), event.eventId, 100, 200);
    await store.releasePending(id('19'), event.eventId);
    await store.completePending(id('19'), event.eventId);

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
