/**
 * Items in today's format, written raw with the SDK: every later version must read them all,
 * and read them the same with attributes it does not know added by a newer writer.
 */
import { BatchWriteItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { createTestTable } from '../support/dynalite';
import { PENDING_EVENT, TODAY, type Item } from './dynamodb-today-items';

/** What a newer version may add: alert state, policies, another pending kind, bookkeeping of its own. */
const NEWER: Record<string, AttributeValue> = {
  alertState: { M: { lastAlertTotal: { N: '3' }, waitingSince: { S: '2026-02-12T15:00:00.000Z' } } },
  policy: { M: { cooldown: { S: '15m' }, quietHours: { S: '22:00-07:00' } } },
  pendingAlert: { S: '{"kind":"digest"}' },
  pendingAlertId: { S: 'a-1' },
  tags: { SS: ['vip', 'night'] },
};

const DECODED_IDENTITIES = [
  { id: '558355', label: 'Support', failureStreak: 0, notFound: false },
  {
    id: '558356',
    label: 'Sales',
    snapshot: { version: 2, state: { total: 3, conversations: [{ objectId: '396001', streamId: '19155', unread: 3 }] } },
    // The one pending change of today's items is read as the first entry of the outbox, left where it is.
    outbox: [{ kind: 'change', eventId: PENDING_EVENT.eventId, seq: 0, claimUntil: 1770908963998, event: PENDING_EVENT, legacySlot: true }],
    failureStreak: 0,
    notFound: false,
  },
  {
    id: '558357',
    snapshot: {
      version: 1,
      state: {
        total: 4,
        conversations: [
          { objectId: '396002', streamId: '19155', unread: 1 },
          { objectId: '396003', streamId: '19156', unread: 3 },
        ],
      },
    },
    failureStreak: 6,
    notFound: false,
  },
  { id: '9223372036854775807', snapshot: { version: 7, state: { total: 0, conversations: [] } }, failureStreak: 0, notFound: true },
];

const DECODED_REGISTRATIONS = [
  { id: '558355', label: 'Support', registeredAt: '2026-02-01T08:00:00.000Z', failureStreak: 0, notFound: false },
  { id: '558356', label: 'Sales', registeredAt: '2026-02-01T08:00:01.000Z', total: 3, failureStreak: 0, notFound: false },
  { id: '558357', registeredAt: '2026-02-01T08:00:02.000Z', total: 4, failureStreak: 6, notFound: false },
  { id: '9223372036854775807', registeredAt: '2026-02-01T08:00:03.000Z', total: 0, failureStreak: 0, notFound: true },
];

async function tableWith(items: Item[]) {
  const table = await createTestTable();
  await table.client.send(new BatchWriteItemCommand({ RequestItems: { [table.tableName]: items.map((Item) => ({ PutRequest: { Item } })) } }));
  const malformed: string[] = [];
  const store = new DynamoDbSnapshotStore(table.client, table.tableName, { onMalformedItem: (key) => malformed.push(key) });
  return { ...table, store, malformed };
}

const byId = <T extends { id: string }>(list: readonly T[]): T[] => [...list].sort((a, b) => a.id.length - b.id.length || a.id.localeCompare(b.id));

describe("items in today's format", () => {
  test('are all decoded by the cycle, with the resume points of the table and of a segment', async () => {
    const { store, malformed } = await tableWith(TODAY);

    const all = await store.loadCycle();
    const segment = await store.loadCycle({ segment: 1, totalSegments: 2 });

    expect(byId(all.identities)).toEqual(DECODED_IDENTITIES);
    expect(all.resumeFrom).toBe('558356');
    expect(segment.resumeFrom).toBe('558357');
    expect(malformed).toEqual([]);
  });

  test('are all listed by the registry', async () => {
    const { registry } = await tableWith(TODAY);

    expect(await registry.list()).toEqual(DECODED_REGISTRATIONS);
  });
});

describe('items with attributes a newer version added', () => {
  const withNewer = TODAY.map((item) => (item.identityId?.S?.startsWith('#') ? item : { ...item, ...NEWER }));

  test('are decoded by the cycle as if those attributes were not there', async () => {
    const { store, malformed } = await tableWith(withNewer);

    expect(byId((await store.loadCycle()).identities)).toEqual(DECODED_IDENTITIES);
    expect(malformed).toEqual([]);
  });

  test('are listed by the registry as if those attributes were not there', async () => {
    const { registry } = await tableWith(withNewer);

    expect(await registry.list()).toEqual(DECODED_REGISTRATIONS);
  });

  test('a bookkeeping item of a newer version is neither an identity nor a malformed item', async () => {
    const { store, registry, malformed } = await tableWith([...TODAY, { identityId: { S: '#webhook#ep-1' }, url: { S: 'https://example.com/hook' } }]);

    expect(byId((await store.loadCycle()).identities)).toEqual(DECODED_IDENTITIES);
    expect(await registry.list()).toEqual(DECODED_REGISTRATIONS);
    expect(malformed).toEqual([]);
  });
});
