/**
 * The alert policy on the command line, against dynalite, in-process: the policy flags of
 * `identities add|set`, the policy fields of `identities import|export`, the effective policy of
 * `identities show`, and `preview`. Every bad value is refused with one line naming it, exit 2,
 * and the table checked unchanged afterwards.
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { formatLocalTime } from '../../lambda/core/zoned-time';
import { cli, useDynaliteEnvironment, type CliRun } from '../support/cli-harness';
import { dynaliteClient } from '../support/dynalite';

useDynaliteEnvironment();

type Item = Record<string, AttributeValue>;

let table: string;
let env: Record<string, string>;

beforeEach(async () => {
  table = `cli-alerts-${randomUUID()}`;
  env = { TABLE_NAME: table };
  expect((await cli(['init'], env)).code).toBe(0);
});

const run = (args: string[], stdin?: string): Promise<CliRun> => cli(args, env, stdin === undefined ? {} : { stdin });

async function items(): Promise<Map<string, Item>> {
  const { Items = [] } = await dynaliteClient().send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return new Map(Items.map((item) => [item.identityId?.S ?? '', item]));
}

const putRaw = (raw: Item) => dynaliteClient().send(new PutItemCommand({ TableName: table, Item: raw }));

async function policyOf(id: string): Promise<unknown> {
  const raw = (await items()).get(id)?.alertPolicy?.S;
  return raw === undefined ? undefined : JSON.parse(raw);
}

async function showJson(id: string): Promise<{ alertPolicy: Record<string, { value: unknown; default: boolean }>; nextAlert: unknown }> {
  const result = await run(['identities', 'show', id, '--json']);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as { alertPolicy: Record<string, { value: unknown; default: boolean }>; nextAlert: unknown };
}

function oneErrorLine(result: CliRun, message: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(message);
}

describe('policy flags of identities add', () => {
  test('store the identity\'s own values, as the flags write them; show says which values are defaults', async () => {
    const added = await run(['identities', 'add', '5', '--label', 'Support', '--cooldown', '5m', '--quiet-hours', '22:00-07:00', '--time-zone', 'Europe/Berlin', '--notify-cleared']);

    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toBe('added identity 5 (Support), alert policy: cooldown 5m, quietHours 22:00-07:00, timeZone Europe/Berlin, notifyCleared true\n');
    expect(await policyOf('5')).toEqual({ cooldown: '5m', quietHours: '22:00-07:00', timeZone: 'Europe/Berlin', notifyCleared: true });
    expect((await showJson('5')).alertPolicy).toEqual({
      minUnread: { value: 1, default: true },
      cooldown: { value: '5m', default: false },
      quietHours: { value: '22:00-07:00', default: false },
      timeZone: { value: 'Europe/Berlin', default: false },
      remindAfter: { value: 'off', default: true },
      maxReminders: { value: 3, default: true },
      notifyCleared: { value: true, default: false },
      snoozeUntil: { value: 'off', default: true },
    });
  });

  test('the defaults shown are those of the environment (ALERT_*), which the identity\'s own values win over', async () => {
    await run(['identities', 'add', '5', '--cooldown', '5m']);

    const shown = await cli(['identities', 'show', '5', '--json'], { ...env, ALERT_COOLDOWN: '30m', ALERT_MIN_UNREAD: '4' });

    expect(JSON.parse(shown.stdout)).toMatchObject({ alertPolicy: { cooldown: { value: '5m', default: false }, minUnread: { value: 4, default: true } } });
  });

  test.each([
    { flags: ['--min-unread', '0'], message: /^unread-notifier: error: invalid minUnread \(--min-unread\) "0": expected a whole number from 1 to 1000000$/m },
    { flags: ['--cooldown', '5x'], message: /invalid cooldown \(--cooldown\) "5x": expected a duration such as 30s, 15m, 2h or 1d/ },
    { flags: ['--quiet-hours', '25:00-07:00'], message: /invalid quietHours \(--quiet-hours\) "25:00-07:00": expected a daily window HH:MM-HH:MM/ },
    { flags: ['--quiet-hours', '07:00-07:00'], message: /start and end must differ/ },
    { flags: ['--time-zone', 'Mars/Olympus'], message: /invalid timeZone \(--time-zone\) "Mars\/Olympus": expected an IANA time zone/ },
    { flags: ['--remind-after', '10s'], message: /invalid remindAfter \(--remind-after\) "10s": expected a duration from 1m to 366d/ },
    { flags: ['--max-reminders', '101'], message: /invalid maxReminders \(--max-reminders\) "101"/ },
    { flags: ['--snooze-until', '2026-03-01T08:00'], message: /invalid snoozeUntil \(--snooze-until\) "2026-03-01T08:00": expected an ISO 8601 instant with a zone/ },
    { flags: ['--cooldown', 'default'], message: /invalid cooldown \(--cooldown\) "default"/ },
  ])('refuse $flags: one line naming the flag and the value, exit 2, nothing written', async ({ flags, message }) => {
    const before = await items();

    oneErrorLine(await run(['identities', 'add', '5', '6', ...flags]), message);
    expect(await items()).toEqual(before);
  });
});

describe('identities set', () => {
  test('changes only the policy fields given; the others, and the label, stay', async () => {
    await run(['identities', 'add', '5', '--label', 'Support', '--cooldown', '5m', '--time-zone', 'Europe/Berlin']);

    const set = await run(['identities', 'set', '5', '--quiet-hours', '22:00-07:00', '--max-reminders', '2']);

    expect(set).toMatchObject({ code: 0, stdout: 'updated identity 5: quietHours 22:00-07:00, maxReminders 2\n' });
    expect(await policyOf('5')).toEqual({ cooldown: '5m', quietHours: '22:00-07:00', timeZone: 'Europe/Berlin', maxReminders: 2 });
    expect((await items()).get('5')?.label).toEqual({ S: 'Support' });
  });

  test('`off` is a value of the identity\'s own (it wins over a default with quiet hours); `default` gives the field back to the defaults', async () => {
    await run(['identities', 'add', '5', '--quiet-hours', '22:00-07:00', '--cooldown', '5m']);

    await run(['identities', 'set', '5', '--quiet-hours', 'off']);
    const off = await policyOf('5');
    await run(['identities', 'set', '5', '--quiet-hours', 'default', '--cooldown', 'default']);

    expect(off).toEqual({ quietHours: 'off', cooldown: '5m' });
    expect(await policyOf('5')).toBeUndefined();
    expect((await showJson('5')).alertPolicy.quietHours).toEqual({ value: 'off', default: true });
  });

  test('--notify-cleared and --no-notify-cleared', async () => {
    await run(['identities', 'add', '5', '--notify-cleared']);

    await run(['identities', 'set', '5', '--no-notify-cleared']);

    expect(await policyOf('5')).toEqual({ notifyCleared: false });
  });

  test.each([
    { name: 'a bad value', args: ['identities', 'set', '5', '--label', 'New', '--cooldown', '-1m'], message: /invalid cooldown \(--cooldown\) "-1m"/ },
    { name: 'an unregistered id', args: ['identities', 'set', '42', '--cooldown', '5m'], message: /identity 42 is not registered in .*; nothing changed/ },
    { name: 'nothing to set', args: ['identities', 'set', '5'], message: /nothing to set: give --label or an alert policy flag/ },
  ])('refuses $name: one line, exit 2, nothing changed', async ({ args, message }) => {
    await run(['identities', 'add', '5', '--label', 'Old', '--cooldown', '5m']);
    const before = await items();

    oneErrorLine(await run(args), message);
    expect(await items()).toEqual(before);
  });
});

describe('policy fields of identities import and export', () => {
  test('JSON lines carry the policy as the flags write it, and an export imports back', async () => {
    const lines = [
      '{"id":"5","label":"Support","cooldown":"15m","quietHours":"22:00-07:00"}',
      '{"id":"6","minUnread":3,"notifyCleared":true,"timeZone":"America/New_York"}',
      '{"id":"7"}',
    ];
    expect((await run(['identities', 'import', '-'], `${lines.join('\n')}\n`)).code).toBe(0);

    const exported = await run(['identities', 'export', '--json']);
    const other = `cli-alerts-${randomUUID()}`;
    await cli(['init'], { TABLE_NAME: other });
    await cli(['identities', 'import', '-'], { TABLE_NAME: other }, { stdin: exported.stdout });
    const again = await cli(['identities', 'export', '--json'], { TABLE_NAME: other });

    // The fields in the policy's own order, whatever the order of the lines read.
    expect(exported.stdout).toBe(
      '{"id":"5","label":"Support","cooldown":"15m","quietHours":"22:00-07:00"}\n' +
        '{"id":"6","minUnread":3,"timeZone":"America/New_York","notifyCleared":true}\n' +
        '{"id":"7"}\n',
    );
    expect(again.stdout).toBe(exported.stdout);
  });

  test('CSV carries policy columns under a header; an export writes only the columns set', async () => {
    const csv = 'id,label,cooldown,quietHours\n5,Support,20s,22:00-07:00\n6,,,\n';
    expect((await run(['identities', 'import', '-'], csv)).code).toBe(0);

    const exported = await run(['identities', 'export']);

    expect(exported.stdout).toBe('id,label,cooldown,quietHours\n5,Support,20s,22:00-07:00\n6,,,\n');
  });

  test('a line with a bad policy value is refused by its number, naming the field; the others are written', async () => {
    const lines = ['{"id":"5","cooldown":"15m"}', '{"id":"6","quietHours":"22-07"}', '{"id":"7","maxReminders":"many"}'];

    const result = await run(['identities', 'import', '-'], `${lines.join('\n')}\n`);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 2: invalid quietHours \(--quiet-hours\) "22-07": expected a daily window/m);
    expect(result.stderr).toMatch(/^line 3: invalid maxReminders \(--max-reminders\) "many"/m);
    expect([...(await items()).keys()].filter((key) => !key.startsWith('#'))).toEqual(['5']);
  });
});

describe('identities show: the next due alert', () => {
  test('a deferred digest inside quiet hours is due at their end', async () => {
    // Quiet hours around now, whatever the time of the run: from an hour ago to an hour from now (UTC).
    const hhmm = (offsetMs: number): string => new Date(Date.now() + offsetMs).toISOString().slice(11, 16);
    const quiet = `${hhmm(-3_600_000)}-${hhmm(3_600_000)}`;
    await run(['identities', 'add', '5', '--quiet-hours', quiet]);
    // As the cycle stores it after a rise from 0 to 3 held back by quiet hours: waiting, nothing said, deferred.
    const dueAt = Date.parse(`${new Date(Date.now() + 3_600_000).toISOString().slice(0, 16)}:00Z`);
    const state = ['A1', '1', (1 | 8).toString(36), (Date.now() - 60_000).toString(36), '', '0', '0', '1', '0', dueAt.toString(36), ''].join('.');
    const stored = (await items()).get('5') ?? {};
    await putRaw({ ...stored, v: { N: '2' }, total: { N: '3' }, convs: { S: '396001:19155:3' }, alert: { S: state } });

    const shown = await showJson('5');

    expect(shown.nextAlert).toEqual({ kind: 'digest', dueAt: new Date(dueAt).toISOString(), total: 3, lastAlertTotal: 0 });
  });
});

describe('preview', () => {
  /** Ten minutes ago: the alert texts show it in the identity's zone (Europe/Berlin). */
  const waitingSince = Date.now() - 10 * 60_000;
  const since = formatLocalTime(waitingSince, Date.now(), 'Europe/Berlin');

  /** An identity the cycle has seen rise from 1 to 5 unread, nothing said yet: its `new` alert is owed at once. */
  async function waitingIdentity(label = 'Support desk'): Promise<void> {
    await run(['identities', 'add', '558355', '--label', label, '--time-zone', 'Europe/Berlin']);
    const stored = (await items()).get('558355') ?? {};
    const state = ['A1', '1', '1', waitingSince.toString(36), '', '1', '0', '1', '0', '', ''].join('.');
    await putRaw({ ...stored, v: { N: '2' }, total: { N: '5' }, convs: { S: '396001:19155:2;396002:19155:3' }, alert: { S: state } });
  }

  test('prints the Subject, SMS and email of the next alert', async () => {
    await waitingIdentity();

    const result = await run(['preview', '558355']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^The next alert for identity 558355 \(new\), due now \(at the next poll\):\n/);
    expect(result.stdout).toContain('Subject: CommBox: 5 unread waiting for Support desk\n');
    expect(result.stdout).toContain(`SMS (${67 + since.length} characters):\nCommBox: 5 unread in 2 conversations, waiting since ${since} - Support desk\n`);
    expect(result.stdout).toContain(`Email:\nSupport desk (identity 558355): 5 unread in 2 conversations, waiting since ${since}.`);
  });

  test('--json: the texts, the event and when it is due', async () => {
    await waitingIdentity();

    const result = JSON.parse((await run(['preview', '558355', '--json'])).stdout) as Record<string, unknown>;

    expect(result).toMatchObject({
      subject: 'CommBox: 5 unread waiting for Support desk',
      sms: `CommBox: 5 unread in 2 conversations, waiting since ${since} - Support desk`,
      sample: false,
      event: { type: 'unread.alert', kind: 'new', identityId: 558355, total: 5, lastAlertTotal: 1 },
    });
    expect(typeof result.email).toBe('string');
  });

  test('with nothing owed, shows a sample `new` alert for the stored snapshot', async () => {
    await putRaw({ identityId: { S: '7' }, registeredAt: { S: '2026-02-01T08:00:00.000Z' }, v: { N: '1' }, total: { N: '2' }, convs: { S: '1:1:2' } });

    const result = await run(['preview', '7']);

    expect(result.stdout).toMatch(/^No alert is owed or scheduled for identity 7; this is what a `new` alert for its stored snapshot would say:/);
    expect(result.stdout).toContain('Subject: CommBox: 2 unread waiting for identity 7');
  });

  test('an identity before its first poll has nothing to preview yet', async () => {
    await run(['identities', 'add', '8']);

    expect(await run(['preview', '8'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/identity 8 has no snapshot yet/) });
  });

  test.each([
    { name: 'an unregistered id', id: '42', message: /identity 42 is not registered in .*; nothing to preview/ },
    { name: 'a malformed id', id: '4x', message: /invalid identity id "4x"/ },
  ])('refuses $name: one line, exit 2, nothing changed', async ({ id, message }) => {
    await waitingIdentity();
    const before = await items();

    oneErrorLine(await run(['preview', id]), message);
    expect(await items()).toEqual(before);
  });
});
