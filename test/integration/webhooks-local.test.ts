/**
 * The whole local path, as a new user runs it: dynalite, the CommBox simulator, `init`,
 * `identities add`, `webhooks add` of a receiver on 127.0.0.1 that verifies every delivery with
 * the standardwebhooks package, `poll` (no TOPIC_ARN) delivering in process, `webhooks test`
 * and `webhooks remove`. Deliveries go through the loopback-only guard.
 */
import { randomUUID } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { useDynaliteEnvironment } from '../support/cli-harness';
import { LoopbackOnlyGuard } from '../support/loopback-guard';
import { guardedCli } from '../support/webhook-cli';
import { flatHeaders, startReceiver, type Receiver } from '../support/webhook-receiver';

useDynaliteEnvironment();

let simulator: CommBoxSimulator;
let guard: LoopbackOnlyGuard;
let cli: ReturnType<typeof guardedCli>;
let env: Record<string, string>;
const receivers: Receiver[] = [];

/** A receiver like the README's: verifies with the library, 204 when it verifies, 400 when not. */
async function verifyingReceiver(secret: () => string): Promise<Receiver & { verified: Record<string, unknown>[] }> {
  const verified: Record<string, unknown>[] = [];
  const started = await startReceiver((request, res) => {
    try {
      verified.push(new Webhook(secret()).verify(request.body, flatHeaders(request.headers)) as Record<string, unknown>);
      res.writeHead(204).end();
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      res.writeHead(400).end();
    }
  });
  receivers.push(started);
  return Object.assign(started, { verified });
}

beforeEach(async () => {
  simulator = await startCommBoxSimulator({ seed: 5 });
  simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 1 }]);
  simulator.world.addIdentity('558356', [{ objectId: 396002, streamId: 19156, unread: 0 }]);
  guard = new LoopbackOnlyGuard();
  cli = guardedCli(guard);
  env = { TABLE_NAME: `e2e-wh-${randomUUID()}`, API_BASE_URL: simulator.baseUrl, API_TOKEN: simulator.token };
  expect((await cli(['init'], env)).code).toBe(0);
  for (const id of ['558355', '558356']) expect((await cli(['identities', 'add', id], env)).code).toBe(0);
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await simulator.close();
  expect(guard.violations).toEqual([]);
});

test('a change reaches a registered receiver, signed: the standardwebhooks package verifies it', async () => {
  let secret = '';
  const target = await verifyingReceiver(() => secret);
  const added = await cli(['webhooks', 'add', `http://127.0.0.1:${target.port}/hook`], env);
  secret = (JSON.parse(added.stdout) as { secret: string }).secret;
  expect((await cli(['poll'], env)).code).toBe(0);
  expect(target.received).toEqual([]);

  simulator.world.setUnread('558355', 396001, 4);
  const poll = await cli(['poll', '--json'], env);

  expect(poll.code).toBe(0);
  const printed = JSON.parse(poll.stdout.split('\n')[0]!) as { eventId: string };
  expect(target.verified).toEqual([expect.objectContaining({ type: 'unread.changed', eventId: printed.eventId, identityId: 558355, previousTotal: 1, total: 4 })]);
  expect(target.received[0]!.headers).toMatchObject({ 'webhook-id': printed.eventId, 'content-type': 'application/json' });
  expect(target.received[0]!.body).toBe(poll.stdout.split('\n')[0]);
  expect(poll.stderr).toMatch(/webhook wh_\w+: unread\.changed \w{8} delivered \(HTTP 204/);
});

test('only the endpoints that want the event get it: by event type and by identity', async () => {
  const [all, other, alerts] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
  receivers.push(all, other, alerts);
  await cli(['webhooks', 'add', `http://127.0.0.1:${all.port}/`], env);
  await cli(['webhooks', 'add', `http://127.0.0.1:${other.port}/`, '--identity', '558356'], env);
  await cli(['webhooks', 'add', `http://127.0.0.1:${alerts.port}/`, '--events', 'unread.alert'], env);
  await cli(['poll'], env);

  simulator.world.setUnread('558355', 396001, 2);
  await cli(['poll'], env);

  // The rise above its baseline also owes a `new` alert (the default policy): it goes to the alerts endpoint only.
  expect([all.received.length, other.received.length, alerts.received.length]).toEqual([1, 0, 1]);
  expect(JSON.parse(alerts.received[0]!.body)).toMatchObject({ type: 'unread.alert', kind: 'new', identityId: 558355 });
});

test('a failing receiver does not change the poll (exit 0, event published); its delivery is kept and goes first when it is back', async () => {
  let secret = '';
  let up = false;
  const target = await startReceiver((request, res) => {
    if (!up) return void res.writeHead(503).end();
    res.writeHead(new Webhook(secret).verify(request.body, flatHeaders(request.headers)) ? 204 : 400).end();
  });
  receivers.push(target);
  secret = (JSON.parse((await cli(['webhooks', 'add', `http://127.0.0.1:${target.port}/hook`], env)).stdout) as { secret: string }).secret;
  await cli(['poll'], env);
  simulator.world.setUnread('558355', 396001, 3);
  const down = await cli(['poll', '--json'], env);
  expect(down.code).toBe(0);
  expect(JSON.parse(down.stdout.trim().split('\n').at(-1)!)).toMatchObject({ changed: 1, published: 1, failed: 0 });
  expect(down.stderr).toMatch(/not delivered; kept for the next poll/);
  expect(down.stderr).toMatch(/webhooks: 0 delivered, 1 kept for the next poll/);
  const failing = target.received.length;

  up = true;
  simulator.world.setUnread('558356', 396002, 5);
  const again = await cli(['poll'], env);

  expect(again.code).toBe(0);
  const delivered = target.received.slice(failing).map((r) => (JSON.parse(r.body) as { identityId: number }).identityId);
  expect(delivered).toEqual([558355, 558356]);
  expect(failing).toBe(4);
});

test('webhooks test works, and after webhooks remove nothing more is delivered', async () => {
  let secret = '';
  const target = await verifyingReceiver(() => secret);
  const added = JSON.parse((await cli(['webhooks', 'add', `http://127.0.0.1:${target.port}/hook`], env)).stdout) as { id: string; secret: string };
  secret = added.secret;
  await cli(['poll'], env);

  expect(await cli(['webhooks', 'test', added.id], env)).toMatchObject({ code: 0, stdout: '204\n' });
  expect(target.verified).toEqual([expect.objectContaining({ type: 'webhook.test' })]);
  expect((await cli(['webhooks', 'remove', added.id], env)).code).toBe(0);
  simulator.world.setUnread('558355', 396001, 9);
  const poll = await cli(['poll', '--json'], env);

  expect(JSON.parse(poll.stdout.trim().split('\n').at(-1)!)).toMatchObject({ changed: 1, published: 1 });
  expect(target.received).toHaveLength(1);
});
