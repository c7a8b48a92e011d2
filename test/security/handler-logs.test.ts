/**
 * The Lambda handler's whole output (Powertools logs and EMF metrics on stdout) and everything
 * it hands SNS, over invocations with changes, upstream faults of every kind and a refused SNS
 * entry: no token, and none of the customer data the CommBox payload carries.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from '../support/dynalite';
import { customerSecrets } from './customer-secrets';
import { captureOutput, handlerEnvironment, jsonLines, LAMBDA_CONTEXT, loadHandler, TOPIC_ARN, type Handler } from '../support/handler-harness';

const CANARY = 'canary-handler-7e57ab1e-token';
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const savedEnv = { ...process.env };

let simulator: CommBoxSimulator;
let handler: Handler;
let ids: string[];
let output = '';
const published: PublishBatchCommandInput[] = [];

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 12, token: CANARY, timeoutHoldMs: 500 });
  const table = await createTestTable();
  ids = simulator.world.populate(15, { firstId: 940_001, maxConversations: 3, unreadProbability: 1 });
  for (const id of ids) await table.registry.register(parseIdentityId(id), { label: 'Support desk' });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: CANARY });
  let refuseFirstEntry = true;
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
    published.push(input);
    const entries = input.PublishBatchRequestEntries ?? [];
    const [refused, ...accepted] = refuseFirstEntry ? entries : [undefined, ...entries];
    refuseFirstEntry = false;
    return {
      Successful: accepted.map((e) => ({ Id: e?.Id, MessageId: `m-${String(e?.Id)}` })),
      Failed: refused ? [{ Id: refused.Id, Code: 'InternalError', SenderFault: false }] : [],
    };
  });
  handler = loadHandler(
    handlerEnvironment(table.tableName, simulator.baseUrl, {
      TOPIC_ARN,
      REQUEST_TIMEOUT_MS: '200',
      MAX_ATTEMPTS: '2',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    }),
  );

  const invoke = async (): Promise<void> => {
    const { output: written } = await captureOutput(() => handler({}, LAMBDA_CONTEXT));
    output += written;
  };
  await invoke();
  for (const id of ids) simulator.world.setUnread(id, 990_000 + Number(id.slice(-2)), 2, 19155);
  const [timeout, wrongShape, malformed, server, redirect, gone] = ids;
  simulator.faults.forIdentity(timeout as string, 'timeout', 'timeout');
  simulator.faults.forIdentity(wrongShape as string, 'wrongShape', 'wrongShape');
  simulator.faults.forIdentity(malformed as string, 'malformed', 'malformed');
  simulator.faults.forIdentity(server as string, { status: 500 }, 'bodyStatus500');
  simulator.faults.forIdentity(redirect as string, 'redirect');
  simulator.faults.forIdentity(gone as string, { status: 404 });
  await invoke();
  await invoke();
});

afterAll(async () => {
  await simulator.close();
  process.env = savedEnv;
});

describe('the Lambda handler', () => {
  test('logged the failures, the refused publication and the cycles (so the paths under test ran)', () => {
    const messages = jsonLines(output).map((line) => line.message);

    expect(messages).toEqual(expect.arrayContaining(['identity poll failed', 'identity not found upstream', 'publish failed; event stays pending for the next cycle', 'cycle finished']));
  });

  test('published the changes to SNS', () => {
    expect(published.flatMap((input) => input.PublishBatchRequestEntries ?? []).length).toBeGreaterThanOrEqual(ids.length - 6);
  });

  test('never logs the token', () => {
    expect(output).not.toContain(CANARY);
  });

  test('never logs customer data from the payload', () => {
    const leaks = customerSecrets(simulator, ids).filter((secret) => output.includes(secret));

    expect(leaks).toEqual([]);
  });

  test('never hands SNS customer data or the token: message (default, email, sms), subject or attributes', () => {
    const sent = JSON.stringify(published);
    const leaks = [CANARY, ...customerSecrets(simulator, ids)].filter((secret) => sent.includes(secret));

    expect(leaks).toEqual([]);
  });
});
