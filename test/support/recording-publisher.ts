import type { EventPublisher, PublishResult } from '../../lambda/core/ports';
import type { Publication } from '../../lambda/core/publication';

export interface ReceivedEvent {
  eventId: string;
  identityId: number;
  previousTotal: number;
  total: number;
  delta: number;
  direction: string;
  conversations: { objectId: number; streamId: number; previous: number; current: number }[];
  label?: string;
  truncated?: boolean;
}

/** An `unread.alert` as a subscriber receives it. */
export interface ReceivedAlert {
  type: 'unread.alert';
  kind: 'new' | 'digest' | 'reminder' | 'cleared';
  eventId: string;
  identityId: number;
  label?: string;
  total: number;
  lastAlertTotal: number;
  changes: number;
  waitingSince: string;
  conversations: { objectId: number; streamId: number; unread: number }[];
  observedAt: string;
}

/**
 * An in-memory SNS stand-in: keeps what a subscriber would receive (the `default` JSON), change
 * events and alerts apart, and can be told to refuse the next calls.
 */
export class RecordingPublisher implements EventPublisher {
  /** `unread.changed` events. */
  readonly received: ReceivedEvent[] = [];
  /** `unread.alert` events, with the texts people would read. */
  readonly alerts: (ReceivedAlert & { readonly texts: { subject: string; email: string; sms: string } })[] = [];
  calls = 0;
  private failNextCalls = 0;

  failNext(calls = 1): void {
    this.failNextCalls += calls;
  }

  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    this.calls += 1;
    if (this.failNextCalls > 0) {
      this.failNextCalls -= 1;
      return Promise.reject(new Error('InternalError: SNS is having a moment'));
    }
    for (const publication of batch) {
      const message = JSON.parse(publication.message) as { default: string; email: string; sms: string };
      const event = JSON.parse(message.default) as ReceivedEvent | ReceivedAlert;
      if ('type' in event && event.type === 'unread.alert') this.alerts.push({ ...event, texts: { subject: publication.subject, email: message.email, sms: message.sms } });
      else this.received.push(event as ReceivedEvent);
    }
    return Promise.resolve(batch.map((p) => ({ eventId: p.eventId, ok: true as const })));
  }
}
