/**
 * The Lambda handler when an item of the table cannot be decoded: it polls the others, counts
 * the item in the `MalformedItems` metric and names its key in one error log line, without
 * anything the item holds.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { METRICS } from '../../lambda/env-names';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from '../support/dynalite';
import { captureOutput, emfMetric, handlerEnvironment, jsonLines, LAMBDA_CONTEXT, loadHandler, TOPIC_ARN } from '../support/handler-harness';

const CANARY = 'canary-label-0917';
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const savedEnv = { ...process.env };

let simulator: CommBoxSimulator;
let outcome: Awaited<ReturnType<typeof captureOutput>>;

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 11 });
  const table = await createTestTable();
  for (const id of ['558355', '558357']) {
    simulator.world.addIdentity(id);
    await table.registry.register(parseIdentityId(id));
  }
  await table.client.send(
    new PutItemCommand({ TableName: table.tableName, Item: { identityId: { S: '558356' }, label: { S: CANARY }, failStreak: { S: 'three' } } }),
  );
  secrets.on(GetSecretValueCommand).resolves({ SecretString: simulator.token });
  sns.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
  const handler = loadHandler(handlerEnvironment(table.tableName, simulator.baseUrl, { TOPIC_ARN, POWERTOOLS_LOG_LEVEL: 'INFO' }));

  outcome = await captureOutput(() => handler({}, LAMBDA_CONTEXT));
});

afterAll(async () => {
  await simulator.close();
  process.env = savedEnv;
});

describe('the handler with an item it cannot decode', () => {
  test('polls the other identities', () => {
    expect(outcome.result).toMatchObject({ status: 'fulfilled', value: { identities: 2, polled: 2 } });
  });

  test('counts the item in the MalformedItems metric', () => {
    expect(emfMetric(outcome.output, METRICS.malformedItems)).toBe(1);
  });

  test('names its key and the attribute at fault in one error log line, and nothing it holds', () => {
    const errors = jsonLines(outcome.output).filter((line) => line.level === 'ERROR');

    expect(errors).toEqual([expect.objectContaining({ key: '558356' })]);
    expect(JSON.stringify(errors)).toContain('failStreak');
    expect(outcome.output).not.toContain(CANARY);
  });
});
