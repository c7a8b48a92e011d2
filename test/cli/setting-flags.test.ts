/**
 * The global flags stand for environment variables (CONTRACT.md, Configuration). One parser per
 * setting checks both; a refusal names what the user gave: the flag, or the variable.
 */
import { randomUUID } from 'node:crypto';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';

useDynaliteEnvironment();

const SETTINGS = [
  { flag: '--table', variable: 'TABLE_NAME', bad: 'a b', message: "must be 3-255 characters of letters, digits, '_', '-' or '.'" },
  { flag: '--api-base-url', variable: 'API_BASE_URL', bad: 'http://api.commbox.io', message: 'must use https' },
  { flag: '--topic-arn', variable: 'TOPIC_ARN', bad: 'not-an-arn', message: 'is not an SNS topic ARN' },
  { flag: '--concurrency', variable: 'POLL_CONCURRENCY', bad: '0', message: 'must be an integer from 1 to 1000' },
];

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the global setting flags', () => {
  test.each(SETTINGS)('$flag $bad is refused with one line naming the flag and exit code 2', async ({ flag, variable, bad, message }) => {
    const run = await cli(['identities', 'list', flag, bad]);

    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^unread-notifier: error: ${escaped(flag)} ${escaped(message)}`))]);
    expect(run.stderr).not.toContain(variable);
  });

  test.each(SETTINGS)('$variable=$bad is refused with one line naming the variable and exit code 2', async ({ flag, variable, bad, message }) => {
    const run = await cli(['identities', 'list'], { [variable]: bad });

    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^unread-notifier: error: ${variable} ${escaped(message)}`))]);
    expect(run.stderr).not.toContain(flag);
  });

  test.each(SETTINGS)('an empty $flag is refused, not taken as unset', async ({ flag }) => {
    const run = await cli(['identities', 'list', flag, '']);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^unread-notifier: error: ${escaped(flag)} `));
  });

  test('a flag wins over its variable, which is then not read', async () => {
    const table = `cli-flags-${randomUUID()}`;

    const run = await cli(['init', '--table', table, '--concurrency', '8'], { TABLE_NAME: 'x', POLL_CONCURRENCY: 'many' });

    expect(run).toMatchObject({ code: 0, stdout: `created table ${table}\ncreated table ${table}-webhooks\n` });
  });

  test('a refused flag changes nothing: init creates no table', async () => {
    const table = `cli-flags-${randomUUID()}`;

    const refused = await cli(['init', '--table', table, '--concurrency', '0']);
    const list = await cli(['identities', 'list', '--table', table]);

    expect(refused.code).toBe(2);
    expect(list.stderr).toMatch(/does not exist: run 'unread-notifier init' first/);
  });

  test('a refused --api-base-url does not repeat credentials written into it', async () => {
    const run = await cli(['identities', 'list', '--api-base-url', 'http://user:pa55word-canary@api.commbox.io']);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^unread-notifier: error: --api-base-url must use https/);
    expect(run.stderr).not.toContain('pa55word-canary');
  });
});
