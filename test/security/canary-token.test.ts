/**
 * A canary token is handed to every path that holds the real one: configuration, the source
 * and its errors, the CLI with its warnings, events and summary, whether CommBox accepts the
 * token or refuses it. It must never come out anywhere.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { CommBoxObjectsSource } from '../../lambda/adapters/commbox/commbox-objects-source';
import { StaticTokenProvider } from '../../lambda/adapters/token-provider';
import { loadConfig, Secret } from '../../lambda/config';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { startCommBoxSimulator, type CommBoxSimulator, type SimulatedFault } from '../../local/commbox-simulator';
import { cli, useDynaliteEnvironment, type CliRun } from '../support/cli-harness';

const CANARY = 'canary-token-5c0ffee-d0-not-print';

useDynaliteEnvironment();

let simulator: CommBoxSimulator;

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 11, token: CANARY, timeoutHoldMs: 500 });
});

afterAll(async () => {
  await simulator.close();
});

/** Everything a value can print as. */
function printed(value: unknown): string {
  const own = value instanceof Error ? JSON.stringify(value, Object.getOwnPropertyNames(value)) : JSON.stringify(value);
  return [String(value), inspect(value, { depth: 10, showHidden: true }), own ?? ''].join('\n');
}

describe('the configuration', () => {
  test('prints the token as [redacted] however it is printed', () => {
    const config = loadConfig({ API_TOKEN: CANARY });
    const token = config.token?.kind === 'value' ? config.token.token : undefined;

    expect(printed(config)).not.toContain(CANARY);
    expect(printed(token)).not.toContain(CANARY);
    expect(`${String(token)}`).toBe('[redacted]');
  });
});

describe('the CommBox source', () => {
  const faults: readonly (readonly [string, readonly SimulatedFault[]])[] = [
    ['a timeout', ['timeout', 'timeout']],
    ['a 500', [{ status: 500 }, { status: 500 }]],
    ['a 429', [{ status: 429 }, { status: 429 }]],
    ['a malformed body', ['malformed', 'malformed']],
    ['a body status 500', ['bodyStatus500', 'bodyStatus500']],
    ['a wrong shape', ['wrongShape', 'wrongShape']],
    ['a redirect', ['redirect']],
    ['a reset connection', ['reset', 'reset']],
    ['a 400', [{ status: 400 }]],
  ];

  test.each(faults)('an error after %s holds no trace of the token', async (_name, script) => {
    const id = '930001';
    simulator.world.addIdentity(id);
    simulator.faults.forIdentity(id, ...script);
    const source = sourceWith(CANARY);

    const error = await source.fetchUnread(parseIdentityId(id)).then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );

    expect(printed(error)).not.toContain(CANARY);
    expect(printed((error as Error).cause)).not.toContain(CANARY);
  });

  test('the error of a refused token holds no trace of it', async () => {
    simulator.world.addIdentity('930002');
    const source = sourceWith(`${CANARY}-refused`);

    const error = await source.fetchUnread(parseIdentityId('930002')).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'UpstreamUnauthorizedError' });
    expect(printed(error)).not.toContain(CANARY);
  });
});

describe('the CLI', () => {
  let table: string;
  const runs: CliRun[] = [];
  const env = (token: string) => ({ API_TOKEN: token, API_BASE_URL: simulator.baseUrl, REQUEST_TIMEOUT_MS: '200', MAX_ATTEMPTS: '2' });

  beforeAll(async () => {
    table = `security-canary-${randomUUID()}`;
    await cli(['init', '--table', table]);
    const ids = simulator.world.populate(12, { firstId: 931_001 });
    for (const id of ids) await cli(['identities', 'add', id, '--label', 'Support', '--table', table]);
    runs.push(await cli(['poll', '--json', '--table', table], env(CANARY)));
    simulator.tick(0.5);
    simulator.faults.forIdentity(ids[0] as string, 'timeout', 'timeout');
    simulator.faults.forIdentity(ids[1] as string, 'wrongShape', 'wrongShape');
    simulator.faults.forIdentity(ids[2] as string, { status: 500 }, { status: 503 });
    simulator.faults.forIdentity(ids[3] as string, 'redirect');
    simulator.faults.forIdentity(ids[4] as string, { status: 404 });
    runs.push(await cli(['poll', '--json', '--table', table], env(CANARY)));
    runs.push(await cli(['poll', '--table', table], env(`${CANARY}-rotated-away`)));
    runs.push(await cli(['identities', 'list', '--table', table], env(CANARY)));
  });

  test('polls with the token and prints events, warnings and the summary', () => {
    const [, second] = runs;

    expect(second?.code).toBe(0);
    expect(second?.stdout).toContain('"type":"unread.changed"');
    expect(second?.stderr).toContain('warning: identity');
  });

  test('stops with exit code 1 when the token is refused', () => {
    expect(runs[2]).toMatchObject({ code: 1, stderr: expect.stringContaining('CommBox refused API_TOKEN (HTTP 401); check the token') });
  });

  test('never prints the token, in any output of any run', () => {
    for (const run of runs) {
      expect(run.stdout).not.toContain(CANARY);
      expect(run.stderr).not.toContain(CANARY);
    }
  });
});

function sourceWith(token: string): CommBoxObjectsSource {
  return new CommBoxObjectsSource({
    baseUrl: new URL(simulator.baseUrl),
    tokens: new StaticTokenProvider(new Secret(token)),
    timeoutMs: 200,
    maxAttempts: 2,
    maxConcurrency: 2,
    baseDelayMs: 1,
    maxDelayMs: 2,
  });
}
