import fc from 'fast-check';
import { keepBigIdsExact, parseObjectsBody } from '../../../lambda/adapters/commbox/commbox-objects-body';

const ok = (data: unknown, total = 0, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ status: 200, description: 'Operation successful', totalUnreadChatMessages: total, data, ...extra });

describe('parseObjectsBody', () => {
  it('keeps only conversations with unread messages, ids as decimal strings, sorted by objectId', () => {
    const body = ok(
      [
        { objectId: 20, streamId: 5, unreadMessages: 1 },
        { objectId: 3, streamId: 5, unreadMessages: 2 },
        { objectId: 4, streamId: 5, unreadMessages: 0 },
      ],
      3,
    );

    expect(parseObjectsBody(body)).toEqual({
      kind: 'ok',
      state: {
        total: 3,
        conversations: [
          { objectId: '3', streamId: '5', unread: 2 },
          { objectId: '20', streamId: '5', unread: 1 },
        ],
      },
    });
  });

  it('reads data: null as no conversations', () => {
    expect(parseObjectsBody(ok(null))).toEqual({ kind: 'ok', state: { total: 0, conversations: [] } });
  });

  it('reports a body status other than 200 as such', () => {
    expect(parseObjectsBody('{"status":429,"description":"Too Many Requests"}')).toEqual({ kind: 'status', status: 429 });
  });

  it.each([
    ['not JSON', '{"status":200,'],
    ['no status', '{"totalUnreadChatMessages":0,"data":[]}'],
    ['no data', '{"status":200,"totalUnreadChatMessages":0}'],
    ['no total', '{"status":200,"data":[]}'],
    ['a negative total', ok([], -1)],
    ['a fractional total', ok([], 1.5)],
    ['a count given as text', ok([], '2' as unknown as number)],
    ['a negative unread count', ok([{ objectId: 1, streamId: 1, unreadMessages: -2 }])],
    ['a fractional unread count', ok([{ objectId: 1, streamId: 1, unreadMessages: 0.5 }])],
    ['unread messages without an objectId', ok([{ streamId: 1, unreadMessages: 2 }])],
    ['data that is not an array', ok({ objects: [] })],
    ['an array at the root', '[]'],
  ])('calls a body with %s malformed', (_what, body) => {
    expect(parseObjectsBody(body).kind).toBe('malformed');
  });

  it('names where the body is wrong, never the value it found there', () => {
    const result = parseObjectsBody(ok([{ objectId: 1, streamId: 1, unreadMessages: 'Dana Cohenovitz +972501234567' }]));

    expect(result).toEqual({ kind: 'malformed', reason: expect.stringContaining('data.0.unreadMessages') });
    expect(JSON.stringify(result)).not.toMatch(/Dana|Cohenovitz|972501234567/);
  });

  it('quotes big object and stream ids before parsing, and nothing inside strings', () => {
    const text = '{"objectId": 9007199254740993123,"message":"\\"objectId\\":12345678901234567","streamId":12345678901234567}';

    expect(keepBigIdsExact(text)).toBe(
      '{"objectId": "9007199254740993123","message":"\\"objectId\\":12345678901234567","streamId":"12345678901234567"}',
    );
  });

  it('never throws and never yields a negative or fractional count, whatever the JSON', () => {
    const item = fc.record(
      { objectId: fc.oneof(fc.integer(), fc.string(), fc.constant(null)), streamId: fc.oneof(fc.nat(), fc.constant(null)), unreadMessages: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null)) },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.json(),
      fc.record({ status: fc.oneof(fc.constant(200), fc.integer()), totalUnreadChatMessages: fc.oneof(fc.integer(), fc.double()), data: fc.oneof(fc.array(item), fc.constant(null), fc.anything()) }).map((o) => JSON.stringify(o)),
      fc.string(),
    );
    fc.assert(
      fc.property(body, (text) => {
        const result = parseObjectsBody(text);
        if (result.kind !== 'ok') return;
        for (const n of [result.state.total, ...result.state.conversations.map((c) => c.unread)]) {
          expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
