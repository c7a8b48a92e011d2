/**
 * A webhook secret is printed once by `add` (and a new one once by `rotate-secret`) and appears
 * nowhere else: not in listings, the delivery log, poll output, errors or warnings.
 */
import { randomUUID } from 'node:crypto';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { useDynaliteEnvironment, type CliRun } from '../support/cli-harness';
import { LoopbackOnlyGuard } from '../support/loopback-guard';
import { guardedCli } from '../support/webhook-cli';
import { startReceiver, type Receiver } from '../support/webhook-receiver';

useDynaliteEnvironment();

let simulator: CommBoxSimulator;
let receiver: Receiver;
const guard = new LoopbackOnlyGuard();
const cli = guardedCli(guard);

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 3 });
  simulator.world.addIdentity('558355', [{ objectId: 1, streamId: 2, unread: 1 }]);
  // Answers 500 with a body that echoes a header, as a careless receiver might.
  receiver = await startReceiver((request, res) => res.writeHead(request.url.includes('ok') ? 204 : 500).end(String(request.headers['webhook-signature'])));
});

afterAll(async () => {
  await receiver.close();
  await simulator.close();
  expect(guard.violations).toEqual([]);
});

/** The key part of a secret: what would leak if it were printed in any form. */
function keyOf(secret: string): string {
  return secret.slice('whsec_'.length);
}

test('the secret never appears in any output but the one line of add (and of rotate-secret for the new one)', async () => {
  const env = { TABLE_NAME: `canary-${randomUUID()}`, API_BASE_URL: simulator.baseUrl, API_TOKEN: simulator.token };
  await cli(['init'], env);
  await cli(['identities', 'add', '558355'], env);
  const added = await cli(['webhooks', 'add', `http://127.0.0.1:${receiver.port}/hook?ok`], env);
  const failing = await cli(['webhooks', 'add', `http://127.0.0.1:${receiver.port}/fail`], env);
  const { id, secret } = JSON.parse(added.stdout) as { id: string; secret: string };
  const { id: failingId, secret: failingSecret } = JSON.parse(failing.stdout) as { id: string; secret: string };

  const runs: CliRun[] = [{ ...added, stdout: '' }, { ...failing, stdout: '' }];
  runs.push(await cli(['poll'], env));
  simulator.world.setUnread('558355', 1, 5);
  runs.push(await cli(['poll', '--json'], env));
  for (const args of [
    ['webhooks', 'list'],
    ['webhooks', 'list', '--json'],
    ['webhooks', 'test', id],
    ['webhooks', 'test', failingId],
    ['webhooks', 'deliveries', id],
    ['webhooks', 'deliveries', id, '--json'],
    ['webhooks', 'deliveries', failingId, '--json'],
    ['webhooks', 'replay', id, '--since', '2020-01-01'],
    ['webhooks', 'add', `http://user:${secret}@127.0.0.1/`],
  ]) {
    runs.push(await cli(args, env));
  }
  const rotated = await cli(['webhooks', 'rotate-secret', id], env);
  const fresh = (JSON.parse(rotated.stdout) as { secret: string }).secret;
  runs.push({ ...rotated, stdout: '' }, await cli(['webhooks', 'test', id], env), await cli(['webhooks', 'remove', id], env));

  const everything = runs.map((r) => r.stdout + r.stderr).join('\n');
  expect(everything).toContain('webhook');
  for (const leaked of [secret, failingSecret, fresh]) expect(everything).not.toContain(keyOf(leaked));
  expect(everything).not.toContain('?ok');
});
