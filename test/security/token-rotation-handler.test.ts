/**
 * Rotation seen from the Lambda handler: the secret already holds a new token when CommBox
 * refuses the one read at cold start. One more read of the secret picks it up and the cycle
 * goes on, without a failure and without the old token in any output.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CycleSummary } from '../../lambda/core/poll-cycle';
import { captureOutput, emfMetric, handlerWorld, LAMBDA_CONTEXT, type HandlerWorld } from '../support/handler-harness';

const OLD_TOKEN = 'canary-0b7c2d19-rotated-away';
const NEW_TOKEN = 'canary-e5a8f340-rotated-in';
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);

let world: HandlerWorld;
let outcome: Awaited<ReturnType<typeof captureOutput<CycleSummary>>>;

beforeAll(async () => {
  secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: OLD_TOKEN }).resolves({ SecretString: JSON.stringify({ token: NEW_TOKEN }) });
  sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
  world = await handlerWorld({ seed: 6, token: NEW_TOKEN, identities: 10, firstId: 920_001, env: { POLL_CONCURRENCY: '4', POWERTOOLS_LOG_LEVEL: 'INFO' } });

  outcome = await captureOutput(() => world.handler({}, LAMBDA_CONTEXT));
});

afterAll(() => world.close());

describe('the handler when the token was rotated since it was read', () => {
  test('reads the secret a second time after the 401, right after the cold-start read', () => {
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  test('finishes the cycle with the rotated token: every identity polled', () => {
    expect(outcome.result).toEqual({ status: 'fulfilled', value: expect.objectContaining({ identities: 10, polled: 10, failed: 0 }) });
  });

  test('still counts the refusals it met in the Unauthorized metric', () => {
    expect(emfMetric(outcome.output, 'Unauthorized')).toBeGreaterThanOrEqual(1);
  });

  test('writes neither the old nor the new token anywhere', () => {
    expect(outcome.output).not.toContain(OLD_TOKEN);
    expect(outcome.output).not.toContain(NEW_TOKEN);
  });
});
