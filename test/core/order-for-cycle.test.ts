import { parseIdentityId } from '../../lambda/core/identity-id';
import type { WatchedIdentity } from '../../lambda/core/model';
import { orderForCycle } from '../../lambda/core/poll-cycle';

const watched = (ids: readonly string[]): WatchedIdentity[] =>
  ids.map((id) => ({ id: parseIdentityId(id), failureStreak: 0, notFound: false }));

describe('orderForCycle', () => {
  it.each([
    { name: 'numeric order, not text order', ids: ['10', '9', '100', '2'], resumeFrom: undefined, expected: ['2', '9', '10', '100'] },
    {
      name: 'numeric order beyond 2^53',
      ids: ['9223372036854775807', '9007199254740993', '9007199254740992'],
      resumeFrom: undefined,
      expected: ['9007199254740992', '9007199254740993', '9223372036854775807'],
    },
    { name: 'rotation to resumeFrom', ids: ['1', '2', '3', '4', '5'], resumeFrom: '3', expected: ['3', '4', '5', '1', '2'] },
    { name: 'rotation to the next id when resumeFrom was removed', ids: ['1', '3', '5'], resumeFrom: '4', expected: ['5', '1', '3'] },
    { name: 'resumeFrom at the first id keeps the order', ids: ['1', '2', '3'], resumeFrom: '1', expected: ['1', '2', '3'] },
    { name: 'resumeFrom before the first id keeps the order', ids: ['5', '6'], resumeFrom: '2', expected: ['5', '6'] },
    { name: 'resumeFrom beyond the last id wraps to the start', ids: ['1', '2', '3'], resumeFrom: '9', expected: ['1', '2', '3'] },
    { name: 'resumeFrom compared numerically', ids: ['9', '10', '11'], resumeFrom: '10', expected: ['10', '11', '9'] },
    { name: 'no identities', ids: [], resumeFrom: '3', expected: [] },
  ])('gives $name', ({ ids, resumeFrom, expected }) => {
    // Act
    const ordered = orderForCycle(watched(ids), resumeFrom === undefined ? undefined : parseIdentityId(resumeFrom));

    // Assess
    expect(ordered.map((w) => w.id)).toEqual(expected);
  });

  it('leaves its input untouched', () => {
    // Prepare
    const input = watched(['3', '1', '2']);

    // Act
    orderForCycle(input, parseIdentityId('2'));

    // Assess
    expect(input.map((w) => w.id)).toEqual(['3', '1', '2']);
  });
});
