import { diffUnread } from '../../lambda/core/diff';
import { buildEvent, deriveEventId, type EventInput } from '../../lambda/core/event-builder';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadState } from '../../lambda/core/model';

type Row = readonly [objectId: string, unread: number];
const state = (total: number, rows: readonly Row[] = []): UnreadState =>
  normalizeState(
    total,
    rows.map(([objectId, unread]) => ({ objectId, streamId: '19155', unread })),
  );

function input(previous: UnreadState, next: UnreadState, overrides: Partial<EventInput> = {}): EventInput {
  const diff = diffUnread(previous, next);
  if (!diff) throw new Error('fixture has no change');
  return {
    identityId: parseIdentityId('558355'),
    fromVersion: 3,
    previous,
    next,
    diff,
    observedAt: new Date('2026-02-12T15:09:23.998Z'),
    ...overrides,
  };
}

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const A = state(1, [['1', 1]]);
const B = state(3, [['1', 3]]);
const C = state(2, [['1', 2]]);

describe('deriveEventId', () => {
  it('gives the same id for the same identity and transition, whenever it is computed', () => {
    // Act
    const first = buildEvent(input(A, B)).eventId;
    const again = buildEvent(input(A, B, { observedAt: new Date('2030-01-01T00:00:00Z'), label: 'other label' })).eventId;

    // Assess
    expect(again).toBe(first);
  });

  it.each([
    ['another snapshot version', { fromVersion: 4 }],
    ['another identity', { identityId: parseIdentityId('558356') }],
    ['another next state', { next: C }],
    ['another previous state', { previous: C }],
  ] as const)('gives a different id for %s', (_name, change) => {
    // Prepare
    const base = deriveEventId(parseIdentityId('558355'), 3, A, B);
    const args = { identityId: parseIdentityId('558355'), fromVersion: 3, previous: A, next: B, ...change };

    // Act
    const other = deriveEventId(args.identityId, args.fromVersion, args.previous, args.next);

    // Assess
    expect(other).not.toBe(base);
  });

  it('gives A→B→A→B two distinct ids for the two A→B transitions', () => {
    // Act
    const firstTime = deriveEventId(parseIdentityId('1'), 1, A, B);
    const secondTime = deriveEventId(parseIdentityId('1'), 3, A, B);

    // Assess
    expect(secondTime).not.toBe(firstTime);
  });

  it.each(['1', '558355', '9223372036854775807'])('is shaped as an RFC 9562 version-8 UUID for identity %s', (id) => {
    // Act
    const eventId = deriveEventId(parseIdentityId(id), 0, A, B);

    // Assess
    expect(eventId).toMatch(UUID_V8);
  });
});

describe('buildEvent', () => {
  it.each([
    { name: 'a higher total', previous: state(1, [['1', 1]]), next: state(3, [['1', 3]]), direction: 'increased', delta: 2 },
    { name: 'a lower total', previous: state(3, [['1', 3]]), next: state(1, [['1', 1]]), direction: 'decreased', delta: -2 },
    {
      name: 'the same total with a conversation gaining',
      previous: state(2, [['1', 2]]),
      next: state(2, [['1', 1], ['2', 1]]),
      direction: 'increased',
      delta: 0,
    },
    {
      name: 'the same total with conversations only losing',
      previous: state(2, [['1', 2]]),
      next: state(2, [['1', 1]]),
      direction: 'decreased',
      delta: 0,
    },
    { name: 'a higher total though a conversation lost', previous: state(2, [['1', 2]]), next: state(5, [['1', 1]]), direction: 'increased', delta: 3 },
  ])('says $name is $direction with delta $delta', ({ previous, next, direction, delta }) => {
    // Act
    const event = buildEvent(input(previous, next));

    // Assess
    expect(event).toMatchObject({ direction, delta, previousTotal: previous.total, total: next.total });
  });

  it('carries the CONTRACT fields, the diffed conversations and the observation time', () => {
    // Act
    const event = buildEvent(input(A, B, { label: 'Support desk' }));

    // Assess
    expect(event).toEqual({
      version: 1,
      type: 'unread.changed',
      eventId: expect.stringMatching(UUID_V8),
      identityId: '558355',
      label: 'Support desk',
      previousTotal: 1,
      total: 3,
      delta: 2,
      direction: 'increased',
      conversations: [{ objectId: '1', streamId: '19155', previous: 1, current: 3 }],
      observedAt: '2026-02-12T15:09:23.998Z',
    });
  });

  it.each([
    ['no label', {}],
    ['an empty label', { label: '' }],
  ])('leaves label out for %s', (_name, overrides) => {
    // Act
    const event = buildEvent(input(A, B, overrides));

    // Assess
    expect('label' in event).toBe(false);
  });
});
