import { diffUnread } from './diff';
import { CycleAbortedError, UpstreamUnauthorizedError } from './errors';
import { buildEvent } from './event-builder';
import { compareDecimalIds, type IdentityId } from './identity-id';
import type { UnreadChangedEvent, UnreadState, WatchedIdentity } from './model';
import type { EventPublisher, PublishResult, ScanSegment, SnapshotStore, UnreadSource } from './ports';
import { fit } from './publication';
import { PublishQueue } from './publish-queue';
import { runPool } from './worker-pool';

export interface PollCycleDeps {
  readonly source: UnreadSource;
  readonly store: SnapshotStore;
  readonly publisher: EventPublisher;
  /** Epoch milliseconds; the only clock the cycle reads. */
  readonly clock: () => number;
  readonly observer?: CycleObserver;
}

export interface PollCycleOptions {
  /** Identities worked on at once (each needs one upstream request). */
  readonly concurrency: number;
  /** How long a cycle owns an event it stored before another cycle may publish it instead. */
  readonly claimLeaseMs: number;
  readonly segment?: ScanSegment;
  /** Asked before each identity starts; false stops the cycle early (the Lambda deadline). */
  readonly shouldStartMore?: () => boolean;
}

/** Hooks for logs, metrics and progress; the cycle never logs by itself. */
export interface CycleObserver {
  baselineRecorded?(id: IdentityId, state: UnreadState): void;
  identityFailed?(id: IdentityId, error: unknown, streak: number): void;
  identityNotFound?(id: IdentityId): void;
  eventStored?(event: UnreadChangedEvent): void;
  eventPublished?(event: UnreadChangedEvent): void;
  publishFailed?(event: UnreadChangedEvent, reason: string): void;
  outboxUpdateFailed?(id: IdentityId, error: unknown): void;
  resumePointFailed?(error: unknown): void;
  progress?(done: number, total: number): void;
}

export interface CycleSummary {
  identities: number;
  polled: number;
  changed: number;
  published: number;
  failed: number;
  notFound: number;
  durationMs: number;
  baselines: number;
  /** Events sent again from the outbox (an earlier publish failed or its cycle died). */
  resent: number;
  publishFailed: number;
  /** Writes refused because an overlapping cycle had already stored the same change. */
  conflicts: number;
  /** Identities not started: the deadline came first, or another cycle owns their pending event. */
  skipped: number;
  publishRequests: number;
  /** Set when the deadline stopped the cycle; the next cycle of the segment starts here. */
  resumeFrom?: IdentityId;
}

export class CycleAbortedWithSummary extends CycleAbortedError {
  constructor(
    message: string,
    readonly summary: CycleSummary,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** One poll cycle: load the registry slice, resend what is pending, poll, diff, store, publish. */
export async function runPollCycle(deps: PollCycleDeps, options: PollCycleOptions): Promise<CycleSummary> {
  const { source, store, clock, observer } = deps;
  const startedAt = clock();
  const input = await store.loadCycle(options.segment).catch((error: unknown) => {
    throw new CycleAbortedError(`cannot read the registry: ${describe(error)}`, { cause: error });
  });
  const ordered = orderForCycle(input.identities, input.resumeFrom);
  const summary: CycleSummary = {
    identities: ordered.length, polled: 0, changed: 0, published: 0, failed: 0, notFound: 0, durationMs: 0,
    baselines: 0, resent: 0, publishFailed: 0, conflicts: 0, skipped: 0, publishRequests: 0,
  };
  let abortCause: unknown;
  let done = 0;

  const queue = new PublishQueue(deps.publisher, async (event: UnreadChangedEvent, result: PublishResult) => {
    try {
      if (result.ok) {
        summary.published += 1;
        observer?.eventPublished?.(event);
        await store.completePending(event.identityId, event.eventId);
      } else {
        summary.publishFailed += 1;
        observer?.publishFailed?.(event, result.reason);
        await store.releasePending(event.identityId, event.eventId);
      }
    } catch (error) {
      // The event stays pending under its claim; a later cycle sends it again with the same id.
      observer?.outboxUpdateFailed?.(event.identityId, error);
    }
  });

  const processIdentity = async (watched: WatchedIdentity): Promise<void> => {
    try {
      if (watched.pending) {
        await resendPending(watched);
        return;
      }
      const outcome = await source.fetchUnread(watched.id);
      if (outcome.kind === 'not-found') {
        summary.notFound += 1;
        observer?.identityNotFound?.(watched.id);
        if (!watched.notFound) await store.markNotFound(watched.id);
        return;
      }
      summary.polled += 1;
      await recordObservation(watched, outcome.state);
    } catch (error) {
      if (error instanceof UpstreamUnauthorizedError) {
        abortCause ??= error;
        return;
      }
      summary.failed += 1;
      const streak = watched.failureStreak + 1;
      observer?.identityFailed?.(watched.id, error, streak);
      await store.recordFailure(watched.id, streak).catch((storeError: unknown) => observer?.outboxUpdateFailed?.(watched.id, storeError));
    } finally {
      done += 1;
      observer?.progress?.(done, ordered.length);
    }
  };

  const resendPending = async (watched: WatchedIdentity): Promise<void> => {
    const pending = watched.pending;
    if (!pending) return;
    const now = clock();
    if (pending.claimUntil > now) {
      summary.skipped += 1;
      return;
    }
    const claimed = await store.claimPending(watched.id, pending.event.eventId, pending.claimUntil, now + options.claimLeaseMs);
    if (!claimed) {
      summary.conflicts += 1;
      return;
    }
    summary.resent += 1;
    queue.add(pending.event);
  };

  const recordObservation = async (watched: WatchedIdentity, state: UnreadState): Promise<void> => {
    if (!watched.snapshot) {
      if (await store.saveBaseline(watched.id, state)) {
        summary.baselines += 1;
        observer?.baselineRecorded?.(watched.id, state);
      } else {
        summary.conflicts += 1;
      }
      return;
    }
    const diff = diffUnread(watched.snapshot.state, state);
    if (!diff) {
      if (watched.failureStreak > 0 || watched.notFound) await store.clearFailures(watched.id);
      return;
    }
    const { event, publication } = fit(buildEvent({
      identityId: watched.id,
      ...(watched.label ? { label: watched.label } : {}),
      fromVersion: watched.snapshot.version,
      previous: watched.snapshot.state,
      next: state,
      diff,
      observedAt: new Date(clock()),
    }));
    const stored = await store.saveChange({
      id: watched.id,
      expectedVersion: watched.snapshot.version,
      state,
      event,
      claimUntil: clock() + options.claimLeaseMs,
    });
    if (!stored) {
      summary.conflicts += 1;
      return;
    }
    summary.changed += 1;
    observer?.eventStored?.(event);
    queue.add(event, publication);
  };

  const shouldStart = (): boolean => abortCause === undefined && (options.shouldStartMore?.() ?? true);
  const started = await runPool(ordered, options.concurrency, processIdentity, shouldStart);
  // Events already stored are published even when the cycle is aborted: nothing waits for a lease.
  await queue.drain();
  summary.publishRequests = queue.requests;
  summary.skipped += ordered.length - started;
  summary.durationMs = clock() - startedAt;

  if (abortCause !== undefined) {
    throw new CycleAbortedWithSummary(`cycle aborted: ${describe(abortCause)}`, summary, { cause: abortCause });
  }
  const stoppedEarly = started < ordered.length;
  const resumeFrom = stoppedEarly ? ordered[started]?.id : undefined;
  if (resumeFrom !== undefined) summary.resumeFrom = resumeFrom;
  if (resumeFrom !== undefined || input.resumeFrom !== undefined) {
    await store.saveResumePoint(options.segment, resumeFrom).catch((error: unknown) => observer?.resumePointFailed?.(error));
  }
  return summary;
}

/** Id order, rotated so that a cycle cut short by its deadline is continued where it stopped. */
export function orderForCycle(identities: readonly WatchedIdentity[], resumeFrom?: IdentityId): WatchedIdentity[] {
  const sorted = [...identities].sort((a, b) => compareDecimalIds(a.id, b.id));
  if (resumeFrom === undefined) return sorted;
  const start = sorted.findIndex((w) => compareDecimalIds(w.id, resumeFrom) >= 0);
  return start <= 0 ? sorted : [...sorted.slice(start), ...sorted.slice(0, start)];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
