import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeliveryAttemptOutcome } from '../core/webhook-delivery';
import { parseWebhookEndpointId } from '../core/webhook-endpoint';
import type { DeliveryJob, DeliveryKind } from '../core/webhook-job';
import type { DeadLetterState, EnqueueResult, WebhookDeliveryQueue } from '../core/webhook-ports';

/** SendMessageBatch takes at most 10 entries, and 256 KiB in all. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 262_144;
/** SQS's longest DelaySeconds. */
export const MAX_DELAY_SECONDS = 900;
/**
 * SQS's longest visibility timeout is 12 hours from the receive; a little is kept back for the
 * time the message was already held. The schedule's longest wait (10 h) fits.
 */
export const MAX_POSTPONE_SECONDS = 12 * 3600 - 300;

/**
 * A delivery message: the body is the event JSON exactly as published (so nothing is escaped
 * twice and an event that fitted SNS fits here), the job's other fields are message attributes.
 */
export const DELIVERY_ATTRIBUTES = {
  endpointId: 'webhookEndpointId',
  eventId: 'webhookEventId',
  eventType: 'webhookEventType',
  logKey: 'webhookLogKey',
  kind: 'webhookKind',
  attempt: 'webhookAttempt',
  notBefore: 'webhookNotBefore',
  deferrals: 'webhookDeferrals',
  /** Dead letters only: why, in words (no URL, no body). */
  deadLetterReason: 'webhookDeadLetterReason',
} as const;

const KINDS: readonly DeliveryKind[] = ['event', 'replay', 'test'];

export function encodeDeliveryAttributes(job: DeliveryJob): Record<string, MessageAttributeValue> {
  const string = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  const number = (value: number): MessageAttributeValue => ({ DataType: 'Number', StringValue: String(value) });
  return {
    [DELIVERY_ATTRIBUTES.endpointId]: string(job.endpointId),
    [DELIVERY_ATTRIBUTES.eventId]: string(job.eventId),
    [DELIVERY_ATTRIBUTES.eventType]: string(job.eventType),
    [DELIVERY_ATTRIBUTES.logKey]: string(job.logKey),
    [DELIVERY_ATTRIBUTES.kind]: string(job.kind),
    [DELIVERY_ATTRIBUTES.attempt]: number(job.attempt),
    [DELIVERY_ATTRIBUTES.notBefore]: number(job.notBeforeMs),
    [DELIVERY_ATTRIBUTES.deferrals]: number(job.deferrals),
  };
}

/** An attribute as the Lambda SQS event carries it (camelCase `stringValue`). */
export interface ReceivedAttribute {
  readonly stringValue?: string;
  readonly dataType: string;
}

/** The job of a received delivery message; undefined when it is not one (never throws). */
export function decodeDeliveryMessage(body: string, attributes: Readonly<Record<string, ReceivedAttribute>>): DeliveryJob | undefined {
  const text = (name: string): string | undefined => attributes[name]?.stringValue;
  const integer = (name: string): number | undefined => {
    const raw = text(name);
    return raw !== undefined && /^\d{1,16}$/.test(raw) ? Number(raw) : undefined;
  };
  const endpointId = text(DELIVERY_ATTRIBUTES.endpointId);
  const eventId = text(DELIVERY_ATTRIBUTES.eventId);
  const eventType = text(DELIVERY_ATTRIBUTES.eventType);
  const logKey = text(DELIVERY_ATTRIBUTES.logKey);
  const kind = KINDS.find((k) => k === text(DELIVERY_ATTRIBUTES.kind));
  const attempt = integer(DELIVERY_ATTRIBUTES.attempt);
  const notBeforeMs = integer(DELIVERY_ATTRIBUTES.notBefore);
  const deferrals = integer(DELIVERY_ATTRIBUTES.deferrals) ?? 0;
  if (endpointId === undefined || eventId === undefined || eventType === undefined || logKey === undefined) return undefined;
  if (kind === undefined || attempt === undefined || attempt < 1 || notBeforeMs === undefined) return undefined;
  try {
    return { endpointId: parseWebhookEndpointId(endpointId), eventId, eventType, logKey, body, kind, attempt, notBeforeMs, deferrals };
  } catch {
    return undefined;
  }
}

export interface SqsWebhookQueueOptions {
  readonly deliveryQueueUrl: string;
  /** Where deliveries go when the schedule is used up. */
  readonly deadLetterQueueUrl: string;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
}

/**
 * The delivery queue in AWS. A job is a message delayed until its time: DelaySeconds covers up
 * to 15 minutes; a longer wait arrives after 15 minutes, and the dispatcher then hides it for
 * the rest (`postpone`: ChangeMessageVisibility, up to 12 hours), so no Lambda ever sleeps.
 * Each attempt is a new message, so a message's receive count only grows through crashes, and
 * the queue's maxReceiveCount catches poison messages.
 */
export class SqsWebhookQueue implements WebhookDeliveryQueue {
  private readonly clock: () => number;

  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsWebhookQueueOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  async enqueue(jobs: readonly DeliveryJob[]): Promise<EnqueueResult> {
    const now = this.clock();
    const entries = jobs.map((job, i) => ({
      job,
      entry: {
        Id: `d${i}`,
        MessageBody: job.body,
        MessageAttributes: encodeDeliveryAttributes(job),
        DelaySeconds: delaySecondsUntil(job.notBeforeMs, now),
      } satisfies SendMessageBatchRequestEntry,
    }));
    const failed = await Promise.all(batchesOf(entries).map((batch) => this.sendBatch(batch)));
    return { failed: failed.flat() };
  }

  private async sendBatch(batch: readonly { job: DeliveryJob; entry: SendMessageBatchRequestEntry }[]): Promise<EnqueueResult['failed']> {
    try {
      const output = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.options.deliveryQueueUrl, Entries: batch.map((b) => b.entry) }));
      const succeeded = new Set((output.Successful ?? []).map((s) => s.Id));
      const refused = new Map((output.Failed ?? []).map((f) => [f.Id, f.Code ?? 'Failed']));
      // An entry in neither list was not confirmed: report it rather than assume it was sent.
      return batch.flatMap(({ job, entry }) => (succeeded.has(entry.Id) ? [] : [{ job, reason: refused.get(entry.Id) ?? 'Unconfirmed' }]));
    } catch (error) {
      const reason = error instanceof Error ? error.name : 'Error';
      return batch.map(({ job }) => ({ job, reason }));
    }
  }

  /** To the dead-letter queue, with the schedule reset (a redrive starts it over) and the reason. */
  async deadLetter(job: DeliveryJob, lastOutcome: DeliveryAttemptOutcome): Promise<DeadLetterState> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.options.deadLetterQueueUrl,
        MessageBody: job.body,
        MessageAttributes: {
          ...encodeDeliveryAttributes({ ...job, attempt: 1, notBeforeMs: 0, deferrals: 0 }),
          [DELIVERY_ATTRIBUTES.deadLetterReason]: { DataType: 'String', StringValue: `no 2xx after ${job.attempt} attempts; last: ${describeOutcome(lastOutcome)}` },
        },
      }),
    );
    return 'dead-letter';
  }

  /** Hides a message that came before its time until then (at most 12 hours), so it comes back when due. */
  async postpone(receiptHandle: string, untilMs: number): Promise<void> {
    const seconds = Math.min(MAX_POSTPONE_SECONDS, Math.max(0, Math.ceil((untilMs - this.clock()) / 1000)));
    await this.client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: this.options.deliveryQueueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }),
    );
  }
}

/** Whole seconds until `notBeforeMs`, rounded up, within SQS's 0-900. */
export function delaySecondsUntil(notBeforeMs: number, nowMs: number): number {
  const ms = notBeforeMs - nowMs;
  if (!(ms > 0)) return 0;
  return Math.min(MAX_DELAY_SECONDS, Math.ceil(ms / 1000));
}

/** A short, safe description of an outcome: a status, a code or a refusal, never a body or a query. */
export function describeOutcome(outcome: DeliveryAttemptOutcome): string {
  switch (outcome.kind) {
    case 'response':
      return `HTTP ${outcome.status}`;
    case 'timeout':
      return 'timeout';
    case 'network':
      return outcome.code;
    case 'refused':
      return `refused: ${outcome.reason}`;
  }
}

function entryBytes(entry: SendMessageBatchRequestEntry): number {
  let bytes = Buffer.byteLength(entry.MessageBody ?? '');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

function batchesOf<T extends { entry: SendMessageBatchRequestEntry }>(entries: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of entries) {
    const size = entryBytes(item.entry);
    if (current.length > 0 && (current.length >= BATCH_ENTRIES || bytes + size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
