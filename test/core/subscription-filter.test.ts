import {
  buildFilterPolicy,
  filterPolicyCombinations,
  readFilterPolicy,
  SubscriptionFilterError,
  type SubscriptionFilter,
} from '../../lambda/core/subscription-filter';

describe('buildFilterPolicy', () => {
  test('no condition: no filter policy, every event is delivered', () => {
    expect(buildFilterPolicy({})).toBeUndefined();
  });

  test('event types become an eventType condition', () => {
    expect(buildFilterPolicy({ eventTypes: ['unread.alert'] })).toEqual({ eventType: ['unread.alert'] });
  });

  test('identities become one identityId condition, each id once', () => {
    expect(buildFilterPolicy({ identityIds: ['558355', '7', '558355'] })).toEqual({ identityId: ['558355', '7'] });
  });

  test('a direction on change events only is a plain direction condition', () => {
    expect(buildFilterPolicy({ eventTypes: ['unread.changed'], directions: ['increased'] })).toEqual({ eventType: ['unread.changed'], direction: ['increased'] });
  });

  test('a direction with alerts too: changes in that direction or any alert ($or), so alerts still arrive', () => {
    expect(buildFilterPolicy({ eventTypes: ['unread.changed', 'unread.alert'], directions: ['increased'], identityIds: ['558355'] })).toEqual({
      identityId: ['558355'],
      $or: [{ eventType: ['unread.changed'], direction: ['increased'] }, { eventType: ['unread.alert'] }],
    });
  });

  test('both directions are no direction condition', () => {
    expect(buildFilterPolicy({ eventTypes: ['unread.changed', 'unread.alert'], directions: ['increased', 'decreased'] })).toEqual({ eventType: ['unread.changed', 'unread.alert'] });
  });

  test('without event types a direction applies to every event, as the stack filtered before alerts', () => {
    expect(buildFilterPolicy({ identityIds: ['558355'], directions: ['decreased'] })).toEqual({ identityId: ['558355'], direction: ['decreased'] });
  });

  test.each<[SubscriptionFilter, RegExp]>([
    [{ eventTypes: ['unread.alert'], directions: ['increased'] }, /a direction applies to unread.changed events only/],
    [{ eventTypes: [] }, /at least one event type/],
    [{ eventTypes: ['unread.deleted' as never] }, /unknown event type "unread.deleted"/],
    [{ identityIds: ['012'] }, /invalid identity id "012"/],
    [{ directions: ['up' as never] }, /unknown direction "up"/],
  ])('%j is refused', (filter, message) => {
    expect(() => buildFilterPolicy(filter)).toThrow(SubscriptionFilterError);
    expect(() => buildFilterPolicy(filter)).toThrow(message);
  });

  test('a filter over SNS limit of 150 value combinations is refused before SNS sees it', () => {
    const identityIds = Array.from({ length: 76 }, (_, i) => String(i + 1));

    expect(() => buildFilterPolicy({ eventTypes: ['unread.changed', 'unread.alert'], identityIds })).toThrow(/152 value combinations and SNS accepts at most 150/);
    expect(buildFilterPolicy({ eventTypes: ['unread.changed', 'unread.alert'], identityIds: identityIds.slice(1) })).toBeDefined();
  });
});

describe('filterPolicyCombinations', () => {
  test('multiplies the values of each key, and adds the branches of an $or', () => {
    expect(filterPolicyCombinations({ identityId: ['1', '2', '3'], $or: [{ eventType: ['a'], direction: ['b'] }, { eventType: ['c', 'd'] }] })).toBe(9);
  });
});

describe('readFilterPolicy', () => {
  test.each<SubscriptionFilter>([
    { eventTypes: ['unread.alert'] },
    { eventTypes: ['unread.changed'], directions: ['increased'], identityIds: ['558355'] },
    { eventTypes: ['unread.changed', 'unread.alert'], directions: ['decreased'], identityIds: ['1', '9223372036854775807'] },
    { identityIds: ['42'] },
  ])('reads back what the builder built: %j', (filter) => {
    expect(readFilterPolicy(buildFilterPolicy(filter))).toEqual(filter);
  });

  test.each([{ store: ['x'] }, { eventType: 'unread.alert' }, { identityId: [558355] }, { $or: [{ eventType: ['unread.alert'] }] }, [], 'text'])(
    'answers undefined for a policy it did not build: %j',
    (policy) => {
      expect(readFilterPolicy(policy)).toBeUndefined();
    },
  );
});
