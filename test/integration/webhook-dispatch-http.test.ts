/**
 * The dispatcher over real HTTP on loopback (through the loopback-only guard): a receiver that
 * never answers holds up nobody else, and a receiver that answers 500 then 204 gets the same
 * webhook-id twice, each verified by the standardwebhooks package.
 */
import { Webhook } from 'standardwebhooks';
import { HttpWebhookSender } from '../../lambda/adapters/http-webhook-sender';
import { InMemoryWebhookQueue } from '../../lambda/adapters/in-memory-webhook-queue';
import { WebhookDispatcher } from '../../lambda/core/webhook-dispatcher';
import { parseWebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import { webhookSecretFromBytes } from '../../lambda/core/webhook-signature';
import type { RetrySchedule } from '../../lambda/core/webhook-retry-schedule';
import { LoopbackOnlyGuard } from '../support/loopback-guard';
import { noDns } from '../support/webhook-cli';
import { InMemoryDeliveryLog, InMemorySecretVault, InMemoryWebhookEndpoints, ManualClock } from '../support/webhook-fakes';
import { flatHeaders, startReceiver, type Receiver } from '../support/webhook-receiver';

const SECRET = webhookSecretFromBytes(new Uint8Array(32).fill(9));
const DEAD = parseWebhookEndpointId('wh_dddddddddddddddddddd');
const LIVE = parseWebhookEndpointId('wh_aaaaaaaaaaaaaaaaaaaa');
/** Retries on the manual clock; the HTTP itself runs in real time. */
const SCHEDULE: RetrySchedule = { delaysMs: [5_000], maxRetryAfterMs: 5_000 };

let guard: LoopbackOnlyGuard;
const receivers: Receiver[] = [];

beforeEach(() => {
  guard = new LoopbackOnlyGuard();
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  expect(guard.violations).toEqual([]);
});

async function receiver(answer?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
}

function dispatcherFor(urls: Record<string, string>) {
  const clock = new ManualClock(Date.now());
  const endpoints = new InMemoryWebhookEndpoints();
  const secrets = new InMemorySecretVault();
  for (const [id, url] of Object.entries(urls)) {
    endpoints.add({ id: parseWebhookEndpointId(id), url });
    void secrets.store(parseWebhookEndpointId(id), { current: SECRET });
  }
  const queue = new InMemoryWebhookQueue({ clock: clock.now, timers: clock });
  const sender = new HttpWebhookSender({ localRun: true, resolve: noDns, agents: guard, timeoutMs: 3_000 });
  const dispatcher = new WebhookDispatcher({ endpoints, slots: endpoints, secrets, log: new InMemoryDeliveryLog(), sender, queue, clock: clock.now, schedule: SCHEDULE });
  queue.consumeWith((job) => dispatcher.deliver(job));
  return { dispatcher, clock, queue };
}

const BODY = JSON.stringify({ version: 1, type: 'unread.changed', eventId: 'evt-http-1', identityId: 558355, total: 2, observedAt: new Date().toISOString() });

test('a receiver that never answers does not delay another: the live one has the event while the dead one is still waited for', async () => {
  const dead = await receiver(() => undefined);
  let delivered: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (delivered = resolve));
  const live = await receiver((_request, res) => {
    res.writeHead(204).end();
    delivered();
  });
  const { dispatcher, clock } = dispatcherFor({ [DEAD]: `http://127.0.0.1:${dead.port}/`, [LIVE]: `http://127.0.0.1:${live.port}/` });

  const started = Date.now();
  await dispatcher.fanOut([BODY]);
  await clock.advance(0);
  await arrived;

  expect(Date.now() - started).toBeLessThan(2_000);
  expect(dead.received).toHaveLength(1);
  expect(live.received).toHaveLength(1);
});

test('500 then 204: the same webhook-id twice, each signed so standardwebhooks verifies it', async () => {
  let answers = 0;
  const target = await receiver((_request, res) => res.writeHead(answers++ === 0 ? 500 : 204).end());
  const { dispatcher, clock, queue } = dispatcherFor({ [LIVE]: `http://127.0.0.1:${target.port}/hook` });

  await dispatcher.fanOut([BODY]);
  while (target.received.length < 1) await clock.advance(0);
  while (queue.pending > 0) await clock.advance(5_000);

  expect(target.received.map((r) => r.headers['webhook-id'])).toEqual(['evt-http-1', 'evt-http-1']);
  for (const request of target.received) expect(new Webhook(SECRET).verify(request.body, flatHeaders(request.headers))).toMatchObject({ eventId: 'evt-http-1' });
});
