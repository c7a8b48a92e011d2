/**
 * Properties of the CommBox response parser, over arbitrary text, arbitrary JSON and bodies
 * shaped like the API's with arbitrary values in every field it reads.
 */
import fc from 'fast-check';
import { parseObjectsBody, type ParsedBody } from '../../lambda/adapters/commbox/commbox-objects-body';
import { isIdentityId } from '../../lambda/core/identity-id';

const CANONICAL_ID = /^(0|[1-9][0-9]*)$/;

/** Any value a JSON field could hold, and some that only a careless server sends. */
const anyField = fc.oneof(
  fc.jsonValue(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0.5, 1e21, 2 ** 53, -0, '3', '', null, true, [], {}),
);

/** An object of `data`, each field the parser reads either well-formed or anything at all. */
const objectEntry = fc.record(
  {
    objectId: fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n }), anyField),
    streamId: fc.oneof(fc.nat(), anyField),
    unreadMessages: fc.oneof(fc.nat({ max: 50 }), anyField),
    firstName: fc.string(),
  },
  { requiredKeys: [] },
);

const bodyLike = fc.record(
  {
    status: fc.oneof(fc.constant(200), anyField),
    totalUnreadChatMessages: fc.oneof(fc.nat(), anyField),
    data: fc.oneof(fc.array(objectEntry, { maxLength: 6 }), anyField),
    description: fc.string(),
  },
  { requiredKeys: [] },
);

/** JSON text with bigints written as bare integers, as a server beyond 2^53 would. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `__big${v}__` : v)).replace(/"__big(\d+)__"/g, '$1');
}

const anyBody = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.json(),
  bodyLike.map(toJson),
  // Cut anywhere: a body that ends mid-way.
  fc.tuple(bodyLike.map(toJson), fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
);

function checkState(parsed: ParsedBody): void {
  if (parsed.kind !== 'ok') return;
  const { total, conversations } = parsed.state;
  expect(Number.isSafeInteger(total) && total >= 0).toBe(true);
  for (const c of conversations) {
    expect(Number.isSafeInteger(c.unread) && c.unread > 0).toBe(true);
    expect(c.objectId).toMatch(CANONICAL_ID);
    expect(c.streamId).toMatch(CANONICAL_ID);
  }
}

describe('parseObjectsBody', () => {
  test('never throws, whatever the text', () => {
    fc.assert(
      fc.property(anyBody, (text) => {
        expect(() => parseObjectsBody(text)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  test('never yields a negative, fractional or unsafe count, nor a non-decimal id', () => {
    fc.assert(
      fc.property(anyBody, (text) => {
        checkState(parseObjectsBody(text));
      }),
      { numRuns: 1000 },
    );
  });

  test('answers ok only for an object with status 200', () => {
    fc.assert(
      fc.property(anyBody, (text) => {
        const parsed = parseObjectsBody(text);
        if (parsed.kind !== 'ok') return;
        expect(JSON.parse(text)).toMatchObject({ status: 200 });
      }),
      { numRuns: 500 },
    );
  });

  test('a status other than 200 in the body is reported as such, never as ok', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }).filter((s) => s !== 200),
        bodyLike,
        (status, body) => {
          expect(parseObjectsBody(toJson({ ...body, status }))).toEqual({ kind: 'status', status });
        },
      ),
    );
  });

  test('a reason never quotes the body: strings planted in every field stay out of it', () => {
    const planted = fc.string({ minLength: 6 }).map((s) => `PLANTED-${s}`);
    fc.assert(
      fc.property(planted, bodyLike, fc.constantFrom('status', 'totalUnreadChatMessages', 'data', 'unreadMessages', 'objectId'), (secret, body, where) => {
        const data = Array.isArray(body.data) ? body.data : [{}];
        // An id is only read from a conversation with unread messages: give the planted one some.
        const withSecret =
          where === 'unreadMessages' || where === 'objectId'
            ? { ...body, status: 200, totalUnreadChatMessages: 1, data: [{ ...(data[0] as object), streamId: 1, unreadMessages: 1, [where]: secret }] }
            : { ...body, [where]: secret };

        const parsed = parseObjectsBody(toJson(withSecret));

        expect(parsed.kind).not.toBe('ok');
        expect(JSON.stringify(parsed)).not.toContain('PLANTED');
      }),
    );
  });

  test('an object without unread messages never makes a body malformed, whatever its ids hold', () => {
    const unreadEntry = fc.record({ objectId: fc.nat(), streamId: fc.nat(), unreadMessages: fc.integer({ min: 1, max: 9 }) });
    const idleEntry = fc.record(
      { objectId: anyField, streamId: anyField, unreadMessages: fc.constantFrom(0, null), type: fc.string() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(unreadEntry, idleEntry), { maxLength: 6 }), (data) => {
        const parsed = parseObjectsBody(toJson({ status: 200, totalUnreadChatMessages: 3, data }));

        expect(parsed.kind).toBe('ok');
        if (parsed.kind === 'ok') expect(parsed.state.conversations.length).toBe(new Set(data.filter((d) => (d.unreadMessages ?? 0) > 0).map((d) => d.objectId)).size);
      }),
    );
  });

  test('reads a well-formed body exactly: total, and each conversation with unread messages, ids beyond 2^53 included', () => {
    const conversation = fc.record({
      objectId: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
      streamId: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
      unreadMessages: fc.nat({ max: 1000 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(conversation, { selector: (c) => c.objectId, maxLength: 8 }), fc.nat({ max: 100_000 }), (data, total) => {
        const parsed = parseObjectsBody(toJson({ status: 200, description: 'Operation successful', totalUnreadChatMessages: total, data }));

        const expected = data
          .filter((c) => c.unreadMessages > 0)
          .sort((a, b) => (a.objectId < b.objectId ? -1 : 1))
          .map((c) => ({ objectId: String(c.objectId), streamId: String(c.streamId), unread: c.unreadMessages }));
        expect(parsed).toEqual({ kind: 'ok', state: { total, conversations: expected } });
        if (parsed.kind === 'ok') expect(parsed.state.conversations.every((c) => isIdentityId(c.objectId))).toBe(true);
      }),
    );
  });
});
