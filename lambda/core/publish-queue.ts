import type { EventPublisher, PublishResult } from './ports';
import { SNS_MAX_BYTES, type Publication } from './publication';

export const MAX_BATCH_ENTRIES = 10;

/** What the queue needs of what it sends: the id the publisher answers by. */
export interface Publishable {
  readonly eventId: string;
}

type ResultHandler<T> = (item: T, result: PublishResult) => Promise<void>;

/**
 * Groups events into PublishBatch-sized batches (10 entries, 256 KB) so a cycle makes about one
 * publish request per ten events. Callers do not wait for their batch: the result handler (which
 * completes or releases the outbox entry) runs when the batch returns, and `drain` waits for all.
 * Items go out in the order they were added.
 */
export class PublishQueue<T extends Publishable> {
  private batch: { item: T; publication: Publication }[] = [];
  private batchBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  /** Result-handler failures, kept for `drain` to report (nobody awaits a batch before that). */
  private readonly handlerErrors: unknown[] = [];
  requests = 0;

  constructor(
    private readonly publisher: EventPublisher,
    private readonly onResult: ResultHandler<T>,
  ) {}

  /** Queues an item with its rendering. */
  add(item: T, publication: Publication): void {
    if (this.batch.length > 0 && this.batchBytes + publication.sizeBytes > SNS_MAX_BYTES) this.flush();
    this.batch.push({ item, publication });
    this.batchBytes += publication.sizeBytes;
    if (this.batch.length >= MAX_BATCH_ENTRIES) this.flush();
  }

  /** Waits for every batch and handler; then rethrows the first handler failure, if any. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.handlerErrors.length > 0) throw this.handlerErrors.splice(0)[0];
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    // Caught here: a batch that fails before `drain` awaits it would be an unhandled rejection.
    const sending = this.send(batch)
      .catch((error: unknown) => void this.handlerErrors.push(error))
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  private async send(batch: { item: T; publication: Publication }[]): Promise<void> {
    this.requests += 1;
    let results: PublishResult[];
    try {
      results = await this.publisher.publishBatch(batch.map((entry) => entry.publication));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      results = batch.map(({ item }) => ({ eventId: item.eventId, ok: false, reason }));
    }
    const byId = new Map(results.map((r) => [r.eventId, r]));
    // allSettled: one failing handler must not let drain return while the others still run.
    const outcomes = await Promise.allSettled(
      batch.map(({ item }) =>
        this.onResult(item, byId.get(item.eventId) ?? { eventId: item.eventId, ok: false, reason: 'no result for entry' }),
      ),
    );
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
