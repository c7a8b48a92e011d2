import { performance } from 'node:perf_hooks';
import { startCommBoxSimulator, SimulatorWorld, type CommBoxSimulator, type CommBoxSimulatorOptions } from '../../local/commbox-simulator';

const ID = '558355';
let sim: CommBoxSimulator;

async function start(options: CommBoxSimulatorOptions = {}): Promise<CommBoxSimulator> {
  sim = await startCommBoxSimulator({ seed: 7, ...options });
  return sim;
}

afterEach(() => sim?.close());

/** `token: null` sends no Authorization header. */
function get(id: string | number, token: string | null = sim.token): Promise<Response> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  return fetch(`${sim.baseUrl}/v2/users/identities/${id}/objects`, { headers, redirect: 'manual' });
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe('commbox simulator: the 200 answer', () => {
  it('has the envelope of the reference, with the total of the unread counts', async () => {
    await start();
    sim.world.addIdentity(ID, [{ unread: 2 }, { unread: 0 }, { unread: 3 }]);

    const response = await get(ID);
    const body = await json(response);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(body).sort()).toEqual(['data', 'description', 'response_time', 'status', 'totalUnreadChatMessages']);
    expect(body).toMatchObject({ status: 200, description: 'Operation successful', totalUnreadChatMessages: 5 });
    expect(new Date(body.response_time as string).toISOString()).toBe(body.response_time);
    expect(body.data).toHaveLength(3);
  });

  it('gives every object every field of the reference, customer data included', async () => {
    await start();
    sim.world.addIdentity(ID, [{ objectId: 396001, streamId: 19155, unread: 2 }]);
    const customer = sim.world.customerData(ID);

    const [object] = (await json(await get(ID))).data as Record<string, unknown>[];

    expect(Object.keys(object!)).toEqual([
      'objectId', 'streamId', 'subStreamId', 'streamProviderId', 'streamProviderType', 'user_identity', 'firstName', 'lastName',
      'moduleId', 'userStreamProviderId', 'userStreamProviderType', 'content', 'message', 'createdTime', 'updatedTime',
      'closedTime', 'firstResponseTime', 'lastResponseTime', 'statusId', 'assignedManagerId', 'lastAssignedManagerId', 'type',
      'user', 'isManager', 'childs', 'unreadMessages',
    ]);
    expect(object).toMatchObject({ objectId: 396001, streamId: 19155, user_identity: 558355, unreadMessages: 2, closedTime: null });
    expect(object!.user).toMatchObject({ identity: null, managerId: null, phone1: customer.phone1, email: customer.email, firstName: customer.firstName });
    const childs = object!.childs as Record<string, unknown>[];
    expect(childs[0]).toMatchObject({ objectId: 396001, message: customer.messages[0], activityLogs: [], tagsObjectId: [], customerParticipants: [] });
    expect(childs[1]).toMatchObject({ type: 11, user: { isManager: true, identity: { firstName: 'AI Agent' }, phone1: null } });
  });

  it('writes int64 ids with every digit', async () => {
    await start();
    sim.world.addIdentity('9223372036854775807', [{ objectId: '9007199254740993123', streamId: 1, unread: 1 }]);

    const text = await (await get('9223372036854775807')).text();

    expect(text).toContain('"objectId":9007199254740993123');
    expect(text).toContain('"user_identity":9223372036854775807');
  });

  it('answers what the world snapshot says a client should read', async () => {
    await start();
    sim.world.addIdentity(ID, [{ objectId: 5, streamId: 1, unread: 0 }, { objectId: 4, streamId: 1, unread: 2 }]);

    expect(sim.world.snapshot(ID)).toEqual({ total: 2, conversations: [{ objectId: '4', streamId: '1', unread: 2 }] });
  });
});

describe('commbox simulator: errors', () => {
  it.each([
    ['no Authorization header', null],
    ['a wrong token', 'not-the-token'],
  ])('answers 401 with the reference body for %s', async (_what, token) => {
    await start();
    sim.world.addIdentity(ID);

    const response = await get(ID, token);

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ status: 401, description: 'Unauthorized access' });
  });

  it('accepts only the new token after rotateToken', async () => {
    await start({ token: 'first' });
    sim.world.addIdentity(ID);

    sim.rotateToken('second');

    expect((await get(ID, 'first')).status).toBe(401);
    expect((await get(ID, 'second')).status).toBe(200);
  });

  it('answers 404 for an unknown or removed identity', async () => {
    await start();
    sim.world.addIdentity(ID);
    sim.world.removeIdentity(ID);

    const response = await get(ID);

    expect(response.status).toBe(404);
    expect(await json(response)).toMatchObject({ status: 404, description: 'Not found' });
  });

  it('answers an unknown identity as one without conversations when asked to', async () => {
    await start({ unknownIdentitiesReturn404: false });

    expect(await json(await get('123'))).toMatchObject({ status: 200, totalUnreadChatMessages: 0, data: [] });
  });

  it.each(['abc', '-5', '012', '9223372036854775808', '1%2F..%2F2'])('answers 400 for the id %s', async (id) => {
    await start();

    const response = await get(id);

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ status: 400, description: 'Bad Request' });
  });

  it('answers 429 with Retry-After above the rate limit', async () => {
    await start({ rateLimitPerSecond: 3 });
    sim.world.addIdentity(ID);

    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await get(ID)).status);
    const limited = await get(ID);

    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await json(limited)).toMatchObject({ status: 429, description: 'Too Many Requests' });
    expect(sim.stats.throttled).toBeGreaterThanOrEqual(1);
  });
});

describe('commbox simulator: faults', () => {
  beforeEach(async () => {
    await start({ timeoutHoldMs: 60_000, redirectLocation: 'http://127.0.0.1:9/elsewhere' });
    sim.world.addIdentity(ID, [{ unread: 1 }]);
    sim.world.addIdentity('777');
  });

  it('serves a scripted status with its reference body and Retry-After', async () => {
    sim.faults.forIdentity(ID, { status: 500 }, { status: 429, retryAfter: 'Thu, 12 Feb 2026 15:09:23 GMT' });

    const first = await get(ID);
    const second = await get(ID);

    expect(await json(first)).toMatchObject({ status: 500, description: 'Operation failed' });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('Thu, 12 Feb 2026 15:09:23 GMT');
    expect((await get(ID)).status).toBe(200);
  });

  it('serves an identity its own faults and leaves the others alone', async () => {
    sim.faults.forIdentity(ID, { status: 503 });

    expect((await get('777')).status).toBe(200);
    expect((await get(ID)).status).toBe(503);
  });

  it('serves global faults to whichever request comes next', async () => {
    sim.faults.forAny({ status: 501 });

    expect((await get('777')).status).toBe(501);
    expect((await get(ID)).status).toBe(200);
  });

  it('serves a malformed body as HTTP 200 that is not JSON', async () => {
    sim.faults.forIdentity(ID, 'malformed');

    const response = await get(ID);

    expect(response.status).toBe(200);
    // fetch lives in another realm than the test, so errors are matched by name, not class.
    await expect(response.json()).rejects.toMatchObject({ name: 'SyntaxError' });
  });

  it('serves bodyStatus500 as HTTP 200 with status 500 in the body', async () => {
    sim.faults.forIdentity(ID, 'bodyStatus500');

    const response = await get(ID);

    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ status: 500, description: 'Operation failed' });
  });

  it('serves wrongShape as valid JSON with the wrong types', async () => {
    sim.faults.forIdentity(ID, 'wrongShape');

    const body = await json(await get(ID));

    expect(body.status).toBe(200);
    expect(typeof body.totalUnreadChatMessages).toBe('string');
    expect(Array.isArray(body.data)).toBe(false);
  });

  it('serves a redirect elsewhere', async () => {
    sim.faults.forIdentity(ID, 'redirect', { redirectTo: 'https://example.invalid/x' });

    const first = await get(ID);
    const second = await get(ID);

    expect([first.status, first.headers.get('location')]).toEqual([302, 'http://127.0.0.1:9/elsewhere']);
    expect(second.headers.get('location')).toBe('https://example.invalid/x');
  });

  it('breaks the connection on reset', async () => {
    sim.faults.forIdentity(ID, 'reset');

    await expect(get(ID)).rejects.toMatchObject({ message: 'fetch failed' });
  });

  it('holds a timeout past the client and still closes at once', async () => {
    sim.faults.forIdentity(ID, 'timeout');
    const held = get(ID).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sim.stats.inFlight).toBe(1);

    const startedAt = performance.now();
    await sim.close();

    expect(performance.now() - startedAt).toBeLessThan(500);
    expect(await held).toMatchObject({ message: 'fetch failed' });
  });

  it('counts the faults it served, by kind', async () => {
    sim.faults.forIdentity(ID, { status: 429 }, 'malformed');
    await get(ID);
    await get(ID);

    expect(sim.stats.faultsInjected).toEqual({ '429': 1, malformed: 1 });
  });

  it('draws random faults from the seed, the identity and its request number, whatever the order', async () => {
    const statusesOf = async (simulator: CommBoxSimulator, ids: string[]) => {
      simulator.faults.setRandom({ probability: 0.5, kinds: [{ status: 500 }, { status: 503 }] });
      const seen: string[] = [];
      for (const id of ids) {
        const response = await fetch(`${simulator.baseUrl}/v2/users/identities/${id}/objects`, { headers: { authorization: `Bearer ${simulator.token}` } });
        seen.push(`${id}:${simulator.requestCount(id)}:${response.status}`);
        await response.arrayBuffer();
      }
      return seen.sort();
    };
    const other = await startCommBoxSimulator({ seed: 7 });
    try {
      for (const s of [sim, other]) for (let i = 1; i <= 10; i += 1) s.world.addIdentity(i);
      const order = Array.from({ length: 30 }, (_, i) => String((i % 10) + 1));

      const a = await statusesOf(sim, order);
      const b = await statusesOf(other, [...order].reverse());

      expect(a).toEqual(b);
      expect(a.some((s) => s.endsWith(':200'))).toBe(true);
      expect(a.some((s) => !s.endsWith(':200'))).toBe(true);
    } finally {
      await other.close();
    }
  });
});

describe('commbox simulator: behaviour over time', () => {
  it('delays its answers by the configured latency', async () => {
    await start({ latencyMs: 60 });
    sim.world.addIdentity(ID);

    const startedAt = performance.now();
    await (await get(ID)).text();

    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(55);
  });

  it('counts requests by status and the most in flight at once', async () => {
    await start({ latencyMs: 100 });
    sim.world.addIdentity(ID);

    await Promise.all([get(ID), get(ID), get(ID), get('1'), get(ID, 'wrong')].map(async (p) => (await p).arrayBuffer()));

    expect(sim.stats).toMatchObject({ requests: 5, byStatus: { '200': 3, '404': 1, '401': 1 }, maxInFlight: 5, inFlight: 0 });
  });

  it('builds a world of 10,000 identities in well under a second', () => {
    const world = new SimulatorWorld(1);
    const startedAt = performance.now();

    const ids = world.populate(10_000);

    expect(ids).toHaveLength(10_000);
    expect(performance.now() - startedAt).toBeLessThan(1000);
  });

  it('changes the given share of identities per tick, each visibly', () => {
    const world = new SimulatorWorld(3);
    const ids = world.populate(1000);
    const before = new Map(ids.map((id) => [id, world.snapshot(id)]));

    const changed = world.tick(0.05);

    expect(new Set(changed).size).toBe(50);
    for (const id of changed) expect(world.snapshot(id)).not.toEqual(before.get(id));
    const changedSet = new Set(changed);
    const unchanged = ids.filter((id) => !changedSet.has(id));
    for (const id of unchanged) expect(world.snapshot(id)).toEqual(before.get(id));
  });

  it('replays the same activity under the same seed', () => {
    const run = () => {
      const world = new SimulatorWorld(11);
      const ids = world.populate(200);
      const ticks = Array.from({ length: 20 }, () => world.tick(0.1));
      return { ticks, states: ids.map((id) => world.snapshot(id)) };
    };

    expect(run()).toEqual(run());
  });

  it('over many ticks, mostly adds unread messages but also reads, removes and adds conversations', () => {
    const world = new SimulatorWorld(5);
    const ids = world.populate(300);
    const effects = { increased: 0, decreased: 0, appeared: 0, disappeared: 0 };
    for (let t = 0; t < 20; t += 1) {
      const before = new Map(ids.map((id) => [id, world.snapshot(id)]));
      for (const id of world.tick(0.1)) {
        const [was, is] = [before.get(id)!, world.snapshot(id)];
        if (is.total > was.total) effects.increased += 1;
        if (is.total < was.total) effects.decreased += 1;
        const wasIds = new Set(was.conversations.map((c) => c.objectId));
        const isIds = new Set(is.conversations.map((c) => c.objectId));
        if ([...isIds].some((o) => !wasIds.has(o))) effects.appeared += 1;
        if ([...wasIds].some((o) => !isIds.has(o))) effects.disappeared += 1;
      }
    }

    expect(effects.increased).toBeGreaterThan(effects.decreased);
    expect(effects.decreased).toBeGreaterThan(0);
    expect(effects.appeared).toBeGreaterThan(0);
    expect(effects.disappeared).toBeGreaterThan(0);
  });

  it('ticks on its own after startActivity, until stopActivity', async () => {
    await start();
    sim.world.populate(100);
    const ticks: number[] = [];

    sim.startActivity({ intervalMs: 10, changeFraction: 0.1, seed: 3, onTick: (changed) => ticks.push(changed.length) });
    await new Promise((resolve) => setTimeout(resolve, 80));
    sim.stopActivity();
    const seen = ticks.length;
    await new Promise((resolve) => setTimeout(resolve, 40));

    expect(seen).toBeGreaterThanOrEqual(2);
    expect(ticks.length).toBe(seen);
    expect(ticks.every((n) => n === 10)).toBe(true);
  });
});
