import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { inspect } from 'node:util';
import { SecretsManagerTokenProvider, SecretValueError } from '../../lambda/adapters/secrets-manager-token';

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
    await expect(reading).rejects.toThrow(SecretValueError);
    await expect(reading).rejects.toThrow(`secret ${SECRET_ID} has no value`);
    await expect(reading).rejects.toThrow(`aws secretsmanager put-secret-value --secret-id ${SECRET_ID}`);
  });

  it('explains a secret without a current value (ResourceNotFoundException) the same way', async () => {
    // Prepare
    smMock
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value", $metadata: {} }));

    // Act
    const reading = provider().getToken();

    // Assess
    await expect(reading).rejects.toThrow(/was not found or has no value: .*aws secretsmanager put-secret-value/);
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
    expect(error).toBeInstanceOf(SecretValueError);
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
