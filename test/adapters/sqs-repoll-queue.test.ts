import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { delaySeconds, encodeRepollMessage, parseRepollMessage, SqsRepollQueue } from '../../lambda/adapters/sqs-repoll-queue';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { RepollMessage } from '../../lambda/core/repoll-ports';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/unread-notifier-repoll';
const T0 = 1_770_000_000_000;

const message = (id: string, delayMs = 0): RepollMessage => ({ identityId: parseIdentityId(id), delayMs, requestedAt: T0 });

/** Answers every entry as sent. */
function acceptAll(): void {
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `msg-${e.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  }));
}

describe('SqsRepollQueue', () => {
  beforeEach(() => {
    sqs.reset();
  });

  it('sends one SendMessageBatch: one identity per message, its body the id as a string and the request time', async () => {
    acceptAll();

    const result = await new SqsRepollQueue(new SQSClient({}), QUEUE_URL).send([message('558355'), message('9223372036854775807')]);

    expect(result).toEqual({ failed: [] });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      QueueUrl: QUEUE_URL,
      Entries: [
        { Id: 'm0', MessageBody: `{"identityId":"558355","requestedAt":${T0}}`, DelaySeconds: 0 },
        { Id: 'm1', MessageBody: `{"identityId":"9223372036854775807","requestedAt":${T0}}`, DelaySeconds: 0 },
      ],
    });
  });

  it('a trailing poll waits in the queue: DelaySeconds is its delay rounded up to whole seconds', async () => {
    acceptAll();

    await new SqsRepollQueue(new SQSClient({}), QUEUE_URL).send([message('1', 1_700), message('2', 2_000), message('3', 1)]);

    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      Entries: [expect.objectContaining({ DelaySeconds: 2 }), expect.objectContaining({ DelaySeconds: 2 }), expect.objectContaining({ DelaySeconds: 1 })],
    });
  });

  it('sends 25 messages as batches of 10, 10 and 5', async () => {
    acceptAll();

    await new SqsRepollQueue(new SQSClient({}), QUEUE_URL).send(Array.from({ length: 25 }, (_, i) => message(String(i + 1))));

    const sizes = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries?.length);
    expect(sizes).toEqual([10, 10, 5]);
  });

  it('entries SQS refused are answered as failed with their error code; the others as sent', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: 'm0', MessageId: 'a', MD5OfMessageBody: 'x' }],
      Failed: [{ Id: 'm1', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    });

    const result = await new SqsRepollQueue(new SQSClient({}), QUEUE_URL).send([message('1'), message('2'), message('3')]);

    expect(result.failed).toEqual([
      { identityId: '2', reason: 'InternalError' },
      { identityId: '3', reason: 'Unconfirmed' },
    ]);
  });

  it('a batch whose call failed is answered as failed entry by entry, by the error name, without throwing', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      if (input.Entries.length === 10) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: 'x' })) };
    });

    const result = await new SqsRepollQueue(new SQSClient({}), QUEUE_URL).send(Array.from({ length: 12 }, (_, i) => message(String(i + 1))));

    expect(result.failed).toEqual(Array.from({ length: 10 }, (_, i) => ({ identityId: String(i + 1), reason: 'ThrottlingException' })));
  });

  it('nothing to send sends nothing', async () => {
    expect(await new SqsRepollQueue(new SQSClient({}), QUEUE_URL).send([])).toEqual({ failed: [] });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
  });
});

describe('the re-poll message body', () => {
  it('reads back what was written', () => {
    expect(parseRepollMessage(encodeRepollMessage(message('9223372036854775807')))).toEqual({ identityId: '9223372036854775807', requestedAt: T0 });
  });

  it.each(['not json', '{}', '{"identityId":558355}', '{"identityId":"007"}', 'null'])('refuses %s', (body) => {
    expect(parseRepollMessage(body)).toBeUndefined();
  });
});

describe('delaySeconds', () => {
  it.each([
    [0, 0],
    [-5, 0],
    [1, 1],
    [1_000, 1],
    [1_001, 2],
    [2_000, 2],
    [10_000_000, 900],
  ])('%i ms waits %i s', (ms, seconds) => {
    expect(delaySeconds(ms)).toBe(seconds);
  });
});
