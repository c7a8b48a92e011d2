/**
 * The Lambda handler after CommBox refuses the token: it reads the secret once more (rotation),
 * and when the token read again is refused too, it stops the cycle at once, counts it in the
 * `Unauthorized` metric and says so in one log line, without the token anywhere.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { CycleAbortedError } from '../../lambda/core/errors';
import { METRICS } from '../../lambda/env-names';
import { captureOutput, emfMetric, handlerWorld, jsonLines, LAMBDA_CONTEXT, SECRET_ID, type HandlerWorld } from '../support/handler-harness';

const CANARY_TOKEN = 'canary-4f1d9e7a-stale-commbox-token';
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const IDENTITIES = 20;

let world: HandlerWorld;
let outcome: Awaited<ReturnType<typeof captureOutput>>;

beforeAll(async () => {
  secrets.on(GetSecretValueCommand).resolves({ SecretString: CANARY_TOKEN });
  sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
  world = await handlerWorld({
    seed: 5,
    token: 'the-token-commbox-accepts',
    identities: IDENTITIES,
    firstId: 910_001,
    env: { POLL_CONCURRENCY: '4', POWERTOOLS_LOG_LEVEL: 'INFO' },
  });

  outcome = await captureOutput(() => world.handler({}, LAMBDA_CONTEXT));
});

afterAll(() => world.close());

describe('the handler when CommBox refuses the token', () => {
  test('reads the secret once more after the first 401, and only once', () => {
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ID });
  });

  test('then stops the cycle: the invocation fails as aborted', () => {
    expect(outcome.result.status).toBe('rejected');
    expect(outcome.result.status === 'rejected' && outcome.result.reason).toBeInstanceOf(CycleAbortedError);
  });

  test('stops instead of hammering: at most two refused requests per slot, and not every identity asked', () => {
    expect(world.simulator.stats.unauthorized).toBeLessThanOrEqual(2 * 4);
    expect(world.simulator.stats.requests).toBeLessThan(IDENTITIES);
  });

  test('publishes nothing', () => {
    expect(sns).not.toHaveReceivedCommand(PublishBatchCommand);
  });

  test('counts the refusals in the Unauthorized metric, and nothing in TokenUnavailable', () => {
    expect(emfMetric(outcome.output, METRICS.unauthorized)).toBeGreaterThanOrEqual(1);
    expect(emfMetric(outcome.output, METRICS.tokenUnavailable)).toBe(0);
  });

  test('says so in one error log line', () => {
    const lines = jsonLines(outcome.output).filter((line) => line.level === 'ERROR');

    expect(lines).toEqual([expect.objectContaining({ message: 'CommBox refused the token even after re-reading the secret; cycle stopped' })]);
  });

  test('never writes the refused token in a log line, a metric or the error', () => {
    const error = outcome.result.status === 'rejected' ? outcome.result.reason : undefined;

    expect(outcome.output).not.toContain(CANARY_TOKEN);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error ?? {}))).not.toContain(CANARY_TOKEN);
    expect(String((error as Error | undefined)?.stack)).not.toContain(CANARY_TOKEN);
  });
});
