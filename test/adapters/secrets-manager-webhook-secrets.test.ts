import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SecretsManagerWebhookSecrets } from '../../lambda/adapters/secrets-manager-webhook-secrets';
import { parseWebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import { WebhookSecretMissingError } from '../../lambda/core/webhook-ports';
import { rotateSecret, webhookSecretFromBytes } from '../../lambda/core/webhook-signature';

const sm = mockClient(SecretsManagerClient);
const TABLE = 'Stack-RegistryTable-1ABC-webhooks';
const ID = parseWebhookEndpointId('wh_0123456789abcdef0123');
const NAME = `${TABLE}/${ID}`;
const SECRET = webhookSecretFromBytes(new Uint8Array(32).fill(7));
const T0 = Date.parse('2026-02-12T15:00:00Z');

let now = T0;
const vault = (): SecretsManagerWebhookSecrets => new SecretsManagerWebhookSecrets(new SecretsManagerClient({}), TABLE, { now: () => now });

beforeEach(() => {
  sm.reset();
  now = T0;
});
afterAll(() => sm.restore());

test('a new endpoint gets a secret of its own, named under the webhooks table (the grant of the dispatcher covers that prefix)', async () => {
  sm.on(CreateSecretCommand).resolves({});

  await vault().store(ID, { current: SECRET });

  expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, { Name: NAME, SecretString: JSON.stringify({ current: SECRET }) });
  expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
});

test('a rotation puts a new value with both secrets and when the old one stops signing', async () => {
  sm.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
  sm.on(PutSecretValueCommand).resolves({});
  const next = webhookSecretFromBytes(new Uint8Array(32).fill(8));

  await vault().store(ID, rotateSecret({ current: SECRET }, next, T0));

  expect(sm).toHaveReceivedCommandWith(PutSecretValueCommand, {
    SecretId: NAME,
    SecretString: JSON.stringify({ current: next, previous: SECRET, previousSignsUntil: '2026-02-13T15:00:00.000Z' }),
  });
});

test('what was read is used for a minute, then read again', async () => {
  sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ current: SECRET }) });
  const secrets = vault();

  expect(await secrets.load(ID)).toEqual({ current: SECRET });
  now += 59_000;
  await secrets.load(ID);
  now += 2_000;
  await secrets.load(ID);

  expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: NAME });
});

test('a missing secret is named by the endpoint, never by a value', async () => {
  sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));

  const error = (await vault().load(ID).catch((e: unknown) => e)) as Error;

  expect(error).toBeInstanceOf(WebhookSecretMissingError);
  expect(error.message).toBe(`webhook ${ID} has no signing secret in Secrets Manager`);
});

test('an unreadable value fails without quoting it', async () => {
  sm.on(GetSecretValueCommand).resolves({ SecretString: '{"current":"whsec_not base64 at all"}' });

  const error = (await vault().load(ID).catch((e: unknown) => e)) as Error;

  expect(error.message).toBe(`the signing secret of webhook ${ID} is not readable`);
});

test('remove deletes the secret at once, and a secret already gone is fine', async () => {
  sm.on(DeleteSecretCommand).resolvesOnce({}).rejectsOnce(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));

  await vault().remove(ID);
  await vault().remove(ID);

  expect(sm).toHaveReceivedCommandWith(DeleteSecretCommand, { SecretId: NAME, ForceDeleteWithoutRecovery: true });
});
