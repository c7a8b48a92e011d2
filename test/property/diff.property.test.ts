/**
 * Properties of the diff and of the event built from it, over arbitrary unread states.
 */
import fc from 'fast-check';
import { diffUnread, type UnreadDiff } from '../../lambda/core/diff';
import { buildEvent, deriveEventId } from '../../lambda/core/event-builder';
import { compareDecimalIds, parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type ConversationUnread, type UnreadState } from '../../lambda/core/model';

/** Object ids from a small pool (so two states share conversations) and from the whole int64 range. */
const objectId = fc.oneof(fc.integer({ min: 1, max: 12 }).map(String), fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String));
const conversation: fc.Arbitrary<ConversationUnread> = fc.record({
  objectId,
  streamId: fc.integer({ min: 1, max: 5 }).map(String),
  unread: fc.oneof(fc.constant(0), fc.nat({ max: 20 })),
});
const state: fc.Arbitrary<UnreadState> = fc
  .tuple(fc.nat({ max: 200 }), fc.array(conversation, { maxLength: 10 }))
  .map(([total, conversations]) => normalizeState(total, conversations));
/** Two states that differ in a few places only: the common case of one poll to the next. */
const nearby: fc.Arbitrary<[UnreadState, UnreadState]> = fc
  .tuple(state, fc.array(conversation, { maxLength: 3 }), fc.integer({ min: -3, max: 3 }))
  .map(([a, edits, dTotal]) => [a, normalizeState(Math.max(0, a.total + dTotal), [...a.conversations, ...edits])]);
const pair = fc.oneof(fc.tuple(state, state), nearby);

function counts(s: UnreadState): Map<string, number> {
  return new Map(s.conversations.map((c) => [c.objectId, c.unread]));
}

/** `previous` with the diff applied: what a subscriber reconstructs from the event. */
function apply(previous: UnreadState, diff: UnreadDiff): { total: number; counts: Map<string, number> } {
  const result = counts(previous);
  for (const c of diff.conversations) {
    if (c.current === 0) result.delete(c.objectId);
    else result.set(c.objectId, c.current);
  }
  return { total: diff.total, counts: result };
}

describe('diffUnread', () => {
  test('of a state with itself is always empty', () => {
    fc.assert(fc.property(state, (s) => expect(diffUnread(s, s)).toBeUndefined()));
  });

  test('of a state with a reordered, zero-padded copy of itself is empty', () => {
    fc.assert(
      fc.property(state, fc.array(objectId, { maxLength: 3 }), (s, zeros) => {
        const copy = normalizeState(s.total, [...zeros.map((o) => ({ objectId: o, streamId: '1', unread: 0 })), ...[...s.conversations].reverse()]);
        expect(diffUnread(s, copy)).toBeUndefined();
      }),
    );
  });

  test('is empty in one direction exactly when it is empty in the other', () => {
    fc.assert(fc.property(pair, ([a, b]) => expect(diffUnread(a, b) === undefined).toBe(diffUnread(b, a) === undefined)));
  });

  test('backwards is the mirror of forwards: totals and each previous/current swapped, same conversations', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const forward = diffUnread(a, b);
        const backward = diffUnread(b, a);
        if (!forward || !backward) return;
        expect(backward.previousTotal).toBe(forward.total);
        expect(backward.total).toBe(forward.previousTotal);
        expect(backward.conversations.map((c) => [c.objectId, c.current, c.previous])).toEqual(forward.conversations.map((c) => [c.objectId, c.previous, c.current]));
      }),
    );
  });

  test('applied to the previous state gives the next one (a subscriber can follow the counts)', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const diff = diffUnread(a, b);
        if (!diff) return;
        expect(apply(a, diff)).toEqual({ total: b.total, counts: counts(b) });
      }),
    );
  });

  test('lists only changed conversations, each once, in numeric objectId order, and starts from the previous total', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const diff = diffUnread(a, b);
        if (!diff) return;
        expect(diff.previousTotal).toBe(a.total);
        expect(diff.conversations.every((c) => c.previous !== c.current && c.previous >= 0 && c.current >= 0)).toBe(true);
        const ids = diff.conversations.map((c) => c.objectId);
        expect(new Set(ids).size).toBe(ids.length);
        expect([...ids].sort(compareDecimalIds)).toEqual(ids);
      }),
    );
  });

  test('is empty exactly when neither the total nor any count differs', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const same = a.total === b.total && JSON.stringify([...counts(a)]) === JSON.stringify([...counts(b)]);
        expect(diffUnread(a, b) === undefined).toBe(same);
      }),
    );
  });
});

describe('buildEvent', () => {
  const identityId = parseIdentityId('558355');

  test('has delta = total - previousTotal and a direction that agrees with it', () => {
    fc.assert(
      fc.property(pair, fc.nat({ max: 1000 }), ([a, b], version) => {
        const diff = diffUnread(a, b);
        if (!diff) return;
        const event = buildEvent({ identityId, fromVersion: version, previous: a, next: b, diff, observedAt: new Date(0) });
        expect(event.delta).toBe(b.total - a.total);
        if (event.delta > 0) expect(event.direction).toBe('increased');
        if (event.delta < 0) expect(event.direction).toBe('decreased');
      }),
    );
  });

  test('has the same eventId for the same transition, and another one from another version', () => {
    fc.assert(
      fc.property(pair, fc.nat({ max: 1000 }), ([a, b], version) => {
        expect(deriveEventId(identityId, version, a, b)).toBe(deriveEventId(identityId, version, a, b));
        expect(deriveEventId(identityId, version, a, b)).not.toBe(deriveEventId(identityId, version + 1, a, b));
      }),
    );
  });

  test('gives different transitions from one version different eventIds', () => {
    fc.assert(
      fc.property(pair, state, fc.nat({ max: 1000 }), ([a, b], c, version) => {
        fc.pre(diffUnread(b, c) !== undefined);
        expect(deriveEventId(identityId, version, a, b)).not.toBe(deriveEventId(identityId, version, a, c));
      }),
    );
  });
});
