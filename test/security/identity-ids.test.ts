/**
 * Identity ids become part of an upstream URL and a table key: only a canonical positive int64
 * decimal gets through, at every door (the parser, the CLI, the source itself).
 */
import { randomUUID } from 'node:crypto';
import { CommBoxObjectsSource } from '../../lambda/adapters/commbox/commbox-objects-source';
import { StaticTokenProvider } from '../../lambda/adapters/token-provider';
import { Secret } from '../../lambda/config';
import { UpstreamError } from '../../lambda/core/errors';
import { InvalidIdentityIdError, parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import { startCommBoxSimulator } from '../../local/commbox-simulator';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';

const INT64_MAX = '9223372036854775807';

/** Each with what makes it dangerous or ambiguous. */
const REFUSED: readonly (readonly [string, string])[] = [
  ['1/../2', 'path traversal'],
  ['-1', 'a sign'],
  ['1e3', 'an exponent'],
  ['０１２', 'full-width digits'],
  [' 12', 'a leading space'],
  ['012', 'a leading zero'],
  ['9223372036854775808', 'int64 max + 1'],
  ['0', 'zero'],
  ['12\n', 'a trailing newline'],
  ['1%2F..%2F2', 'an encoded slash'],
  ['', 'nothing'],
];

useDynaliteEnvironment();

describe('parseIdentityId', () => {
  test.each(REFUSED)('refuses %j (%s)', (raw) => {
    expect(() => parseIdentityId(raw)).toThrow(InvalidIdentityIdError);
  });

  test('accepts the largest int64, 9223372036854775807, with every digit', () => {
    expect(parseIdentityId(INT64_MAX)).toBe(INT64_MAX);
  });
});

describe('the CLI', () => {
  let table: string;

  beforeAll(async () => {
    table = `security-ids-${randomUUID()}`;
    expect((await cli(['init', '--table', table])).code).toBe(0);
  });

  test.each(REFUSED.filter(([raw]) => raw !== ''))('refuses to register %j (%s) with one line and exit code 2', async (raw) => {
    const run = await cli(['identities', 'add', raw, '--table', table]);

    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining('invalid identity id')]);
  });

  test.each(REFUSED.filter(([raw]) => raw !== ''))('refuses to remove %j (%s)', async (raw) => {
    const run = await cli(['identities', 'remove', raw, '--table', table]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid identity id');
  });

  test('registers nothing for any refused id', async () => {
    const { stdout } = await cli(['identities', 'list', '--json', '--table', table]);

    expect(JSON.parse(stdout)).toEqual([]);
  });

  test('registers the largest int64 and lists it with every digit', async () => {
    const added = await cli(['identities', 'add', INT64_MAX, '--table', table]);
    const { stdout } = await cli(['identities', 'list', '--json', '--table', table]);

    expect(added.code).toBe(0);
    expect(stdout).toContain(`"identityId":${INT64_MAX}`);
  });
});

describe('the CommBox source', () => {
  test.each(REFUSED)('refuses %j (%s) before any request, should one get past the parser', async (raw) => {
    const simulator = await startCommBoxSimulator({ token: 'tok' });
    try {
      const source = new CommBoxObjectsSource({
        baseUrl: new URL(simulator.baseUrl),
        tokens: new StaticTokenProvider(new Secret('tok')),
        timeoutMs: 1000,
        maxAttempts: 1,
        maxConcurrency: 1,
      });

      await expect(source.fetchUnread(raw as IdentityId)).rejects.toBeInstanceOf(UpstreamError);
      expect(simulator.stats.requests).toBe(0);
    } finally {
      await simulator.close();
    }
  });
});
