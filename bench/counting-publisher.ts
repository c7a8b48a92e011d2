import type { EventPublisher, PublishResult } from '../lambda/core/ports';
import type { Publication } from '../lambda/core/publication';

const SNS_BILLING_CHUNK_BYTES = 64 * 1024;

/**
 * The SNS stand-in of the benchmark: accepts everything and counts what SNS would be asked.
 * `calls` is SNS requests (PublishBatch or Publish), `entries` the messages they carried.
 */
export class CountingPublisher implements EventPublisher {
  calls = 0;
  entries = 0;
  bytes = 0;
  /** Publishes as SNS bills them: each 64 KB chunk of a message (a batch entry too) is one. */
  billedPublishes = 0;

  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    this.calls += 1;
    this.entries += batch.length;
    for (const publication of batch) this.count(publication.sizeBytes);
    return Promise.resolve(batch.map((publication) => ({ eventId: publication.eventId, ok: true as const })));
  }

  /** One SNS `Publish` of one message: what the naive reference does per identity. */
  publish(message: string): Promise<void> {
    this.calls += 1;
    this.entries += 1;
    this.count(Buffer.byteLength(message));
    return Promise.resolve();
  }

  reset(): void {
    this.calls = 0;
    this.entries = 0;
    this.bytes = 0;
    this.billedPublishes = 0;
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    this.billedPublishes += Math.max(1, Math.ceil(bytes / SNS_BILLING_CHUNK_BYTES));
  }
}
