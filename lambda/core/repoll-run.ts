import { CycleAbortedError } from './errors';
import type { IdentityId } from './identity-id';
import type { CycleSummary } from './poll-cycle';
import { runPool } from './worker-pool';

/**
 * One targeted poll of one identity: the poll cycle over just that id, read by key, through the
 * same store, outbox, claims and conditional writes as the schedule's cycles (so a cycle running
 * at the same time can never double an event). Rejects with CycleAbortedError when nothing can be
 * polled (a 401, an unreadable token, an unreachable store).
 */
export type PollIdentity = (id: IdentityId) => Promise<CycleSummary>;

/** Why a re-poll is handed back to be tried again later. */
export type RetryReason =
  /** CommBox did not answer usefully (after the source's own retries, Retry-After honoured). */
  | 'poll-failed'
  /** The change was stored but the publisher refused its event: it stays pending. */
  | 'publish-failed'
  /** Another cycle holds the identity's pending event: it publishes it; the poll comes later. */
  | 'held-by-another-cycle'
  /** The run ended (its deadline, a stop) before this identity started. */
  | 'not-started'
  /** The poll cycle aborted: a 401, an unreadable token, an unreachable store. */
  | 'aborted';

export type RepollOutcome =
  | {
      readonly kind: 'polled';
      readonly identityId: IdentityId;
      /** Targeted polls run: 2 when its pending event was sent first. */
      readonly polls: number;
      readonly sentPending: boolean;
      /** Events the publisher accepted for it (the pending one and a new change). */
      readonly published: number;
    }
  /** No longer registered: nothing to poll (its request was accepted before it was removed). */
  | { readonly kind: 'unregistered'; readonly identityId: IdentityId }
  | { readonly kind: 'retry'; readonly identityId: IdentityId; readonly reason: RetryReason };

/** Targeted polls one re-poll may take: the pending event, the poll owed, one more after a conflict. */
export const MAX_POLLS_PER_REPOLL = 3;

/**
 * Re-polls one identity. An identity with a pending event gets it sent first (that is all a
 * cycle does for it), then it is polled in another targeted poll: the message that asked for the
 * re-poll must not wait for the next scheduled cycle. When another cycle stored a change of it
 * first (a conflict), it is polled once more: that cycle may have read CommBox before the message
 * this re-poll was asked for.
 */
export async function repollIdentity(id: IdentityId, pollIdentity: PollIdentity, record: (summary: CycleSummary) => void = () => undefined): Promise<RepollOutcome> {
  let polls = 0;
  let published = 0;
  let sentPending = false;
  for (;;) {
    const summary = await pollIdentity(id);
    polls += 1;
    record(summary);
    published += summary.published;
    if (summary.identities === 0) return { kind: 'unregistered', identityId: id };
    if (summary.publishFailed > 0) return { kind: 'retry', identityId: id, reason: 'publish-failed' };
    if (summary.failed > 0) return { kind: 'retry', identityId: id, reason: 'poll-failed' };
    const owed = summary.resent > 0 || summary.conflicts > 0;
    if (summary.resent > 0) sentPending = true;
    if (owed && polls < MAX_POLLS_PER_REPOLL) continue;
    // Neither polled nor found gone: another cycle holds (or just took over) its pending event.
    if (summary.polled + summary.notFound === 0) return { kind: 'retry', identityId: id, reason: 'held-by-another-cycle' };
    return { kind: 'polled', identityId: id, polls, sentPending, published };
  }
}

/** One queued re-poll, as the transport delivers it. */
export interface QueuedRepoll {
  /** The transport's id of the message (SQS messageId), answered back when it must be retried. */
  readonly messageId: string;
  readonly identityId: IdentityId;
  /** When the request arrived (epoch ms); 0 when unknown. */
  readonly requestedAt: number;
}

export interface RepollBatchOptions {
  /** Identities re-polled at once. */
  readonly concurrency: number;
  /** Asked before each identity starts; false leaves the rest for a retry (the Lambda deadline, a stop). */
  readonly shouldStartMore?: () => boolean;
  /** Epoch milliseconds, for the latency from request to poll. */
  readonly clock: () => number;
  /** Every cycle summary of the batch, as it comes (for metrics). */
  readonly record?: (summary: CycleSummary) => void;
}

export interface RepollBatchResult {
  readonly outcomes: readonly RepollOutcome[];
  /** The messages to hand back for a retry (each message of an identity to retry). */
  readonly retryMessageIds: readonly string[];
  /** Milliseconds from each polled identity's earliest request to the end of its poll (requests of unknown time left out). */
  readonly latenciesMs: ReadonlyMap<IdentityId, number>;
  /** What aborted the batch, when something did (every identity not polled by then is retried). */
  readonly aborted?: CycleAbortedError;
}

/**
 * A batch of queued re-polls: each identity once (several messages for one identity share its
 * poll), at most `concurrency` at once. After an abort no identity starts; the rest are retried.
 */
export async function runRepollBatch(messages: readonly QueuedRepoll[], pollIdentity: PollIdentity, options: RepollBatchOptions): Promise<RepollBatchResult> {
  const byIdentity = new Map<IdentityId, QueuedRepoll[]>();
  for (const message of messages) {
    const group = byIdentity.get(message.identityId);
    if (group) group.push(message);
    else byIdentity.set(message.identityId, [message]);
  }
  const ids = [...byIdentity.keys()];
  const outcomes = new Map<IdentityId, RepollOutcome>();
  const latenciesMs = new Map<IdentityId, number>();
  let aborted: CycleAbortedError | undefined;
  await runPool(
    ids,
    options.concurrency,
    async (id) => {
      try {
        const outcome = await repollIdentity(id, pollIdentity, options.record);
        outcomes.set(id, outcome);
        if (outcome.kind === 'polled') {
          const requestedAt = Math.min(...(byIdentity.get(id) ?? []).map((m) => m.requestedAt).filter((t) => t > 0));
          if (Number.isFinite(requestedAt)) latenciesMs.set(id, Math.max(0, options.clock() - requestedAt));
        }
      } catch (error) {
        if (error instanceof CycleAbortedError) aborted ??= error;
        outcomes.set(id, { kind: 'retry', identityId: id, reason: error instanceof CycleAbortedError ? 'aborted' : 'poll-failed' });
      }
    },
    () => aborted === undefined && (options.shouldStartMore?.() ?? true),
  );
  const all = ids.map((id): RepollOutcome => outcomes.get(id) ?? { kind: 'retry', identityId: id, reason: aborted ? 'aborted' : 'not-started' });
  const retryMessageIds = all.filter((o) => o.kind === 'retry').flatMap((o) => (byIdentity.get(o.identityId) ?? []).map((m) => m.messageId));
  return { outcomes: all, retryMessageIds, latenciesMs, ...(aborted ? { aborted } : {}) };
}
