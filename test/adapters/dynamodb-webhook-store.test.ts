/** The webhooks table on dynalite: endpoints, counters and leases, the delivery log, the local backlog and secrets. */
import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbDeliveryBacklog, DynamoDbDeliveryLog } from '../../lambda/adapters/dynamodb-webhook-deliveries';
import { DynamoDbWebhookEndpoints } from '../../lambda/adapters/dynamodb-webhook-endpoints';
import { DynamoDbWebhookSecretVault } from '../../lambda/adapters/dynamodb-webhook-secrets';
import { ensureWebhooksTable, WebhooksTableMissingError } from '../../lambda/adapters/dynamodb-webhook-table';
import { parseWebhookEndpointId, type WebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import { MAX_LOGGED_ATTEMPTS, type DeliveryJob } from '../../lambda/core/webhook-job';
import { WebhookSecretMissingError } from '../../lambda/core/webhook-ports';
import { ENDPOINT_FAILURE_LIMIT } from '../../lambda/core/webhook-retry-schedule';
import { rotateSecret, webhookSecretFromBytes } from '../../lambda/core/webhook-signature';
import { dynaliteClient } from '../support/dynalite';
import { status } from '../support/webhook-fakes';

const client = dynaliteClient();
const T0 = Date.parse('2026-02-12T15:00:00Z');
const DAY = 24 * 3600 * 1000;
let table: string;
let endpoints: DynamoDbWebhookEndpoints;

function endpointId(n: number): WebhookEndpointId {
  return parseWebhookEndpointId(`wh_${String(n).padStart(20, '0')}`);
}

async function freshTable(): Promise<string> {
  const name = `wh-${randomUUID()}-webhooks`;
  await ensureWebhooksTable(client, name, 'plain');
  return name;
}

function job(id: WebhookEndpointId, n: number, overrides: Partial<DeliveryJob> = {}): DeliveryJob {
  const observedAt = new Date(T0 + n * 1000).toISOString();
  const body = JSON.stringify({ type: 'unread.changed', eventId: `e${n}`, identityId: 1, observedAt });
  return { endpointId: id, eventId: `e${n}`, eventType: 'unread.changed', logKey: `${observedAt}#e${n}`, body, kind: 'event', attempt: 1, notBeforeMs: T0, deferrals: 0, ...overrides };
}

beforeEach(async () => {
  table = await freshTable();
  endpoints = new DynamoDbWebhookEndpoints(client, table, { maxInFlight: 2 });
});

describe('the table', () => {
  test('init makes it with a partition and a sort key, and is idempotent', async () => {
    const name = `wh-${randomUUID()}-webhooks`;

    expect(await ensureWebhooksTable(client, name, 'plain')).toBe('created');
    expect(await ensureWebhooksTable(client, name, 'plain')).toBe('exists');
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });

  test('a missing table is named, with the command that makes it', async () => {
    const missing = new DynamoDbWebhookEndpoints(client, 'no-such-table-webhooks');

    const error = await missing.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhooksTableMissingError);
    expect((error as Error).message).toBe("table no-such-table-webhooks does not exist: run 'unread-notifier init' first");
  });
});

describe('endpoints', () => {
  test('create, get, list in id order and remove', async () => {
    await endpoints.create({ id: endpointId(2), url: 'https://b.example.com/', events: ['unread.alert'], identityIds: ['7', '8'], createdAtMs: T0 });
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/?token=x', events: ['unread.changed', 'unread.alert'], createdAtMs: T0 });

    expect(await endpoints.list()).toEqual([
      { id: endpointId(1), url: 'https://a.example.com/?token=x', events: ['unread.changed', 'unread.alert'], status: { state: 'active' }, health: { consecutiveFailures: 0, deadLetters: 0 } },
      { id: endpointId(2), url: 'https://b.example.com/', events: ['unread.alert'], identityIds: ['7', '8'], status: { state: 'active' }, health: { consecutiveFailures: 0, deadLetters: 0 } },
    ]);
    expect(await endpoints.remove(endpointId(1))).toBe(true);
    expect(await endpoints.remove(endpointId(1))).toBe(false);
    expect(await endpoints.get(endpointId(1))).toBeUndefined();
  });

  test('an id that exists is never overwritten', async () => {
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });

    await expect(endpoints.create({ id: endpointId(1), url: 'https://evil.example.com/', events: ['unread.changed'], createdAtMs: T0 })).rejects.toThrow();
    expect((await endpoints.get(endpointId(1)))?.url).toBe('https://a.example.com/');
  });

  test('concurrent failed attempts are all counted (ADD, not read-modify-write)', async () => {
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });

    await Promise.all(Array.from({ length: 20 }, (_, i) => endpoints.recordAttempt(endpointId(1), 'failed', T0 + i)));

    expect((await endpoints.get(endpointId(1)))?.health).toEqual({ consecutiveFailures: 20, failingSinceMs: expect.any(Number), deadLetters: 0 });
  });

  test('a success resets the counters', async () => {
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });
    await endpoints.recordAttempt(endpointId(1), 'failed', T0);
    await endpoints.recordDeadLetter(endpointId(1));

    const recorded = await endpoints.recordAttempt(endpointId(1), 'delivered', T0 + 5);

    expect(recorded).toEqual({ health: { consecutiveFailures: 0, deadLetters: 0, lastSuccessMs: T0 + 5 } });
  });

  test('410 disables at once; of concurrent attempts past the failure limit exactly one reports the disable', async () => {
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });
    await endpoints.create({ id: endpointId(2), url: 'https://b.example.com/', events: ['unread.changed'], createdAtMs: T0 });
    for (let i = 0; i < ENDPOINT_FAILURE_LIMIT.minConsecutiveFailures; i += 1) await endpoints.recordAttempt(endpointId(2), 'failed', T0);

    const gone = await endpoints.recordAttempt(endpointId(1), 'gone', T0);
    const late = await Promise.all(Array.from({ length: 5 }, () => endpoints.recordAttempt(endpointId(2), 'failed', T0 + 5 * DAY)));

    expect(gone?.disabled).toBe('gone');
    expect((await endpoints.get(endpointId(1)))?.status).toEqual({ state: 'disabled', reason: 'gone', sinceMs: T0 });
    expect(late.filter((r) => r?.disabled === 'failing')).toHaveLength(1);
    expect((await endpoints.get(endpointId(2)))?.status).toEqual({ state: 'disabled', reason: 'failing', sinceMs: T0 + 5 * DAY });
  });

  test('enable makes it active with its counters reset', async () => {
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });
    await endpoints.recordAttempt(endpointId(1), 'gone', T0);

    expect(await endpoints.enable(endpointId(1), T0 + 1)).toBe(true);
    expect(await endpoints.enable(endpointId(9), T0 + 1)).toBe(false);
    expect(await endpoints.get(endpointId(1))).toMatchObject({ status: { state: 'active' }, health: { consecutiveFailures: 0, deadLetters: 0 } });
  });

  test('a removed endpoint is never brought back by a late write', async () => {
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });
    const slot = await endpoints.acquire(endpointId(1), T0, 60_000);
    await endpoints.remove(endpointId(1));

    expect(await endpoints.recordAttempt(endpointId(1), 'failed', T0)).toBeUndefined();
    await endpoints.recordDeadLetter(endpointId(1));
    await endpoints.release(endpointId(1), slot!);
    expect(await endpoints.acquire(endpointId(1), T0, 60_000)).toBeUndefined();

    const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'endpoint' }, sk: { S: endpointId(1) } } }));
    expect(Item).toBeUndefined();
  });
});

describe('in-flight slots', () => {
  beforeEach(async () => {
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });
  });

  test('at most the maximum at once, even when asked concurrently; a release frees one', async () => {
    const slots = await Promise.all(Array.from({ length: 6 }, () => endpoints.acquire(endpointId(1), T0, 60_000)));

    const held = slots.filter((s) => s !== undefined);
    expect(held).toHaveLength(2);
    await endpoints.release(endpointId(1), held[0]!);
    expect(await endpoints.acquire(endpointId(1), T0, 60_000)).toEqual(expect.any(String));
    expect(await endpoints.acquire(endpointId(1), T0, 60_000)).toBeUndefined();
  });

  test('a lease that ended (its dispatcher crashed) is swept when the slots are full', async () => {
    await endpoints.acquire(endpointId(1), T0, 60_000);
    await endpoints.acquire(endpointId(1), T0, 60_000);

    expect(await endpoints.acquire(endpointId(1), T0 + 59_000, 60_000)).toBeUndefined();
    expect(await endpoints.acquire(endpointId(1), T0 + 60_000, 60_000)).toEqual(expect.any(String));
  });
});

describe('delivery log', () => {
  const id = endpointId(1);
  let log: DynamoDbDeliveryLog;

  beforeEach(async () => {
    log = new DynamoDbDeliveryLog(client, table, { limit: 3 });
    await endpoints.create({ id, url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });
  });

  test('the first attempt makes the entry with the body; later ones add to it; delivered marks it', async () => {
    const first = job(id, 1);
    await log.record({ job: first, attempt: { attempt: 1, kind: 'event', atMs: T0, outcome: status(500) }, state: 'retrying', nextAttemptAtMs: T0 + 5000 });
    expect(await log.wasDelivered(first)).toBe(false);
    await log.record({ job: { ...first, attempt: 2 }, attempt: { attempt: 2, kind: 'event', atMs: T0 + 5000, outcome: status(204) }, state: 'delivered' });

    expect(await log.wasDelivered(first)).toBe(true);
    expect(await log.list(id, {})).toEqual([
      {
        endpointId: id,
        logKey: first.logKey,
        eventId: 'e1',
        eventType: 'unread.changed',
        body: first.body,
        state: 'delivered',
        attempts: [
          { attempt: 1, kind: 'event', atMs: T0, outcome: status(500) },
          { attempt: 2, kind: 'event', atMs: T0 + 5000, outcome: status(204) },
        ],
        updatedAtMs: T0 + 5000,
      },
    ]);
  });

  test('every outcome kind is kept as it was, with no response body', async () => {
    const outcomes = [
      { kind: 'timeout', durationMs: 15000 },
      { kind: 'network', code: 'ECONNRESET', durationMs: 3 },
      { kind: 'refused', reason: 'a.example.com resolves to a private address (10.0.0.1)', durationMs: 1 },
      { kind: 'response', status: 429, retryAfter: '120', durationMs: 9 },
    ] as const;
    for (const [i, outcome] of outcomes.entries()) {
      await log.record({ job: job(id, 1), attempt: { attempt: i + 1, kind: 'event', atMs: T0 + i, outcome }, state: 'retrying' });
    }

    expect((await log.list(id, {}))[0]?.attempts.map((a) => a.outcome)).toEqual(outcomes);
  });

  test('only the last attempts are kept per delivery', async () => {
    for (let i = 1; i <= MAX_LOGGED_ATTEMPTS + 3; i += 1) {
      await log.record({ job: job(id, 1), attempt: { attempt: i, kind: 'replay', atMs: T0 + i, outcome: status(500) }, state: 'retrying' });
    }

    const [entry] = await log.list(id, {});
    expect(entry?.attempts).toHaveLength(MAX_LOGGED_ATTEMPTS);
    expect(entry?.attempts[0]?.attempt).toBe(4);
  });

  test('past the limit per endpoint, each new delivery deletes the oldest', async () => {
    for (let n = 1; n <= 5; n += 1) await log.record({ job: job(id, n), attempt: { attempt: 1, kind: 'event', atMs: T0 + n, outcome: status(204) }, state: 'delivered' });

    expect((await log.list(id, {})).map((e) => e.eventId)).toEqual(['e5', 'e4', 'e3']);
    const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'endpoint' }, sk: { S: id } } }));
    expect(Item?.logCount).toEqual({ N: '3' });
  });

  test('since a log key: the entries from then on, oldest first; newest first with a limit otherwise', async () => {
    for (let n = 1; n <= 3; n += 1) await log.record({ job: job(id, n), attempt: { attempt: 1, kind: 'event', atMs: T0 + n, outcome: status(204) }, state: 'delivered' });

    expect((await log.list(id, { sinceLogKey: new Date(T0 + 2000).toISOString() })).map((e) => e.eventId)).toEqual(['e2', 'e3']);
    expect((await log.list(id, { limit: 2 })).map((e) => e.eventId)).toEqual(['e3', 'e2']);
  });

  test('dropped marks an entry that is not delivered; removeAll deletes the endpoint log', async () => {
    await log.record({ job: job(id, 1), attempt: { attempt: 1, kind: 'event', atMs: T0, outcome: status(500) }, state: 'retrying', nextAttemptAtMs: T0 + 5000 });
    await log.record({ job: job(id, 2), attempt: { attempt: 1, kind: 'event', atMs: T0, outcome: status(204) }, state: 'delivered' });

    await log.markDropped(job(id, 1), T0 + 1);
    await log.markDropped(job(id, 2), T0 + 1);
    await log.markDropped(job(id, 3), T0 + 1);
    expect((await log.list(id, {})).map((e) => [e.eventId, e.state, e.nextAttemptAtMs])).toEqual([
      ['e2', 'delivered', undefined],
      ['e1', 'dropped', undefined],
    ]);

    await log.removeAll(id);
    const { Items } = await client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: `log#${id}` } } }));
    expect(Items).toEqual([]);
  });
});

describe('local backlog', () => {
  test('keeps one entry per (endpoint, event), oldest first; a later put of the same delivery keeps its place', async () => {
    let now = T0;
    const backlog = new DynamoDbDeliveryBacklog(client, table, () => now);
    await backlog.put([job(endpointId(1), 1)]);
    now += 1;
    await backlog.put([job(endpointId(2), 2), job(endpointId(1), 3)]);
    now += 1;
    await backlog.put([job(endpointId(1), 1, { attempt: 3 })]);

    expect((await backlog.list()).map((j) => [j.endpointId, j.eventId, j.attempt])).toEqual([
      [endpointId(1), 'e1', 3],
      [endpointId(2), 'e2', 1],
      [endpointId(1), 'e3', 1],
    ]);
    await backlog.remove(job(endpointId(1), 1));
    expect((await backlog.list()).map((j) => j.eventId)).toEqual(['e2', 'e3']);
  });
});

describe('local secret vault', () => {
  test('stores, loads (with a rotation) and removes the secrets, apart from the endpoint item', async () => {
    const vault = new DynamoDbWebhookSecretVault(client, table);
    const secret = webhookSecretFromBytes(new Uint8Array(32).fill(4));
    const rotated = rotateSecret({ current: secret }, webhookSecretFromBytes(new Uint8Array(32).fill(5)), T0);
    await endpoints.create({ id: endpointId(1), url: 'https://a.example.com/', events: ['unread.changed'], createdAtMs: T0 });

    await vault.store(endpointId(1), rotated);

    expect(await vault.load(endpointId(1))).toEqual(rotated);
    const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'endpoint' }, sk: { S: endpointId(1) } } }));
    expect(JSON.stringify(Item)).not.toContain(secret);
    await vault.remove(endpointId(1));
    await expect(vault.load(endpointId(1))).rejects.toThrow(WebhookSecretMissingError);
  });
});
