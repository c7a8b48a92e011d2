import { RepollSecrets } from '../../lambda/core/repoll-auth';
import { DEFAULT_REPOLL_WINDOW_MS } from '../../lambda/core/repoll-debounce';
import type { RepollSecretSource } from '../../lambda/core/repoll-ports';
import { REPOLL_MAX_BODY_BYTES } from '../../lambda/core/repoll-request';
import { handleRepollRequest, type RepollEndpointDeps, type RepollHttpRequest } from '../../lambda/repoll-endpoint';
import { captureOutput } from '../support/handler-harness';
import { CapturingLog, fixedSecrets, InMemoryRepollMarker, ManualClock, RecordingRepollQueue } from '../support/repoll-fakes';

const SECRET = 'current-secret-4f9a1c2e7b';
const PREVIOUS = 'previous-secret-8d3b6a0f51';
const W = DEFAULT_REPOLL_WINDOW_MS;

function setup(registered: string[] = ['558355'], overrides: Partial<RepollEndpointDeps> = {}) {
  const clock = new ManualClock();
  const marker = new InMemoryRepollMarker(registered);
  const queue = new RecordingRepollQueue();
  const log = new CapturingLog();
  const deps: RepollEndpointDeps = { secrets: fixedSecrets(SECRET), marker, queue, now: clock.now, log, ...overrides };
  const call = (request: Partial<RepollHttpRequest> & { json?: unknown; text?: string }) =>
    handleRepollRequest(
      {
        method: request.method ?? 'POST',
        path: request.path ?? '/repoll',
        headers: request.headers ?? { authorization: `Bearer ${SECRET}` },
        body: request.body ?? Buffer.from(request.text ?? JSON.stringify(request.json ?? { identityIds: ['558355'] })),
      },
      deps,
    );
  return { clock, marker, queue, log, call };
}

const bodyOf = (response: { body: string }): unknown => JSON.parse(response.body);

describe('the re-poll endpoint: the secret', () => {
  it('a registered id with the secret in Authorization: Bearer is accepted (202) and polled now', async () => {
    const { call, queue, clock } = setup();

    const response = await call({});

    expect(response.status).toBe(202);
    expect(bodyOf(response)).toEqual({ accepted: ['558355'], ignored: [] });
    expect(queue.sent).toEqual([{ identityId: '558355', delayMs: 0, requestedAt: clock.nowMs }]);
  });

  it('the secret as the path segment /repoll/<secret> is accepted', async () => {
    const { call } = setup();

    const response = await call({ path: `/repoll/${SECRET}`, headers: {} });

    expect(response.status).toBe(202);
  });

  it.each([
    ['a missing secret', '/repoll', {}, /^missing secret/],
    ['a wrong bearer secret', '/repoll', { authorization: 'Bearer wrong-secret-0000000000' }, /^wrong secret$/],
    ['a wrong path secret', '/repoll/wrong-secret-0000000000', {}, /^wrong secret$/],
    ['the secret as a prefix', `/repoll/${SECRET.slice(0, -1)}`, {}, /^wrong secret$/],
    ['another scheme', '/repoll', { authorization: `Basic ${SECRET}` }, /^missing secret/],
  ])('%s is refused with 401 and a one-line reason; nothing is marked or queued', async (_name, path, headers, reason) => {
    const { call, marker, queue } = setup();

    const response = await call({ path, headers });

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect((bodyOf(response) as { error: string }).error).toMatch(reason);
    expect(response.body).not.toContain('\n');
    expect(marker.marked).toEqual([]);
    expect(queue.sent).toEqual([]);
  });

  it('during a rotation both the current and the previous secret are accepted', async () => {
    const { call } = setup(['558355'], { secrets: fixedSecrets(SECRET, PREVIOUS) });

    expect((await call({ headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(202);
    expect((await call({ path: `/repoll/${PREVIOUS}`, headers: {} })).status).toBe(202);
  });

  it('a secret that does not match re-reads the secrets once (a rotation may just have happened)', async () => {
    let reads = 0;
    const secrets: RepollSecretSource = {
      get: () => Promise.resolve(RepollSecrets.of(PREVIOUS)),
      refresh: () => {
        reads += 1;
        return Promise.resolve(RepollSecrets.of(SECRET, PREVIOUS));
      },
    };
    const { call } = setup(['558355'], { secrets });

    expect((await call({})).status).toBe(202);
    expect(reads).toBe(1);
  });

  it('secrets that cannot be read answer 503, and the error is logged by name', async () => {
    const { call, log } = setup(['558355'], { secrets: { get: () => Promise.reject(new Error('AccessDenied')) } });

    const response = await call({});

    expect(response.status).toBe(503);
    expect(log.text).toContain('cannot read the re-poll secret');
  });
});

describe('the re-poll endpoint: method and path', () => {
  it('a method other than POST is refused with 405 and Allow: POST', async () => {
    const { call, marker } = setup();

    const response = await call({ method: 'GET' });

    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(marker.marked).toEqual([]);
  });

  it('another path is 404', async () => {
    const { call } = setup();

    expect((await call({ path: '/repoll/a/b' })).status).toBe(404);
  });
});

describe('the re-poll endpoint: the body', () => {
  it.each([
    ['a missing body', Buffer.alloc(0), 400, 'body is not JSON'],
    ['a body that is not JSON', Buffer.from('identityIds=558355'), 400, 'body is not JSON'],
    ['JSON naming no identity', Buffer.from('{"hello":"world"}'), 400, /^body names no identity/],
    ['an empty identityIds', Buffer.from('{"identityIds":[]}'), 400, /^identityIds must be a non-empty array/],
    ['a body over 64 KB', Buffer.alloc(REPOLL_MAX_BODY_BYTES + 1, 0x20), 413, 'body is over 64 KB'],
  ])('%s is refused with %i and a one-line reason', async (_name, body, status, reason) => {
    const { call, marker } = setup();

    const response = await call({ body });

    expect(response.status).toBe(status);
    expect((bodyOf(response) as { error: string }).error).toMatch(reason);
    expect(marker.marked).toEqual([]);
  });

  it('fields other than the ids are ignored', async () => {
    const { call, queue } = setup();

    const response = await call({ json: { identityIds: ['558355'], comment: 'please', nested: { a: [1, 2] } } });

    expect(response.status).toBe(202);
    expect(queue.sent.map((m) => m.identityId)).toEqual(['558355']);
  });

  it('ids that are not canonical positive int64 decimals are ignored as malformed, by position, and the rest are polled', async () => {
    const { call, queue, marker } = setup();

    const response = await call({ text: '{"identityIds":["558355","-1","0","007","1e3",1.5,"9223372036854775808",{"x":1}]}' });

    expect(response.status).toBe(202);
    expect(bodyOf(response)).toEqual({
      accepted: ['558355'],
      ignored: [1, 2, 3, 4, 5, 6, 7].map((index) => ({ reason: 'malformed', index })),
    });
    expect(marker.marked).toEqual(['558355']);
    expect(queue.sent).toHaveLength(1);
  });

  it('unregistered ids are ignored as unregistered and never queued', async () => {
    const { call, queue } = setup(['558355']);

    const response = await call({ json: { identityIds: ['558355', '42'] } });

    expect(bodyOf(response)).toEqual({ accepted: ['558355'], ignored: [{ reason: 'unregistered', id: '42' }] });
    expect(queue.sent.map((m) => m.identityId)).toEqual(['558355']);
  });

  it('only unregistered ids still answer 202, with nothing accepted', async () => {
    const { call, queue } = setup([]);

    const response = await call({});

    expect(response.status).toBe(202);
    expect(bodyOf(response)).toEqual({ accepted: [], ignored: [{ reason: 'unregistered', id: '558355' }] });
    expect(queue.sent).toEqual([]);
  });
});

describe('the re-poll endpoint: debounce', () => {
  it('a burst of 50 requests for one identity within the window gives exactly one poll now and one at the window end', async () => {
    const { call, queue, clock } = setup();
    const start = clock.nowMs;

    const statuses: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      statuses.push((await call({})).status);
      clock.advance(30);
    }

    expect(statuses.every((s) => s === 202)).toBe(true);
    expect(queue.sent).toEqual([
      { identityId: '558355', delayMs: 0, requestedAt: start },
      { identityId: '558355', delayMs: W - 30, requestedAt: start + 30 },
    ]);
  });

  it('a single request within the window after a poll earns the trailing poll; one after the window polls now', async () => {
    const { call, queue, clock } = setup();
    await call({});
    clock.advance(W);

    await call({});

    expect(queue.sent.map((m) => m.delayMs)).toEqual([0, 0]);
  });

  it('one identity named twice in one request (plainly and encoded) is marked once', async () => {
    const { call, marker, queue } = setup(['52969']);

    const response = await call({ text: '{"identityIds":["52969", 3377699720580841]}' });

    expect(bodyOf(response)).toEqual({ accepted: ['52969'], ignored: [] });
    expect(marker.marked.filter((id) => id === '52969')).toHaveLength(1);
    expect(queue.sent).toHaveLength(1);
  });
});

describe('the re-poll endpoint: CommBox webhooks', () => {
  it('an OnNew with payload.User.Identity.Id as a number beyond 2^53 polls that identity, every digit kept', async () => {
    const { call, queue } = setup(['3377699720580841999']);

    const response = await call({
      path: `/repoll/${SECRET}`,
      headers: {},
      text: '{"payload":{"Message":"hi","User":{"Identity":{"Id":3377699720580841999},"Email":"a@b.c"}},"ObjectId":"762"}',
    });

    expect(bodyOf(response)).toEqual({ accepted: ['3377699720580841999'], ignored: [] });
    expect(queue.sent.map((m) => m.identityId)).toEqual(['3377699720580841999']);
  });

  it('an encoded id (3 * 2^50 + n) polls the registered identity n', async () => {
    const { call, queue } = setup(['52969']);

    const response = await call({ path: `/repoll/${SECRET}`, headers: {}, text: '{"User":{"Identity":{"Id":3377699720580841}}}' });

    expect(bodyOf(response)).toEqual({ accepted: ['52969'], ignored: [] });
    expect(queue.sent.map((m) => m.identityId)).toEqual(['52969']);
  });

  it('an encoded id registered as given is polled as given', async () => {
    const { call, marker } = setup(['3377699720580841', '52969']);

    const response = await call({ text: '{"User":{"Identity":{"Id":3377699720580841}}}' });

    expect(bodyOf(response)).toEqual({ accepted: ['3377699720580841'], ignored: [] });
    expect(marker.marked).toEqual(['3377699720580841']);
  });

  it('an encoded id registered in neither form is ignored as unregistered under the id as sent', async () => {
    const { call } = setup([]);

    const response = await call({ text: '{"User":{"Identity":{"Id":3377699720580841}}}' });

    expect(bodyOf(response)).toEqual({ accepted: [], ignored: [{ reason: 'unregistered', id: '3377699720580841' }] });
  });

  it('an OnNewActivity naming only an ObjectId is ignored as object-only-unmapped without a lookup', async () => {
    const { call, queue } = setup();

    const response = await call({ json: { Event: { Subscription: 'Object', Name: 'OnNewActivity', Brand: 'acme', ObjectId: '762' } } });

    expect(response.status).toBe(202);
    expect(bodyOf(response)).toEqual({ accepted: [], ignored: [{ reason: 'object-only-unmapped', objectId: '762' }] });
    expect(response.summary.ignored['object-only-unmapped']).toBe(1);
    expect(queue.sent).toEqual([]);
  });

  it('an ObjectId alone is polled through the lookup when one is wired', async () => {
    const lookup = { identitiesOf: jest.fn((objectId: string) => Promise.resolve(objectId === '762' ? (['558355'] as never[]) : [])) };
    const { call, queue } = setup(['558355'], { lookup });

    const response = await call({ json: { ObjectId: 762 } });

    expect(bodyOf(response)).toEqual({ accepted: ['558355'], ignored: [] });
    expect(lookup.identitiesOf).toHaveBeenCalledWith('762');
    expect(queue.sent.map((m) => m.identityId)).toEqual(['558355']);
  });
});

describe('the re-poll endpoint: failures', () => {
  it('a re-poll the queue refused answers 503; a retry within the window gets the trailing poll', async () => {
    const { call, queue, clock } = setup();
    queue.refuse.add('558355');

    const refused = await call({});
    queue.refuse.clear();
    clock.advance(100);
    const retried = await call({});

    expect(refused.status).toBe(503);
    expect((bodyOf(refused) as { error: string }).error).toBe('could not queue 1 of 1 re-polls; retry the request');
    expect(retried.status).toBe(202);
    expect(queue.sent).toEqual([expect.objectContaining({ identityId: '558355', delayMs: W - 100 })]);
  });

  it('a marker write that fails answers 503 and logs the error by name', async () => {
    const marker = { mark: () => Promise.reject(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' })) };
    const { call, log } = setup(['558355'], { marker });

    const response = await call({});

    expect(response.status).toBe(503);
    expect(log.text).toContain('ProvisionedThroughputExceededException');
  });
});

describe('the re-poll endpoint: what is never logged', () => {
  const CANARY = 'CANARY-7f3e9b';
  const webhook = JSON.stringify({
    payload: {
      Message: `message text ${CANARY}`,
      Snippet: `snippet ${CANARY}`,
      Content: { Text: CANARY },
      User: { Identity: { Id: 558355 }, Email: `${CANARY}@example.com`, Phone1: `+1555${CANARY}`, Name: `Jane ${CANARY}` },
    },
    ObjectId: '762',
  });

  it('neither the payload content nor the path or header secret appears in any log line or other output', async () => {
    const { call, log } = setup();

    const { output } = await captureOutput(async () => {
      await call({ path: `/repoll/${SECRET}`, headers: {}, text: webhook });
      await call({ path: `/repoll/${SECRET}`, headers: {}, text: `${webhook}oops` });
      await call({ path: `/repoll/${PREVIOUS}x`, headers: {}, text: webhook });
      await call({ headers: { authorization: `Bearer ${SECRET}` }, text: webhook });
      await call({ path: `/repoll/${SECRET}`, headers: {}, text: `{"identityIds":["${CANARY}"]}` });
    });

    expect(log.lines).toHaveLength(5);
    for (const text of [log.text, output]) {
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(PREVIOUS);
    }
    expect(log.text).toContain('/repoll/***');
    expect(output).toBe('');
  });

  it('the response never echoes payload content', async () => {
    const { call } = setup([]);

    const responses = await Promise.all([
      call({ text: webhook }),
      call({ text: `${webhook}oops` }),
      call({ text: `{"identityIds":["${CANARY}"]}` }),
      call({ text: `{"User":{"Identity":{"Id":"${CANARY}"}}}` }),
    ]);

    for (const response of responses) expect(response.body).not.toContain(CANARY);
  });

  it('the log line counts outcomes by kind', async () => {
    const { call, log } = setup();

    await call({ path: `/repoll/${SECRET}`, headers: {}, json: { identityIds: ['558355', 'x', '42'] } });

    expect(JSON.parse(log.lines[0]!)).toMatchObject({
      message: 're-poll request',
      path: '/repoll/***',
      status: 202,
      form: 'identity-list',
      accepted: 1,
      pollNow: 1,
      ignored: { malformed: 1, unregistered: 1, 'object-only-unmapped': 0 },
    });
  });
});
