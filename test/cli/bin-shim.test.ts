import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'unread-notifier.js');

beforeAll(() => {
  // What `npm ci` runs through `prepare`: the CLI bundled into plain JavaScript.
  execFileSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs')], { cwd: root });
});

describe('the unread-notifier executable', () => {
  test('runs on plain node and prints its help', () => {
    const run = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/Usage: unread-notifier/);
    expect(run.stdout).toMatch(/identities/);
  });

  test('refuses a bad id with one line on stderr and exit code 2', () => {
    const run = spawnSync(process.execPath, [bin, 'identities', 'add', '1/../2'], { encoding: 'utf8', env: { ...process.env, TABLE_NAME: 'nowhere' } });

    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^unread-notifier: error: invalid identity id "1\/..\/2"/)]);
  });
});
