import type { EventPublisher, PublishResult } from '../../lambda/core/ports';
import type { Publication } from '../../lambda/core/publication';

/** What a subscriber receives: the `default` JSON of one accepted publication. */
export interface DeliveredEvent {
  readonly eventId: string;
  readonly identityId: number;
  readonly previousTotal: number;
  readonly total: number;
  readonly delta: number;
  readonly direction: string;
  readonly conversations: readonly { objectId: number; streamId: number; previous: number; current: number }[];
}

/**
 * The EventPublisher port in memory: accepts every entry unless told to refuse the next entry of
 * an identity (a per-entry failure, as PublishBatch reports one) or to fail the next call whole.
 */
export class ScriptedPublisher implements EventPublisher {
  readonly delivered: DeliveredEvent[] = [];
  /** Publish calls, each with the event ids of its entries. */
  readonly calls: string[][] = [];
  private readonly refusals: { identityId: string; reason: string; eventType?: string }[] = [];
  private readonly callFailures: Error[] = [];

  refuseNextEntry(identityId: string, reason = 'InternalError'): this {
    this.refusals.push({ identityId, reason });
    return this;
  }

  /** Refuses the next entry of the identity that is an event of this type (`unread.alert`, `unread.changed`). */
  refuseNextOfType(identityId: string, eventType: string, reason = 'InternalError'): this {
    this.refusals.push({ identityId, reason, eventType });
    return this;
  }

  failNextCall(error = new Error('InternalError: SNS is having a moment')): this {
    this.callFailures.push(error);
    return this;
  }

  async publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    this.calls.push(batch.map((p) => p.eventId));
    await Promise.resolve();
    const failure = this.callFailures.shift();
    if (failure) throw failure;
    return batch.map((publication): PublishResult => {
      const refusal = this.refusals.find(
        (r) => r.identityId === publication.identityId && (r.eventType === undefined || r.eventType === publication.attributes.eventType?.value),
      );
      if (refusal) {
        this.refusals.splice(this.refusals.indexOf(refusal), 1);
        return { eventId: publication.eventId, ok: false, reason: refusal.reason };
      }
      this.delivered.push(JSON.parse((JSON.parse(publication.message) as { default: string }).default) as DeliveredEvent);
      return { eventId: publication.eventId, ok: true };
    });
  }
}
