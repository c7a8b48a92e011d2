import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { CommBoxObjectsSource, type CommBoxObjectsSourceOptions } from '../../../lambda/adapters/commbox/commbox-objects-source';
import { StaticTokenProvider, type TokenProvider } from '../../../lambda/adapters/token-provider';
import { Secret } from '../../../lambda/config';
import { TokenUnavailableError, UpstreamError, UpstreamUnauthorizedError } from '../../../lambda/core/errors';
import { parseIdentityId, type IdentityId } from '../../../lambda/core/identity-id';
import { startCommBoxSimulator, type CommBoxSimulator, type SimulatedFault } from '../../../local/commbox-simulator';

const ID = parseIdentityId('558355');
const TOKEN = 'canary-token-5f0c1e9d7a3b4c2e8d6f';

/** Hands out `first` until refreshed, then `next` (a rotated secret). */
class RotatingTokens implements TokenProvider {
  refreshes = 0;
  constructor(
    private current: string,
    private readonly next = current,
  ) {}
  getToken(): Promise<Secret> {
    return Promise.resolve(new Secret(this.current));
  }
  refresh(): Promise<Secret> {
    this.refreshes += 1;
    this.current = this.next;
    return Promise.resolve(new Secret(this.current));
  }
}

/** Cannot read the token: on every read, or only on the refresh after a 401. */
class UnreadableTokens implements TokenProvider {
  constructor(
    private readonly error: Error,
    private readonly firstToken?: string,
  ) {}
  getToken(): Promise<Secret> {
    return this.firstToken === undefined ? Promise.reject(this.error) : Promise.resolve(new Secret(this.firstToken));
  }
  refresh(): Promise<Secret> {
    return Promise.reject(this.error);
  }
}

/** A clock that sleeps instantly: each sleep moves it forward and is recorded. */
function fakeTime(start = Date.parse('2026-02-12T15:09:20Z')) {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms: number) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

let sim: CommBoxSimulator;

beforeEach(async () => {
  sim = await startCommBoxSimulator({ token: TOKEN, seed: 42, timeoutHoldMs: 5000 });
  sim.world.addIdentity(ID, [
    { objectId: 396001, streamId: 19155, unread: 2 },
    { objectId: 396002, streamId: 19156, unread: 0 },
  ]);
});

afterEach(() => sim.close());

function sourceFor(baseUrl: string, overrides: Partial<CommBoxObjectsSourceOptions> = {}) {
  const time = fakeTime();
  const source = new CommBoxObjectsSource({
    baseUrl: new URL(baseUrl),
    tokens: new RotatingTokens(TOKEN),
    timeoutMs: 1000,
    maxAttempts: 4,
    maxConcurrency: 4,
    sleep: time.sleep,
    now: time.now,
    random: () => 0.5,
    ...overrides,
  });
  return { source, time };
}

function failWith(...faults: SimulatedFault[]) {
  sim.faults.forIdentity(ID, ...faults);
  return sourceFor(sim.baseUrl);
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** A one-off upstream answering every request with `answer`; records what it received. */
async function tinyServer(answer: { status: number; body?: string; headers?: Record<string, string> }) {
  const received: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((req, res) => {
    received.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}

describe('CommBoxObjectsSource: answers', () => {
  it('reads the unread state of an identity as the simulator holds it', async () => {
    const { source } = sourceFor(sim.baseUrl);

    const outcome = await source.fetchUnread(ID);

    expect(outcome).toEqual({ kind: 'ok', state: sim.world.snapshot(ID) });
    expect(outcome).toEqual({ kind: 'ok', state: { total: 2, conversations: [{ objectId: '396001', streamId: '19155', unread: 2 }] } });
  });

  it('answers not-found for an identity the upstream does not know (404), without retrying', async () => {
    sim.world.removeIdentity(ID);
    const { source } = sourceFor(sim.baseUrl);

    await expect(source.fetchUnread(ID)).resolves.toEqual({ kind: 'not-found' });
    expect(source.stats.requests).toBe(1);
  });

  it('sends the bearer token and asks for JSON', async () => {
    const upstream = await tinyServer({ status: 404, body: '{"status":404}' });
    try {
      await sourceFor(upstream.baseUrl).source.fetchUnread(ID);
      expect(upstream.received[0]?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, accept: 'application/json' });
    } finally {
      await upstream.close();
    }
  });

  it('puts the id, every digit of an int64 included, as one path segment on the fixed origin', async () => {
    const upstream = await tinyServer({ status: 404, body: '{"status":404}' });
    try {
      await sourceFor(upstream.baseUrl).source.fetchUnread(parseIdentityId('9223372036854775807'));
      expect(upstream.received.map((r) => r.url)).toEqual(['/v2/users/identities/9223372036854775807/objects']);
    } finally {
      await upstream.close();
    }
  });

  it.each(['1/../2', '-1', '012', ' 12', '1e3', '９'])('refuses the id %j before any request is made', async (raw) => {
    const { source } = sourceFor(sim.baseUrl);

    const error = await errorOf(source.fetchUnread(raw as IdentityId));

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('rejected');
    expect(sim.stats.requests).toBe(0);
  });

  it('accepts extra fields and the nulls of the reference, and counts a missing or null unreadMessages as 0', async () => {
    const body = JSON.stringify({
      status: 200,
      description: 'Operation successful',
      response_time: '2026-02-12T15:09:23.998Z',
      totalUnreadChatMessages: 3,
      somethingNew: { nested: [1, null] },
      data: [
        { objectId: 1, streamId: 7, unreadMessages: 3, closedTime: null, user: { managerId: null, identity: null }, future: true },
        { objectId: 2, streamId: 7, unreadMessages: null },
        { objectId: 3, streamId: null },
      ],
    });
    const upstream = await tinyServer({ status: 200, body });
    try {
      await expect(sourceFor(upstream.baseUrl).source.fetchUnread(ID)).resolves.toEqual({
        kind: 'ok',
        state: { total: 3, conversations: [{ objectId: '1', streamId: '7', unread: 3 }] },
      });
    } finally {
      await upstream.close();
    }
  });

  it('keeps every digit of an objectId beyond 2^53', async () => {
    sim.world.setUnread(ID, '9007199254740993123', 4, '9007199254740993');
    const { source } = sourceFor(sim.baseUrl);

    const outcome = await source.fetchUnread(ID);

    expect(outcome.kind === 'ok' && outcome.state.conversations.map((c) => [c.objectId, c.streamId])).toEqual([
      ['396001', '19155'],
      ['9007199254740993123', '9007199254740993'],
    ]);
  });
});

describe('CommBoxObjectsSource: transient failures', () => {
  it('waits out a 429 with Retry-After in seconds, then succeeds', async () => {
    const { source, time } = failWith({ status: 429, retryAfter: '2' });

    await expect(source.fetchUnread(ID)).resolves.toMatchObject({ kind: 'ok' });

    expect(time.sleeps).toContain(2000 - 100); // the gate's remainder after the jittered backoff of 100 ms
    expect(source.stats.snapshot()).toMatchObject({ requests: 2, throttled: 1, retries: 1 });
  });

  it('waits out a 429 with Retry-After as an HTTP date, then succeeds', async () => {
    const { source, time } = failWith({ status: 429, retryAfter: 'Thu, 12 Feb 2026 15:09:23 GMT' });

    await expect(source.fetchUnread(ID)).resolves.toMatchObject({ kind: 'ok' });

    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBe(3000);
  });

  it('shortens a very long Retry-After to maxRetryAfterMs', async () => {
    sim.faults.forIdentity(ID, { status: 429, retryAfter: '86400' });
    const { source, time } = sourceFor(sim.baseUrl, { maxRetryAfterMs: 7000 });

    await source.fetchUnread(ID);

    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBe(7000);
  });

  it('halves the concurrency limit on a 429', async () => {
    const { source } = failWith({ status: 429 });

    await source.fetchUnread(ID);

    expect(source.limiter.limit).toBe(2);
  });

  it('retries 5xx answers and returns the state that follows', async () => {
    const { source } = failWith({ status: 503 }, { status: 500 });

    await expect(source.fetchUnread(ID)).resolves.toEqual({ kind: 'ok', state: sim.world.snapshot(ID) });
    expect(source.stats.snapshot()).toMatchObject({ requests: 3, serverErrors: 2, retries: 2 });
  });

  it('backs off with full jitter: random() × min(maxDelay, base × 2^retry)', async () => {
    sim.faults.forIdentity(ID, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const { source, time } = sourceFor(sim.baseUrl, { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 300, random: () => 0.5 });

    await source.fetchUnread(ID);

    expect(time.sleeps).toEqual([50, 100, 150, 150]);
  });

  it('gives up after maxAttempts with the kind of the last failure', async () => {
    const { source } = failWith({ status: 500 }, { status: 502 }, { status: 503 }, { status: 429 });

    const error = await errorOf(source.fetchUnread(ID));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ kind: 'throttled', message: 'CommBox answered HTTP 429 (throttled); gave up after 4 attempts' });
  });

  it('retries an attempt that outlives its timeout', async () => {
    sim.faults.forIdentity(ID, 'timeout');
    const { source } = sourceFor(sim.baseUrl, { timeoutMs: 150 });

    await expect(source.fetchUnread(ID)).resolves.toMatchObject({ kind: 'ok' });
    expect(source.stats.timeouts).toBe(1);
  });

  it('fails with kind timeout when every attempt times out', async () => {
    sim.faults.forIdentity(ID, 'timeout', 'timeout');
    const { source } = sourceFor(sim.baseUrl, { timeoutMs: 100, maxAttempts: 2 });

    await expect(source.fetchUnread(ID)).rejects.toMatchObject({ name: 'UpstreamError', kind: 'timeout' });
  });

  it('fails with kind network when the connection breaks on every attempt', async () => {
    const { source } = failWith('reset', 'reset', 'reset', 'reset');

    await expect(source.fetchUnread(ID)).rejects.toMatchObject({ name: 'UpstreamError', kind: 'network' });
    expect(source.stats.networkErrors).toBe(4);
  });

  it('names the host and port it could not reach', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { source } = sourceFor(`http://127.0.0.1:${port}`, { maxAttempts: 1 });

    await expect(source.fetchUnread(ID)).rejects.toThrow(`network error (ECONNREFUSED 127.0.0.1:${port}); gave up after 1 attempt`);
  });

  it('treats a body status 500 under HTTP 200 as a server error and retries it', async () => {
    const { source } = failWith('bodyStatus500');

    await expect(source.fetchUnread(ID)).resolves.toMatchObject({ kind: 'ok' });
    expect(source.stats.serverErrors).toBe(1);
  });

  it('fails with kind server when the body keeps saying 500', async () => {
    const { source } = failWith('bodyStatus500', 'bodyStatus500', 'bodyStatus500', 'bodyStatus500');

    await expect(source.fetchUnread(ID)).rejects.toMatchObject({ kind: 'server', message: expect.stringContaining('body status 500') });
  });

  it('retries a malformed JSON body once and returns the state that follows', async () => {
    const { source } = failWith('malformed');

    await expect(source.fetchUnread(ID)).resolves.toMatchObject({ kind: 'ok' });
  });

  it('gives up with kind malformed after the second malformed body, before maxAttempts', async () => {
    const { source } = failWith('malformed', 'wrongShape');

    await expect(source.fetchUnread(ID)).rejects.toMatchObject({ kind: 'malformed' });
    expect(source.stats.requests).toBe(2);
  });
});

describe('CommBoxObjectsSource: refusals', () => {
  it('fetches the token again once after a 401 and succeeds with the rotated token', async () => {
    const tokens = new RotatingTokens('old-token', TOKEN);
    const { source } = sourceFor(sim.baseUrl, { tokens });

    await expect(source.fetchUnread(ID)).resolves.toMatchObject({ kind: 'ok' });
    expect(tokens.refreshes).toBe(1);
  });

  it('throws UpstreamUnauthorizedError when the token is refused again after the refresh', async () => {
    const tokens = new RotatingTokens('old-token', 'still-wrong');
    const { source } = sourceFor(sim.baseUrl, { tokens });

    await expect(source.fetchUnread(ID)).rejects.toBeInstanceOf(UpstreamUnauthorizedError);
    expect(tokens.refreshes).toBe(1);
    expect(sim.stats.requests).toBe(2);
  });

  it('rethrows a token that cannot be read as it is, not as a 401, without asking CommBox', async () => {
    const unreadable = new TokenUnavailableError('secret s has no value: store the CommBox token with …', 'no-value');
    const { source } = sourceFor(sim.baseUrl, { tokens: new UnreadableTokens(unreadable) });

    await expect(source.fetchUnread(ID)).rejects.toBe(unreadable);
    expect(sim.stats.requests).toBe(0);
    expect(source.stats.unauthorized).toBe(0);
  });

  it('reports any other failure to get the token as TokenUnavailableError, keeping it as the cause', async () => {
    const failure = new Error('connect ECONNREFUSED secretsmanager');
    const { source } = sourceFor(sim.baseUrl, { tokens: new UnreadableTokens(failure) });

    const error = await errorOf(source.fetchUnread(ID));

    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect(error).toMatchObject({ reason: 'read-failed', cause: failure, message: expect.stringContaining('ECONNREFUSED') });
  });

  it('reports a refresh after a 401 that cannot read the token as TokenUnavailableError, the 401 counted', async () => {
    const unreadable = new TokenUnavailableError('cannot read the CommBox token from secret s: access denied', 'access-denied');
    const { source } = sourceFor(sim.baseUrl, { tokens: new UnreadableTokens(unreadable, 'old-token') });

    await expect(source.fetchUnread(ID)).rejects.toBe(unreadable);
    expect(source.stats.unauthorized).toBe(1);
  });

  it('a static token (API_TOKEN) refused with 401 stops at once: one request, nothing re-read, the token named', async () => {
    const { source } = sourceFor(sim.baseUrl, { tokens: new StaticTokenProvider(new Secret('wrong-token'), 'API_TOKEN') });

    const refusal = source.fetchUnread(ID);

    await expect(refusal).rejects.toBeInstanceOf(UpstreamUnauthorizedError);
    await expect(refusal).rejects.toThrow(/^CommBox refused API_TOKEN \(HTTP 401\); check the token$/);
    expect(sim.stats.requests).toBe(1);
  });

  it('refreshes once for many requests refused with the same token at the same time', async () => {
    const ids = ['1001', '1002', '1003', '1004'].map(parseIdentityId);
    for (const id of ids) sim.world.addIdentity(id);
    const tokens = new RotatingTokens('old-token', TOKEN);
    const { source } = sourceFor(sim.baseUrl, { tokens });

    await Promise.all(ids.map((id) => source.fetchUnread(id)));

    expect(tokens.refreshes).toBe(1);
  });

  it('refuses a redirect without following it, so the target never sees the token', async () => {
    const target = await tinyServer({ status: 200, body: '{}' });
    try {
      const { source } = failWith({ redirectTo: `${target.baseUrl}/steal` });

      await expect(source.fetchUnread(ID)).rejects.toMatchObject({ kind: 'rejected', message: expect.stringContaining('redirect') });
      expect(target.received).toEqual([]);
      expect(sim.stats.requests).toBe(1);
    } finally {
      await target.close();
    }
  });

  it('fails a 400 at once with kind rejected', async () => {
    const { source } = failWith({ status: 400 });

    await expect(source.fetchUnread(ID)).rejects.toMatchObject({ kind: 'rejected' });
    expect(sim.stats.requests).toBe(1);
  });
});

describe('CommBoxObjectsSource: what it reveals', () => {
  const faults: [string, SimulatedFault[]][] = [
    ['429', [{ status: 429 }, { status: 429 }]],
    ['500', [{ status: 500 }, { status: 500 }]],
    ['malformed', ['malformed', 'malformed']],
    ['wrong shape', ['wrongShape', 'wrongShape']],
    ['body status 500', ['bodyStatus500', 'bodyStatus500']],
    ['redirect', ['redirect']],
    ['400', [{ status: 400 }]],
    ['reset', ['reset', 'reset']],
  ];

  it.each(faults)('an error after %s holds neither the token nor customer data', async (_name, script) => {
    sim.faults.forIdentity(ID, ...script);
    const { source } = sourceFor(sim.baseUrl, { maxAttempts: 2 });

    const error = await errorOf(source.fetchUnread(ID));

    const customer = sim.world.customerData(ID);
    const printed = `${String(error)} ${inspect(error, { depth: 5 })} ${JSON.stringify(error)}`;
    for (const secret of [TOKEN, customer.firstName, customer.lastName, customer.phone1, customer.email]) {
      expect(printed).not.toContain(secret);
    }
  });

  it('an error after a refused token does not hold the token', async () => {
    const { source } = sourceFor(sim.baseUrl, { tokens: new RotatingTokens('canary-old-token') });

    const error = await errorOf(source.fetchUnread(ID));

    expect(`${String(error)} ${inspect(error)}`).not.toContain('canary-old-token');
  });

  it('never has more requests in flight upstream than maxConcurrency', async () => {
    const busy = await startCommBoxSimulator({ token: TOKEN, latencyMs: 15 });
    try {
      const ids = busy.world.populate(40).map(parseIdentityId);
      const { source } = sourceFor(busy.baseUrl, { maxConcurrency: 3 });

      await Promise.all(ids.map((id) => source.fetchUnread(id)));

      expect(busy.stats.maxInFlight).toBe(3);
    } finally {
      await busy.close();
    }
  });

  it('counts requests and resets its counters on demand', async () => {
    const { source } = failWith({ status: 429 });
    await source.fetchUnread(ID);
    expect(source.stats.snapshot()).toMatchObject({ requests: 2, throttled: 1, retries: 1 });

    source.stats.reset();

    expect(Object.values(source.stats.snapshot()).every((n) => n === 0)).toBe(true);
  });
});
