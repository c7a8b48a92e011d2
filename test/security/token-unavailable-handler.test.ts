/**
 * The Lambda handler when the token cannot be read from Secrets Manager (an empty secret, one
 * that is gone, a role without access, a KMS key that refuses): that is not CommBox refusing the
 * token. The cycle stops before CommBox is asked, one log line says what failed and how to fix
 * it, and the TokenUnavailable metric (alarmed on by the stack) counts it; Unauthorized stays 0.
 */
import { DecryptionFailure, GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { CycleAbortedError, TokenUnavailableError } from '../../lambda/core/errors';
import { METRICS } from '../../lambda/env-names';
import { captureOutput, emfMetric, handlerWorld, jsonLines, LAMBDA_CONTEXT, SECRET_ID, type HandlerWorld } from '../support/handler-harness';

const TOKEN = 'canary-1d5e0c77-the-real-token';
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);

let world: HandlerWorld;

beforeAll(async () => {
  sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
  world = await handlerWorld({ seed: 21, token: TOKEN, identities: 5, firstId: 950_001, env: { POWERTOOLS_LOG_LEVEL: 'INFO' } });
});

afterAll(() => world.close());

const unreadable = [
  {
    name: 'an empty secret',
    answer: () => secrets.on(GetSecretValueCommand).resolves({ SecretString: '' }),
    reason: 'no-value',
    says: `aws secretsmanager put-secret-value --secret-id ${SECRET_ID} --secret-string '<token>'`,
  },
  {
    name: 'a secret that does not exist',
    answer: () => secrets.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} })),
    reason: 'not-found',
    says: `aws secretsmanager put-secret-value --secret-id ${SECRET_ID}`,
  },
  {
    name: 'access denied',
    answer: () =>
      secrets
        .on(GetSecretValueCommand)
        .rejects(new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized to perform: secretsmanager:GetSecretValue' })),
    reason: 'access-denied',
    says: 'secretsmanager:GetSecretValue',
  },
  {
    name: 'a KMS key that refuses to decrypt',
    answer: () => secrets.on(GetSecretValueCommand).rejects(new DecryptionFailure({ message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key.", $metadata: {} })),
    reason: 'decryption',
    says: 'KMS key refused to decrypt',
  },
] as const;

describe.each(unreadable)('the handler when the token cannot be read: $name', ({ answer, reason, says }) => {
  let outcome: Awaited<ReturnType<typeof captureOutput>>;

  beforeAll(async () => {
    secrets.reset();
    answer();
    world.simulator.resetStats();
    outcome = await captureOutput(() => world.handler({}, LAMBDA_CONTEXT));
  });

  test('aborts the cycle with the unreadable token as its cause', () => {
    const error = outcome.result.status === 'rejected' ? (outcome.result.reason as Error) : undefined;

    expect(error).toBeInstanceOf(CycleAbortedError);
    expect(error?.cause).toBeInstanceOf(TokenUnavailableError);
    expect(error?.cause).toMatchObject({ reason });
  });

  test('never asks CommBox', () => {
    expect(world.simulator.stats.requests).toBe(0);
  });

  test('says in one error line what failed and how to fix it, not that CommBox refused the token', () => {
    const errors = jsonLines(outcome.output).filter((line) => line.level === 'ERROR');

    expect(errors).toEqual([
      expect.objectContaining({
        message: 'cannot read the CommBox token; cycle stopped',
        reason,
        error: expect.objectContaining({ name: 'TokenUnavailableError', message: expect.stringContaining(says) }),
      }),
    ]);
  });

  test('counts it in TokenUnavailable, and nothing in Unauthorized', () => {
    expect(emfMetric(outcome.output, METRICS.tokenUnavailable)).toBe(1);
    expect(emfMetric(outcome.output, METRICS.unauthorized)).toBe(0);
  });
});

describe('the handler once the secret holds the token again', () => {
  test('polls every identity and reports TokenUnavailable 0', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });

    const { result, output } = await captureOutput(() => world.handler({}, LAMBDA_CONTEXT));

    expect(result).toEqual({ status: 'fulfilled', value: expect.objectContaining({ identities: 5, polled: 5 }) });
    expect(emfMetric(output, METRICS.tokenUnavailable)).toBe(0);
  });
});
