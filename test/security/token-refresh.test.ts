/**
 * The token provider's part in rotation: a refresh after a 401 reads the secret again, also
 * right after the read that produced the refused token (a cold start meeting a rotation).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SecretsManagerTokenProvider } from '../../lambda/adapters/secrets-manager-token';

const secrets = mockClient(SecretsManagerClient);

beforeEach(() => {
  secrets.reset();
  secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'stale' }).resolves({ SecretString: 'rotated' });
});

describe('SecretsManagerTokenProvider.refresh', () => {
  test('reads the secret again even right after the first read', async () => {
    let now = 1_000_000;
    const tokens = new SecretsManagerTokenProvider(new SecretsManagerClient({}), 'id', { now: () => now });
    await tokens.getToken();
    now += 10;

    const refreshed = await tokens.refresh();

    expect(refreshed.reveal()).toBe('rotated');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  test('answers from the refresh just made when more 401s of the old token arrive right after it', async () => {
    let now = 1_000_000;
    const tokens = new SecretsManagerTokenProvider(new SecretsManagerClient({}), 'id', { now: () => now });
    await tokens.getToken();
    await tokens.refresh();
    now += 10;

    const again = await tokens.refresh();

    expect(again.reveal()).toBe('rotated');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });
});
