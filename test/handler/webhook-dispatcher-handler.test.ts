/**
 * The dispatcher Lambda. First its batch handling with in-memory ports (which records it keeps,
 * which it postpones); then the handler module wired as in AWS: the webhooks table on dynalite,
 * SQS and Secrets Manager mocked, the sender as the Lambda builds it (https only, no loopback).
 */
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbWebhookEndpoints } from '../../lambda/adapters/dynamodb-webhook-endpoints';
import { ensureWebhooksTable } from '../../lambda/adapters/dynamodb-webhook-table';
import { InMemoryWebhookQueue } from '../../lambda/adapters/in-memory-webhook-queue';
import { encodeDeliveryAttributes } from '../../lambda/adapters/sqs-webhook-queue';
import { WebhookDispatcher } from '../../lambda/core/webhook-dispatcher';
import { parseWebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import type { DeliveryJob } from '../../lambda/core/webhook-job';
import { DISPATCHER_RETRY_SCHEDULE } from '../../lambda/core/webhook-retry-schedule';
import { webhookSecretFromBytes } from '../../lambda/core/webhook-signature';
import { handleWebhookRecords, type DispatchLog } from '../../lambda/webhook-dispatch';
import { dynaliteClient } from '../support/dynalite';
import { captureOutput, emfMetric, jsonLines, LAMBDA_CONTEXT } from '../support/handler-harness';
import { startReceiver, type Receiver } from '../support/webhook-receiver';
import { InMemoryDeliveryLog, InMemorySecretVault, InMemoryWebhookEndpoints, ManualClock, ScriptedSender, status } from '../support/webhook-fakes';

const T0 = Date.parse('2026-02-12T15:09:24.000Z');
const EVENTS_ARN = 'arn:aws:sqs:eu-west-1:123456789012:Stack-WebhookEvents-AAA';
const DELIVERIES_ARN = 'arn:aws:sqs:eu-west-1:123456789012:Stack-WebhookDeliveries-BBB';
const DELIVERIES_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Stack-WebhookDeliveries-BBB';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Stack-WebhookDeadLetters-CCC';
const ID = parseWebhookEndpointId('wh_0123456789abcdef0123');
const SECRET = webhookSecretFromBytes(new Uint8Array(32).fill(6));
const BODY = JSON.stringify({ version: 1, type: 'unread.changed', eventId: 'evt-1', identityId: 558355, observedAt: '2026-02-12T15:09:23.998Z' });

function eventRecord(messageId: string, body: string): SQSRecord {
  return { messageId, receiptHandle: `rh-${messageId}`, body, attributes: {} as SQSRecord['attributes'], messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: EVENTS_ARN, awsRegion: 'eu-west-1' };
}

function deliveryRecord(messageId: string, job: DeliveryJob): SQSRecord {
  const attributes = Object.fromEntries(
    Object.entries(encodeDeliveryAttributes(job)).map(([name, value]) => [name, { dataType: value.DataType ?? 'String', stringValue: value.StringValue, stringListValues: [], binaryListValues: [] }]),
  );
  return { ...eventRecord(messageId, job.body), messageAttributes: attributes, eventSourceARN: DELIVERIES_ARN };
}

function job(overrides: Partial<DeliveryJob> = {}): DeliveryJob {
  return { endpointId: ID, eventId: 'evt-1', eventType: 'unread.changed', logKey: '2026-02-12T15:09:23.998Z#evt-1', body: BODY, kind: 'event', attempt: 1, notBeforeMs: T0, deferrals: 0, ...overrides };
}

describe('handleWebhookRecords', () => {
  const URL_A = 'https://a.example.com/hook';

  function setup() {
    const clock = new ManualClock(T0);
    const endpoints = new InMemoryWebhookEndpoints();
    endpoints.add({ id: ID, url: URL_A });
    const secrets = new InMemorySecretVault();
    void secrets.store(ID, { current: SECRET });
    const sender = new ScriptedSender(clock.now);
    const queue = new InMemoryWebhookQueue({ clock: clock.now, timers: clock });
    const dispatcher = new WebhookDispatcher({ endpoints, slots: endpoints, secrets, log: new InMemoryDeliveryLog(), sender, queue, clock: clock.now, schedule: DISPATCHER_RETRY_SCHEDULE });
    const postponed: [string, number][] = [];
    const lines: string[] = [];
    const log: DispatchLog = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
    const handle = (records: SQSRecord[]): Promise<SQSBatchResponse> =>
      handleWebhookRecords(records, {
        dispatcher,
        postpone: (receiptHandle, untilMs) => Promise.resolve(void postponed.push([receiptHandle, untilMs])),
        deliveryQueueName: 'Stack-WebhookDeliveries-BBB',
        log,
      });
    return { handle, sender, queue, postponed, lines };
  }

  test('events from the topic queue are fanned out; one that is not an event is kept (it ends in the DLQ)', async () => {
    const { handle, queue } = setup();

    const response = await handle([eventRecord('m1', BODY), eventRecord('m2', 'not json')]);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    expect(queue.enqueued).toEqual([expect.objectContaining({ endpointId: ID, eventId: 'evt-1', attempt: 1 })]);
  });

  test('a delivery gets its attempt and is done, whatever the answer: a retry is a new message', async () => {
    const { handle, sender, queue } = setup();
    sender.answer(URL_A, status(500));

    const response = await handle([deliveryRecord('m1', job())]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(sender.sent).toHaveLength(1);
    expect(queue.enqueued).toEqual([expect.objectContaining({ attempt: 2, notBeforeMs: T0 + 5_000 })]);
  });

  test('a delivery that came before its time is postponed until then and kept', async () => {
    const { handle, sender, postponed } = setup();

    const response = await handle([deliveryRecord('m1', job({ attempt: 6, notBeforeMs: T0 + 10 * 3600_000 }))]);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(postponed).toEqual([['rh-m1', T0 + 10 * 3600_000]]);
    expect(sender.sent).toEqual([]);
  });

  test('a delivery whose attempt crashed, or a message that is not a delivery, is kept for another receive', async () => {
    const { handle, sender, lines } = setup();
    sender.answer(URL_A, () => Promise.reject(new Error('socket hang up')));
    const junk = { ...deliveryRecord('m2', job()), messageAttributes: {} };

    const response = await handle([deliveryRecord('m1', job()), junk]);

    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm2']);
    expect(lines).toEqual(expect.arrayContaining(['not a webhook delivery message; kept until it is dead-lettered', 'webhook delivery failed before it was settled; it will be tried again']));
  });
});

describe('the handler, wired as in AWS', () => {
  type Handler = (event: SQSEvent, context: typeof LAMBDA_CONTEXT) => Promise<SQSBatchResponse>;
  const sqs = mockClient(SQSClient);
  const sm = mockClient(SecretsManagerClient);
  const savedEnv = { ...process.env };
  let load: Handler;
  let canary: Receiver;
  let output = '';

  async function invoke(records: SQSRecord[]): Promise<SQSBatchResponse> {
    const { result, output: written } = await captureOutput(() => load({ Records: records }, LAMBDA_CONTEXT));
    output += written;
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }

  function sentEntries(): SendMessageBatchRequestEntry[] {
    return sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
  }

  beforeAll(async () => {
    canary = await startReceiver();
    const registry = `wh-handler-${randomUUID()}`;
    await ensureWebhooksTable(dynaliteClient(), `${registry}-webhooks`, 'plain');
    // Written straight to the table: `webhooks add` outside a local run would refuse this URL.
    await new DynamoDbWebhookEndpoints(dynaliteClient(), `${registry}-webhooks`).create({
      id: ID,
      url: `http://127.0.0.1:${canary.port}/hook?token=QUERY-CANARY`,
      events: ['unread.changed'],
      createdAtMs: T0,
    });
    Object.assign(process.env, {
      TABLE_NAME: registry,
      WEBHOOK_DELIVERY_QUEUE_URL: DELIVERIES_URL,
      WEBHOOK_DEAD_LETTER_QUEUE_URL: DLQ_URL,
      POWERTOOLS_SERVICE_NAME: 'Stack',
      AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNALITE_ENDPOINT ?? '',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load = (require('../../lambda/handlers/webhook-dispatcher') as { handler: Handler }).handler;
  });

  beforeEach(() => {
    sqs.reset();
    sm.reset();
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })), Failed: [] }));
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ current: SECRET }) });
  });

  afterAll(async () => {
    await canary.close();
    sqs.restore();
    sm.restore();
    process.env = savedEnv;
  });

  test('an event from the topic becomes one delivery message per matching endpoint, its body the event as published', async () => {
    const response = await invoke([eventRecord('m1', BODY)]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: DELIVERIES_URL });
    expect(sentEntries()).toEqual([expect.objectContaining({ MessageBody: BODY, DelaySeconds: 0, MessageAttributes: expect.objectContaining({ webhookEndpointId: { DataType: 'String', StringValue: ID } }) })]);
    expect(emfMetric(output, 'WebhookDeliveriesQueued')).toBe(1);
  });

  test('the Lambda never sends plain http or to loopback: the attempt is refused, the receiver gets nothing, the retry is queued in 5 s', async () => {
    output = '';

    const response = await invoke([deliveryRecord('m1', job({ notBeforeMs: Date.now() }))]);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(canary.connections()).toBe(0);
    expect(sentEntries()).toEqual([expect.objectContaining({ DelaySeconds: 5, MessageAttributes: expect.objectContaining({ webhookAttempt: { DataType: 'Number', StringValue: '2' } }) })]);
    const failed = jsonLines(output).find((line) => line.message === 'webhook attempt failed');
    expect(failed).toMatchObject({ endpointId: ID, eventId: 'evt-1', attempt: 1, outcome: expect.stringMatching(/^refused: a webhook URL must use https/) });
    expect(emfMetric(output, 'WebhookAttemptFailed')).toBe(1);
    expect(output).not.toContain('QUERY-CANARY');
    expect(output).not.toContain(SECRET.slice(6));
  });

  test('a delivery due in hours is hidden until then with ChangeMessageVisibility and kept', async () => {
    const response = await invoke([deliveryRecord('m1', job({ attempt: 6, notBeforeMs: Date.now() + 5 * 3600_000 }))]);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    const [call] = sqs.commandCalls(ChangeMessageVisibilityCommand);
    expect(call?.args[0].input).toMatchObject({ QueueUrl: DELIVERIES_URL, ReceiptHandle: 'rh-m1' });
    expect(call?.args[0].input.VisibilityTimeout).toBeGreaterThan(5 * 3600 - 60);
    expect(call?.args[0].input.VisibilityTimeout).toBeLessThanOrEqual(5 * 3600);
  });
});
