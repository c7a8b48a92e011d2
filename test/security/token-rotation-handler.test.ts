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
import { parseIdentityId } from '../../lambda/core/identity-id';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from '../support/dynalite';
import { captureOutput, emfMetric, handlerEnvironment, LAMBDA_CONTEXT, loadHandler, TOPIC_ARN } from '../support/handler-harness';

const OLD_TOKEN = 'canary-0b7c2d19-rotated-away';
const NEW_TOKEN = 'canary-e5a8f340-rotated-in';
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const savedEnv = { ...process.env };

let simulator: CommBoxSimulator;
let outcome: Awaited<ReturnType<typeof captureOutput<CycleSummary>>>;

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 6, token: NEW_TOKEN });
  const table = await createTestTable();
  for (const id of simulator.world.populate(10, { firstId: 920_001 })) await table.registry.register(parseIdentityId(id));
  secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: OLD_TOKEN }).resolves({ SecretString: JSON.stringify({ token: NEW_TOKEN }) });
  sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
  const handler = loadHandler(
    handlerEnvironment(table.tableName, simulator.baseUrl, {
      TOPIC_ARN,
      POLL_CONCURRENCY: '4',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    }),
  );

  outcome = await captureOutput(() => handler({}, LAMBDA_CONTEXT));
});

afterAll(async () => {
  await simulator.close();
  process.env = savedEnv;
});

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
