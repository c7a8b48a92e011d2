import {
  DecryptionFailure,
  GetSecretValueCommand,
  InvalidRequestException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { inspect } from 'node:util';
import { SecretsManagerTokenProvider } from '../../lambda/adapters/secrets-manager-token';
import { TokenUnavailableError } from '../../lambda/core/errors';

const SECRET_ID = 'unread-notifier/commbox-token';
const smMock = mockClient(SecretsManagerClient);

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function provider(clock = manualClock(), maxAgeMs?: number): SecretsManagerTokenProvider {
  return new SecretsManagerTokenProvider(new SecretsManagerClient({}), SECRET_ID, {
    now: clock.now,
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
  });
}

/** Resolves the GetSecretValue calls only when the test says so, to hold fetches in flight. */
function deferredSecret(value: string): { release(): void } {
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  smMock.on(GetSecretValueCommand).callsFake(async () => {
    await gate;
    return { SecretString: value };
  });
  return { release: () => release() };
}

describe('SecretsManagerTokenProvider', () => {
  beforeEach(() => {
    smMock.reset();
  });

  it('reads the raw SecretString as the token from the given secret', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves({ SecretString: 'tok-123' });

    // Act
    const token = await provider().getToken();

    // Assess
    expect(token.reveal()).toBe('tok-123');
    expect(smMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ID });
  });

  it.each([
    ['{"token":"tok-json"}', 'tok-json'],
    ['{"API_TOKEN":"tok-env"}', 'tok-env'],
    ['{"token":"first","API_TOKEN":"second"}', 'first'],
    ['  {"token": " padded "}  ', 'padded'],
  ])('reads the token from the JSON secret %s', async (secretString, expected) => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves({ SecretString: secretString });

    // Act
    const token = await provider().getToken();

    // Assess
    expect(token.reveal()).toBe(expected);
  });

  it('caches the token for maxAgeMs: one GetSecretValue for many reads', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves({ SecretString: 'tok' });
    const clock = manualClock();
    const tokens = provider(clock, 60_000);

    // Act
    await tokens.getToken();
    clock.advance(59_999);
    await tokens.getToken();
    await tokens.getToken();

    // Assess
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('reads the secret again once the cached token is older than maxAgeMs', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old' }).resolves({ SecretString: 'new' });
    const clock = manualClock();
    const tokens = provider(clock, 60_000);
    await tokens.getToken();

    // Act
    clock.advance(60_000);
    const token = await tokens.getToken();

    // Assess
    expect(token.reveal()).toBe('new');
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('refresh reads the secret again and later reads get the rotated token', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old' }).resolves({ SecretString: 'rotated' });
    const clock = manualClock();
    const tokens = provider(clock);
    await tokens.getToken();
    clock.advance(2_000);

    // Act
    const refreshed = await tokens.refresh();
    const next = await tokens.getToken();

    // Assess
    expect([refreshed.reveal(), next.reveal()]).toEqual(['rotated', 'rotated']);
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('coalesces 64 concurrent refreshes into one GetSecretValue', async () => {
    // Prepare
    const secret = deferredSecret('tok');
    const tokens = provider();

    // Act
    const refreshes = Array.from({ length: 64 }, () => tokens.refresh());
    secret.release();
    const results = await Promise.all(refreshes);

    // Assess
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(new Set(results.map((t) => t.reveal()))).toEqual(new Set(['tok']));
  });

  it('coalesces refreshes that arrive just after a refresh completed', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves({ SecretString: 'tok' });
    const clock = manualClock();
    const tokens = provider(clock);
    await tokens.refresh();

    // Act
    clock.advance(500);
    await tokens.refresh();

    // Assess
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('does not cache a failed read: the next call tries again', async () => {
    // Prepare
    smMock
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('connect ETIMEDOUT'))
      .resolves({ SecretString: 'tok' });
    const tokens = provider();
    await expect(tokens.getToken()).rejects.toThrow(/ETIMEDOUT/);

    // Act
    const token = await tokens.getToken();

    // Assess
    expect(token.reveal()).toBe('tok');
  });

  it.each([
    ['an empty SecretString', { SecretString: '' }],
    ['a blank SecretString', { SecretString: '   ' }],
    ['no SecretString', {}],
  ])('refuses %s with an error saying how to set the secret', async (_name, output) => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves(output);

    // Act
    const reading = provider().getToken();

    // Assess
    await expect(reading).rejects.toThrow(TokenUnavailableError);
    await expect(reading).rejects.toMatchObject({ reason: 'no-value' });
    await expect(reading).rejects.toThrow(`secret ${SECRET_ID} has no value`);
    await expect(reading).rejects.toThrow(`aws secretsmanager put-secret-value --secret-id ${SECRET_ID} --secret-string '<token>'`);
  });

  /** The errors GetSecretValue answers with when the secret cannot be read, as the SDK throws them. */
  const readFailures = [
    {
      name: 'a missing secret or value (ResourceNotFoundException)',
      error: new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
      reason: 'not-found',
      says: /was not found or has no value: store the CommBox token with aws secretsmanager put-secret-value --secret-id unread-notifier\/commbox-token/,
    },
    {
      name: 'a role without secretsmanager:GetSecretValue (AccessDeniedException)',
      error: new SecretsManagerServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'User: arn:aws:sts::123456789012:assumed-role/poller/fn is not authorized to perform: secretsmanager:GetSecretValue',
      }),
      reason: 'access-denied',
      says: /may not call secretsmanager:GetSecretValue on it .*AccessDeniedException: User: .* is not authorized/,
    },
    {
      name: 'a role without kms:Decrypt on the key (AccessDeniedException from KMS)',
      error: new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'Access to KMS is not allowed' }),
      reason: 'access-denied',
      says: /kms:Decrypt.*Access to KMS is not allowed/,
    },
    {
      name: 'a KMS key that refuses to decrypt (DecryptionFailure)',
      error: new DecryptionFailure({ message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key.", $metadata: {} }),
      reason: 'decryption',
      says: /its KMS key refused to decrypt it.*DecryptionFailure/,
    },
    {
      name: 'a secret scheduled for deletion (InvalidRequestException)',
      error: new InvalidRequestException({ message: "You can't perform this operation on the secret because it was marked for deletion.", $metadata: {} }),
      reason: 'read-failed',
      says: /cannot read the CommBox token from secret unread-notifier\/commbox-token: .*marked for deletion/,
    },
  ] as const;

  it.each(readFailures)('reports $name as TokenUnavailableError saying what failed, with the SDK error as cause', async ({ error, reason, says }) => {
    // Prepare
    smMock.on(GetSecretValueCommand).rejects(error);

    // Act
    const failure: unknown = await provider()
      .getToken()
      .catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(TokenUnavailableError);
    expect(failure).toMatchObject({ reason, cause: error });
    expect((failure as Error).message).toMatch(says);
  });

  it('reports a failed refresh the same way', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'tok' }).rejects(readFailures[3].error);
    const clock = manualClock();
    const tokens = provider(clock);
    await tokens.getToken();
    clock.advance(2_000);

    // Act
    const refreshing = tokens.refresh();

    // Assess
    await expect(refreshing).rejects.toMatchObject({ name: 'TokenUnavailableError', reason: 'decryption' });
  });

  it.each([
    ['JSON without a token key', '{"password":"hunter2-secret"}'],
    ['invalid JSON', '{"token":"hunter2-secret"'],
    ['a JSON token that is not a string', '{"token":["hunter2-secret"]}'],
    ['a token with whitespace', 'hunter2 secret'],
  ])('refuses %s without putting the secret in the error', async (_name, secretString) => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves({ SecretString: secretString });

    // Act
    const error = await provider()
      .getToken()
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    // Assess
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect(error).toMatchObject({ reason: 'malformed' });
    expect(`${String(error)} ${inspect(error)}`).not.toContain('hunter2');
  });

  it('hands out the token as a Secret that prints redacted', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves({ SecretString: 'tok-visible?' });

    // Act
    const token = await provider().getToken();

    // Assess
    expect(`${String(token)} ${JSON.stringify({ token })} ${inspect(token)}`).not.toContain('tok-visible');
  });
});
