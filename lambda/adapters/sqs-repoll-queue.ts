import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { isIdentityId, type IdentityId } from '../core/identity-id';
import type { RepollMessage, RepollQueue, RepollSendResult } from '../core/repoll-ports';

/** SendMessageBatch takes at most 10 entries. */
const BATCH_SIZE = 10;
/** SQS's largest DelaySeconds. */
const MAX_DELAY_SECONDS = 900;

/** The body of one re-poll message: one identity, so a failed poll is retried (and dead-lettered) alone. */
export interface RepollMessageBody {
  readonly identityId: IdentityId;
  /** When the request arrived (epoch ms). */
  readonly requestedAt: number;
}

export function encodeRepollMessage(message: Pick<RepollMessage, 'identityId' | 'requestedAt'>): string {
  return JSON.stringify({ identityId: message.identityId, requestedAt: message.requestedAt });
}

/** The consumer's side: undefined for a body that is not a re-poll message (never throws). */
export function parseRepollMessage(body: string): RepollMessageBody | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { identityId, requestedAt } = parsed as { identityId?: unknown; requestedAt?: unknown };
  if (typeof identityId !== 'string' || !isIdentityId(identityId)) return undefined;
  return { identityId, requestedAt: typeof requestedAt === 'number' && Number.isFinite(requestedAt) ? requestedAt : 0 };
}

/**
 * Re-polls as SQS messages, 10 per SendMessageBatch (the batches in parallel). A trailing poll
 * waits in the queue: DelaySeconds is its delay rounded up to whole seconds, so it never starts
 * before its window ends. Entries SQS refused, and every entry of a batch whose call failed, are
 * answered as failed with SQS's error code; nothing throws.
 */
export class SqsRepollQueue implements RepollQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: readonly RepollMessage[]): Promise<RepollSendResult> {
    const batches: RepollMessage[][] = [];
    for (let i = 0; i < messages.length; i += BATCH_SIZE) batches.push(messages.slice(i, i + BATCH_SIZE));
    const failed = await Promise.all(batches.map((batch) => this.sendBatch(batch)));
    return { failed: failed.flat() };
  }

  private async sendBatch(batch: readonly RepollMessage[]): Promise<RepollSendResult['failed']> {
    const entries: SendMessageBatchRequestEntry[] = batch.map((message, i) => ({
      Id: `m${i}`,
      MessageBody: encodeRepollMessage(message),
      DelaySeconds: delaySeconds(message.delayMs),
    }));
    try {
      const output = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
      const succeeded = new Set((output.Successful ?? []).map((s) => s.Id));
      const refused = new Map((output.Failed ?? []).map((f) => [f.Id, f.Code ?? 'Failed']));
      // An entry in neither list was not confirmed: report it rather than assume it was sent.
      return batch.flatMap((message, i) =>
        succeeded.has(`m${i}`) ? [] : [{ identityId: message.identityId, reason: refused.get(`m${i}`) ?? 'Unconfirmed' }],
      );
    } catch (error) {
      const reason = error instanceof Error ? error.name : 'Error';
      return batch.map((message) => ({ identityId: message.identityId, reason }));
    }
  }
}

/** Whole seconds, rounded up, within SQS's 0-900. */
export function delaySeconds(delayMs: number): number {
  if (!(delayMs > 0)) return 0;
  return Math.min(MAX_DELAY_SECONDS, Math.ceil(delayMs / 1000));
}
