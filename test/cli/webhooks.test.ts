/**
 * `unread-notifier webhooks …` on dynalite, with receivers on 127.0.0.1. Every delivery goes
 * through the loopback-only guard; names never reach the real DNS.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Webhook } from 'standardwebhooks';
import { DynamoDbDeliveryLog } from '../../lambda/adapters/dynamodb-webhook-deliveries';
import { DynamoDbWebhookEndpoints } from '../../lambda/adapters/dynamodb-webhook-endpoints';
import { parseWebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import type { DeliveryJob } from '../../lambda/core/webhook-job';
import { useDynaliteEnvironment, type CliRun } from '../support/cli-harness';
import { dynaliteClient } from '../support/dynalite';
import { LoopbackOnlyGuard } from '../support/loopback-guard';
import { guardedCli } from '../support/webhook-cli';
import { flatHeaders, startReceiver, type Answer, type Receiver } from '../support/webhook-receiver';

useDynaliteEnvironment();

let guard: LoopbackOnlyGuard;
let cli: ReturnType<typeof guardedCli>;
let table: string;
let env: Record<string, string>;
const receivers: Receiver[] = [];

beforeEach(async () => {
  guard = new LoopbackOnlyGuard();
  cli = guardedCli(guard);
  table = `cli-wh-${randomUUID()}`;
  env = { TABLE_NAME: table };
  expect((await cli(['init'], env)).code).toBe(0);
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  expect(guard.violations).toEqual([]);
});

async function receiver(answer?: Answer): Promise<Receiver> {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
}

async function add(url: string, ...flags: string[]): Promise<{ id: string; secret: string; run: CliRun }> {
  const run = await cli(['webhooks', 'add', url, ...flags], env);
  expect(run.code).toBe(0);
  return { ...(JSON.parse(run.stdout) as { id: string; secret: string }), run };
}

async function listed(): Promise<Record<string, unknown>[]> {
  const run = await cli(['webhooks', 'list', '--json'], env);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>[];
}

function verifiedBy(secret: string, request: Receiver['received'][number]): Record<string, unknown> {
  return new Webhook(secret).verify(request.body, flatHeaders(request.headers)) as Record<string, unknown>;
}

describe('add and list', () => {
  test('add prints one JSON line with the id and the secret, the only time it is shown; list shows the endpoint', async () => {
    const { id, secret, run } = await add('http://127.0.0.1:3000/hook?route=a', '--events', 'unread.changed,unread.alert', '--identity', '558355', '--identity', '7');

    expect(run.stdout.split('\n')).toHaveLength(2);
    expect(id).toMatch(/^wh_[0-9a-f]{20}$/);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await listed()).toEqual([
      {
        id,
        url: 'http://127.0.0.1:3000/hook?…',
        events: ['unread.changed', 'unread.alert'],
        identityIds: ['558355', '7'],
        status: 'active',
        consecutiveFailures: 0,
        deadLetters: 0,
      },
    ]);
    const text = await cli(['webhooks', 'list'], env);
    expect(text.stdout).toBe(`${id}\tactive\tunread.changed,unread.alert\tidentities 558355,7\thttp://127.0.0.1:3000/hook?…\n`);
  });

  test('events default to unread.changed, for every identity', async () => {
    await add('https://localhost:8443/hook');

    expect(await listed()).toEqual([expect.objectContaining({ events: ['unread.changed'], identityIds: [] })]);
  });

  test.each([
    ['plain http to a public host', ['http://hooks.example.com/x'], 'a webhook URL must use https (plain http only to localhost in a local run)'],
    ['the metadata service', ['https://169.254.169.254/latest'], 'a webhook may not go to a metadata address'],
    ['a private address', ['https://10.1.2.3/hook'], 'a webhook may not go to a private address'],
    ['credentials in the URL', ['https://user:pw@hooks.example.com/'], 'a webhook URL may not carry a user name or password'],
    ['something that is not a URL', ['hooks'], 'not an absolute URL'],
    ['an unknown event type', ['https://hooks.example.com/', '--events', 'unread.changed,unread.everything'], 'unknown event type "unread.everything"'],
    ['an empty event list', ['https://hooks.example.com/', '--events', ' , '], '--events needs at least one of'],
    ['an identity that is not an id', ['https://hooks.example.com/', '--identity', '12a'], '--identity:'],
  ])('refuses %s: one line, exit 2, nothing written', async (_what, args, message) => {
    const run = await cli(['webhooks', 'add', ...args], env);

    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
    expect(run.stderr).not.toContain('pw@');
    expect(await listed()).toEqual([]);
  });

  test('outside a local run http to loopback is refused before anything is called', async () => {
    const ddb = mockClient(DynamoDBClient);
    const sm = mockClient(SecretsManagerClient);
    try {
      const run = await cli(['webhooks', 'add', 'http://127.0.0.1:3000/hook'], { ...env, AWS_ENDPOINT_URL_DYNAMODB: undefined });

      expect(run).toMatchObject({ code: 2, stderr: 'unread-notifier: error: a webhook URL must use https: http://127.0.0.1:3000/hook\n' });
      expect(ddb.calls()).toEqual([]);
      expect(sm.calls()).toEqual([]);
    } finally {
      ddb.restore();
      sm.restore();
    }
  });

  test('outside a local run the secret goes to Secrets Manager, named after the webhooks table, and never into the table', async () => {
    const ddb = mockClient(DynamoDBClient);
    const sm = mockClient(SecretsManagerClient);
    try {
      ddb.on(PutItemCommand).resolves({});
      sm.on(CreateSecretCommand).resolves({});

      const run = await cli(['webhooks', 'add', 'https://hooks.example.com/unread'], { ...env, AWS_ENDPOINT_URL_DYNAMODB: undefined });

      expect(run.code).toBe(0);
      const { id, secret } = JSON.parse(run.stdout) as { id: string; secret: string };
      expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, { Name: `${table}-webhooks/${id}`, SecretString: JSON.stringify({ current: secret }) });
      const written = JSON.stringify(ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input));
      expect(written).toContain('https://hooks.example.com/unread');
      expect(written).not.toContain(secret.slice('whsec_'.length));
    } finally {
      ddb.restore();
      sm.restore();
    }
  });
});

describe('remove and enable', () => {
  test('remove deletes the endpoint, its secret and its log; removing it again is refused', async () => {
    const { id } = await add('http://127.0.0.1:3000/hook');

    expect(await cli(['webhooks', 'remove', id], env)).toMatchObject({ code: 0, stdout: `removed webhook ${id}\n` });
    expect(await listed()).toEqual([]);
    const { Item } = await dynaliteClient().send(new GetItemCommand({ TableName: `${table}-webhooks`, Key: { pk: { S: 'secret' }, sk: { S: id } } }));
    expect(Item).toBeUndefined();
    expect(await cli(['webhooks', 'remove', id], env)).toMatchObject({ code: 2, stderr: `unread-notifier: error: webhook ${id} is not registered in ${table}-webhooks\n` });
  });

  test.each([['remove'], ['enable'], ['test'], ['rotate-secret'], ['deliveries']])('%s of a malformed id is refused with exit 2', async (command) => {
    expect(await cli(['webhooks', command, 'wh_nope'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('invalid webhook id "wh_nope"') });
  });

  test('enable turns a disabled endpoint back on, with its secret; an active one is left as it is', async () => {
    const { id } = await add('http://127.0.0.1:3000/hook');
    await new DynamoDbWebhookEndpoints(dynaliteClient(), `${table}-webhooks`).recordAttempt(parseWebhookEndpointId(id), 'gone', Date.now());
    expect(await listed()).toEqual([expect.objectContaining({ status: 'disabled', reason: 'gone' })]);
    expect((await cli(['webhooks', 'list'], env)).stdout).toContain('disabled (the receiver answered 410 Gone)');

    expect(await cli(['webhooks', 'enable', id], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^enabled webhook wh_\w+ \(same secret\)/) });
    expect(await cli(['webhooks', 'enable', id], env)).toMatchObject({ code: 0, stdout: `webhook ${id} is already active\n` });
    expect(await listed()).toEqual([expect.objectContaining({ status: 'active', consecutiveFailures: 0 })]);
  });
});

describe('test', () => {
  test('sends a signed webhook.test event, prints the status and exits 0 on 2xx', async () => {
    const target = await receiver();
    const { id, secret } = await add(`http://127.0.0.1:${target.port}/hook`);

    const run = await cli(['webhooks', 'test', id], env);

    expect(run).toMatchObject({ code: 0, stdout: '204\n' });
    expect(verifiedBy(secret, target.received[0]!)).toMatchObject({ type: 'webhook.test', endpointId: id });
    expect(target.received[0]!.headers['webhook-id']).toMatch(/^test_[0-9a-f]{24}$/);
  });

  test('exits 1 on any other answer, and a redirect is not followed', async () => {
    const elsewhere = await receiver();
    const target = await receiver((_r, res) => res.writeHead(301, { location: `http://127.0.0.1:${elsewhere.port}/` }).end());
    const { id } = await add(`http://127.0.0.1:${target.port}/hook`);

    const run = await cli(['webhooks', 'test', id], env);

    expect(run).toMatchObject({ code: 1, stdout: '301\n' });
    expect(run.stderr).toContain('redirects are not followed');
    expect(elsewhere.connections()).toBe(0);
  });

  test('a receiver that is not there: no response, exit 1; the endpoint is not disabled by a test', async () => {
    const gone = await receiver();
    const port = gone.port;
    await gone.close();
    const { id } = await add(`http://127.0.0.1:${port}/hook`);

    expect(await cli(['webhooks', 'test', id], env)).toMatchObject({ code: 1, stdout: 'no response: ECONNREFUSED\n' });
    expect(await listed()).toEqual([expect.objectContaining({ status: 'active', consecutiveFailures: 0 })]);
  });
});

describe('rotate-secret', () => {
  test('prints a new secret; for 24 hours deliveries verify with the old and the new', async () => {
    const target = await receiver();
    const { id, secret: old } = await add(`http://127.0.0.1:${target.port}/hook`);

    const run = await cli(['webhooks', 'rotate-secret', id], env);
    await cli(['webhooks', 'test', id], env);

    const { secret: fresh } = JSON.parse(run.stdout) as { secret: string };
    expect(run.code).toBe(0);
    expect(fresh).not.toBe(old);
    expect(run.stderr).toMatch(/deliveries carry both signatures until \d{4}-/);
    const [request] = target.received;
    expect(String(request!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifiedBy(old, request!)).toMatchObject({ type: 'webhook.test' });
    expect(verifiedBy(fresh, request!)).toMatchObject({ type: 'webhook.test' });
  });
});

describe('deliveries and replay', () => {
  async function logged(id: string, events: number): Promise<DeliveryJob[]> {
    const log = new DynamoDbDeliveryLog(dynaliteClient(), `${table}-webhooks`);
    const jobs: DeliveryJob[] = [];
    for (let n = 1; n <= events; n += 1) {
      const observedAt = `2026-02-1${n}T10:00:00.000Z`;
      const body = JSON.stringify({ version: 1, type: 'unread.changed', eventId: `evt-${n}`, identityId: 558355, total: n, observedAt });
      const job: DeliveryJob = { endpointId: parseWebhookEndpointId(id), eventId: `evt-${n}`, eventType: 'unread.changed', logKey: `${observedAt}#evt-${n}`, body, kind: 'event', attempt: 1, notBeforeMs: 0, deferrals: 0 };
      await log.record({ job, attempt: { attempt: 1, kind: 'event', atMs: Date.parse(observedAt), outcome: { kind: 'response', status: 204, durationMs: 3 } }, state: 'delivered' });
      jobs.push(job);
    }
    return jobs;
  }

  test('deliveries lists the newest first with their attempts, text or JSON', async () => {
    const { id } = await add('http://127.0.0.1:3000/hook');
    await logged(id, 2);

    const text = await cli(['webhooks', 'deliveries', id], env);
    const json = await cli(['webhooks', 'deliveries', id, '--json', '--limit', '1'], env);

    expect(text.stdout.split('\n')[0]).toBe('2026-02-12T10:00:00.000Z\tevt-2\tunread.changed\tdelivered\t1 attempt(s), last HTTP 204 at 2026-02-12T10:00:00.000Z');
    expect(JSON.parse(json.stdout)).toEqual([
      { eventId: 'evt-2', eventType: 'unread.changed', observedAt: '2026-02-12T10:00:00.000Z', state: 'delivered', attempts: [{ attempt: 1, kind: 'event', at: '2026-02-12T10:00:00.000Z', outcome: 'response', status: 204, durationMs: 3 }] },
    ]);
    expect(await cli(['webhooks', 'deliveries', id, '--limit', '0'], env)).toMatchObject({ code: 2 });
  });

  test('replay sends the logged events since the given time again, with the same webhook-ids and bodies', async () => {
    const target = await receiver();
    const { id, secret } = await add(`http://127.0.0.1:${target.port}/hook`);
    const jobs = await logged(id, 3);
    await cli(['webhooks', 'test', id], env);

    const run = await cli(['webhooks', 'replay', id, '--since', '2026-02-12'], env);

    expect(run.code).toBe(0);
    expect(run.stdout).toBe('replayed evt-2 (HTTP 204)\nreplayed evt-3 (HTTP 204)\n');
    const replayed = target.received.filter((r) => r.headers['webhook-id'] !== undefined && !String(r.headers['webhook-id']).startsWith('test_'));
    expect(replayed.map((r) => [r.headers['webhook-id'], r.body])).toEqual([
      ['evt-2', jobs[1]!.body],
      ['evt-3', jobs[2]!.body],
    ]);
    expect(verifiedBy(secret, replayed[0]!)).toMatchObject({ eventId: 'evt-2' });
  });

  test('replay to a disabled endpoint is refused until it is enabled; a bad time is refused', async () => {
    const { id } = await add('http://127.0.0.1:3000/hook');
    await new DynamoDbWebhookEndpoints(dynaliteClient(), `${table}-webhooks`).recordAttempt(parseWebhookEndpointId(id), 'gone', Date.now());

    expect(await cli(['webhooks', 'replay', id, '--since', '2026-02-12T00:00:00Z'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining(`run 'unread-notifier webhooks enable ${id}' first`) });
    expect(await cli(['webhooks', 'replay', id, '--since', 'yesterday'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('--since must be an ISO 8601 time') });
    expect(await cli(['webhooks', 'replay', id], env)).toMatchObject({ code: 2 });
  });

  test('replay with nothing logged since then says so and exits 0; events not accepted make it exit 1', async () => {
    const target = await receiver((_r, res) => res.writeHead(410).end());
    const { id } = await add(`http://127.0.0.1:${target.port}/hook`);

    expect(await cli(['webhooks', 'replay', id, '--since', '2030-01-01'], env)).toMatchObject({ code: 0, stdout: `nothing logged for webhook ${id} since 2030-01-01T00:00:00.000Z\n` });
    await logged(id, 1);
    const run = await cli(['webhooks', 'replay', id, '--since', '2026-01-01'], env);
    expect(run).toMatchObject({ code: 1, stdout: 'not delivered evt-1 (HTTP 410 Gone (the dispatcher disables an endpoint that answers this))\n' });
  });
});
