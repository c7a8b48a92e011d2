import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import packageJson from '../../package.json';
import { createTestTable } from '../support/dynalite';

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

/** Runs the built CLI; resolves with its exit code and output once it ended. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv, options: { closeStdout?: boolean } = {}) {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // The reader went away before the command wrote anything: `… | head -0`, the earliest `head -1` can stop.
  if (options.closeStdout) child.stdout.destroy();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** An environment with nothing of the developer's AWS setup in it. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'unread-notifier-home-'));
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

describe('a closed pipe (`unread-notifier … | head -1`)', () => {
  let table: string;
  let simulator: CommBoxSimulator;
  beforeAll(async () => {
    const created = await createTestTable();
    table = created.tableName;
    simulator = await startCommBoxSimulator({ seed: 3 });
    for (const id of simulator.world.populate(3, { firstId: 558355 })) await created.registry.register(parseIdentityId(id));
    created.client.destroy();
  });
  afterAll(() => simulator.close());

  const localEnv = () => cleanEnv({ AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNALITE_ENDPOINT!, AWS_REGION: 'local', TABLE_NAME: table });

  test('identities list stops quietly with exit code 0', async () => {
    const { done } = spawnCli(['identities', 'list'], localEnv(), { closeStdout: true });

    expect(await done).toMatchObject({ code: 0, stderr: '' });
  });

  test('poll stops quietly with exit code 0, no stack trace', async () => {
    const { done } = spawnCli(['poll', '--json'], { ...localEnv(), API_BASE_URL: simulator.baseUrl, API_TOKEN: simulator.token }, { closeStdout: true });

    const run = await done;

    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/EPIPE|\n\s+at /);
  });
});

describe('the AWS region', () => {
  test('missing outside a local run: exit code 2 with a hint, one line', () => {
    const run = spawnSync(process.execPath, [bin, 'identities', 'list'], { encoding: 'utf8', env: cleanEnv() });

    expect(run.status).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^unread-notifier: error: no AWS region: set AWS_REGION .* a local run .* needs none$/)]);
  });

  test('not needed in a local run (dynalite on loopback)', async () => {
    const { tableName, client } = await createTestTable();
    client.destroy();

    // Not spawnSync: with one test file jest runs it in the process that serves dynalite.
    const run = await spawnCli(['identities', 'list', '--table', tableName], cleanEnv({ AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNALITE_ENDPOINT! })).done;

    expect(run).toEqual({ code: 0, signal: null, stdout: `no identities registered in ${tableName}\n`, stderr: '' });
  });
});

describe('unread-notifier simulator', () => {
  test('prints an export line for API_BASE_URL and API_TOKEN, serves any id, and stops cleanly on SIGTERM', async () => {
    const { child, done } = spawnCli(['simulator', '--port', '0', '--token', 'local-token', '--identities', '2'], cleanEnv());
    const firstLine = await new Promise<string>((resolve) => {
      let seen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('\n')) resolve(seen.split('\n')[0]!);
      });
    });
    const [, baseUrl, token] = /^export API_BASE_URL=(http:\/\/127\.0\.0\.1:\d+) API_TOKEN=(\S+)$/.exec(firstLine) ?? [];

    const known = await fetch(`${baseUrl}/v2/users/identities/558355/objects`, { headers: { authorization: `Bearer ${token}` } });
    const madeUp = await fetch(`${baseUrl}/v2/users/identities/9000000001/objects`, { headers: { authorization: `Bearer ${token}` } });
    const wrongToken = await fetch(`${baseUrl}/v2/users/identities/558355/objects`, { headers: { authorization: 'Bearer nope' } });
    child.kill('SIGTERM');
    const run = await done;

    expect(token).toBe('local-token');
    expect([known.status, madeUp.status, wrongToken.status]).toEqual([200, 200, 401]);
    expect(await madeUp.json()).toMatchObject({ status: 200, data: expect.any(Array) });
    expect(run).toMatchObject({ code: 0, signal: null });
    expect(run.stderr).toMatch(/^CommBox simulator on http:\/\/127\.0\.0\.1:\d+, token local-token\nidentities 558355-558356 have conversations;/);
    expect(run.stderr).toMatch(/simulator stopped \(SIGTERM\)\n$/);
    await expect(fetch(`${baseUrl}/v2/users/identities/558355/objects`)).rejects.toThrow();
  });

  test.each([
    [['--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['--token', 'has space'], /--token must be 1-256 characters/],
    [['--identities', 'many'], /--identities must be an integer from 0 to 100000/],
  ])('%j is refused with one line and exit code 2', (args, message) => {
    const run = spawnSync(process.execPath, [bin, 'simulator', ...args], { encoding: 'utf8', env: cleanEnv() });

    expect(run.status).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
  });
});

test('--version prints the version of package.json', () => {
  const run = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });

  expect(run).toMatchObject({ status: 0, stdout: `${packageJson.version}\n` });
});
