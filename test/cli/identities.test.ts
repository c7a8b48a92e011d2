import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand, ResourceNotFoundException, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';
import { dynaliteClient } from '../support/dynalite';

useDynaliteEnvironment();

async function freshTable(): Promise<string> {
  const table = `cli-${randomUUID()}`;
  expect((await cli(['init', '--table', table])).code).toBe(0);
  return table;
}

async function listed(table: string): Promise<unknown[]> {
  const { stdout } = await cli(['identities', 'list', '--json', '--table', table]);
  return JSON.parse(stdout) as unknown[];
}

describe('unread-notifier init', () => {
  test('creates the table once and is idempotent', async () => {
    const table = `cli-${randomUUID()}`;

    const first = await cli(['init', '--table', table]);
    const second = await cli(['init'], { TABLE_NAME: table });

    expect(first).toMatchObject({ code: 0, stdout: `created table ${table}\ncreated table ${table}-webhooks\n` });
    expect(second).toMatchObject({ code: 0, stdout: `table ${table} already exists\ntable ${table}-webhooks already exists\n` });
  });

  test('in a local run (the DynamoDB endpoint on loopback) makes a plain table', async () => {
    const table = `cli-${randomUUID()}`;

    expect(await cli(['init', '--table', table])).toMatchObject({ code: 0, stdout: `created table ${table}\ncreated table ${table}-webhooks\n` });

    const { Table } = await dynaliteClient().send(new DescribeTableCommand({ TableName: table }));
    expect(Table?.SSEDescription).toBeUndefined();
    expect(Table?.DeletionProtectionEnabled).not.toBe(true);
  });

  test('outside a local run makes the table as the stack does: protected, encrypted, recoverable', async () => {
    const ddb = mockClient(DynamoDBClient);
    try {
      ddb.on(DescribeTableCommand).rejectsOnce(new ResourceNotFoundException({ message: 'not found', $metadata: {} })).resolves({ Table: { TableStatus: 'ACTIVE' } });
      ddb.on(CreateTableCommand).resolves({});
      ddb.on(UpdateContinuousBackupsCommand).resolves({});

      const run = await cli(['init', '--table', 'unread-notifier'], { AWS_ENDPOINT_URL_DYNAMODB: undefined });

      expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^created table unread-notifier with deletion protection, point-in-time recovery and KMS encryption/) });
      expect(ddb).toHaveReceivedCommandWith(CreateTableCommand, { DeletionProtectionEnabled: true, SSESpecification: { Enabled: true, SSEType: 'KMS' } });
      expect(ddb).toHaveReceivedCommandWith(UpdateContinuousBackupsCommand, { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
    } finally {
      ddb.restore();
    }
  });
});

describe('unread-notifier identities', () => {
  test('add, list and remove an identity with a label', async () => {
    const table = await freshTable();

    expect(await cli(['identities', 'add', '558355', '--label', 'Support', '--table', table])).toMatchObject({ code: 0, stdout: 'added identity 558355 (Support)\n' });
    expect(await listed(table)).toEqual([expect.objectContaining({ identityId: 558355, label: 'Support', total: null })]);
    expect(await cli(['identities', 'remove', '558355', '--table', table])).toMatchObject({ code: 0, stdout: 'removed identity 558355\n' });
    expect(await listed(table)).toEqual([]);
  });

  test('adding an identity again leaves it as it is and says so', async () => {
    const table = await freshTable();
    await cli(['identities', 'add', '7', '--label', 'Old', '--table', table]);

    const again = await cli(['identities', 'add', '7', '--label', 'New', '--table', table]);

    expect(again).toMatchObject({ code: 0, stdout: 'identity 7 already there, left unchanged\n' });
    expect(await listed(table)).toEqual([expect.objectContaining({ identityId: 7, label: 'Old' })]);
  });

  test('the largest int64 id is accepted and listed with every digit', async () => {
    const table = await freshTable();

    expect((await cli(['identities', 'add', '9223372036854775807', '--table', table])).code).toBe(0);

    const { stdout } = await cli(['identities', 'list', '--json', '--table', table]);
    expect(stdout).toContain('"identityId":9223372036854775807');
  });

  test.each(['abc', '1/../2', '-5', '9223372036854775808', '012', '1e3', ' 12', '０１２', '0', ''])(
    'the id %j is refused with one line, a non-zero exit and nothing registered',
    async (bad) => {
      const table = await freshTable();

      const run = await cli(['identities', 'add', bad, '--table', table]);

      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/invalid identity id/);
      expect(await listed(table)).toEqual([]);
    },
  );

  test('an unknown flag is refused with one line naming it', async () => {
    const table = await freshTable();

    const run = await cli(['identities', 'add', '5', '--lable', 'x', '--table', table]);

    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('--lable');
    expect(await listed(table)).toEqual([]);
  });

  test('a label with control characters is refused', async () => {
    const table = await freshTable();

    const run = await cli(['identities', 'add', '5', '--label', 'a\u0007b', '--table', table]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/invalid label/);
    expect(await listed(table)).toEqual([]);
  });

  test('removing an identity that is not registered is an error', async () => {
    const table = await freshTable();

    const run = await cli(['identities', 'remove', '42', '--table', table]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/identity 42 is not registered/);
  });

  test('a missing table is reported with the command that creates it', async () => {
    const run = await cli(['identities', 'add', '5', '--table', `missing-${randomUUID()}`]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/does not exist: run 'unread-notifier init' first/);
  });

  test('an item that cannot be decoded is listed as broken with the reason, between the others', async () => {
    const table = await freshTable();
    await cli(['identities', 'add', '5', '--label', 'Support', '--table', table]);
    await cli(['identities', 'add', '7', '--table', table]);
    await dynaliteClient().send(
      new PutItemCommand({ TableName: table, Item: { identityId: { S: '6' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, total: { S: 'canary-4410' } } }),
    );

    const text = await cli(['identities', 'list', '--table', table]);
    const json = await cli(['identities', 'list', '--json', '--table', table]);

    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')).toEqual(['5\tSupport\tno baseline yet', expect.stringMatching(/^6\t\tbroken: .*total/), '7\t\tno baseline yet', '']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ identityId: 5, label: 'Support' }),
      { identityId: 6, broken: expect.stringContaining('total') },
      expect.objectContaining({ identityId: 7 }),
    ]);
    expect(text.stdout + json.stdout).not.toContain('canary-4410');
  });

  test('a bad TABLE_NAME is refused naming the variable', async () => {
    const run = await cli(['identities', 'list'], { TABLE_NAME: 'x' });

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/TABLE_NAME/);
  });
});
