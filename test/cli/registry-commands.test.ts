/**
 * `identities add|remove|import|export|set|show|list` against dynalite, in-process: every flag,
 * every refusal (one line, its exit code, and the table checked afterwards), and the guarantee
 * that registering again never overwrites what the poll stored.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { WRITES_IN_FLIGHT } from '../../bin/cli/identities-commands';
import { cli, useDynaliteEnvironment, type CliRun } from '../support/cli-harness';
import { dynaliteClient } from '../support/dynalite';

useDynaliteEnvironment();

type Item = Record<string, AttributeValue>;

let table: string;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-commands-'));
});

beforeEach(async () => {
  table = `cli-registry-${randomUUID()}`;
  env = { TABLE_NAME: table };
  expect((await cli(['init'], env)).code).toBe(0);
});

const run = (args: string[], terminal?: { stdin?: string; tty?: boolean }): Promise<CliRun> => cli(args, env, terminal);

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, `${randomUUID()}-${name}`);
  await writeFile(path, text);
  return path;
}

/** Every item of the table, by key, bookkeeping included. */
async function items(): Promise<Map<string, Item>> {
  const { Items = [] } = await dynaliteClient().send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return new Map(Items.map((item) => [item.identityId?.S ?? '', item]));
}

async function item(id: string): Promise<Item | undefined> {
  return (await dynaliteClient().send(new GetItemCommand({ TableName: table, Key: { identityId: { S: id } }, ConsistentRead: true }))).Item;
}

const putRaw = (raw: Item) => dynaliteClient().send(new PutItemCommand({ TableName: table, Item: raw }));

/** An identity the poll has been through: a snapshot, a pending event, a failure streak. */
const POLLED: Item = {
  identityId: { S: '558355' },
  registeredAt: { S: '2026-02-01T08:00:00.000Z' },
  label: { S: 'Support' },
  v: { N: '3' },
  total: { N: '7' },
  convs: { S: '396001:19155:2;396002:19155:5' },
  changedAt: { S: '2026-02-12T15:09:23.998Z' },
  pendingEvent: {
    S: JSON.stringify({
      version: 1, type: 'unread.changed', eventId: 'e-1', identityId: '558355', label: 'Support', previousTotal: 5, total: 7, delta: 2,
      direction: 'increased', conversations: [{ objectId: '396002', streamId: '19155', previous: 3, current: 5 }], observedAt: '2026-02-12T15:09:23.998Z',
    }),
  },
  pendingId: { S: 'e-1' },
  claimUntil: { N: '0' },
  failStreak: { N: '2' },
};

function oneErrorLine(result: CliRun, code: number, message: RegExp): void {
  expect(result.code).toBe(code);
  expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
}

describe('identities add', () => {
  test('registers many ids in one command, the label on each, and sums up', async () => {
    const result = await run(['identities', 'add', '1', '2', '3', '--label', 'Team A']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('added identity 1 (Team A)\nadded identity 2 (Team A)\nadded identity 3 (Team A)\n3 added, 0 already there\n');
    expect([...(await items()).values()].map((i) => [i.identityId?.S, i.label?.S])).toEqual(
      expect.arrayContaining([['1', 'Team A'], ['2', 'Team A'], ['3', 'Team A']]),
    );
  });

  test('an id already registered is left exactly as it is, snapshot and pending event included, and said so (exit 0)', async () => {
    await putRaw(POLLED);

    const result = await run(['identities', 'add', '558355', '9', '--label', 'Other']);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('identity 558355 already there, left unchanged\nadded identity 9 (Other)\n1 added, 1 already there\n');
    expect(await item('558355')).toEqual(POLLED);
  });

  test('one id given twice is registered once', async () => {
    expect((await run(['identities', 'add', '5', '5'])).stdout).toBe('added identity 5\n');
  });

  test.each([
    { name: 'one malformed id among good ones', args: ['1', 'abc', '2'], message: /^unread-notifier: error: invalid identity id "abc"/ },
    { name: 'a label with a control character', args: ['1', '2', '--label', 'a\u0007b'], message: /invalid label/ },
    { name: 'a label over 100 characters', args: ['1', '--label', 'x'.repeat(101)], message: /invalid label: expected 1-100 printable characters/ },
    { name: 'an empty label', args: ['1', '--label', ' '], message: /invalid label/ },
    { name: 'no id', args: [], message: /missing required argument 'id'/ },
  ])('$name: one line, exit 2, nothing written', async ({ args, message }) => {
    const result = await run(['identities', 'add', ...args]);

    oneErrorLine(result, 2, message);
    expect(result.stdout).toBe('');
    expect((await items()).size).toBe(0);
  });
});

describe('identities remove', () => {
  test('removes many ids in one command', async () => {
    await run(['identities', 'add', '1', '2', '3']);

    const result = await run(['identities', 'remove', '1', '3']);

    expect(result).toMatchObject({ code: 0, stdout: 'removed identity 1\nremoved identity 3\n2 removed, 0 were not registered\n' });
    expect([...(await items()).keys()]).toEqual(['2']);
  });

  test.each([
    { name: 'an id that is not registered', args: ['1', '42', '43'], message: /identities 42, 43 are not registered in .*; nothing removed \(--if-exists skips/ },
    { name: 'a malformed id', args: ['1', 'x1'], message: /invalid identity id "x1"/ },
  ])('refuses $name with one line and exit 2, removing nothing', async ({ args, message }) => {
    await run(['identities', 'add', '1', '2']);

    oneErrorLine(await run(['identities', 'remove', ...args]), 2, message);

    expect([...(await items()).keys()].sort()).toEqual(['1', '2']);
  });

  test('with --if-exists skips ids that are not registered and says so (exit 0)', async () => {
    await run(['identities', 'add', '1']);

    const result = await run(['identities', 'remove', '1', '42', '--if-exists']);

    expect(result).toMatchObject({ code: 0, stdout: 'removed identity 1\nidentity 42 was not registered\n1 removed, 1 were not registered\n' });
    expect((await items()).size).toBe(0);
  });
});

describe('identities set', () => {
  test('changes only the label; the snapshot, pending event and streak stay', async () => {
    await putRaw(POLLED);

    const result = await run(['identities', 'set', '558355', '--label', 'Support EU']);

    expect(result).toMatchObject({ code: 0, stdout: 'updated identity 558355: label "Support EU"\n' });
    expect(await item('558355')).toEqual({ ...POLLED, label: { S: 'Support EU' } });
  });

  test.each([
    { name: 'an unregistered id', args: ['42', '--label', 'X'], message: /identity 42 is not registered in .*; nothing changed/ },
    { name: 'no field to set', args: ['558355'], message: /nothing to set: give --label/ },
    { name: 'a bad label', args: ['558355', '--label', 'a\nb'], message: /invalid label/ },
    { name: 'a malformed id', args: ['0', '--label', 'X'], message: /invalid identity id "0"/ },
  ])('refuses $name with one line and exit 2, changing nothing', async ({ args, message }) => {
    await putRaw(POLLED);

    oneErrorLine(await run(['identities', 'set', ...args]), 2, message);

    expect(await items()).toEqual(new Map([['558355', POLLED]]));
  });
});

describe('identities import', () => {
  test('writes the good lines, names each refused line by its number, and exits 1', async () => {
    await putRaw(POLLED);
    const path = await file('mixed.csv', ['id,label', '1,One', 'abc,Bad', '558355,Relabelled', '2,"Two, with a comma"', '3,a,b', '1,Again', '', '4'].join('\n'));

    const result = await run(['identities', 'import', path]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('3 added, 1 already there, 3 refused (lines 3, 6, 7)\n');
    expect(result.stderr.split('\n')).toEqual([
      expect.stringMatching(/^line 3: invalid identity id "abc"/),
      expect.stringMatching(/^line 6: expected at most 2 columns/),
      'line 7: identity 1 is also on line 2',
      'unread-notifier: error: 3 line(s) refused (lines 3, 6, 7); the other lines were written',
      '',
    ]);
    const stored = await items();
    expect([...stored.keys()].sort()).toEqual(['1', '2', '4', '558355']);
    expect(stored.get('1')?.label?.S).toBe('One');
    expect(stored.get('2')?.label?.S).toBe('Two, with a comma');
    expect(stored.get('558355')).toEqual(POLLED);
  });

  test('a re-import leaves every registered identity as it is: snapshots and pending events survive (exit 0)', async () => {
    const path = await file('ids.csv', '558355,Support\n7,Seven\n');
    await run(['identities', 'import', path]);
    await putRaw(POLLED);
    const before = await items();

    const again = await run(['identities', 'import', path]);

    expect(again).toMatchObject({ code: 0, stdout: '0 added, 2 already there, 0 refused\n' });
    expect(await items()).toEqual(before);
  });

  test("reads JSON lines from stdin with '-'", async () => {
    const result = await run(['identities', 'import', '-'], { stdin: '{"id":"5","label":"Five"}\n{"id":6}\n' });

    expect(result).toMatchObject({ code: 0, stdout: '2 added, 0 already there, 0 refused\n' });
    expect((await items()).get('5')?.label?.S).toBe('Five');
  });

  test.each([
    { name: 'a file that does not exist', text: undefined, message: /cannot read .*missing\.csv: no such file/ },
    { name: 'a header with an unknown column', text: 'id,lable\n1,A\n', message: /line 1: unknown column "lable"; the columns are id, label/ },
  ])('refuses $name with one line and exit 2, writing nothing', async ({ text, message }) => {
    const path = text === undefined ? join(dir, 'missing.csv') : await file('bad.csv', text);

    oneErrorLine(await run(['identities', 'import', path]), 2, message);

    expect((await items()).size).toBe(0);
  });

  test('1,000 ids from a CSV in one command (the time is printed with TIMINGS=1, never asserted)', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => String(600_000 + i));
    const path = await file('thousand.csv', `id,label\n${ids.map((id) => `${id},Desk ${id}`).join('\n')}\n`);

    const started = performance.now();
    const result = await run(['identities', 'import', path]);
    const ms = Math.round(performance.now() - started);

    if (process.env.TIMINGS === '1') process.stdout.write(`identities import: 1,000 ids in ${ms} ms against dynalite (${WRITES_IN_FLIGHT} conditional puts in flight)\n`);
    expect(result).toMatchObject({ code: 0, stdout: '1000 added, 0 already there, 0 refused\n' });
    expect((await items()).size).toBe(1000);
  });
});

describe('identities export', () => {
  const labels = ['Support, "EU" desk', 'Ünï 😀', 'plain'];

  test.each([
    { format: 'CSV', flags: [] as string[] },
    { format: 'JSON lines', flags: ['--json'] },
  ])('$format: what it writes imports back to the same registry', async ({ flags }) => {
    await run(['identities', 'add', '3']);
    for (const [i, label] of labels.entries()) await run(['identities', 'add', String(10 + i), '--label', label]);
    await putRaw({ identityId: { S: '#cycle#all' }, endedAt: { S: '2026-02-12T15:10:00.000Z' } });
    const exported = await run(['identities', 'export', ...flags]);
    expect(exported).toMatchObject({ code: 0, stderr: '' });

    table = `cli-registry-${randomUUID()}`;
    env = { TABLE_NAME: table };
    await run(['init']);
    const imported = await run(['identities', 'import', '-'], { stdin: exported.stdout });
    const again = await run(['identities', 'export', ...flags]);

    expect(imported).toMatchObject({ code: 0, stdout: '4 added, 0 already there, 0 refused\n' });
    expect(again.stdout).toBe(exported.stdout);
    expect(exported.stdout).not.toContain('cycle');
  });

  test('CSV by default, with a header and RFC 4180 quoting', async () => {
    await run(['identities', 'add', '10', '--label', labels[0]!]);
    await run(['identities', 'add', '9']);

    expect(await run(['identities', 'export'])).toMatchObject({ code: 0, stdout: 'id,label\n9,\n10,"Support, ""EU"" desk"\n' });
  });

  test('an item that cannot be read is named, the others exported, and the export fails (exit 1)', async () => {
    await run(['identities', 'add', '5']);
    await putRaw({ identityId: { S: '6' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, total: { S: 'x' } });

    const result = await run(['identities', 'export', '--json']);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('{"id":"5"}\n');
    expect(result.stderr).toMatch(/^not exported: item "6" cannot be read \(total is not a non-negative integer\)\n.*1 item\(s\) could not be read/);
  });
});

describe('identities show', () => {
  test('--json: the registration, the snapshot, when it last changed, the last cycle end, the pending event, the streak and the mark', async () => {
    await putRaw({ ...POLLED, notFound: { BOOL: true } });
    await putRaw({ identityId: { S: '#cycle#0/2' }, endedAt: { S: '2026-02-12T15:10:00.000Z' } });
    await putRaw({ identityId: { S: '#cycle#1/2' }, endedAt: { S: '2026-02-12T15:10:02.000Z' } });

    const result = await run(['identities', 'show', '558355', '--json']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('"identityId":558355');
    expect(JSON.parse(result.stdout)).toEqual({
      identityId: 558355,
      label: 'Support',
      registeredAt: '2026-02-01T08:00:00.000Z',
      snapshot: {
        total: 7,
        conversations: [
          { objectId: 396001, streamId: 19155, unread: 2 },
          { objectId: 396002, streamId: 19155, unread: 5 },
        ],
        version: 3,
      },
      lastChangedAt: '2026-02-12T15:09:23.998Z',
      lastCycleEndedAt: '2026-02-12T15:10:02.000Z',
      cycleEnds: [
        { segment: '1/2', endedAt: '2026-02-12T15:10:02.000Z' },
        { segment: '0/2', endedAt: '2026-02-12T15:10:00.000Z' },
      ],
      pendingEvents: [{ eventId: 'e-1', type: 'unread.changed', previousTotal: 5, total: 7, observedAt: '2026-02-12T15:09:23.998Z', claimedUntil: null }],
      failureStreak: 2,
      failing: false,
      notFound: true,
      // No policy of its own: every value is this process's default (no ALERT_* set: the built-in ones).
      alertPolicy: {
        minUnread: { value: 1, default: true },
        cooldown: { value: '15m', default: true },
        quietHours: { value: 'off', default: true },
        timeZone: { value: 'UTC', default: true },
        remindAfter: { value: 'off', default: true },
        maxReminders: { value: 3, default: true },
        notifyCleared: { value: false, default: true },
        snoozeUntil: { value: 'off', default: true },
      },
      // Stored before alerts existed: waiting at its stored total counts as told; nothing is owed.
      nextAlert: null,
    });
  });

  test('as text, one line per fact', async () => {
    await putRaw(POLLED);
    await putRaw({ identityId: { S: '#cycle#all' }, endedAt: { S: '2026-02-12T15:10:00.000Z' } });

    const { code, stdout } = await run(['identities', 'show', '558355']);

    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      'identity      558355',
      'label         Support',
      'registered    2026-02-01T08:00:00.000Z',
      'snapshot      7 unread in 2 conversation(s) (version 3)',
      '              conversation 396001 (stream 19155): 2 unread',
      '              conversation 396002 (stream 19155): 5 unread',
      'last changed  2026-02-12T15:09:23.998Z',
      'last cycle    ended 2026-02-12T15:10:00.000Z (whole table)',
      'pending       event e-1 (5 → 7 unread, observed 2026-02-12T15:09:23.998Z), sent again first by the next cycle',
      'failures      2 cycle(s) in a row',
      'not found     no',
      'alert policy  minUnread 1 (default), cooldown 15m (default), quietHours off (default), timeZone UTC (default)',
      '              remindAfter off (default), maxReminders 3 (default), notifyCleared false (default), snoozeUntil off (default)',
      'next alert    none owed or scheduled',
      '',
    ]);
  });

  test('an identity before its first poll', async () => {
    await run(['identities', 'add', '5']);

    const { stdout } = await run(['identities', 'show', '5']);

    expect(stdout).toMatch(/^snapshot {6}none yet: the next poll records a baseline\nlast changed  never\nlast cycle    none has ended yet\npending       none\nfailures      none\n/m);
  });

  test.each([
    { name: 'an unregistered id', id: '42', code: 2, message: /identity 42 is not registered in / },
    { name: 'a malformed id', id: '4x', code: 2, message: /invalid identity id "4x"/ },
    { name: 'an item that cannot be read', id: '6', code: 1, message: /identity 6 is registered but its item cannot be read: total is not/ },
  ])('$name: one line, exit $code, nothing changed', async ({ id, code, message }) => {
    await putRaw({ identityId: { S: '6' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, total: { S: 'x' } });
    const before = await items();

    oneErrorLine(await run(['identities', 'show', id]), code, message);

    expect(await items()).toEqual(before);
  });
});

describe('identities list', () => {
  test('--json carries the times show has', async () => {
    await putRaw(POLLED);
    await run(['identities', 'add', '5']);
    await putRaw({ identityId: { S: '#cycle#all' }, endedAt: { S: '2026-02-12T15:10:00.000Z' } });

    const rows = JSON.parse((await run(['identities', 'list', '--json'])).stdout) as unknown[];

    expect(rows).toEqual([
      expect.objectContaining({ identityId: 5, lastChangedAt: null, lastCycleEndedAt: '2026-02-12T15:10:00.000Z' }),
      expect.objectContaining({ identityId: 558355, registeredAt: '2026-02-01T08:00:00.000Z', lastChangedAt: '2026-02-12T15:09:23.998Z', lastCycleEndedAt: '2026-02-12T15:10:00.000Z' }),
    ]);
  });

  test('a header line only on a terminal', async () => {
    await run(['identities', 'add', '5']);

    expect((await run(['identities', 'list'], { tty: true })).stdout).toBe('id\tlabel\tstate\n5\t\tno baseline yet\n');
    expect((await run(['identities', 'list'])).stdout).toBe('5\t\tno baseline yet\n');
  });
});

describe('the progress bar', () => {
  const ids = Array.from({ length: 50 }, (_, i) => String(700 + i));

  test.each([
    { command: 'add', args: () => ['identities', 'add', ...ids] },
    { command: 'import', args: async () => ['identities', 'import', await file('ids.csv', ids.join('\n'))] },
    { command: 'remove', args: () => ['identities', 'remove', '--if-exists', ...ids] },
  ])('$command draws one on a terminal (stderr), erases it, and draws none when piped', async ({ args }) => {
    const onTerminal = await run(await args(), { tty: true });
    const piped = await run(await args());

    expect(onTerminal.code).toBe(0);
    expect(onTerminal.stderr).toMatch(/^\r\[#*-*\] \d+\/50 ids/);
    expect(onTerminal.stderr).toContain('\r[##############################] 50/50 ids');
    expect(onTerminal.stderr.endsWith('\r\u001b[2K')).toBe(true);
    expect(piped.stderr).toBe('');
  });
});
