/**
 * The Lambda handler and alerts: the stack-wide policy is the function's own ALERT_* variables,
 * read once at cold start (a bad one stops it, naming the variable), and every cycle reports the
 * alerts it sent, deferred and dropped as EMF metrics.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { METRICS } from '../../lambda/env-names';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from '../support/dynalite';
import { captureOutput, emfMetric, handlerEnvironment, LAMBDA_CONTEXT, loadHandler, TOPIC_ARN, type Handler } from '../support/handler-harness';

const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const savedEnv = { ...process.env };

let simulator: CommBoxSimulator;
let handler: Handler;
let tableName: string;

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 11 });
  const table = await createTestTable();
  tableName = table.tableName;
  simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 0 }]);
  await table.registry.register(parseIdentityId('558355'));
  secrets.on(GetSecretValueCommand).resolves({ SecretString: simulator.token });
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
    Successful: (input.PublishBatchRequestEntries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
    Failed: [],
  }));
  handler = loadHandler(handlerEnvironment(table.tableName, simulator.baseUrl, { TOPIC_ARN, ALERT_COOLDOWN: '1h', ALERT_MIN_UNREAD: '2' }));
});

afterAll(async () => {
  await simulator.close();
  process.env = savedEnv;
});

describe('the handler with an alert policy in its environment', () => {
  test('sends a `new` alert when an identity reaches ALERT_MIN_UNREAD, then defers the next rise for ALERT_COOLDOWN; the metrics say so', async () => {
    await handler({}, LAMBDA_CONTEXT);
    simulator.world.setUnread('558355', 396001, 1);
    const below = await captureOutput(() => handler({}, LAMBDA_CONTEXT));
    simulator.world.setUnread('558355', 396001, 2);
    const reached = await captureOutput(() => handler({}, LAMBDA_CONTEXT));
    simulator.world.setUnread('558355', 396001, 5);
    const within = await captureOutput(() => handler({}, LAMBDA_CONTEXT));

    expect([METRICS.alertsSent, METRICS.alertsDeferred, METRICS.alertsDropped].map((name) => emfMetric(below.output, name))).toEqual([0, 0, 0]);
    expect([METRICS.alertsSent, METRICS.alertsDeferred].map((name) => emfMetric(reached.output, name))).toEqual([1, 0]);
    expect([METRICS.alertsSent, METRICS.alertsDeferred].map((name) => emfMetric(within.output, name))).toEqual([0, 1]);
    expect(within.result).toMatchObject({ status: 'fulfilled', value: { changed: 1, published: 1, alertsSent: 0, alertsDeferred: 1 } });
  });

  test('a bad ALERT_* value stops the function at cold start, naming the variable', () => {
    jest.isolateModules(() => {
      expect(() => loadHandler(handlerEnvironment(tableName, simulator.baseUrl, { TOPIC_ARN, ALERT_QUIET_HOURS: '22-07' }))).toThrow(
        /^invalid ALERT_QUIET_HOURS "22-07": expected a daily window HH:MM-HH:MM/,
      );
    });
  });
});
