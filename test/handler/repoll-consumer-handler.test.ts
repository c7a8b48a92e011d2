/**
 * The re-poll consumer as Lambda runs it: SQS event shapes in, partial batch responses out; the
 * store on dynalite, CommBox simulated, SNS and Secrets Manager mocked (aws-sdk-client-mock).
 * Its whole output (Powertools logs and EMF metrics) is captured.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { encodeRepollMessage } from '../../lambda/adapters/sqs-repoll-queue';
import { METRICS } from '../../lambda/env-names';
import { REPOLL_METRICS } from '../../lambda/repoll-config';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from '../support/dynalite';
import { captureOutput, emfMetric, handlerEnvironment, LAMBDA_CONTEXT, TOPIC_ARN } from '../support/handler-harness';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:unread-notifier-repoll';
const CANARY = 'CANARY-consumer-7f3e';
const sns = mockClient(SNSClient);
const secrets = mockClient(SecretsManagerClient);
const savedEnv = { ...process.env };

let simulator: CommBoxSimulator;
let load: Handler;
let registry: Awaited<ReturnType<typeof createTestTable>>['registry'];
let written = '';
let nextId = 1;

/** An SQS record as the event source mapping delivers it. */
function record(body: string, messageId = `m-${nextId++}`): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1770000000000', SenderId: 'AIDAEXAMPLE', ApproximateFirstReceiveTimestamp: '1770000000001' },
    messageAttributes: {},
    md5OfBody: '00000000000000000000000000000000',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'eu-west-1',
  };
}

const repollBody = (identityId: string, requestedAt = Date.now()): string => encodeRepollMessage({ identityId: parseIdentityId(identityId), requestedAt });

async function handler(records: SQSRecord[], context: Context = LAMBDA_CONTEXT): Promise<{ response?: SQSBatchResponse; error?: unknown; output: string }> {
  const { result, output } = await captureOutput(() => load({ Records: records }, context));
  written += output;
  return result.status === 'fulfilled' ? { response: result.value, output } : { error: result.reason, output };
}

/** Identities with one conversation each, registered, and polled once (their baselines). */
async function watched(...ids: string[]): Promise<void> {
  for (const id of ids) {
    simulator.world.addIdentity(id, [{ objectId: 396001, streamId: 19155, unread: 1 }]);
    await registry.register(parseIdentityId(id));
  }
  const { response } = await handler(ids.map((id) => record(repollBody(id))));
  expect(response).toEqual({ batchItemFailures: [] });
}

const published = (): string[] =>
  sns.commandCalls(PublishBatchCommand).flatMap((call) =>
    ((call.args[0].input).PublishBatchRequestEntries ?? []).map((e) => e.MessageAttributes?.identityId?.StringValue ?? ''),
  );

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 5 });
  const table = await createTestTable();
  registry = table.registry;
  Object.assign(process.env, handlerEnvironment(table.tableName, simulator.baseUrl, { TOPIC_ARN, POWERTOOLS_LOG_LEVEL: 'DEBUG', MAX_ATTEMPTS: '1', ALERT_MIN_UNREAD: '1000000' }));
  // These tests count change events: a policy no identity reaches keeps alerts out of them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  load = (require('../../lambda/handlers/repoll-consumer') as { handler: Handler }).handler;
});

afterAll(async () => {
  await simulator.close();
  process.env = savedEnv;
});

beforeEach(() => {
  sns.reset();
  secrets.reset();
  secrets.on(GetSecretValueCommand).resolves({ SecretString: simulator.token });
  sns.on(PublishBatchCommand).callsFake(accept);
});

function accept(input: PublishBatchCommandInput): { Successful: { Id?: string; MessageId: string }[]; Failed: [] } {
  return { Successful: (input.PublishBatchRequestEntries ?? []).map((e) => ({ Id: e.Id, MessageId: `sns-${e.Id}` })), Failed: [] };
}

describe('the re-poll consumer (SQS event source, partial batch responses)', () => {
  test('polls the queued identity by key (no other identity is asked for) and publishes its change', async () => {
    await watched('600001', '600002');
    simulator.world.setUnread('600001', 396001, 4);
    const before = simulator.requestCount('600002');

    const { response, output } = await handler([record(repollBody('600001', Date.now() - 300))]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(published()).toEqual(['600001']);
    expect(simulator.requestCount('600002')).toBe(before);
    expect(emfMetric(output, REPOLL_METRICS.consumerPolled)).toBe(1);
    expect(emfMetric(output, REPOLL_METRICS.consumerLatency)).toBeGreaterThanOrEqual(300);
  });

  test('several messages for one identity in a batch cause one CommBox request', async () => {
    await watched('600011');
    const before = simulator.requestCount('600011');

    const { response } = await handler([record(repollBody('600011')), record(repollBody('600011')), record(repollBody('600011'))]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(simulator.requestCount('600011')).toBe(before + 1);
  });

  test('a message whose poll failed is answered as a batch item failure (SQS redelivers it); the others are not', async () => {
    await watched('600021', '600022');
    simulator.faults.forIdentity('600021', { status: 400 });

    const { response } = await handler([record(repollBody('600021'), 'fails'), record(repollBody('600022'), 'fine')]);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'fails' }] });
  });

  test('an event SNS refused is retried: the redelivered message sends it with the same eventId, then polls', async () => {
    await watched('600031');
    simulator.world.setUnread('600031', 396001, 6);
    sns
      .on(PublishBatchCommand)
      .callsFakeOnce((input: PublishBatchCommandInput) => ({
        Successful: [],
        Failed: (input.PublishBatchRequestEntries ?? []).map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
      }))
      .callsFake(accept);

    const first = await handler([record(repollBody('600031'), 'refused')]);
    simulator.world.setUnread('600031', 396001, 7);
    const second = await handler([record(repollBody('600031'), 'refused')]);

    expect(first.response).toEqual({ batchItemFailures: [{ itemIdentifier: 'refused' }] });
    expect(second.response).toEqual({ batchItemFailures: [] });
    const entries = sns.commandCalls(PublishBatchCommand).flatMap((call) => (call.args[0].input).PublishBatchRequestEntries ?? []);
    const eventIds = entries.map((e) => (JSON.parse(JSON.parse(e.Message ?? '{}').default as string) as { eventId: string; total: number }));
    expect(eventIds.map((e) => e.total)).toEqual([6, 6, 7]);
    expect(eventIds[1]?.eventId).toBe(eventIds[0]?.eventId);
  });

  test('malformed messages are dropped (never retried) and their bodies never logged', async () => {
    const { response, output } = await handler([
      record('not json', 'garbage'),
      record(JSON.stringify({ identityId: '1/../2', note: CANARY }), 'bad-id'),
      record(JSON.stringify({ identityIds: ['558355'], note: CANARY }), 'wrong-shape'),
    ]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(output).not.toContain(CANARY);
    expect(output).toContain('dropping a queue message that is not a re-poll');
  });

  test('an identity unregistered since its request is acknowledged, not retried', async () => {
    const { response, output } = await handler([record(repollBody('699999'), 'gone')]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(output).toMatch(/"unregistered":1/);
  });

  test('no identity starts when the deadline margin is gone: every message is retried', async () => {
    await watched('600041');
    const before = simulator.requestCount('600041');
    const late = { ...LAMBDA_CONTEXT, getRemainingTimeInMillis: () => 1_000 };

    const { response } = await handler([record(repollBody('600041'), 'late')], late);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'late' }] });
    expect(simulator.requestCount('600041')).toBe(before);
  });

  test('a 401 fails the invocation (it alarms, SQS retries the batch) and counts Unauthorized, as the poller does', async () => {
    await watched('600051');
    const token = simulator.token;
    simulator.rotateToken('a-token-the-secret-does-not-hold');
    try {
      const { error, output } = await handler([record(repollBody('600051'))]);

      expect((error as Error).name).toBe('CycleAbortedError');
      expect(emfMetric(output, METRICS.unauthorized)).toBeGreaterThanOrEqual(1);
      expect(emfMetric(output, REPOLL_METRICS.consumerRetried)).toBe(1);
    } finally {
      simulator.rotateToken(token);
    }
  });

  test('nothing it writes holds the token or customer data', () => {
    expect(written).not.toContain(simulator.token);
    for (const id of ['600001', '600031']) {
      const customer = simulator.world.customerData(id);
      expect(written).not.toContain(customer.email);
      expect(written).not.toContain(customer.phone1);
    }
  });
});
