import { randomUUID } from 'node:crypto';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';

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

    expect(first).toMatchObject({ code: 0, stdout: `created table ${table}\n` });
    expect(second).toMatchObject({ code: 0, stdout: `table ${table} already exists\n` });
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

  test('adding an identity again updates its label', async () => {
    const table = await freshTable();
    await cli(['identities', 'add', '7', '--label', 'Old', '--table', table]);

    const again = await cli(['identities', 'add', '7', '--label', 'New', '--table', table]);

    expect(again).toMatchObject({ code: 0, stdout: 'updated identity 7 (New)\n' });
    expect(await listed(table)).toEqual([expect.objectContaining({ identityId: 7, label: 'New' })]);
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

      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/invalid identity id/);
      expect(await listed(table)).toEqual([]);
    },
  );

  test('an unknown flag is refused with one line naming it', async () => {
    const table = await freshTable();

    const run = await cli(['identities', 'add', '5', '--lable', 'x', '--table', table]);

    expect(run.code).not.toBe(0);
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

    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/identity 42 is not registered/);
  });

  test('a missing table is reported with the command that creates it', async () => {
    const run = await cli(['identities', 'add', '5', '--table', `missing-${randomUUID()}`]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/does not exist: run 'unread-notifier init' first/);
  });

  test('a bad TABLE_NAME is refused naming the variable', async () => {
    const run = await cli(['identities', 'list'], { TABLE_NAME: 'x' });

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/TABLE_NAME/);
  });
});
