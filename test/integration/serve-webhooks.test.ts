/**
 * `serve` without TOPIC_ARN delivers what its re-polls publish to the registered signed webhooks,
 * as `poll` does: in-process, on dynalite and the CommBox simulator, deliveries through the
 * loopback-only guard, stopped through `untilStopped` as SIGTERM would.
 */
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { runCli } from '../../bin/cli/program';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { useDynaliteEnvironment } from '../support/cli-harness';
import { LoopbackOnlyGuard } from '../support/loopback-guard';
import { guardedCli, noDns } from '../support/webhook-cli';
import { flatHeaders, startReceiver, type Receiver } from '../support/webhook-receiver';

useDynaliteEnvironment();

const SECRET = 'serve-webhooks-secret-1c3e5a7b9d';
let simulator: CommBoxSimulator;
let receiver: Receiver;
const guard = new LoopbackOnlyGuard();

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 6 });
  simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 1 }]);
});

afterAll(async () => {
  await receiver.close();
  await simulator.close();
  expect(guard.violations).toEqual([]);
});

/** Resolves once `condition` holds, checking every few milliseconds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

test('a re-polled change reaches a registered webhook, signed, with its eventId as webhook-id', async () => {
  const env = { TABLE_NAME: `serve-wh-${randomUUID()}`, API_BASE_URL: simulator.baseUrl, API_TOKEN: simulator.token, REPOLL_SECRET: SECRET };
  const cli = guardedCli(guard);
  let webhookSecret = '';
  const verified: Record<string, unknown>[] = [];
  receiver = await startReceiver((request, res) => {
    verified.push(new Webhook(webhookSecret).verify(request.body, flatHeaders(request.headers)) as Record<string, unknown>);
    res.writeHead(204).end();
  });
  expect((await cli(['init'], env)).code).toBe(0);
  expect((await cli(['identities', 'add', '558355'], env)).code).toBe(0);
  webhookSecret = (JSON.parse((await cli(['webhooks', 'add', `http://127.0.0.1:${receiver.port}/hook`], env)).stdout) as { secret: string }).secret;

  let stdout = '';
  let stderr = '';
  let stop: (reason: string) => void = () => undefined;
  const serving = runCli(['serve', '--port', '0', '--interval', '600'], {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: { ...process.env, ...env },
    webhookTransport: { agents: guard, resolve: noDns },
    untilStopped: () => new Promise<string>((resolve) => (stop = resolve)),
  });
  await until(() => /cycle 1: polled 1\/1/.test(stderr));
  const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1];
  simulator.world.setUnread('558355', 396001, 5);

  const response = await fetch(`${base}/repoll/${SECRET}`, { method: 'POST', body: JSON.stringify({ identityIds: ['558355'] }) });
  await until(() => verified.length > 0 && /webhooks: 1 delivered/.test(stderr));
  stop('SIGTERM');

  expect(await serving).toBe(0);
  expect(response.status).toBe(202);
  const event = JSON.parse(stdout.trim().split('\n')[0]!) as { eventId: string };
  expect(verified).toEqual([expect.objectContaining({ type: 'unread.changed', eventId: event.eventId, identityId: 558355, previousTotal: 1, total: 5 })]);
  expect(receiver.received[0]!.headers['webhook-id']).toBe(event.eventId);
  expect(stderr.trimEnd()).toMatch(/serve: stopped$/);
});
