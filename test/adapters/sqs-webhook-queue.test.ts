import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { decodeDeliveryMessage, delaySecondsUntil, MAX_POSTPONE_SECONDS, SqsWebhookQueue, type ReceivedAttribute } from '../../lambda/adapters/sqs-webhook-queue';
import { parseWebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import type { DeliveryJob } from '../../lambda/core/webhook-job';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Stack-WebhookDeliveries-ABC';
const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Stack-WebhookDeadLetters-DEF';
const T0 = 1_770_000_000_000;
const ID = parseWebhookEndpointId('wh_0123456789abcdef0123');

function job(n: number, overrides: Partial<DeliveryJob> = {}): DeliveryJob {
  return {
    endpointId: ID,
    eventId: `e${n}`,
    eventType: 'unread.changed',
    logKey: `2026-02-12T15:09:23.998Z#e${n}`,
    body: `{"type":"unread.changed","eventId":"e${n}","label":"Süpport \\"A\\""}`,
    kind: 'event',
    attempt: 1,
    notBeforeMs: T0,
    deferrals: 0,
    ...overrides,
  };
}

function queue(): SqsWebhookQueue {
  return new SqsWebhookQueue(new SQSClient({}), { deliveryQueueUrl: QUEUE, deadLetterQueueUrl: DLQ, clock: () => T0 });
}

/** The attributes as the Lambda event carries them after a round trip. */
function received(attributes: Record<string, MessageAttributeValue>): Record<string, ReceivedAttribute> {
  return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { dataType: value.DataType ?? 'String', stringValue: value.StringValue }]));
}

function acceptAll(): void {
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  }));
}

beforeEach(() => sqs.reset());
afterAll(() => sqs.restore());

describe('enqueue', () => {
  test('one message per delivery: the event JSON as the body, the job in message attributes, delayed until its time', async () => {
    acceptAll();

    const result = await queue().enqueue([job(1), job(2, { attempt: 3, notBeforeMs: T0 + 300_000, deferrals: 1 })]);

    expect(result).toEqual({ failed: [] });
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      QueueUrl: QUEUE,
      Entries: [
        expect.objectContaining({ Id: 'd0', MessageBody: job(1).body, DelaySeconds: 0 }),
        {
          Id: 'd1',
          MessageBody: job(2).body,
          DelaySeconds: 300,
          MessageAttributes: {
            webhookEndpointId: { DataType: 'String', StringValue: ID },
            webhookEventId: { DataType: 'String', StringValue: 'e2' },
            webhookEventType: { DataType: 'String', StringValue: 'unread.changed' },
            webhookLogKey: { DataType: 'String', StringValue: '2026-02-12T15:09:23.998Z#e2' },
            webhookKind: { DataType: 'String', StringValue: 'event' },
            webhookAttempt: { DataType: 'Number', StringValue: '3' },
            webhookNotBefore: { DataType: 'Number', StringValue: String(T0 + 300_000) },
            webhookDeferrals: { DataType: 'Number', StringValue: '1' },
          },
        },
      ],
    });
  });

  test('a received message decodes back to the same job', async () => {
    acceptAll();
    const original = job(7, { kind: 'replay', attempt: 4, notBeforeMs: T0 + 1, deferrals: 2 });
    await queue().enqueue([original]);
    const [entry] = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries!;

    expect(decodeDeliveryMessage(entry!.MessageBody!, received(entry!.MessageAttributes!))).toEqual(original);
  });

  test('a wait longer than SQS can delay is sent with the longest delay (15 minutes); the dispatcher postpones it further', async () => {
    acceptAll();

    await queue().enqueue([job(1, { notBeforeMs: T0 + 10 * 3600_000 })]);

    expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries![0]!.DelaySeconds).toBe(900);
  });

  test('batches hold at most 10 entries and 256 KiB', async () => {
    acceptAll();
    const big = 'x'.repeat(100_000);

    await queue().enqueue([...Array.from({ length: 12 }, (_, i) => job(i)), job(20, { body: big }), job(21, { body: big }), job(22, { body: big })]);

    expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([10, 4, 1]);
  });

  test('entries SQS refused, and every entry of a call that failed, come back as failed with the error code', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [{ Id: 'd0', MessageId: 'm', MD5OfMessageBody: 'x' }], Failed: [{ Id: 'd1', Code: 'InternalError', SenderFault: false }] })
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'RequestThrottled' }));

    const first = await queue().enqueue([job(1), job(2), job(3)]);
    const second = await queue().enqueue([job(4)]);

    expect(first.failed.map((f) => [f.job.eventId, f.reason])).toEqual([
      ['e2', 'InternalError'],
      ['e3', 'Unconfirmed'],
    ]);
    expect(second.failed.map((f) => [f.job.eventId, f.reason])).toEqual([['e4', 'RequestThrottled']]);
  });
});

describe('dead letters and postponing', () => {
  test('a dead letter goes to the DLQ with its reason and a fresh schedule, so a redrive starts over', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });

    expect(await queue().deadLetter(job(1, { attempt: 8 }), { kind: 'response', status: 503, durationMs: 4 })).toBe('dead-letter');

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ,
      MessageBody: job(1).body,
      MessageAttributes: expect.objectContaining({
        webhookAttempt: { DataType: 'Number', StringValue: '1' },
        webhookDeadLetterReason: { DataType: 'String', StringValue: 'no 2xx after 8 attempts; last: HTTP 503' },
      }),
    });
  });

  test('a dead letter that SQS refuses throws, so the delivery stays in its queue', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('unavailable'));

    await expect(queue().deadLetter(job(1), { kind: 'timeout', durationMs: 15_000 })).rejects.toThrow('unavailable');
  });

  test('postpone hides the message until it is due, at most 12 hours', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});

    await queue().postpone('receipt-1', T0 + 5 * 3600_000);
    await queue().postpone('receipt-2', T0 + 20 * 3600_000);

    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE, ReceiptHandle: 'receipt-1', VisibilityTimeout: 5 * 3600 },
      { QueueUrl: QUEUE, ReceiptHandle: 'receipt-2', VisibilityTimeout: MAX_POSTPONE_SECONDS },
    ]);
  });
});

describe('decodeDeliveryMessage', () => {
  test.each([
    ['no attributes', {}],
    ['a bad endpoint id', { webhookEndpointId: 'wh_x' }],
    ['attempt 0', { webhookAttempt: '0' }],
    ['an unknown kind', { webhookKind: 'other' }],
  ])('refuses a message with %s', (_what, change: Record<string, string>) => {
    const good: Record<string, string> = {
      webhookEndpointId: ID,
      webhookEventId: 'e',
      webhookEventType: 'unread.changed',
      webhookLogKey: 'k',
      webhookKind: 'event',
      webhookAttempt: '1',
      webhookNotBefore: '0',
    };
    const attributes = Object.keys(change).length === 0 ? {} : { ...good, ...change };
    expect(decodeDeliveryMessage('{}', Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { dataType: 'String', stringValue: v }])))).toBeUndefined();
  });

  test('delaySecondsUntil rounds up, within 0 to 900', () => {
    expect([delaySecondsUntil(T0 - 5, T0), delaySecondsUntil(T0 + 1, T0), delaySecondsUntil(T0 + 5000, T0), delaySecondsUntil(T0 + 3600_000, T0)]).toEqual([0, 1, 5, 900]);
  });
});
