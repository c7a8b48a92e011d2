import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDbRepollMarker, REPOLL_ATTR } from '../../lambda/adapters/dynamodb-repoll-marker';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { buildEvent } from '../../lambda/core/event-builder';
import { diffUnread } from '../../lambda/core/diff';
import { parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import { encodeAlertState, INITIAL_ALERT_STATE } from '../../lambda/core/alert-state';
import { normalizeState } from '../../lambda/core/model';
import { changeEntry } from '../../lambda/core/outbox';
import { DEFAULT_REPOLL_WINDOW_MS } from '../../lambda/core/repoll-debounce';
import { createTestTable } from '../support/dynalite';

const W = DEFAULT_REPOLL_WINDOW_MS;
const T0 = 1_770_000_000_000;
const id = (raw: string): IdentityId => parseIdentityId(raw);

async function setup(...registered: string[]) {
  const table = await createTestTable();
  for (const raw of registered) await table.registry.register(id(raw), { label: 'Support' });
  const marker = new DynamoDbRepollMarker(table.client, table.tableName);
  const store = new DynamoDbSnapshotStore(table.client, table.tableName);
  const item = async (raw: string): Promise<Record<string, AttributeValue> | undefined> =>
    (await table.client.send(new GetItemCommand({ TableName: table.tableName, Key: { identityId: { S: raw } }, ConsistentRead: true }))).Item;
  return { ...table, marker, store, item };
}

describe('DynamoDbRepollMarker on dynalite', () => {
  test('an unregistered id is answered unregistered and no item is created', async () => {
    const { marker, item } = await setup('558355');

    expect(await marker.mark(id('42'), T0, W)).toEqual({ decision: 'unregistered' });
    expect(await item('42')).toBeUndefined();
  });

  test('the first request polls now and stores rpAt = now', async () => {
    const { marker, item } = await setup('558355');

    expect(await marker.mark(id('558355'), T0, W)).toEqual({ decision: 'poll-now' });
    expect((await item('558355'))?.[REPOLL_ATTR.pollAt]).toEqual({ N: String(T0) });
  });

  test('a request after the poll started and within the window earns the trailing poll at the window end', async () => {
    const { marker, item } = await setup('558355');
    await marker.mark(id('558355'), T0, W);

    expect(await marker.mark(id('558355'), T0 + 300, W)).toEqual({ decision: 'poll-at-window-end', delayMs: W - 300 });
    expect((await item('558355'))?.[REPOLL_ATTR.pollAt]).toEqual({ N: String(T0 + W) });
  });

  test('a request before the trailing poll starts is collapsed and changes nothing', async () => {
    const { marker, item } = await setup('558355');
    await marker.mark(id('558355'), T0, W);
    await marker.mark(id('558355'), T0 + 300, W);

    expect(await marker.mark(id('558355'), T0 + 900, W)).toEqual({ decision: 'collapsed' });
    expect((await item('558355'))?.[REPOLL_ATTR.pollAt]).toEqual({ N: String(T0 + W) });
  });

  test('once the trailing poll has started, a request earns the next window end', async () => {
    const { marker } = await setup('558355');
    await marker.mark(id('558355'), T0, W);
    await marker.mark(id('558355'), T0 + 300, W);

    expect(await marker.mark(id('558355'), T0 + W + 100, W)).toEqual({ decision: 'poll-at-window-end', delayMs: W - 100 });
  });

  test('a request a full window after the last poll polls now', async () => {
    const { marker } = await setup('558355');
    await marker.mark(id('558355'), T0, W);

    expect(await marker.mark(id('558355'), T0 + W, W)).toEqual({ decision: 'poll-now' });
  });

  test('50 concurrent requests for one identity at one instant: exactly one poll now and one trailing poll', async () => {
    const { marker } = await setup('558355');

    const decisions = await Promise.all(Array.from({ length: 50 }, () => marker.mark(id('558355'), T0, W)));

    const kinds = decisions.map((d) => d.decision);
    expect(kinds.filter((k) => k === 'poll-now')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'poll-at-window-end')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'collapsed')).toHaveLength(48);
  });

  test('identities are debounced independently', async () => {
    const { marker } = await setup('1', '2');
    await marker.mark(id('1'), T0, W);

    expect(await marker.mark(id('2'), T0 + 10, W)).toEqual({ decision: 'poll-now' });
  });

  test('an rpAt that is not a number (hand-edited) is overwritten by a poll now', async () => {
    const { marker, client, tableName, item } = await setup();
    await client.send(new PutItemCommand({ TableName: tableName, Item: { identityId: { S: '7' }, registeredAt: { S: 'x' }, [REPOLL_ATTR.pollAt]: { S: 'soon' } } }));

    expect(await marker.mark(id('7'), T0, W)).toEqual({ decision: 'poll-now' });
    expect((await item('7'))?.[REPOLL_ATTR.pollAt]).toEqual({ N: String(T0) });
  });

  test('dynalite does not return the item with a failed condition: one GetItem per debounced request tells it apart', async () => {
    const { marker } = await setup('558355');
    await marker.mark(id('558355'), T0, W);
    await marker.mark(id('558355'), T0 + 100, W);
    await marker.mark(id('558355'), T0 + 200, W);
    await marker.mark(id('42'), T0, W);

    // poll now: 1 update; trailing: 2 updates + 1 read; collapsed: 1 update + 1 read; unregistered: 1 update + 1 read.
    expect(marker.requests).toEqual({ UpdateItem: 5, GetItem: 3 });
  });
});

const ALERT_STATE = encodeAlertState(INITIAL_ALERT_STATE);

describe('the marker beside the poll cycle', () => {
  const previous = normalizeState(1, [{ objectId: '396001', streamId: '19155', unread: 1 }]);
  const next = normalizeState(3, [{ objectId: '396001', streamId: '19155', unread: 3 }]);

  test('an identity item with the marker still decodes in the cycle scan and in the registry list', async () => {
    const { marker, store, registry, client, tableName } = await setup('558355');
    await store.saveBaseline(id('558355'), previous, new Date(T0).toISOString(), ALERT_STATE);
    await marker.mark(id('558355'), T0, W);
    const malformed: string[] = [];

    const { identities } = await new DynamoDbSnapshotStore(client, tableName, { onMalformedItem: (key) => malformed.push(key) }).loadCycle();

    expect(malformed).toEqual([]);
    expect(identities).toEqual([
      {
        id: '558355',
        label: 'Support',
        snapshot: { version: 1, state: previous, changedAt: new Date(T0).toISOString() },
        alert: { state: INITIAL_ALERT_STATE, encoded: ALERT_STATE },
        failureStreak: 0,
        notFound: false,
      },
    ]);
    expect(await registry.list()).toEqual([expect.objectContaining({ id: '558355', label: 'Support', total: 1 })]);
  });

  test('a marker write changes only rpAt: the attributes the cycle conditions on are left as they were', async () => {
    const { marker, store, item } = await setup('558355');
    await store.saveBaseline(id('558355'), previous, new Date(T0).toISOString(), ALERT_STATE);
    const event = buildEvent({ identityId: id('558355'), fromVersion: 1, previous, next, diff: diffUnread(previous, next)!, observedAt: new Date(0) });
    await store.saveChange({ id: id('558355'), expectedVersion: 1, state: next, event, claimUntil: T0 + 60_000, alert: { seen: ALERT_STATE, next: ALERT_STATE } });
    const before = await item('558355');

    await marker.mark(id('558355'), T0, W);
    await marker.mark(id('558355'), T0 + 100, W);

    const { [REPOLL_ATTR.pollAt]: pollAt, ...rest } = (await item('558355'))!;
    expect(rest).toEqual(before);
    expect(pollAt).toEqual({ N: String(T0 + W) });
  });

  test('the cycle writes leave the marker as it was, and their conditions still hold after a mark', async () => {
    const { marker, store, item } = await setup('558355');
    await marker.mark(id('558355'), T0, W);

    expect(await store.saveBaseline(id('558355'), previous, new Date(T0).toISOString(), ALERT_STATE)).toBe(true);
    const event = buildEvent({ identityId: id('558355'), fromVersion: 1, previous, next, diff: diffUnread(previous, next)!, observedAt: new Date(0) });
    await marker.mark(id('558355'), T0 + 100, W);
    expect(await store.saveChange({ id: id('558355'), expectedVersion: 1, state: next, event, claimUntil: T0 + 60_000, alert: { seen: ALERT_STATE, next: ALERT_STATE } })).toBe(true);
    expect(await store.claimPending(id('558355'), [changeEntry(event, 1, T0 + 60_000)], T0 + 120_000)).toBe(true);
    await store.completePending(id('558355'), changeEntry(event, 1, T0 + 120_000));
    await store.recordFailure(id('558355'), 2);
    await store.clearFailures(id('558355'));

    expect((await item('558355'))?.[REPOLL_ATTR.pollAt]).toEqual({ N: String(T0 + W) });
  });

  test('a removed identity is not brought back by a mark', async () => {
    const { marker, registry, item } = await setup('558355');
    await registry.unregister(id('558355'));

    expect(await marker.mark(id('558355'), T0, W)).toEqual({ decision: 'unregistered' });
    expect(await item('558355')).toBeUndefined();
  });
});
