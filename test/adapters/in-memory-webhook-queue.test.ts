import { InMemoryWebhookQueue } from '../../lambda/adapters/in-memory-webhook-queue';
import type { DeliveryStep } from '../../lambda/core/webhook-dispatcher';
import { parseWebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import type { DeliveryJob } from '../../lambda/core/webhook-job';
import { ManualClock, settle } from '../support/webhook-fakes';

const T0 = 1_770_000_000_000;
const DONE: DeliveryStep = { kind: 'settled', result: 'delivered' };

function job(n: number, notBeforeMs = T0): DeliveryJob {
  return { endpointId: parseWebhookEndpointId('wh_0123456789abcdef0123'), eventId: `e${n}`, eventType: 'unread.changed', logKey: `k${n}`, body: '{}', kind: 'event', attempt: 1, notBeforeMs, deferrals: 0 };
}

function setup(options: { concurrency?: number } = {}) {
  const clock = new ManualClock(T0);
  const late: string[] = [];
  const queue = new InMemoryWebhookQueue({ clock: clock.now, timers: clock, redeliveryDelayMs: 30_000, maxReceives: 3, onLate: (j) => late.push(j.eventId), ...options });
  const runs: { id: string; atMs: number }[] = [];
  return { clock, queue, late, runs, record: (j: DeliveryJob) => runs.push({ id: j.eventId, atMs: clock.nowMs - T0 }) };
}

test('a job runs when its time comes, not before', async () => {
  const { clock, queue, runs, record } = setup();
  queue.consumeWith((j) => Promise.resolve(void record(j)).then(() => DONE));

  await queue.enqueue([job(1), job(2, T0 + 5_000)]);
  await clock.advance(4_999);
  expect(runs.map((r) => r.id)).toEqual(['e1']);
  await clock.advance(1);

  expect(runs).toEqual([
    { id: 'e1', atMs: 0 },
    { id: 'e2', atMs: 5_000 },
  ]);
  await queue.idle();
});

test('a job whose consumer throws comes back after the redelivery delay, and is dead-lettered after the receive limit', async () => {
  const { clock, queue, runs, record } = setup();
  queue.consumeWith((j) => {
    record(j);
    return Promise.reject(new Error('crash'));
  });

  await queue.enqueue([job(1)]);
  await clock.advance(120_000);

  expect(runs.map((r) => r.atMs)).toEqual([0, 30_000, 60_000]);
  expect(queue.deadLetters).toEqual([{ job: job(1), reason: 'receive limit' }]);
});

test('a job that comes back early waits again until it is due', async () => {
  const { clock, queue, runs, record } = setup();
  let first = true;
  queue.consumeWith((j) => {
    record(j);
    const step: DeliveryStep = first ? { kind: 'wait', untilMs: T0 + 60_000 } : DONE;
    first = false;
    return Promise.resolve(step);
  });

  await queue.enqueue([job(1)]);
  await clock.advance(120_000);

  expect(runs.map((r) => r.atMs)).toEqual([0, 60_000]);
});

test('at most `concurrency` jobs run at once; the others wait their turn in order', async () => {
  const { clock, queue, runs, record } = setup({ concurrency: 2 });
  const gates: (() => void)[] = [];
  queue.consumeWith((j) => {
    record(j);
    return new Promise((resolve) => gates.push(() => resolve(DONE)));
  });

  await queue.enqueue([job(1), job(2), job(3), job(4)]);
  await clock.advance(0);
  expect(runs.map((r) => r.id)).toEqual(['e1', 'e2']);
  gates.shift()?.();
  await settle();

  expect(runs.map((r) => r.id)).toEqual(['e1', 'e2', 'e3']);
  gates.splice(0).forEach((open) => open());
  await settle();
  gates.splice(0).forEach((open) => open());
  await queue.idle();
  expect(queue.pending).toBe(0);
});

test('after a cut-off, jobs due later are handed over instead of waited for', async () => {
  const { clock, queue, late, runs, record } = setup();
  queue.consumeWith((j) => Promise.resolve(void record(j)).then(() => DONE));

  await queue.enqueue([job(1, T0 + 5_000), job(2, T0 + 20_000)]);
  queue.cutOff(T0 + 10_000);
  await queue.enqueue([job(3, T0 + 15_000)]);
  await clock.advance(30_000);
  await queue.idle();

  expect(runs.map((r) => r.id)).toEqual(['e1']);
  expect(late).toEqual(['e2', 'e3']);
});

test('idle resolves when nothing waits or runs', async () => {
  const { clock, queue } = setup();
  queue.consumeWith(() => Promise.resolve(DONE));
  let idle = false;

  await queue.enqueue([job(1, T0 + 1_000)]);
  void queue.idle().then(() => (idle = true));
  await settle();
  expect(idle).toBe(false);
  await clock.advance(1_000);

  expect(idle).toBe(true);
});
