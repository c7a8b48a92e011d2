import {
  PublishBatchCommand,
  type MessageAttributeValue,
  type PublishBatchRequestEntry,
  type PublishBatchResultEntry,
  type BatchResultErrorEntry,
  type SNSClient,
} from '@aws-sdk/client-sns';
import type { EventPublisher, PublishResult } from '../core/ports';
import { measurePublication, SNS_MAX_BYTES, type Publication } from '../core/publication';
import { MAX_BATCH_ENTRIES } from '../core/publish-queue';

/** SNS batch entry ids: letters, digits, '-' and '_', at most 80 characters, unique in the call. */
const ENTRY_ID_MAX = 80;

/**
 * Publishes one batch with one `PublishBatch` call. Per-entry refusals come back as failed results.
 * A failure of the whole call (throttling, access denied, network) or an over-limit batch is
 * thrown: the core PublishQueue catches it and reports every entry of the batch failed, so the
 * events stay pending and the next cycle sends them again.
 */
export class SnsPublisher implements EventPublisher {
  private readonly fifo: boolean;

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {
    this.fifo = topicArn.endsWith('.fifo');
  }

  async publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    if (batch.length === 0) return [];
    assertWithinLimits(batch);
    const entries = withEntryIds(batch);
    let output: { Successful?: PublishBatchResultEntry[]; Failed?: BatchResultErrorEntry[] };
    try {
      output = await this.client.send(
        new PublishBatchCommand({
          TopicArn: this.topicArn,
          PublishBatchRequestEntries: entries.map((entry) => toEntry(entry, this.fifo)),
        }),
      );
    } catch (error) {
      // The SDK error's name is the SNS error code (ThrottledException, AuthorizationErrorException, …).
      throw new Error(`SNS PublishBatch failed: ${describeSdkError(error)}`, { cause: error });
    }
    return mapResults(entries, output.Successful ?? [], output.Failed ?? []);
  }
}

function assertWithinLimits(batch: readonly Publication[]): void {
  if (batch.length > MAX_BATCH_ENTRIES) {
    throw new Error(`refusing a PublishBatch of ${batch.length} entries: SNS accepts at most ${MAX_BATCH_ENTRIES}`);
  }
  // Measured again rather than trusting `sizeBytes`: this adapter is the last guard before SNS.
  const bytes = batch.reduce((sum, publication) => sum + measurePublication(publication), 0);
  if (bytes > SNS_MAX_BYTES) {
    throw new Error(`refusing a PublishBatch of ${bytes} bytes: SNS accepts at most ${SNS_MAX_BYTES} per call`);
  }
}

interface Entry {
  readonly publication: Publication;
  readonly id: string;
}

/**
 * Entry ids from the eventIds (UUIDs are already batch-safe; any other character becomes '_').
 * A repeated id gets a counter, since SNS refuses the whole call when two entry ids are equal.
 */
function withEntryIds(batch: readonly Publication[]): Entry[] {
  const used = new Set<string>();
  return batch.map((publication) => {
    const base = publication.eventId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, ENTRY_ID_MAX) || 'entry';
    let id = base;
    for (let n = 1; used.has(id); n += 1) id = `${base.slice(0, ENTRY_ID_MAX - 8)}_${n}`;
    used.add(id);
    return { publication, id };
  });
}

function toEntry({ publication, id }: Entry, fifo: boolean): PublishBatchRequestEntry {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, attribute] of Object.entries(publication.attributes)) {
    attributes[name] = { DataType: attribute.type, StringValue: attribute.value };
  }
  return {
    Id: id,
    Message: publication.message,
    MessageStructure: 'json',
    // SNS refuses an empty Subject; leaving it out is what "no subject" means.
    ...(publication.subject ? { Subject: publication.subject } : {}),
    MessageAttributes: attributes,
    // A FIFO topic (config accepts one) refuses entries without a group: order per identity, dedupe on eventId.
    ...(fifo ? { MessageGroupId: publication.identityId, MessageDeduplicationId: publication.eventId } : {}),
  };
}

/** Maps SNS's answer back to the batch by entry id; an entry SNS did not mention counts as failed. */
function mapResults(
  entries: readonly Entry[],
  successful: readonly PublishBatchResultEntry[],
  failed: readonly BatchResultErrorEntry[],
): PublishResult[] {
  const ok = new Set(successful.map((entry) => entry.Id));
  const refused = new Map(failed.map((entry) => [entry.Id, entry]));
  return entries.map(({ publication, id }): PublishResult => {
    const failure = refused.get(id);
    // Failed wins over Successful: an entry wrongly in both is sent again rather than lost.
    if (failure) return { eventId: publication.eventId, ok: false, reason: describeFailure(failure) };
    if (ok.has(id)) return { eventId: publication.eventId, ok: true };
    return { eventId: publication.eventId, ok: false, reason: 'no result for entry in the PublishBatch response' };
  });
}

/** Only SNS's own code and message: never the entry's contents. */
function describeFailure(entry: BatchResultErrorEntry): string {
  const code = entry.Code ?? 'UnknownError';
  const side = entry.SenderFault ? 'sender fault' : 'SNS fault';
  return entry.Message ? `${code} (${side}): ${entry.Message}` : `${code} (${side})`;
}

function describeSdkError(error: unknown): string {
  if (error instanceof Error) return error.message && error.message !== error.name ? `${error.name}: ${error.message}` : error.name;
  return String(error);
}
