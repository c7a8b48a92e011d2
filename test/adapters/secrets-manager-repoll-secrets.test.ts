import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { parseRepollSecretString, SecretsManagerRepollSecrets } from '../../lambda/adapters/secrets-manager-repoll-secrets';
import { RepollSecretError } from '../../lambda/core/repoll-auth';

const SECRET_ID = 'unread-notifier/repoll-secret';
const CURRENT = 'current-secret-4f9a1c2e7b';
const PREVIOUS = 'previous-secret-8d3b6a0f51';
const sm = mockClient(SecretsManagerClient);

function source(clock = { t: 1_000_000 }) {
  return new SecretsManagerRepollSecrets(new SecretsManagerClient({}), SECRET_ID, { now: () => clock.t });
}

describe('SecretsManagerRepollSecrets', () => {
  beforeEach(() => {
    sm.reset();
  });

  it('reads {"current","previous"}: both secrets are valid', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ current: CURRENT, previous: PREVIOUS }) });

    const secrets = await source().get();

    expect(secrets.matchesAny([CURRENT])).toBe(true);
    expect(secrets.matchesAny([PREVIOUS])).toBe(true);
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ID });
  });

  it('reads a plain SecretString as the one secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: `${CURRENT}\n` });

    const secrets = await source().get();

    expect(secrets.count).toBe(1);
    expect(secrets.matchesAny([CURRENT])).toBe(true);
  });

  it('reads the secret once for a minute, once for concurrent requests', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: CURRENT });
    const clock = { t: 1_000_000 };
    const secrets = source(clock);

    await Promise.all([secrets.get(), secrets.get(), secrets.get()]);
    clock.t += 59_999;
    await secrets.get();
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);

    clock.t += 1;
    await secrets.get();
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('refresh() after a wrong secret re-reads, at most once per 10 seconds', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: CURRENT });
    const clock = { t: 1_000_000 };
    const secrets = source(clock);
    await secrets.get();

    clock.t += 9_999;
    await secrets.refresh();
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);

    clock.t += 1;
    await secrets.refresh();
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('a failed read is not cached and names the secret id and the error, not a value', async () => {
    sm.on(GetSecretValueCommand).rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' })).resolves({ SecretString: CURRENT });
    const secrets = source();

    await expect(secrets.get()).rejects.toThrow(`cannot read the re-poll secret ${SECRET_ID}: AccessDeniedException: denied`);
    await expect(secrets.get()).resolves.toBeDefined();
  });
});

describe('parseRepollSecretString', () => {
  it.each([
    [undefined, 'has no value'],
    ['  ', 'has no value'],
    ['{not json', 'is not valid JSON'],
    ['{"token":"x"}', 'must hold {"current"'],
    [JSON.stringify({ current: CURRENT, previous: 5 }), 'must hold {"current"'],
    ['short', 'shorter than 16'],
    [JSON.stringify({ current: 'tiny-secret' }), 'shorter than 16'],
  ])('refuses %j, naming the shape and never the value', (value, problem) => {
    const parse = () => parseRepollSecretString(value, SECRET_ID);

    expect(parse).toThrow(RepollSecretError);
    expect(parse).toThrow(problem);
    expect(parse).toThrow(SECRET_ID);
  });

  it('an empty or null previous means no rotation', () => {
    expect(parseRepollSecretString(JSON.stringify({ current: CURRENT, previous: '' }), SECRET_ID).count).toBe(1);
    expect(parseRepollSecretString(JSON.stringify({ current: CURRENT, previous: null }), SECRET_ID).count).toBe(1);
  });
});
