import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { decodeDeliveryMessage, describeOutcome } from './adapters/sqs-webhook-queue';
import type { DeliveryAttemptOutcome } from './core/webhook-delivery';
import type { DispatchObserver, WebhookDispatcher } from './core/webhook-dispatcher';
import type { DisabledReason } from './core/webhook-endpoint';
import type { DeliveryJob, DeliveryState, WebhookEvent } from './core/webhook-job';
import { queueNameOf, WEBHOOK_METRICS } from './webhook-config';

export interface DispatchLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface WebhookRecordsDeps {
  readonly dispatcher: WebhookDispatcher;
  /** Hides a delivery message that came early until it is due. */
  readonly postpone: (receiptHandle: string, untilMs: number) => Promise<void>;
  /** The delivery queue's name: records from it are deliveries, any other are events to fan out. */
  readonly deliveryQueueName: string;
  readonly log: DispatchLog;
}

/**
 * One batch of the dispatcher Lambda, from either of its two queues: events from the topic are
 * fanned out (one delivery message per matching endpoint), delivery messages get one attempt
 * each. Every record is handled at once and on its own; the answer lists the records to keep
 * (partial batch response): one whose fan-out or retry could not be queued (tried again after
 * the visibility timeout, with the same `webhook-id`), and one that came early and was postponed.
 */
export async function handleWebhookRecords(records: readonly SQSRecord[], deps: WebhookRecordsDeps): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  const isDelivery = (record: SQSRecord): boolean => queueNameOf(record.eventSourceARN) === deps.deliveryQueueName;
  const events = records.filter((record) => !isDelivery(record));
  const deliveries = records.filter(isDelivery);

  const fanOut = async (): Promise<void> => {
    if (events.length === 0) return;
    let results;
    try {
      results = await deps.dispatcher.fanOut(events.map((record) => record.body));
    } catch (error) {
      deps.log.error('webhook fan-out failed', { error: errorName(error), events: events.length });
      failures.push(...events.map((record) => record.messageId));
      return;
    }
    results.forEach((result, i) => {
      const record = events[i] as SQSRecord;
      if (result.ok) return;
      deps.log.error('event not fanned out to webhooks; kept in the queue', { messageId: record.messageId, reason: result.reason });
      failures.push(record.messageId);
    });
  };

  const deliver = async (record: SQSRecord): Promise<void> => {
    const job = decodeDeliveryMessage(record.body, record.messageAttributes);
    if (job === undefined) {
      deps.log.error('not a webhook delivery message; kept until it is dead-lettered', { messageId: record.messageId });
      failures.push(record.messageId);
      return;
    }
    try {
      const step = await deps.dispatcher.deliver(job);
      if (step.kind === 'wait') {
        await deps.postpone(record.receiptHandle, step.untilMs);
        failures.push(record.messageId);
      }
    } catch (error) {
      deps.log.error('webhook delivery failed before it was settled; it will be tried again', { ...jobFields(job), error: errorName(error) });
      failures.push(record.messageId);
    }
  };

  await Promise.all([fanOut(), ...deliveries.map(deliver)]);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** The log fields of a delivery: ids and numbers only (no URL, no body, no secret). */
export function jobFields(job: DeliveryJob): Record<string, unknown> {
  return { endpointId: job.endpointId, eventId: job.eventId, eventType: job.eventType, kind: job.kind, attempt: job.attempt };
}

export function outcomeFields(outcome: DeliveryAttemptOutcome): Record<string, unknown> {
  return { outcome: describeOutcome(outcome), durationMs: outcome.durationMs };
}

function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'Error';
}

/** Counts for one invocation's metrics, and the log lines of each step. */
export class DispatchTelemetry implements DispatchObserver {
  readonly counts: Record<(typeof WEBHOOK_METRICS)[keyof typeof WEBHOOK_METRICS], number> = {
    WebhookEvents: 0,
    WebhookDeliveriesQueued: 0,
    WebhookDelivered: 0,
    WebhookAttemptFailed: 0,
    WebhookDeadLettered: 0,
    WebhookEndpointDisabled: 0,
    WebhookDeferred: 0,
    WebhookDropped: 0,
    WebhookBookkeepingFailed: 0,
  };

  constructor(readonly log: DispatchLog) {}

  reset(): void {
    for (const name of Object.keys(this.counts) as (keyof typeof this.counts)[]) this.counts[name] = 0;
  }

  fannedOut(event: WebhookEvent, deliveries: number): void {
    this.counts.WebhookEvents += 1;
    this.counts.WebhookDeliveriesQueued += deliveries;
    this.log.info('event fanned out to webhooks', { eventId: event.eventId, eventType: event.type, deliveries });
  }

  delivered(job: DeliveryJob, outcome: DeliveryAttemptOutcome): void {
    this.counts.WebhookDelivered += 1;
    this.log.info('webhook delivered', { ...jobFields(job), ...outcomeFields(outcome) });
  }

  attemptFailed(job: DeliveryJob, outcome: DeliveryAttemptOutcome, next?: DeliveryJob): void {
    this.counts.WebhookAttemptFailed += 1;
    this.log.warn('webhook attempt failed', { ...jobFields(job), ...outcomeFields(outcome), ...(next ? { nextAttemptAt: new Date(next.notBeforeMs).toISOString() } : {}) });
  }

  deadLettered(job: DeliveryJob, outcome: DeliveryAttemptOutcome, state: DeliveryState): void {
    this.counts.WebhookDeadLettered += 1;
    this.log.error('webhook delivery gave up: retry schedule used up', { ...jobFields(job), ...outcomeFields(outcome), state });
  }

  endpointDisabled(job: DeliveryJob, reason: DisabledReason): void {
    this.counts.WebhookEndpointDisabled += 1;
    this.log.error('webhook endpoint disabled', {
      endpointId: job.endpointId,
      reason,
      fix: reason === 'gone' ? 'the receiver answered 410 Gone' : "fix the receiver, then 'unread-notifier webhooks enable <id>' and 'webhooks replay <id> --since <ISO>'",
    });
  }

  deferred(job: DeliveryJob, next: DeliveryJob): void {
    this.counts.WebhookDeferred += 1;
    this.log.info('webhook endpoint busy; delivery put back', { ...jobFields(job), until: new Date(next.notBeforeMs).toISOString() });
  }

  dropped(job: DeliveryJob, why: 'removed' | 'disabled' | 'duplicate'): void {
    this.counts.WebhookDropped += 1;
    this.log.info('webhook delivery dropped', { ...jobFields(job), why });
  }

  bookkeepingFailed(job: DeliveryJob, what: 'health' | 'log' | 'slot', error: unknown): void {
    this.counts.WebhookBookkeepingFailed += 1;
    this.log.warn('webhook bookkeeping write failed', { ...jobFields(job), what, error: errorName(error) });
  }
}
