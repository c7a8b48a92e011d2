import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';
import { dynaliteClient } from '../support/dynalite';

useDynaliteEnvironment();

let simulator: CommBoxSimulator;
let table: string;
let env: Record<string, string>;

beforeEach(async () => {
  simulator = await startCommBoxSimulator({ seed: 11 });
  table = `cli-poll-${randomUUID()}`;
  env = { TABLE_NAME: table, API_BASE_URL: simulator.baseUrl, API_TOKEN: simulator.token };
  await cli(['init'], env);
});

afterEach(async () => {
  await simulator.close();
});

function lines(text: string): unknown[] {
  return text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown);
}

describe('unread-notifier poll', () => {
  test('prints the events and alerts as JSON lines and the contract summary line last', async () => {
    simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 1 }]);
    await cli(['identities', 'add', '558355', '--label', 'Support'], env);
    expect((await cli(['poll'], env)).code).toBe(0);
    simulator.world.setUnread('558355', 396001, 4);

    const run = await cli(['poll', '--json'], env);

    expect(run.code).toBe(0);
    const [event, alert, summary, ...rest] = lines(run.stdout);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({ version: 1, type: 'unread.changed', identityId: 558355, label: 'Support', previousTotal: 1, total: 4, delta: 3 });
    expect(alert).toMatchObject({ version: 1, type: 'unread.alert', kind: 'new', identityId: 558355, label: 'Support', lastAlertTotal: 1, total: 4 });
    expect(Object.keys(summary as object).slice(0, 7)).toEqual(['identities', 'polled', 'changed', 'published', 'failed', 'notFound', 'durationMs']);
    expect(summary).toMatchObject({ identities: 1, polled: 1, changed: 1, published: 1, failed: 0, notFound: 0, alertsSent: 1, alertsDeferred: 0, alertsDropped: 0 });
  });

  test('exits 0 with single failures counted in the summary', async () => {
    simulator.world.addIdentity('1');
    await cli(['identities', 'add', '1'], env);
    await cli(['identities', 'add', '2'], env);
    simulator.faults.forIdentity('1', { status: 400 });

    const run = await cli(['poll', '--json'], env);

    expect(run.code).toBe(0);
    expect(lines(run.stdout).at(-1)).toMatchObject({ identities: 2, polled: 0, failed: 1, notFound: 1 });
  });

  test('polls one parallel-scan segment with --segment and --segments', async () => {
    for (const id of simulator.world.populate(12, { firstId: 100 })) await cli(['identities', 'add', id], env);

    const totals = [];
    for (const segment of ['0', '1']) {
      const run = await cli(['poll', '--segment', segment, '--segments', '2', '--json'], env);
      totals.push((lines(run.stdout).at(-1) as { identities: number }).identities);
    }

    expect(totals[0]! + totals[1]!).toBe(12);
  });

  test('a missing token is refused with one line naming both variables', async () => {
    const run = await cli(['poll'], { ...env, API_TOKEN: '' });

    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/API_TOKEN.*API_TOKEN_SECRET_ID/);
  });

  test.each([
    [['--segment', '1'], /--segment and --segments go together/],
    [['--segment', '2', '--segments', '2'], /segment must be an integer from 0 to 1/],
    [['--segment', 'x', '--segments', '2'], /must be non-negative integers/],
  ])('poll %j is refused before polling', async (flags, message) => {
    simulator.world.addIdentity('5');
    await cli(['identities', 'add', '5'], env);

    const run = await cli(['poll', ...flags], env);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(simulator.stats.requests).toBe(0);
  });

  test('a refused token aborts the cycle with a non-zero exit', async () => {
    simulator.world.addIdentity('5');
    await cli(['identities', 'add', '5'], env);

    const run = await cli(['poll', '--json'], { ...env, API_TOKEN: 'wrong-token' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cycle aborted/);
    expect(run.stderr).not.toContain('wrong-token');
    expect(lines(run.stdout).at(-1)).toMatchObject({ identities: 1, polled: 0, published: 0 });
  });

  test('an unreachable store aborts the cycle with a non-zero exit and one line', async () => {
    const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:9';
    try {
      const run = await cli(['poll'], env);

      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/cannot read the registry/)]);
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
    }
  });

  test('a bad flag value is refused under the name of the flag', async () => {
    const run = await cli(['poll', '--concurrency', '0'], env);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^unread-notifier: error: --concurrency must be an integer from 1 to 1000/);
  });

  test('stops starting identities at half the claim lease, and the next poll resumes where it stopped', async () => {
    await simulator.close();
    simulator = await startCommBoxSimulator({ seed: 11, latencyMs: 100 });
    const slow = { ...env, API_BASE_URL: simulator.baseUrl, API_TOKEN: simulator.token, CLAIM_LEASE_SECONDS: '1', POLL_CONCURRENCY: '1' };
    for (const id of simulator.world.populate(12, { firstId: 500 })) await cli(['identities', 'add', id], slow);

    const first = await cli(['poll', '--json'], slow);
    const second = await cli(['poll', '--json'], slow);

    const cut = lines(first.stdout).at(-1) as { polled: number; identities: number };
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/stopped at half the claim lease; \d+ identities left for the next poll, which starts at 5\d\d/);
    expect(cut.polled).toBeGreaterThan(0);
    expect(cut.polled).toBeLessThan(12);
    expect(simulator.requestCount(String(500 + cut.polled))).toBe(1);
    expect(second.code).toBe(0);
  });
});

describe('unread-notifier poll --identity', () => {
  async function registerFour(): Promise<string[]> {
    const ids = simulator.world.populate(4, { firstId: 900 });
    await cli(['identities', 'add', ...ids], env);
    return ids;
  }

  test('polls only the given registered ids, read by key, and moves no resume point', async () => {
    const [a, , c] = await registerFour();
    await dynaliteClient().send(new PutItemCommand({ TableName: table, Item: { identityId: { S: '#resume#all' }, resumeFrom: { S: '901' } } }));

    const run = await cli(['poll', '--identity', c!, '--identity', a!, '--json'], env);

    expect(run.code).toBe(0);
    expect(lines(run.stdout).at(-1)).toMatchObject({ identities: 2, polled: 2, baselines: 2 });
    expect(simulator.world.ids().map((id) => simulator.requestCount(id))).toEqual([1, 0, 1, 0]);
    const resume = await dynaliteClient().send(new GetItemCommand({ TableName: table, Key: { identityId: { S: '#resume#all' } } }));
    expect(resume.Item?.resumeFrom?.S).toBe('901');
  });

  test.each([
    { name: 'an id that is not registered', flags: ['--identity', '900', '--identity', '42'], message: /--identity: identity 42 is not registered in cli-poll-.*; nothing was polled/ },
    { name: 'a malformed id', flags: ['--identity', '9x'], message: /invalid identity id "9x"/ },
    { name: 'a segment besides', flags: ['--identity', '900', '--segment', '0', '--segments', '2'], message: /--identity polls the given ids: it does not go with --segment/ },
  ])('refuses $name with one line and exit 2, polling nothing', async ({ flags, message }) => {
    await registerFour();

    const run = await cli(['poll', ...flags, '--json'], env);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(simulator.stats.requests).toBe(0);
  });
});

describe('the poll summary and exit code', () => {
  test('--json carries every counter after the CONTRACT fields', async () => {
    simulator.world.addIdentity('5');
    await cli(['identities', 'add', '5'], env);

    const summary = lines((await cli(['poll', '--json'], env)).stdout).at(-1);

    expect(summary).toEqual({
      identities: 1, polled: 1, changed: 0, published: 0, failed: 0, notFound: 0, durationMs: expect.any(Number),
      baselines: 1, resent: 0, pollFailed: 0, publishFailed: 0, conflicts: 0, skipped: 0, publishRequests: 0,
      alertsSent: 0, alertsDeferred: 0, alertsDropped: 0,
    });
  });

  test('exits 1 when identities are registered and not one could be polled (a wrong API_BASE_URL), after the summary line', async () => {
    await cli(['identities', 'add', '1', '2'], env);

    const run = await cli(['poll', '--json'], { ...env, API_BASE_URL: 'http://127.0.0.1:9', MAX_ATTEMPTS: '1' });

    expect(run.code).toBe(1);
    expect(lines(run.stdout).at(-1)).toMatchObject({ identities: 2, polled: 0, failed: 2, pollFailed: 2 });
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^unread-notifier: error: none of the 2 identities could be polled \(first error: .+\); check API_BASE_URL/);
  });

  test('exits 0 with no identity registered', async () => {
    expect((await cli(['poll', '--json'], env)).code).toBe(0);
  });

  test('an event and alert SNS did not accept count their identity as failed once (they stay pending); the cycle ran to its end, exit 0', async () => {
    simulator.world.addIdentity('5', [{ objectId: 1, streamId: 1, unread: 1 }]);
    await cli(['identities', 'add', '5'], env);
    await cli(['poll'], env);
    simulator.world.setUnread('5', 1, 3);
    const sns = mockClient(SNSClient);
    try {
      sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
        Successful: [],
        Failed: (input.PublishBatchRequestEntries ?? []).map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
      }));

      const run = await cli(['poll', '--json', '--topic-arn', 'arn:aws:sns:eu-west-1:123456789012:events'], env);

      expect(run.code).toBe(0);
      // The rise owes a `new` alert too: the change and the alert were both refused, by one identity.
      expect(lines(run.stdout).at(-1)).toMatchObject({ polled: 1, changed: 1, published: 0, alertsSent: 0, failed: 1, publishFailed: 2, pollFailed: 0 });
    } finally {
      sns.restore();
    }
    const stored = await dynaliteClient().send(new GetItemCommand({ TableName: table, Key: { identityId: { S: '5' } } }));
    expect(Object.keys(stored.Item?.outbox?.M ?? {})).toHaveLength(2);
  });
});
