import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../lambda/config';
import { describeFailure, MISSING_CREDENTIALS_HINT, MISSING_REGION_HINT } from '../../bin/cli/failure';
import { UsageError } from '../../bin/cli/io';
import { settleRegion } from '../../bin/cli/local-run';
import packageJson from '../../package.json';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';

useDynaliteEnvironment();

const refused = (address: string, port: number): Error =>
  Object.assign(new Error(`connect ECONNREFUSED ${address}:${port}`), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address, port });

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('unread-notifier --version', () => {
  test('prints the version of package.json', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${packageJson.version}\n`, stderr: '' });
  });
});

describe('an unreachable service', () => {
  test('DynamoDB is named by host and port in one line, exit code 1', async () => {
    const port = await closedPort();
    const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${port}`;
    try {
      const run = await cli(['identities', 'list']);

      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(`127.0.0.1:${port}`)]);
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
    }
  });
});

describe('describeFailure', () => {
  test('a refused connection inside an AggregateError (localhost: ::1 and 127.0.0.1) is named', () => {
    const error = new AggregateError([refused('::1', 8000), refused('127.0.0.1', 8000)], '');

    expect(describeFailure(error)).toEqual({ message: 'could not connect (ECONNREFUSED [::1]:8000)', exitCode: 1 });
  });

  test('a wrapped network error gets the host and port of its cause', () => {
    const error = new Error('cannot read the registry', { cause: new TypeError('fetch failed', { cause: refused('127.0.0.1', 8001) }) });

    expect(describeFailure(error).message).toBe('cannot read the registry (ECONNREFUSED 127.0.0.1:8001)');
  });

  test('an unknown host is named even without a port', () => {
    const error = new Error('SNS Subscribe failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND sns.nowhere.invalid'), { code: 'ENOTFOUND', hostname: 'sns.nowhere.invalid' }) });

    expect(describeFailure(error).message).toBe('SNS Subscribe failed (ENOTFOUND sns.nowhere.invalid)');
  });

  test('a message that already names the host and port is left as it is', () => {
    expect(describeFailure(refused('127.0.0.1', 8000)).message).toBe('connect ECONNREFUSED 127.0.0.1:8000');
  });

  test('the SDK’s missing region becomes a hint and exit code 2', () => {
    expect(describeFailure(new Error('Region is missing'))).toEqual({ message: MISSING_REGION_HINT, exitCode: 2 });
  });

  test('no credentials, also wrapped, become a hint and exit code 2', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });

    expect(describeFailure(new Error('cannot read the registry: Could not load credentials from any providers', { cause: missing }))).toEqual({
      message: MISSING_CREDENTIALS_HINT,
      exitCode: 2,
    });
  });

  test('refused input and configuration are exit code 2, in one line', () => {
    expect(describeFailure(new UsageError('bad\n  id'))).toEqual({ message: 'bad id', exitCode: 2 });
    expect(describeFailure(new ConfigError('TABLE_NAME is bad'))).toEqual({ message: 'TABLE_NAME is bad', exitCode: 2 });
  });
});

describe('settleRegion', () => {
  test('AWS_DEFAULT_REGION counts as the AWS CLI counts it', async () => {
    const env: Record<string, string | undefined> = { AWS_DEFAULT_REGION: 'eu-west-1' };

    await settleRegion(env);

    expect(env.AWS_REGION).toBe('eu-west-1');
  });

  test('AWS_REGION wins over AWS_DEFAULT_REGION', async () => {
    const env: Record<string, string | undefined> = { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'eu-west-1' };

    await settleRegion(env);

    expect(env.AWS_REGION).toBe('us-east-1');
  });

  test('a run against AWS gets no made-up region', async () => {
    const env: Record<string, string | undefined> = { AWS_ENDPOINT_URL_DYNAMODB: 'https://dynamodb.eu-west-1.amazonaws.com' };

    await settleRegion(env);

    expect(env.AWS_REGION).toBeUndefined();
  });
});
