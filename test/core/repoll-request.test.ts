import { parseIdentityId } from '../../lambda/core/identity-id';
import { ENCODED_ID_BASE, identityCandidates, parseRepollRequest, REPOLL_MAX_BODY_BYTES, REPOLL_MAX_ENTRIES } from '../../lambda/core/repoll-request';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const parse = (value: unknown) => parseRepollRequest(bytes(typeof value === 'string' ? value : JSON.stringify(value)));

function accepted(value: unknown) {
  const result = parse(value);
  if (!result.ok) throw new Error(`expected a parsed request, got ${result.status} ${result.reason}`);
  return result.request;
}

/** The OnNew example of CommBox's documentation, with customer data in it. */
const ON_NEW = `{"payload":{"Message":"Hello, my card 4111 1111 1111 1111","Snippet":"Hello","Content":{"Type":"text"},"ManagerId":1234,
  "User":{"Identity":{"Id":3377699720580841,"StreamProviderId":5,"StreamProviderType":2},"Id":987,"Email":"jane@example.com","Phone1":"+15551234567"}},
  "ObjectId":"762","StreamId":19155,"StreamType":1}`;

describe('parseRepollRequest: {"identityIds":[…]}', () => {
  it('reads ids given as strings and as numbers, as canonical decimal strings', () => {
    expect(accepted('{"identityIds":["558355", 7]}')).toEqual({
      form: 'identity-list',
      entries: [
        { kind: 'identity', id: '558355', tries: ['558355'] },
        { kind: 'identity', id: '7', tries: ['7'] },
      ],
      ignored: [],
    });
  });

  it('keeps every digit of a number id beyond 2^53', () => {
    expect(accepted('{"identityIds":[9223372036854775807]}').entries).toEqual([{ kind: 'identity', id: '9223372036854775807', tries: ['9223372036854775807'] }]);
  });

  it.each([
    ['-5'], ['0'], ['"007"'], ['1e3'], ['1000.0'], ['"1 2"'], ['"abc"'], ['9223372036854775808'], ['null'], ['{"id":1}'], ['true'], ['"１２"'],
  ])('ignores %s as malformed, by position, without echoing it', (raw) => {
    const request = accepted(`{"identityIds":["558355", ${raw}]}`);

    expect(request.entries).toHaveLength(1);
    expect(request.ignored).toEqual([{ reason: 'malformed', index: 1 }]);
  });

  it('names each identity once, however often it is listed', () => {
    expect(accepted({ identityIds: ['558355', 558355, '558355'] }).entries).toHaveLength(1);
  });

  it('ignores fields other than identityIds', () => {
    expect(accepted({ identityIds: ['1'], note: 'anything', User: { Identity: { Id: 2 } } }).entries).toEqual([{ kind: 'identity', id: '1', tries: ['1'] }]);
  });

  it.each([[{ identityIds: [] }], [{ identityIds: '558355' }], [{ identityIds: null }]])('refuses %j with 400: it names no identity', (body) => {
    expect(parse(body)).toEqual({ ok: false, status: 400, reason: expect.stringMatching(/identityIds must be a non-empty array/) });
  });

  it(`refuses more than ${REPOLL_MAX_ENTRIES} ids with 413`, () => {
    const ids = Array.from({ length: REPOLL_MAX_ENTRIES + 1 }, (_, i) => i + 1);
    expect(parse({ identityIds: ids })).toMatchObject({ ok: false, status: 413 });
  });
});

describe('parseRepollRequest: CommBox webhooks', () => {
  it('reads payload.User.Identity.Id of an OnNew, big number kept exact, and tries its decoded form too', () => {
    const request = accepted(ON_NEW);

    expect(request).toEqual({
      form: 'commbox-webhook',
      entries: [{ kind: 'identity', id: '3377699720580841', tries: ['3377699720580841', '52969'] }],
      ignored: [],
    });
  });

  it('reads User.Identity.Id at the top level, beyond 2^53', () => {
    expect(accepted('{"User":{"Identity":{"Id":3377699720580841999}},"Message":"hi"}').entries).toEqual([
      { kind: 'identity', id: '3377699720580841999', tries: ['3377699720580841999'] },
    ]);
  });

  it('reads the identity given as a string', () => {
    expect(accepted({ User: { Identity: { Id: '558355' } } }).entries).toEqual([{ kind: 'identity', id: '558355', tries: ['558355'] }]);
  });

  it('reads an ObjectId alone, under Event or at the top level', () => {
    expect(accepted({ Event: { Subscription: 'Object', Name: 'OnNewActivity', Brand: 'x', ObjectId: '762' } }).entries).toEqual([{ kind: 'object', objectId: '762' }]);
    expect(accepted({ ObjectId: 762 }).entries).toEqual([{ kind: 'object', objectId: '762' }]);
  });

  it('prefers the identity over the ObjectId when both are there', () => {
    expect(accepted(ON_NEW).entries.map((e) => e.kind)).toEqual(['identity']);
  });

  it('reads camelCase keys as well (objectId, user.identity.id)', () => {
    expect(accepted({ user: { identity: { id: 5 } } }).entries).toEqual([{ kind: 'identity', id: '5', tries: ['5'] }]);
  });

  it('ignores a malformed identity as malformed, without echoing it', () => {
    expect(accepted({ User: { Identity: { Id: 'jane@example.com' } } })).toEqual({ form: 'commbox-webhook', entries: [], ignored: [{ reason: 'malformed' }] });
  });

  it('reads an array of webhooks, each by position', () => {
    const request = accepted([{ User: { Identity: { Id: 1 } } }, { Message: 'nothing' }, 'x', { ObjectId: '9' }]);

    expect(request.entries).toEqual([{ kind: 'identity', id: '1', tries: ['1'] }, { kind: 'object', objectId: '9' }]);
    expect(request.ignored).toEqual([{ reason: 'malformed', index: 1 }, { reason: 'malformed', index: 2 }]);
  });

  it.each([['{"Event":{"Subscription":"Tag","Name":"OnAdd"}}'], ['{}'], ['[]'], ['"558355"'], ['42'], ['null']])('refuses %s with 400: it names no identity', (text) => {
    expect(parse(text)).toEqual({ ok: false, status: 400, reason: expect.stringMatching(/^body names no identity/) });
  });
});

describe('parseRepollRequest: the body', () => {
  it.each([['not json'], ['{"identityIds":["1"]'], ['<soap:Envelope/>'], ['']])('refuses %j with 400 "body is not JSON"', (text) => {
    expect(parse(text)).toEqual({ ok: false, status: 400, reason: 'body is not JSON' });
  });

  it('refuses bytes that are not UTF-8 with 400', () => {
    expect(parseRepollRequest(Uint8Array.from([0x7b, 0xff, 0x7d]))).toEqual({ ok: false, status: 400, reason: 'body is not JSON' });
  });

  it('accepts a UTF-8 byte order mark', () => {
    expect(parse('\uFEFF{"identityIds":["1"]}').ok).toBe(true);
  });

  it('refuses a body one byte over 64 KB with 413, by its byte length, before reading it', () => {
    const body = new Uint8Array(REPOLL_MAX_BODY_BYTES + 1).fill(0xff);

    expect(parseRepollRequest(body)).toEqual({ ok: false, status: 413, reason: 'body is over 64 KB' });
  });

  it('accepts a body of exactly 64 KB', () => {
    const prefix = '{"identityIds":["1"],"pad":"';
    const text = `${prefix}${'x'.repeat(REPOLL_MAX_BODY_BYTES - prefix.length - 2)}"}`;

    expect(Buffer.byteLength(text)).toBe(REPOLL_MAX_BODY_BYTES);
    expect(parse(text).ok).toBe(true);
  });

  it('counts multi-byte characters as bytes', () => {
    const text = `{"identityIds":["1"],"pad":"${'é'.repeat(REPOLL_MAX_BODY_BYTES / 2)}"}`;

    expect(parse(text)).toMatchObject({ ok: false, status: 413 });
  });
});

describe('identityCandidates', () => {
  it('tries an id of the form 3 * 2^50 + n as given, then as n', () => {
    expect(identityCandidates(parseIdentityId('3377699720580841'))).toEqual(['3377699720580841', '52969']);
  });

  it.each([
    ['558355', 'a small id'],
    [String(ENCODED_ID_BASE), 'the bare prefix (n = 0)'],
    [String((4n << 50n) + 5n), 'a larger prefix'],
    [String((2n << 50n) + 5n), 'a smaller prefix'],
  ])('tries %s only as given (%s)', (raw) => {
    expect(identityCandidates(parseIdentityId(raw))).toEqual([raw]);
  });
});
