import { PublishBatchCommand, SNSClient, ThrottledException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SnsPublisher } from '../../lambda/adapters/sns-publisher';
import { buildEvent } from '../../lambda/core/event-builder';
import { diffUnread } from '../../lambda/core/diff';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadChangedEvent } from '../../lambda/core/model';
import type { PublishResult } from '../../lambda/core/ports';
import { buildPublication, type Publication } from '../../lambda/core/publication';
import { PublishQueue } from '../../lambda/core/publish-queue';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:unread-changed';
const snsMock = mockClient(SNSClient);

/** A real publication from the core, so the adapter is tested on what the cycle really sends. */
function publicationFor(identity: string, total = 3, label?: string): Publication {
  const previous = normalizeState(1, [{ objectId: '396001', streamId: '19155', unread: 1 }]);
  const next = normalizeState(total, [{ objectId: '396001', streamId: '19155', unread: total }]);
  const diff = diffUnread(previous, next);
  if (!diff) throw new Error('fixture has no change');
  return buildPublication(
    buildEvent({
      identityId: parseIdentityId(identity),
      ...(label ? { label } : {}),
      fromVersion: 1,
      previous,
      next,
      diff,
      observedAt: new Date('2026-02-12T15:09:23.998Z'),
    }),
  );
}

function hand(eventId: string, message = '{"default":"{}"}'): Publication {
  return { eventId, identityId: '1', subject: 's', message, attributes: {}, sizeBytes: Buffer.byteLength(message) + 1 };
}

function entryIdOf(eventId: string): string {
  return eventId.replace(/[^A-Za-z0-9_-]/g, '_');
}

describe('SnsPublisher', () => {
  beforeEach(() => {
    snsMock.reset();
  });

  it('sends one PublishBatch to the topic with MessageStructure json and the message unchanged', async () => {
    // Prepare
    const publication = publicationFor('558355');
    snsMock.on(PublishBatchCommand).resolves({ Successful: [{ Id: entryIdOf(publication.eventId) }] });

    // Act
    await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([publication]);

    // Assess
    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
    expect(snsMock).toHaveReceivedCommandWith(PublishBatchCommand, {
      TopicArn: TOPIC_ARN,
      PublishBatchRequestEntries: [expect.objectContaining({ Message: publication.message, MessageStructure: 'json' })],
    });
  });

  it('maps message attributes with their String and Number data types', async () => {
    // Prepare
    const publication = publicationFor('558355', 5);
    snsMock.on(PublishBatchCommand).resolves({ Successful: [{ Id: entryIdOf(publication.eventId) }] });

    // Act
    await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([publication]);

    // Assess
    expect(snsMock).toHaveReceivedCommandWith(PublishBatchCommand, {
      PublishBatchRequestEntries: [
        expect.objectContaining({
          MessageAttributes: {
            identityId: { DataType: 'String', StringValue: '558355' },
            eventType: { DataType: 'String', StringValue: 'unread.changed' },
            direction: { DataType: 'String', StringValue: 'increased' },
            total: { DataType: 'Number', StringValue: '5' },
            delta: { DataType: 'Number', StringValue: '4' },
          },
        }),
      ],
    });
  });

  it('sets the Subject of each entry from the publication', async () => {
    // Prepare
    const publication = publicationFor('558355', 3, 'Support desk');
    snsMock.on(PublishBatchCommand).resolves({ Successful: [{ Id: entryIdOf(publication.eventId) }] });

    // Act
    await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([publication]);

    // Assess
    expect(snsMock).toHaveReceivedCommandWith(PublishBatchCommand, {
      PublishBatchRequestEntries: [expect.objectContaining({ Subject: publication.subject })],
    });
    expect(publication.subject).toContain('Support desk');
  });

  it('uses the eventId as a batch-safe entry Id', async () => {
    // Prepare
    const batch = [publicationFor('1'), publicationFor('2')];
    snsMock.on(PublishBatchCommand).resolves({ Successful: batch.map((p) => ({ Id: p.eventId })) });

    // Act
    await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch(batch);

    // Assess
    const entries = snsMock.commandCalls(PublishBatchCommand)[0]!.args[0].input.PublishBatchRequestEntries ?? [];
    expect(entries.map((e) => e.Id)).toEqual(batch.map((p) => p.eventId));
    for (const entry of entries) expect(entry.Id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('gives entries with unsafe or repeated event ids distinct valid entry Ids', async () => {
    // Prepare
    const batch = [hand('a/b'), hand('a_b'), hand('a/b'), hand('x'.repeat(120))];
    snsMock.on(PublishBatchCommand).resolves({});

    // Act
    await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch(batch);

    // Assess
    const ids = (snsMock.commandCalls(PublishBatchCommand)[0]!.args[0].input.PublishBatchRequestEntries ?? []).map((e) => e.Id);
    expect(new Set(ids).size).toBe(batch.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('answers ok for every entry SNS lists as Successful', async () => {
    // Prepare
    const batch = [publicationFor('1'), publicationFor('2'), publicationFor('3')];
    snsMock.on(PublishBatchCommand).resolves({ Successful: batch.map((p) => ({ Id: p.eventId, MessageId: 'm' })) });

    // Act
    const results = await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch(batch);

    // Assess
    expect(results).toEqual(batch.map((p) => ({ eventId: p.eventId, ok: true })));
  });

  it('marks the entries SNS lists as Failed failed with its code, and the others ok', async () => {
    // Prepare
    const [first, second, third] = [publicationFor('1'), publicationFor('2'), publicationFor('3')];
    snsMock.on(PublishBatchCommand).resolves({
      Successful: [{ Id: first.eventId }, { Id: third.eventId }],
      Failed: [{ Id: second.eventId, Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    });

    // Act
    const results = await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([first, second, third]);

    // Assess
    expect(results).toEqual([
      { eventId: first.eventId, ok: true },
      { eventId: second.eventId, ok: false, reason: 'InternalError (SNS fault): try again' },
      { eventId: third.eventId, ok: true },
    ]);
  });

  it('marks an entry that is in neither Successful nor Failed as failed with no result', async () => {
    // Prepare
    const [first, second] = [publicationFor('1'), publicationFor('2')];
    snsMock.on(PublishBatchCommand).resolves({ Successful: [{ Id: first.eventId }] });

    // Act
    const results = await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([first, second]);

    // Assess
    expect(results[1]).toEqual({ eventId: second.eventId, ok: false, reason: expect.stringContaining('no result') });
  });

  it('keeps message contents out of failure reasons', async () => {
    // Prepare
    const publication = publicationFor('558355', 3, 'VIP customer Jane');
    snsMock.on(PublishBatchCommand).resolves({ Failed: [{ Id: publication.eventId, Code: 'InvalidParameter', SenderFault: true }] });

    // Act
    const [result] = await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([publication]);

    // Assess
    expect(result).toEqual({ eventId: publication.eventId, ok: false, reason: 'InvalidParameter (sender fault)' });
  });

  it('throws when the whole call fails, naming the SNS error code', async () => {
    // Prepare
    snsMock.on(PublishBatchCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));

    // Act
    const sending = new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([publicationFor('1')]);

    // Assess
    await expect(sending).rejects.toThrow('SNS PublishBatch failed: ThrottledException: Rate exceeded');
  });

  it('lets the core queue report every entry failed when the whole call fails', async () => {
    // Prepare
    snsMock.on(PublishBatchCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));
    const results: PublishResult[] = [];
    const queue = new PublishQueue<UnreadChangedEvent>(new SnsPublisher(new SNSClient({}), TOPIC_ARN), (_event, result) => {
      results.push(result);
      return Promise.resolve();
    });
    const events = ['1', '2'].map((id) => {
      const previous = normalizeState(0, []);
      const next = normalizeState(1, [{ objectId: '9', streamId: '8', unread: 1 }]);
      const diff = diffUnread(previous, next)!;
      return buildEvent({ identityId: parseIdentityId(id), fromVersion: 1, previous, next, diff, observedAt: new Date(0) });
    });

    // Act
    for (const event of events) queue.add(event, buildPublication(event));
    await queue.drain();

    // Assess
    expect(results).toHaveLength(2);
    expect(results.every((r) => !r.ok && r.reason.includes('ThrottledException'))).toBe(true);
  });

  it('refuses more than 10 entries without calling SNS', async () => {
    // Prepare
    const batch = Array.from({ length: 11 }, (_, i) => publicationFor(String(i + 1)));

    // Act
    const sending = new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch(batch);

    // Assess
    await expect(sending).rejects.toThrow(/11 entries/);
    expect(snsMock).not.toHaveReceivedCommand(PublishBatchCommand);
  });

  it('refuses a batch over 262,144 bytes without calling SNS', async () => {
    // Prepare
    const big = (id: string): Publication => hand(id, JSON.stringify({ default: 'x'.repeat(140_000) }));

    // Act
    const sending = new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([big('a'), big('b')]);

    // Assess
    await expect(sending).rejects.toThrow(/bytes/);
    expect(snsMock).not.toHaveReceivedCommand(PublishBatchCommand);
  });

  it('groups by identity and dedupes on eventId on a FIFO topic', async () => {
    // Prepare
    const publication = publicationFor('558355');
    snsMock.on(PublishBatchCommand).resolves({ Successful: [{ Id: publication.eventId }] });

    // Act
    await new SnsPublisher(new SNSClient({}), `${TOPIC_ARN}.fifo`).publishBatch([publication]);

    // Assess
    expect(snsMock).toHaveReceivedCommandWith(PublishBatchCommand, {
      PublishBatchRequestEntries: [expect.objectContaining({ MessageGroupId: '558355', MessageDeduplicationId: publication.eventId })],
    });
  });

  it('sets no FIFO fields on a standard topic', async () => {
    // Prepare
    const publication = publicationFor('558355');
    snsMock.on(PublishBatchCommand).resolves({ Successful: [{ Id: publication.eventId }] });

    // Act
    await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([publication]);

    // Assess
    const [entry] = snsMock.commandCalls(PublishBatchCommand)[0]!.args[0].input.PublishBatchRequestEntries ?? [];
    expect(entry).not.toHaveProperty('MessageGroupId');
    expect(entry).not.toHaveProperty('MessageDeduplicationId');
  });

  it('makes no call for an empty batch', async () => {
    // Act
    const results = await new SnsPublisher(new SNSClient({}), TOPIC_ARN).publishBatch([]);

    // Assess
    expect(results).toEqual([]);
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });
});
