/**
 * The token travels to API_BASE_URL: anything but https is refused, except plain http to this
 * machine (the simulator). The refusal names the variable and says what is wanted.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError, loadConfig } from '../../lambda/config';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';

const REFUSED = [
  'http://api.commbox.io',
  'http://10.0.0.5:8080',
  'http://127.0.0.1.nip.io',
  'http://localhost.evil.example',
  'http://0.0.0.0:8080',
  'http://[::2]:8080',
  'ftp://api.commbox.io',
  'ws://api.commbox.io',
  'file:///etc/passwd',
];

const ACCEPTED = ['https://api.commbox.io', 'https://eu.api.commbox.io:8443', 'http://127.0.0.1:9000', 'http://localhost:3000', 'http://[::1]:9000'];

useDynaliteEnvironment();

describe('loadConfig', () => {
  test.each(REFUSED)('refuses API_BASE_URL=%s, naming the variable and asking for https', (url) => {
    expect(() => loadConfig({ API_BASE_URL: url })).toThrow(ConfigError);
    expect(() => loadConfig({ API_BASE_URL: url })).toThrow(/^API_BASE_URL must use https \(plain http is allowed only for localhost\)/);
  });

  test.each(ACCEPTED)('accepts API_BASE_URL=%s', (url) => {
    expect(loadConfig({ API_BASE_URL: url }).apiBaseUrl.origin).toBe(new URL(url).origin);
  });

  test('does not repeat credentials written into the URL', () => {
    const message = errorMessage(() => loadConfig({ API_BASE_URL: 'http://user:pa55word-canary@api.commbox.io' }));

    expect(message).toMatch(/^API_BASE_URL/);
    expect(message).not.toContain('pa55word-canary');
  });
});

describe('unread-notifier poll', () => {
  let table: string;

  beforeAll(async () => {
    table = `security-url-${randomUUID()}`;
    expect((await cli(['init', '--table', table])).code).toBe(0);
    expect((await cli(['identities', 'add', '558355', '--table', table])).code).toBe(0);
  });

  test('refuses a non-https API_BASE_URL with one clear line and exit code 2, polling nothing', async () => {
    const run = await cli(['poll', '--json', '--table', table], { API_BASE_URL: 'http://api.commbox.io', API_TOKEN: 'tok' });

    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^unread-notifier: error: API_BASE_URL must use https/)]);
  });

  test('refuses the same URL given as --api-base-url', async () => {
    const run = await cli(['poll', '--table', table, '--api-base-url', 'http://api.commbox.io'], { API_TOKEN: 'tok' });

    expect(run.code).toBe(2);
    // Named as the user gave it: the flag, not the variable it stands for.
    expect(run.stderr).toMatch(/--api-base-url must use https/);
  });

  test('leaves the table as it was', async () => {
    const { stdout } = await cli(['identities', 'list', '--json', '--table', table]);

    expect(JSON.parse(stdout)).toEqual([expect.objectContaining({ identityId: 558355, total: null, failureStreak: 0 })]);
  });
});

function errorMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}
