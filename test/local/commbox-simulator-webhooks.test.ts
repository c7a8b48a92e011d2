import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseRepollRequest } from '../../lambda/core/repoll-request';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { onNewActivityPayload, SIMULATED_ID_PREFIX } from '../../local/commbox-simulator-webhooks';
import { SimulatorWorld } from '../../local/commbox-simulator-world';

/** A receiver that records each body it gets and answers 202. */
async function receiver(): Promise<{ url: string; bodies: unknown[]; server: Server; arrived: (n: number) => Promise<void> }> {
  const bodies: unknown[] = [];
  let waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.writeHead(202).end('{}');
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const arrived = async (n: number): Promise<void> => {
    while (bodies.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/repoll/the-secret`, bodies, server, arrived };
}

describe('the OnNewActivity payload the simulator sends', () => {
  const world = new SimulatorWorld(4);
  world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 2 }]);
  const identity = world.get('558355')!;

  test("is CommBox's Object webhook: the Event envelope, the ObjectId as a string, the identity as 3 * 2^50 + id, and customer data", () => {
    const body = onNewActivityPayload(identity, world.customerData('558355'), {});

    expect(body).toMatchObject({
      Event: { Subscription: 'Object', Name: 'OnNewActivity' },
      ObjectId: '396001',
      payload: { User: { Identity: { Id: Number(SIMULATED_ID_PREFIX + 558355n) }, Email: world.customerData('558355').email } },
    });
  });

  test('the endpoint reads it as the encoded id, tried as given and then decoded', () => {
    const parsed = parseRepollRequest(Buffer.from(JSON.stringify(onNewActivityPayload(identity, world.customerData('558355'), {}))));

    expect(parsed).toEqual({
      ok: true,
      request: { form: 'commbox-webhook', ignored: [], entries: [{ kind: 'identity', id: '3377699721086227', tries: ['3377699721086227', '558355'] }] },
    });
  });

  test('without encoding it carries the id as is; object-only carries the ObjectId alone', () => {
    expect(onNewActivityPayload(identity, world.customerData('558355'), { encodeIds: false })).toMatchObject({ payload: { User: { Identity: { Id: 558355 } } } });
    expect(onNewActivityPayload(identity, world.customerData('558355'), { shape: 'object-only' })).toEqual({
      Event: { Subscription: 'Object', Name: 'OnNewActivity', Brand: 'simulator' },
      ObjectId: '396001',
    });
  });
});

describe('a simulator with a webhook target', () => {
  let simulator: CommBoxSimulator;
  let target: Awaited<ReturnType<typeof receiver>>;

  beforeEach(async () => {
    target = await receiver();
    simulator = await startCommBoxSimulator({ seed: 8, webhook: { url: target.url } });
    simulator.world.populate(10, { firstId: 700001 });
  });

  afterEach(async () => {
    await simulator.close();
    await new Promise<void>((resolve) => target.server.close(() => resolve()));
  });

  test('announces every identity a tick changes, once, and remembers when it changed', async () => {
    const before = Date.now();

    const changed = simulator.tick(0.3);
    await target.arrived(changed.length);

    const announced = target.bodies.map((b) => BigInt((b as { payload: { User: { Identity: { Id: number } } } }).payload.User.Identity.Id) - SIMULATED_ID_PREFIX);
    expect(announced.map(String).sort()).toEqual([...changed].sort());
    for (const id of changed) expect(simulator.lastChange(id)).toBeGreaterThanOrEqual(before);
  });

  test('sends a burst of copies for one identity on demand', async () => {
    const statuses = await simulator.sendWebhook('700001', 50);

    expect(statuses).toEqual(Array.from({ length: 50 }, () => 202));
    expect(target.bodies).toHaveLength(50);
    expect(simulator.webhookStats).toEqual({ sent: 50, failed: 0 });
  });

  test('sends to loopback http only', () => {
    expect(() => simulator.setWebhook({ url: 'https://example.com/repoll/x' })).toThrow(/loopback http only/);
  });
});
