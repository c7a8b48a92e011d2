import type { EventPublisher, PublishResult } from '../lambda/core/ports';
import type { Publication } from '../lambda/core/publication';

/**
 * The SNS stand-in of the benchmark: accepts everything and counts what SNS would be asked.
 * `calls` is SNS requests (PublishBatch or Publish), `entries` the messages they carried.
 */
export class CountingPublisher implements EventPublisher {
  calls = 0;
  entries = 0;
  bytes = 0;

  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    this.calls += 1;
    this.entries += batch.length;
    for (const publication of batch) this.bytes += publication.sizeBytes;
    return Promise.resolve(batch.map((publication) => ({ eventId: publication.eventId, ok: true as const })));
  }

  /** One SNS `Publish` of one message: what the naive reference does per identity. */
  publish(message: string): Promise<void> {
    this.calls += 1;
    this.entries += 1;
    this.bytes += Buffer.byteLength(message);
    return Promise.resolve();
  }

  reset(): void {
    this.calls = 0;
    this.entries = 0;
    this.bytes = 0;
  }
}
