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

/**
 * An in-memory SNS stand-in: keeps what a subscriber would receive (the `default` JSON) and can
 * be told to refuse the next calls or entries.
 */
export class RecordingPublisher implements EventPublisher {
  readonly received: ReceivedEvent[] = [];
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
      const message = JSON.parse(publication.message) as { default: string };
      this.received.push(JSON.parse(message.default) as ReceivedEvent);
    }
    return Promise.resolve(batch.map((p) => ({ eventId: p.eventId, ok: true as const })));
  }
}
