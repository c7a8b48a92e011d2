/**
 * The dispatcher through its ports: an in-memory queue on a manual clock stands in for SQS, so
 * the whole 27-hour schedule runs in milliseconds, and a scripted sender answers per URL.
 */
import { Webhook } from 'standardwebhooks';
import { InMemoryWebhookQueue } from '../../lambda/adapters/in-memory-webhook-queue';
import type { DeliveryAttemptOutcome } from '../../lambda/core/webhook-delivery';
import { WebhookDispatcher, type DispatchObserver } from '../../lambda/core/webhook-dispatcher';
import { parseWebhookEndpointId, type WebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import { deliveryLogKey, parseWebhookEvent, planDeliveries, type DeliveryJob } from '../../lambda/core/webhook-job';
import { DISPATCHER_RETRY_SCHEDULE, ENDPOINT_FAILURE_LIMIT } from '../../lambda/core/webhook-retry-schedule';
import { rotateSecret, webhookSecretFromBytes, type WebhookSignatureHeaders } from '../../lambda/core/webhook-signature';
import { InMemoryDeliveryLog, InMemorySecretVault, InMemoryWebhookEndpoints, ManualClock, ScriptedSender, settle, status } from '../support/webhook-fakes';

const T0 = Date.parse('2026-02-12T15:09:24.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const A = parseWebhookEndpointId('wh_aaaaaaaaaaaaaaaaaaaa');
const B = parseWebhookEndpointId('wh_bbbbbbbbbbbbbbbbbbbb');
const URL_A = 'https://a.example.com/hook';
const URL_B = 'https://b.example.com/hook';
const SECRET_A = webhookSecretFromBytes(new Uint8Array(32).fill(1));
const SECRET_B = webhookSecretFromBytes(new Uint8Array(32).fill(2));

function event(n: number, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ version: 1, type: 'unread.changed', eventId: `evt-${n}`, identityId: 558355, total: n, observedAt: new Date(T0).toISOString(), ...overrides });
}

function setup(options: { maxInFlight?: number; observer?: DispatchObserver } = {}) {
  const clock = new ManualClock(T0);
  const endpoints = new InMemoryWebhookEndpoints(options.maxInFlight);
  const log = new InMemoryDeliveryLog();
  const secrets = new InMemorySecretVault();
  const sender = new ScriptedSender(clock.now);
  const queue = new InMemoryWebhookQueue({ clock: clock.now, timers: clock, redeliveryDelayMs: 30 * SECOND });
  const dispatcher = new WebhookDispatcher({
    endpoints,
    slots: endpoints,
    secrets,
    log,
    sender,
    queue,
    clock: clock.now,
    schedule: DISPATCHER_RETRY_SCHEDULE,
    ...(options.observer ? { observer: options.observer } : {}),
  });
  queue.consumeWith((job) => dispatcher.deliver(job));
  endpoints.add({ id: A, url: URL_A });
  endpoints.add({ id: B, url: URL_B });
  void secrets.store(A, { current: SECRET_A });
  void secrets.store(B, { current: SECRET_B });
  return { clock, endpoints, log, secrets, sender, queue, dispatcher };
}

/** Offsets from T0 of each request to a URL. */
function timesOf(sender: ScriptedSender, url: string): number[] {
  return sender.sentTo(url).map((r) => r.atMs - T0);
}

function verify(secret: string, request: { body: string; headers: WebhookSignatureHeaders }, atMs: number): unknown {
  const now = jest.spyOn(Date, 'now').mockReturnValue(atMs);
  try {
    return new Webhook(secret).verify(request.body, { ...request.headers });
  } finally {
    now.mockRestore();
  }
}

describe('fan-out', () => {
  test('every matching active endpoint gets one delivery of the event', async () => {
    const { dispatcher, endpoints, queue } = setup();
    endpoints.add({ id: B, url: URL_B, events: ['unread.alert'] });
    const C = parseWebhookEndpointId('wh_cccccccccccccccccccc');
    endpoints.add({ id: C, url: 'https://c.example.com/', identityIds: ['7'] });
    const D = parseWebhookEndpointId('wh_dddddddddddddddddddd');
    endpoints.add({ id: D, url: 'https://d.example.com/', status: { state: 'disabled', reason: 'gone', sinceMs: 0 } });

    const [result] = await dispatcher.fanOut([event(1)]);

    expect(result).toEqual({ ok: true, event: expect.objectContaining({ eventId: 'evt-1' }), deliveries: 1 });
    expect(queue.enqueued.map((job) => job.endpointId)).toEqual([A]);
  });

  test('a delivery carries the event body byte for byte, its eventId as webhook-id and a log key from observedAt', async () => {
    const { dispatcher, queue } = setup();
    const body = event(1, { label: 'Support ✓' });

    await dispatcher.fanOut([body]);

    expect(queue.enqueued[0]).toMatchObject({ body, eventId: 'evt-1', eventType: 'unread.changed', logKey: `${new Date(T0).toISOString()}#evt-1`, attempt: 1, kind: 'event' });
  });

  test('a body that is not an event is answered as failed without holding up the others', async () => {
    const { dispatcher } = setup();

    const results = await dispatcher.fanOut(['not json', event(2)]);

    expect(results).toEqual([{ ok: false, reason: 'the event is not JSON' }, expect.objectContaining({ ok: true, deliveries: 2 })]);
  });

  test('deliveries the queue refuses are offered once more, then the event is answered as failed', async () => {
    const { dispatcher, queue } = setup();
    const enqueue = jest.spyOn(queue, 'enqueue').mockResolvedValueOnce({ failed: [] });
    enqueue.mockImplementation((jobs) => Promise.resolve({ failed: jobs.filter((j) => j.endpointId === B).map((job) => ({ job, reason: 'InternalError' })) }));

    const [first] = await dispatcher.fanOut([event(1)]);
    const [second] = await dispatcher.fanOut([event(2)]);

    expect(first).toMatchObject({ ok: true });
    expect(second).toEqual({ ok: false, reason: '1 of 2 deliveries not queued (InternalError)' });
    expect(enqueue).toHaveBeenCalledTimes(3);
  });
});

describe('signature', () => {
  test('each delivery is signed with its endpoint secret and verified by the standardwebhooks library', async () => {
    const { dispatcher, sender, clock } = setup();

    await dispatcher.fanOut([event(1)]);
    await clock.advance(0);

    const [toA] = sender.sentTo(URL_A);
    const [toB] = sender.sentTo(URL_B);
    expect(verify(SECRET_A, toA!, T0)).toMatchObject({ eventId: 'evt-1', identityId: 558355 });
    expect(verify(SECRET_B, toB!, T0)).toMatchObject({ eventId: 'evt-1' });
    expect(() => verify(SECRET_B, toA!, T0)).toThrow();
    expect(toA!.headers['webhook-id']).toBe('evt-1');
  });

  test('during a rotation a delivery carries both signatures: receivers on the old or the new secret verify it', async () => {
    const { dispatcher, sender, clock, secrets } = setup();
    const next = webhookSecretFromBytes(new Uint8Array(32).fill(3));
    await secrets.store(A, rotateSecret({ current: SECRET_A }, next, T0));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(0);

    const [request] = sender.sentTo(URL_A);
    expect(request!.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verify(SECRET_A, request!, T0)).toMatchObject({ eventId: 'evt-1' });
    expect(verify(next, request!, T0)).toMatchObject({ eventId: 'evt-1' });
  });

  test('after the overlap only the new secret signs', async () => {
    const { dispatcher, sender, clock, secrets } = setup();
    const next = webhookSecretFromBytes(new Uint8Array(32).fill(3));
    await secrets.store(A, rotateSecret({ current: SECRET_A }, next, T0 - 25 * HOUR));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(0);

    const [request] = sender.sentTo(URL_A);
    expect(() => verify(SECRET_A, request!, T0)).toThrow();
    expect(verify(next, request!, T0)).toMatchObject({ eventId: 'evt-1' });
  });
});

describe('retries', () => {
  test('a receiver that keeps failing gets 8 attempts on the documented schedule, then the delivery is dead-lettered', async () => {
    const { dispatcher, sender, clock, queue, log, endpoints } = setup();
    sender.answer(URL_A, status(500));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(28 * HOUR);

    const waits = [0, 5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];
    const expected = waits.map((_, i) => waits.slice(0, i + 1).reduce((sum, w) => sum + w, 0));
    expect(timesOf(sender, URL_A)).toEqual(expected);
    expect(expected.at(-1)).toBe(27 * HOUR + 35 * MINUTE + 5 * SECOND);
    expect(queue.deadLetters).toEqual([{ job: expect.objectContaining({ endpointId: A, eventId: 'evt-1', attempt: 8 }), reason: 'schedule used up (response)' }]);
    expect(log.stateOf(A, 'evt-1')).toBe('dead-letter');
    expect(endpoints.endpoints.get(A)?.health).toMatchObject({ consecutiveFailures: 8, deadLetters: 1 });
    expect(new Set(sender.sentTo(URL_A).map((r) => r.headers['webhook-id']))).toEqual(new Set(['evt-1']));
  });

  test('a 429 with Retry-After waits as long as asked when that is longer than the schedule', async () => {
    const { dispatcher, sender, clock } = setup();
    sender.answer(URL_A, status(429, '120'), status(204));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(10 * MINUTE);

    expect(timesOf(sender, URL_A)).toEqual([0, 120 * SECOND]);
  });

  test.each([
    ['a timeout', { kind: 'timeout', durationMs: 15_000 }],
    ['a connection reset', { kind: 'network', code: 'ECONNRESET', durationMs: 3 }],
    ['a redirect (not followed)', { kind: 'response', status: 301, durationMs: 5 }],
    ['a refused address', { kind: 'refused', reason: 'a.example.com resolves to a private address (10.0.0.1)', durationMs: 1 }],
  ] as const)('%s is a failed attempt, retried after 5 s', async (_what, outcome: DeliveryAttemptOutcome) => {
    const { dispatcher, sender, clock, log } = setup();
    sender.answer(URL_A, outcome, status(200));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(1 * MINUTE);

    expect(timesOf(sender, URL_A)).toEqual([0, 5 * SECOND]);
    expect(log.stateOf(A, 'evt-1')).toBe('delivered');
  });

  test('410 Gone disables the endpoint at once: no retry, and its later deliveries are dropped', async () => {
    const disabled: string[] = [];
    const { dispatcher, sender, clock, endpoints, log } = setup({ observer: { endpointDisabled: (job, reason) => disabled.push(`${job.endpointId} ${reason}`) } });
    sender.answer(URL_A, status(410));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(HOUR);
    await dispatcher.fanOut([event(2)]);
    await clock.advance(HOUR);

    expect(sender.sentTo(URL_A)).toHaveLength(1);
    expect(endpoints.status(A)).toEqual({ state: 'disabled', reason: 'gone', sinceMs: T0 });
    expect(disabled).toEqual([`${A} gone`]);
    expect(log.stateOf(A, 'evt-1')).toBe('gone');
    expect(sender.sentTo(URL_B)).toHaveLength(2);
  });

  test('a retry pending when its endpoint is disabled is dropped, and the log says so', async () => {
    const { dispatcher, sender, clock, endpoints, log } = setup();
    sender.answer(URL_A, status(500));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(1 * SECOND);
    endpoints.add({ ...(await endpoints.get(A))!, status: { state: 'disabled', reason: 'failing', sinceMs: T0 } });
    await clock.advance(1 * MINUTE);

    expect(sender.sentTo(URL_A)).toHaveLength(1);
    expect(log.stateOf(A, 'evt-1')).toBe('dropped');
  });

  test('an endpoint failing for five days and eight attempts is disabled as failing, once', async () => {
    const disabled: string[] = [];
    const { dispatcher, sender, clock, endpoints } = setup({ observer: { endpointDisabled: (job, reason) => disabled.push(`${job.endpointId} ${reason}`) } });
    sender.answer(URL_A, status(503));

    for (let day = 0; day < 6; day += 1) {
      await dispatcher.fanOut([event(day)]);
      await clock.advance(24 * HOUR);
    }

    expect(endpoints.status(A)).toMatchObject({ state: 'disabled', reason: 'failing' });
    expect(disabled).toEqual([`${A} failing`]);
    const disabledAt = (endpoints.status(A) as { sinceMs: number }).sinceMs;
    expect(disabledAt - T0).toBeGreaterThanOrEqual(ENDPOINT_FAILURE_LIMIT.failingForMs);
    expect(sender.sentTo(URL_A).every((r) => r.atMs <= disabledAt)).toBe(true);
  });
});

describe('independence', () => {
  test('one dead endpoint does not delay another: each delivery goes its own way', async () => {
    const { dispatcher, sender, clock } = setup();
    let hang: (outcome: DeliveryAttemptOutcome) => void = () => undefined;
    sender.answer(URL_A, () => new Promise<DeliveryAttemptOutcome>((resolve) => (hang = resolve)), status(500));

    await dispatcher.fanOut([event(1), event(2)]);
    await clock.advance(0);

    expect(timesOf(sender, URL_B)).toEqual([0, 0]);
    expect(sender.sentTo(URL_A).length).toBeGreaterThanOrEqual(1);
    hang({ kind: 'timeout', durationMs: 15_000 });
  });

  test('an endpoint that accepted an event never gets it again because another endpoint failed', async () => {
    const { dispatcher, sender, clock } = setup();
    sender.answer(URL_A, status(500));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(28 * HOUR);

    expect(sender.sentTo(URL_A)).toHaveLength(8);
    expect(sender.sentTo(URL_B)).toHaveLength(1);
  });

  test('deliveries to one endpoint are capped in flight; the others wait and are delivered', async () => {
    const { dispatcher, sender, clock, endpoints, log, queue } = setup({ maxInFlight: 2 });
    const gates: (() => void)[] = [];
    sender.answer(URL_A, () => new Promise((resolve) => gates.push(() => resolve(status(204)))));

    await dispatcher.fanOut([1, 2, 3, 4, 5].map((n) => event(n)));
    await clock.advance(0);
    expect(sender.sentTo(URL_A)).toHaveLength(2);
    while (queue.pending > 0) {
      gates.splice(0).forEach((open) => open());
      await clock.advance(10 * SECOND);
    }

    expect(sender.sentTo(URL_A)).toHaveLength(5);
    expect(endpoints.maxHeld.get(A)).toBe(2);
    expect([1, 2, 3, 4, 5].map((n) => log.stateOf(A, `evt-${n}`))).toEqual(Array(5).fill('delivered'));
    expect(timesOf(sender, URL_B)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('crashes (at-least-once, same webhook-id)', () => {
  test('a dispatcher that dies mid-attempt leaves the delivery in the queue: it is sent again with the same webhook-id', async () => {
    const { dispatcher, sender, clock, log } = setup();
    sender.answer(URL_A, () => Promise.reject(new Error('Runtime exited: out of memory')), status(204));

    await dispatcher.fanOut([event(1)]);
    await clock.advance(1 * MINUTE);

    expect(sender.sentTo(URL_A).map((r) => r.headers['webhook-id'])).toEqual(['evt-1', 'evt-1']);
    expect(timesOf(sender, URL_A)).toEqual([0, 30 * SECOND]);
    expect(log.stateOf(A, 'evt-1')).toBe('delivered');
  });

  test('a retry that cannot be queued leaves the attempt in the queue instead of losing the delivery', async () => {
    const { dispatcher, sender, clock, queue, log } = setup();
    sender.answer(URL_A, status(500), status(500), status(204));
    const enqueue = jest.spyOn(queue, 'enqueue');

    await dispatcher.fanOut([event(1)]);
    enqueue.mockResolvedValueOnce({ failed: [{ job: {} as DeliveryJob, reason: 'ServiceUnavailable' }] });
    await clock.advance(1 * MINUTE);

    expect(timesOf(sender, URL_A)).toEqual([0, 30 * SECOND, 30 * SECOND + 5 * SECOND]);
    expect(log.stateOf(A, 'evt-1')).toBe('delivered');
  });

  test('a delivery redelivered after it was accepted (the dispatcher died before deleting it) is not sent again', async () => {
    const dropped: string[] = [];
    const { dispatcher, sender, clock } = setup({ observer: { dropped: (job, why) => dropped.push(`${job.endpointId} ${why}`) } });
    await dispatcher.fanOut([event(1)]);
    await clock.advance(0);
    const job = planDeliveries(event(1), parseWebhookEvent(event(1)), [{ id: A, url: URL_A, events: ['unread.changed'], status: { state: 'active' }, health: { consecutiveFailures: 0, deadLetters: 0 } }], T0)[0]!;

    const step = await dispatcher.deliver(job);

    expect(step).toEqual({ kind: 'settled', result: 'duplicate' });
    expect(sender.sentTo(URL_A)).toHaveLength(1);
    expect(dropped).toEqual([`${A} duplicate`]);
  });

  test('health and log writes that fail do not stop the delivery', async () => {
    const failures: string[] = [];
    const { dispatcher, sender, clock, log } = setup({ observer: { bookkeepingFailed: (_job, what) => failures.push(what) } });
    log.failWrites = true;

    await dispatcher.fanOut([event(1)]);
    await clock.advance(0);

    expect(sender.sentTo(URL_A)).toHaveLength(1);
    expect(failures).toEqual(['log', 'log']);
  });
});

describe('one delivery', () => {
  function jobFor(id: WebhookEndpointId, overrides: Partial<DeliveryJob> = {}): DeliveryJob {
    const body = event(9);
    return { endpointId: id, eventId: 'evt-9', eventType: 'unread.changed', logKey: deliveryLogKey(parseWebhookEvent(body), T0), body, kind: 'event', attempt: 1, notBeforeMs: T0, deferrals: 0, ...overrides };
  }

  test('a delivery that comes before its time is put back, nothing sent', async () => {
    const { dispatcher, sender } = setup();

    expect(await dispatcher.deliver(jobFor(A, { notBeforeMs: T0 + 2 * HOUR }))).toEqual({ kind: 'wait', untilMs: T0 + 2 * HOUR });
    expect(sender.sent).toEqual([]);
  });

  test('a delivery to a removed endpoint is dropped', async () => {
    const { dispatcher, sender, endpoints } = setup();
    await endpoints.remove(A);

    expect(await dispatcher.deliver(jobFor(A))).toEqual({ kind: 'settled', result: 'dropped' });
    expect(sender.sent).toEqual([]);
  });

  test('a test delivery goes even to a disabled endpoint, once, and leaves its health alone', async () => {
    const { dispatcher, sender, endpoints } = setup();
    endpoints.add({ id: A, url: URL_A, status: { state: 'disabled', reason: 'failing', sinceMs: T0 }, health: { consecutiveFailures: 9, deadLetters: 1 } });
    sender.answer(URL_A, status(500));

    const step = await dispatcher.deliver(jobFor(A, { kind: 'test' }));

    expect(step).toEqual({ kind: 'settled', result: 'failed', outcome: status(500) });
    expect(sender.sentTo(URL_A)).toHaveLength(1);
    expect(endpoints.endpoints.get(A)?.health).toEqual({ consecutiveFailures: 9, deadLetters: 1 });
  });

  test('a replay is sent even when the endpoint accepted the event before, with the same webhook-id', async () => {
    const { dispatcher, sender, clock } = setup();
    await dispatcher.deliver(jobFor(A));
    await clock.advance(HOUR);

    const step = await dispatcher.deliver(jobFor(A, { kind: 'replay' }));

    expect(step).toMatchObject({ kind: 'settled', result: 'delivered' });
    expect(sender.sentTo(URL_A).map((r) => r.headers['webhook-id'])).toEqual(['evt-9', 'evt-9']);
  });

  test('the in-flight slot is given back even when sending throws', async () => {
    const { dispatcher, sender, endpoints } = setup({ maxInFlight: 1 });
    sender.answer(URL_A, () => Promise.reject(new Error('boom')), status(204));

    await expect(dispatcher.deliver(jobFor(A))).rejects.toThrow('boom');
    expect(await dispatcher.deliver(jobFor(A))).toMatchObject({ result: 'delivered' });
    expect(endpoints.leases.get(A)?.size).toBe(0);
  });

  test('a busy endpoint puts the delivery back with a growing wait, without using an attempt', async () => {
    const { dispatcher, queue, endpoints } = setup({ maxInFlight: 1 });
    await endpoints.acquire(A, T0, 60_000);

    expect(await dispatcher.deliver(jobFor(A))).toEqual({ kind: 'settled', result: 'deferred' });
    expect(await dispatcher.deliver(jobFor(A, { deferrals: 3 }))).toEqual({ kind: 'settled', result: 'deferred' });

    const [first, later] = queue.enqueued;
    expect(first).toMatchObject({ attempt: 1, deferrals: 1 });
    expect(first!.notBeforeMs - T0).toBeGreaterThanOrEqual(1_000);
    expect(first!.notBeforeMs - T0).toBeLessThan(1_500);
    expect(later!.notBeforeMs - T0).toBeGreaterThanOrEqual(8_000);
    await settle();
  });
});
