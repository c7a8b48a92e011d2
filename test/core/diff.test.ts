import { diffUnread } from '../../lambda/core/diff';
import { normalizeState, type ConversationUnread } from '../../lambda/core/model';

/** `[objectId, streamId, unread]` rows, so each table line reads as the API would show it. */
type Row = readonly [string, string, number];
const state = (total: number, rows: readonly Row[] = []) =>
  normalizeState(
    total,
    rows.map(([objectId, streamId, unread]): ConversationUnread => ({ objectId, streamId, unread })),
  );

describe('diffUnread', () => {
  it.each([
    ['an empty state against itself', state(0), state(0)],
    ['the same counts', state(3, [['1', '10', 1], ['2', '20', 2]]), state(3, [['2', '20', 2], ['1', '10', 1]])],
    ['a conversation going to 0 that was never stored above 0', state(1, [['1', '10', 1]]), state(1, [['1', '10', 1], ['2', '20', 0]])],
  ])('answers undefined for %s', (_name, previous, next) => {
    // Act
    const diff = diffUnread(previous, next);

    // Assess
    expect(diff).toBeUndefined();
  });

  it.each([
    {
      name: 'an increase in one conversation',
      previous: state(1, [['396001', '19155', 1]]),
      next: state(3, [['396001', '19155', 3]]),
      expected: { previousTotal: 1, total: 3, conversations: [{ objectId: '396001', streamId: '19155', previous: 1, current: 3 }] },
    },
    {
      name: 'a decrease in one conversation',
      previous: state(5, [['1', '10', 5]]),
      next: state(2, [['1', '10', 2]]),
      expected: { previousTotal: 5, total: 2, conversations: [{ objectId: '1', streamId: '10', previous: 5, current: 2 }] },
    },
    {
      name: 'a conversation that disappeared, counted as 0',
      previous: state(3, [['1', '10', 1], ['2', '20', 2]]),
      next: state(1, [['1', '10', 1]]),
      expected: { previousTotal: 3, total: 1, conversations: [{ objectId: '2', streamId: '20', previous: 2, current: 0 }] },
    },
    {
      name: 'a new conversation, counted from 0',
      previous: state(1, [['1', '10', 1]]),
      next: state(5, [['1', '10', 1], ['7', '70', 4]]),
      expected: { previousTotal: 1, total: 5, conversations: [{ objectId: '7', streamId: '70', previous: 0, current: 4 }] },
    },
    {
      name: 'a total change with no conversation change',
      previous: state(4, [['1', '10', 1]]),
      next: state(6, [['1', '10', 1]]),
      expected: { previousTotal: 4, total: 6, conversations: [] },
    },
    {
      name: 'conversations moving under the same total',
      previous: state(2, [['1', '10', 2]]),
      next: state(2, [['2', '20', 2]]),
      expected: {
        previousTotal: 2,
        total: 2,
        conversations: [
          { objectId: '1', streamId: '10', previous: 2, current: 0 },
          { objectId: '2', streamId: '20', previous: 0, current: 2 },
        ],
      },
    },
    {
      name: 'changes listed in numeric objectId order, not text order',
      previous: state(0),
      next: state(3, [['10', '1', 1], ['9', '1', 1], ['100', '1', 1]]),
      expected: {
        previousTotal: 0,
        total: 3,
        conversations: [
          { objectId: '9', streamId: '1', previous: 0, current: 1 },
          { objectId: '10', streamId: '1', previous: 0, current: 1 },
          { objectId: '100', streamId: '1', previous: 0, current: 1 },
        ],
      },
    },
    {
      name: 'ids beyond 2^53 compared with every digit',
      previous: state(1, [['9223372036854775806', '9223372036854775807', 1]]),
      next: state(1, [['9223372036854775807', '9223372036854775807', 1]]),
      expected: {
        previousTotal: 1,
        total: 1,
        conversations: [
          { objectId: '9223372036854775806', streamId: '9223372036854775807', previous: 1, current: 0 },
          { objectId: '9223372036854775807', streamId: '9223372036854775807', previous: 0, current: 1 },
        ],
      },
    },
  ])('reports $name', ({ previous, next, expected }) => {
    // Act
    const diff = diffUnread(previous, next);

    // Assess
    expect(diff).toEqual(expected);
  });
});
