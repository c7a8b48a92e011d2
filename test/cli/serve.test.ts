/**
 * `unread-notifier serve` end to end, as a user runs it: the built CLI in a process of its own,
 * on dynalite and the CommBox simulator, asked over HTTP as curl would, stopped with SIGTERM.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';
import { createTestTable } from '../support/dynalite';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'unread-notifier.js');
const SECRET = 'serve-test-secret-5b7d9c1e3a';
const REGISTERED = '558355';

useDynaliteEnvironment();

let simulator: CommBoxSimulator;
let tableName: string;

beforeAll(async () => {
  // What `npm ci` runs through `prepare`: the CLI bundled into plain JavaScript.
  execFileSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs')], { cwd: root });
  simulator = await startCommBoxSimulator({ seed: 9 });
  simulator.world.addIdentity(REGISTERED, [{ objectId: 396001, streamId: 19155, unread: 1 }]);
  simulator.world.addIdentity('558356', [{ objectId: 396002, streamId: 19155, unread: 0 }]);
  const table = await createTestTable();
  tableName = table.tableName;
  await table.registry.register(parseIdentityId(REGISTERED));
  await table.registry.register(parseIdentityId('558356'));
});

afterAll(() => simulator.close());

function environment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNALITE_ENDPOINT,
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TABLE_NAME: tableName,
    API_BASE_URL: simulator.baseUrl,
    API_TOKEN: simulator.token,
    REPOLL_SECRET: SECRET,
    ...extra,
  };
}

/** A running `serve`, with what it printed so far and a way to wait for a line. */
class Serve {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [bin, 'serve', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => this.add('stdout', chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => this.add('stderr', chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first match of `pattern` in the stream, once it has been printed. */
  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = this[stream].match(pattern);
      if (match) return match;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  private add(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this[stream] += chunk.toString('utf8');
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

describe('unread-notifier serve, end to end on dynalite', () => {
  let serve: Serve;
  let base: string;

  beforeAll(async () => {
    serve = new Serve(['--port', '0', '--interval', '600'], environment());
    base = (await serve.waitFor('stderr', /listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    await serve.waitFor('stderr', /cycle 1: polled 2\/2/);
  });

  afterAll(async () => {
    serve.kill('SIGKILL');
    await serve.exited;
  });

  test('GET /health answers 200 with the last cycle', async () => {
    const response = await fetch(`${base}/health`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', cycles: 1, lastCycle: { identities: 2, polled: 2 } });
  });

  test('POST /repoll with a registered id (Bearer secret) answers 202 at once and polls that identity', async () => {
    simulator.world.setUnread(REGISTERED, 396001, 4);
    const before = simulator.requestCount(REGISTERED);

    const response = await fetch(`${base}/repoll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify({ identityIds: [REGISTERED, '999'] }),
    });

    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: [REGISTERED], ignored: [{ reason: 'unregistered', id: '999' }] });
    const line = (await serve.waitFor('stdout', /^\{.*"identityId":558355.*\}$/m))[0];
    expect(JSON.parse(line)).toMatchObject({ type: 'unread.changed', identityId: 558355, previousTotal: 1, total: 4 });
    await serve.waitFor('stderr', /re-polled identity 558355 \d+\.\d s after the request: 1 event\(s\) published/);
    expect(simulator.requestCount(REGISTERED)).toBe(before + 1);
    expect(simulator.requestCount('558356')).toBe(1);
  });

  test('a CommBox webhook on /repoll/<secret> with an encoded identity id (3 * 2^50 + n) polls identity n', async () => {
    simulator.world.setUnread(REGISTERED, 396001, 6);
    simulator.setWebhook({ url: `${base}/repoll/${SECRET}` });

    const [status] = await simulator.sendWebhook(REGISTERED);

    expect(status).toBe(202);
    await serve.waitFor('stdout', /"previousTotal":4,"total":6/);
  });

  test('a wrong secret is 401 and an oversized body 413, each with a one-line reason', async () => {
    const wrong = await fetch(`${base}/repoll/not-the-secret-at-all`, { method: 'POST', body: '{"identityIds":["558355"]}' });
    const big = await fetch(`${base}/repoll`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` }, body: 'x'.repeat(200 * 1024) });

    expect([wrong.status, await wrong.json()]).toEqual([401, { error: 'wrong secret' }]);
    expect([big.status, await big.json()]).toEqual([413, { error: 'body is over 64 KB' }]);
  });

  test('SIGTERM stops it cleanly (exit 0), and nothing it printed holds the secret', async () => {
    serve.kill('SIGTERM');

    expect(await serve.exited).toBe(0);
    expect(serve.stderr).toMatch(/SIGTERM: stopping/);
    expect(serve.stderr.trimEnd()).toMatch(/serve: stopped$/);
    expect(serve.stdout + serve.stderr).not.toContain(SECRET);
  });
});

/** Resolves once `condition` holds, checking every few milliseconds (for what only the simulator's counters show). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('unread-notifier serve, stopped during a cycle', () => {
  test('Ctrl-C (SIGINT) while an identity is in flight: it finishes (here: times out), the cycle ends, exit 0', async () => {
    // The first cycle's request for this identity gets no answer; the client gives up after 500 ms.
    simulator.faults.forIdentity('558356', 'timeout');
    const asked = simulator.requestCount('558356');
    const serve = new Serve(['--port', '0'], environment({ REQUEST_TIMEOUT_MS: '500', MAX_ATTEMPTS: '1' }));
    await serve.waitFor('stderr', /listening on/);
    await until(() => simulator.requestCount('558356') > asked);

    serve.kill('SIGINT');

    expect(await serve.exited).toBe(0);
    expect(serve.stderr).toMatch(/SIGINT: stopping/);
    expect(serve.stderr).toMatch(/warning: identity 558356 failed/);
    expect(serve.stderr).toMatch(/cycle 1: polled 1\/2, .* 1 failed/);
    expect(serve.stderr.trimEnd()).toMatch(/serve: stopped$/);
  });
});

describe('unread-notifier serve refuses to start without a usable secret', () => {
  test('without REPOLL_SECRET: exit 2, one line naming the variable', async () => {
    const run = await cli(['serve', '--port', '0'], { ...environment(), REPOLL_SECRET: undefined });

    expect(run.code).toBe(2);
    expect(run.stderr).toBe("unread-notifier: error: missing REPOLL_SECRET: serve needs the re-poll endpoint's secret (16 or more characters without spaces)\n");
  });

  test('with a secret too short: exit 2, the problem named and the value never printed', async () => {
    const run = await cli(['serve', '--port', '0'], { ...environment(), REPOLL_SECRET: 'tooShort7' });

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/REPOLL_SECRET: the secret is shorter than 16 characters/);
    expect(run.stderr + run.stdout).not.toContain('tooShort7');
  });

  test('a bad --port or --interval is refused before anything starts', async () => {
    expect((await cli(['serve', '--port', '70000'], environment())).stderr).toMatch(/--port must be an integer from 0 to 65535/);
    expect((await cli(['serve', '--interval', 'soon'], environment())).code).toBe(2);
  });
});
