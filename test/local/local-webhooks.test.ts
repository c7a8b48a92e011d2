/**
 * Webhooks inside a local `poll` (no TOPIC_ARN): the console publisher wrapped so an event is
 * published only once its deliveries are stored, the in-run schedule on a manual clock, and
 * what still fails kept for the next poll, which tries it first.
 */
import { ConsolePublisher } from '../../lambda/adapters/console-publisher';
import { WebhooksTableMissingError } from '../../lambda/adapters/dynamodb-webhook-table';
import { buildPublication } from '../../lambda/core/publication';
import type { EventPublisher } from '../../lambda/core/ports';
import type { UnreadChangedEvent } from '../../lambda/core/model';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { DeliveryAttemptOutcome } from '../../lambda/core/webhook-delivery';
import { parseWebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import { webhookSecretFromBytes } from '../../lambda/core/webhook-signature';
import { LocalWebhookDelivery, type LocalWebhookStores } from '../../lambda/local-webhooks';
import { InMemoryBacklog, InMemoryDeliveryLog, InMemorySecretVault, InMemoryWebhookEndpoints, ManualClock, ScriptedSender, status } from '../support/webhook-fakes';

const T0 = Date.parse('2026-02-12T15:09:24.000Z');
const ID = parseWebhookEndpointId('wh_aaaaaaaaaaaaaaaaaaaa');
const URL_A = 'http://127.0.0.1:3000/hook';

function changeEvent(n: number): UnreadChangedEvent {
  return {
    version: 1,
    type: 'unread.changed',
    eventId: `evt-${n}`,
    identityId: parseIdentityId('558355'),
    previousTotal: n - 1,
    total: n,
    delta: 1,
    direction: 'increased',
    conversations: [{ objectId: '396001', streamId: '19155', previous: n - 1, current: n }],
    observedAt: new Date(T0 + n).toISOString(),
  };
}

function setup(clock = new ManualClock(T0), stores?: LocalWebhookStores & { backlog: InMemoryBacklog }) {
  const endpoints = new InMemoryWebhookEndpoints();
  endpoints.add({ id: ID, url: URL_A });
  const secrets = new InMemorySecretVault();
  void secrets.store(ID, { current: webhookSecretFromBytes(new Uint8Array(32).fill(1)) });
  const all = stores ?? { endpoints, secrets, log: new InMemoryDeliveryLog(), backlog: new InMemoryBacklog() };
  const sender = new ScriptedSender(clock.now);
  const printed: string[] = [];
  const local = new LocalWebhookDelivery({ stores: all, sender, clock: clock.now, timers: clock });
  const publisher = local.publisher(new ConsolePublisher({ write: (line: string) => printed.push(line) }));
  return { clock, local, publisher, sender, stores: all, printed };
}

async function publish(publisher: EventPublisher, ...events: UnreadChangedEvent[]) {
  return publisher.publishBatch(events.map((e) => buildPublication(e)));
}

test('an accepted event is stored for its webhooks before it counts as published, then delivered', async () => {
  const { local, publisher, sender, stores, clock } = setup();
  await local.start();

  const results = await publish(publisher, changeEvent(1));
  expect(results).toEqual([{ eventId: 'evt-1', ok: true }]);
  expect([...stores.backlog.entries.values()].map((e) => e.job.eventId)).toEqual(['evt-1']);
  const finishing = local.finish();
  await clock.advance(0);

  expect(await finishing).toEqual({ delivered: 1, failedAttempts: 0, kept: 0, endpointsDisabled: 0 });
  expect(sender.sentTo(URL_A).map((r) => JSON.parse(r.body) as { eventId: string })).toEqual([expect.objectContaining({ eventId: 'evt-1', identityId: 558355 })]);
  expect(stores.backlog.entries.size).toBe(0);
});

test('when the deliveries cannot be stored the event is not published: it stays in the cycle outbox for the next poll', async () => {
  const { local, publisher, stores, sender } = setup();
  await local.start();
  stores.backlog.failPuts = true;

  const results = await publish(publisher, changeEvent(1));

  expect(results).toEqual([{ eventId: 'evt-1', ok: false, reason: expect.stringMatching(/^1 of 1 deliveries not queued/) }]);
  expect(sender.sent).toEqual([]);
});

test('a receiver that fails keeps the poll waiting for the in-run retries (1 s, 2 s), and the event stays published', async () => {
  const { local, publisher, sender, clock } = setup();
  sender.answer(URL_A, status(500), status(503), status(204));
  await local.start();

  expect(await publish(publisher, changeEvent(1))).toEqual([{ eventId: 'evt-1', ok: true }]);
  const finishing = local.finish();
  await clock.advance(10_000);

  expect(await finishing).toMatchObject({ delivered: 1, failedAttempts: 2, kept: 0 });
  expect(sender.sentTo(URL_A).map((r) => r.atMs - T0)).toEqual([0, 1_000, 3_000]);
});

test('what still fails after the in-run schedule is kept, and the next poll tries it first', async () => {
  const first = setup();
  first.sender.answer(URL_A, status(500));
  await first.local.start();
  await publish(first.publisher, changeEvent(1));
  const finishing = first.local.finish();
  await first.clock.advance(10_000);
  expect(await finishing).toMatchObject({ delivered: 0, failedAttempts: 4, kept: 1 });
  expect(first.sender.sentTo(URL_A).map((r) => r.atMs - T0)).toEqual([0, 1_000, 3_000, 7_000]);
  expect([...first.stores.backlog.entries.values()].map((e) => [e.job.eventId, e.job.attempt])).toEqual([['evt-1', 1]]);

  const clock = new ManualClock(T0 + 60_000);
  const second = setup(clock, first.stores);
  await second.local.start();
  await publish(second.publisher, changeEvent(2));
  const again = second.local.finish();
  await clock.advance(10_000);

  expect(await again).toMatchObject({ delivered: 2, kept: 0 });
  expect(second.sender.sentTo(URL_A).map((r) => r.headers['webhook-id'])).toEqual(['evt-1', 'evt-2']);
  expect(first.stores.backlog.entries.size).toBe(0);
});

test('an attempt slow enough that the next would fall after the window is kept without waiting', async () => {
  const clock = new ManualClock(T0);
  const { local, publisher, sender, stores } = setup(clock);
  const slowTimeout = (): Promise<DeliveryAttemptOutcome> => {
    clock.nowMs += 15_000;
    return Promise.resolve({ kind: 'timeout', durationMs: 15_000 });
  };
  sender.answer(URL_A, slowTimeout);
  await local.start();
  await publish(publisher, changeEvent(1));
  await clock.advance(0);

  const finishing = local.finish();
  await clock.advance(0);

  expect(await finishing).toMatchObject({ delivered: 0, kept: 1 });
  expect(sender.sent).toHaveLength(1);
  expect(stores.backlog.entries.size).toBe(1);
});

test('without a webhooks table (an older init) publishing goes on as before', async () => {
  const { local, publisher, stores, printed } = setup();
  jest.spyOn(stores.backlog, 'list').mockRejectedValue(new WebhooksTableMissingError('table x-webhooks does not exist'));
  await local.start();
  const put = jest.spyOn(stores.backlog, 'put');

  expect(await publish(publisher, changeEvent(1))).toEqual([{ eventId: 'evt-1', ok: true }]);
  expect(put).not.toHaveBeenCalled();
  expect(printed).toHaveLength(1);
  expect(await local.finish()).toEqual({ delivered: 0, failedAttempts: 0, kept: 0, endpointsDisabled: 0 });
});

test('a refused poll sends nothing: kept deliveries are only read at start, and abandon leaves them kept', async () => {
  const first = setup();
  await first.stores.backlog.put([{ endpointId: ID, eventId: 'evt-0', eventType: 'unread.changed', logKey: 'k0', body: '{}', kind: 'event', attempt: 1, notBeforeMs: 0, deferrals: 0 }]);

  await first.local.start();
  await first.clock.advance(10_000);
  first.local.abandon();

  expect(first.sender.sent).toEqual([]);
  expect(first.stores.backlog.entries.size).toBe(1);
});

test('a run does not take from the backlog what another run of the same process is still retrying (serve: a cycle beside a re-poll)', async () => {
  const clock = new ManualClock(T0);
  const a = setup(clock);
  a.sender.answer(URL_A, status(500), status(204));
  await a.local.start();
  await publish(a.publisher, changeEvent(1));
  await clock.advance(0);
  expect(a.sender.sentTo(URL_A)).toHaveLength(1);

  // A second run of the process (another cycle) starts while the first waits for its 1 s retry.
  const b = setup(clock, a.stores);
  await b.local.start();
  const bFinishing = b.local.finish();
  await clock.advance(0);
  await bFinishing;

  expect(b.sender.sent).toEqual([]);
  const aFinishing = a.local.finish();
  await clock.advance(1_000);
  expect(await aFinishing).toMatchObject({ delivered: 1, kept: 0 });
  expect(a.sender.sentTo(URL_A)).toHaveLength(2);
});

test('what a finished run left in the backlog is taken by the next run of the same process', async () => {
  const clock = new ManualClock(T0);
  const a = setup(clock);
  a.sender.answer(URL_A, status(500));
  await a.local.start();
  await publish(a.publisher, changeEvent(1));
  const aFinishing = a.local.finish();
  await clock.advance(20_000);
  expect(await aFinishing).toMatchObject({ delivered: 0, kept: 1 });

  const b = setup(clock, a.stores);
  await b.local.start();
  const bFinishing = b.local.finish();
  await clock.advance(0);

  expect(await bFinishing).toMatchObject({ delivered: 1, kept: 0 });
  expect(b.sender.sentTo(URL_A)).toHaveLength(1);
});
