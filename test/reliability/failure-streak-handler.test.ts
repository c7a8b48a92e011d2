/**
 * FAILURE_STREAK_THRESHOLD end to end through the Lambda handler: the EMF metric the stack
 * alarms on counts an identity once its upstream has failed that many invocations in a row.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { METRICS } from '../../lambda/env-names';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from '../support/dynalite';
import { captureOutput, emfMetric, handlerEnvironment, LAMBDA_CONTEXT, loadHandler } from '../support/handler-harness';

const secrets = mockClient(SecretsManagerClient);
const savedEnv = { ...process.env };

let simulator: CommBoxSimulator;
const metricPerInvocation: (number | undefined)[] = [];

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 8, token: 'tok' });
  const table = await createTestTable();
  simulator.world.addIdentity('42');
  simulator.world.addIdentity('43');
  await table.registry.register(parseIdentityId('42'));
  await table.registry.register(parseIdentityId('43'));
  secrets.on(GetSecretValueCommand).resolves({ SecretString: 'tok' });
  const handler = loadHandler(
    handlerEnvironment(table.tableName, simulator.baseUrl, {
      MAX_ATTEMPTS: '1',
      FAILURE_STREAK_THRESHOLD: '2',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    }),
  );
  for (const fails of [false, true, true, true, false]) {
    if (fails) simulator.faults.forIdentity('42', { status: 503 });
    const { output } = await captureOutput(() => handler({}, LAMBDA_CONTEXT));
    metricPerInvocation.push(emfMetric(output, METRICS.failingIdentities));
  }
});

afterAll(async () => {
  await simulator.close();
  process.env = savedEnv;
});

test('FailingIdentities counts the identity from its 2nd failing invocation in a row (FAILURE_STREAK_THRESHOLD=2) until a good poll', () => {
  expect(metricPerInvocation).toEqual([0, 0, 1, 1, 0]);
});
