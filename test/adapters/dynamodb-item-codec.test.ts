import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { decodeCycleEnd, decodeRecord, decodeRegistration, decodeWatched, MalformedItemError } from '../../lambda/adapters/dynamodb-item-codec';
import { PENDING_EVENT, WITH_PENDING_EVENT, type Item } from './dynamodb-today-items';

/** Every attribute of today's format, each well-formed. */
const FULL: Item = { ...WITH_PENDING_EVENT, notFound: { BOOL: false } };

/** A value no reason may repeat: reasons go to logs and metrics, item contents never do. */
const CANARY = 'canary-5521';

describe('a known attribute that is malformed makes the item undecodable, naming the attribute', () => {
  test.each<[string, Item]>([
    ['total', { total: { S: CANARY } }],
    ['total', { total: { N: '-1' } }],
    ['v', { v: { S: CANARY } }],
    ['v', { v: { N: '1.5' } }],
    ['convs', { convs: { N: '3' } }],
    ['convs', { convs: { S: `${CANARY}:19155` } }],
    ['pendingEvent', { pendingEvent: { N: '1' } }],
    ['pendingEvent', { pendingEvent: { S: `{"${CANARY}"` } }],
    ['pendingEvent', { pendingEvent: { S: JSON.stringify({ ...PENDING_EVENT, total: CANARY }) } }],
    ['pendingEvent', { pendingEvent: { S: JSON.stringify({ ...PENDING_EVENT, identityId: '558399' }) } }],
    ['pendingId', { pendingId: { N: '1' } }],
    ['pendingId', { pendingId: { S: CANARY } }],
    ['claimUntil', { claimUntil: { S: CANARY } }],
    ['failStreak', { failStreak: { S: CANARY } }],
    ['notFound', { notFound: { S: 'true' } }],
    ['label', { label: { N: '5' } }],
    ['registeredAt', { registeredAt: { N: '5' } }],
    ['changedAt', { changedAt: { N: '5' } }],
    ['changedAt', { changedAt: { S: CANARY } }],
    ['identityId', { identityId: { S: `0${CANARY}` } }],
  ])('%s: %j', (attribute, override) => {
    const item = { ...FULL, ...override };

    for (const decode of [decodeWatched, decodeRegistration]) {
      let error: unknown;
      try {
        decode(item);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(MalformedItemError);
      expect((error as Error).message).toContain(attribute);
      expect((error as Error).message).not.toContain(CANARY);
    }
  });
});

describe('an attribute this version does not know never makes an item undecodable', () => {
  test.each<[string, AttributeValue]>([
    ['a map', { M: { lastAlertTotal: { N: '3' } } }],
    ['a list', { L: [{ S: 'x' }, { N: '1' }] }],
    ['a string', { S: 'digest' }],
    ['a number', { N: '-7.5' }],
    ['a string set', { SS: ['a', 'b'] }],
    ['binary', { B: new Uint8Array([1, 2, 3]) }],
    ['null', { NULL: true }],
  ])('%s', (_what, value) => {
    const item = { ...FULL, alertState: value, policy: value, pendingAlert: value };

    expect(decodeWatched(item)).toEqual(decodeWatched(FULL));
    expect(decodeRegistration(item)).toEqual(decodeRegistration(FULL));
  });

  test('nor a field it does not know inside the pending event, which is kept for publishing', () => {
    const event = { ...PENDING_EVENT, alertKind: 'digest' };

    expect(decodeWatched({ ...FULL, pendingEvent: { S: JSON.stringify(event) } }).outbox).toEqual([expect.objectContaining({ kind: 'change', event })]);
  });
});

describe('when the stored state was observed (changedAt)', () => {
  test('is read with the snapshot, by the cycle, the list and show', () => {
    const item = { ...FULL, changedAt: { S: '2026-02-12T15:09:23.998Z' } };

    expect(decodeWatched(item).snapshot?.changedAt).toBe('2026-02-12T15:09:23.998Z');
    expect(decodeRegistration(item).lastChangedAt).toBe('2026-02-12T15:09:23.998Z');
    expect(decodeRecord(item)).toMatchObject({ registeredAt: '2026-02-01T08:00:01.000Z', snapshot: { changedAt: '2026-02-12T15:09:23.998Z' } });
  });

  test('is simply absent from items stored before it existed', () => {
    expect(decodeWatched(FULL).snapshot).not.toHaveProperty('changedAt');
    expect(decodeRegistration(FULL)).not.toHaveProperty('lastChangedAt');
  });
});

describe('a cycle-end item', () => {
  test.each([
    [{ identityId: { S: '#cycle#all' }, endedAt: { S: '2026-02-12T15:10:00.000Z' } }, { endedAt: '2026-02-12T15:10:00.000Z' }],
    [{ identityId: { S: '#cycle#3/4' }, endedAt: { S: '2026-02-12T15:10:00.000Z' } }, { segment: { segment: 3, totalSegments: 4 }, endedAt: '2026-02-12T15:10:00.000Z' }],
  ])('%j reads as %j', (item, end) => {
    expect(decodeCycleEnd(item)).toEqual(end);
  });

  test.each([
    [{ identityId: { S: '#cycle#all' }, endedAt: { S: CANARY } }, 'endedAt is not a time'],
    [{ identityId: { S: '#cycle#all' } }, 'endedAt is not a time'],
    [{ identityId: { S: `#cycle#${CANARY}` }, endedAt: { S: '2026-02-12T15:10:00.000Z' } }, 'identityId names no segment'],
  ])('%j is malformed: %s', (item, reason) => {
    expect(() => decodeCycleEnd(item)).toThrow(new MalformedItemError(reason));
  });
});
