import { longestFetchMs } from './adapters/commbox/commbox-objects-source';
import type { Config } from './config';
import { randomBytes } from 'node:crypto';
import type { RunReceipt } from './core/poll-cycle';
import type { ScanSegment } from './core/ports';
import { formatRunId } from './core/run-receipt';

export class InvalidInvocationError extends Error {
  override readonly name = 'InvalidInvocationError';
}

/**
 * The schedule's payload: `{segment, totalSegments}` for one shard of the registry, or nothing
 * (an empty object, a scheduler envelope) for all of it.
 */
export function parseInvocation(event: unknown): ScanSegment | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { segment, totalSegments } = event as { segment?: unknown; totalSegments?: unknown };
  if (segment === undefined && totalSegments === undefined) return undefined;
  return parseSegment(segment, totalSegments);
}

export function parseSegment(segment: unknown, totalSegments: unknown): ScanSegment {
  const total = Number(totalSegments);
  const index = Number(segment);
  if (!Number.isInteger(total) || total < 1 || total > 1_000_000) {
    throw new InvalidInvocationError(`totalSegments must be an integer from 1 to 1000000, got ${JSON.stringify(totalSegments)}`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= total) {
    throw new InvalidInvocationError(`segment must be an integer from 0 to ${total - 1}, got ${JSON.stringify(segment)}`);
  }
  return { segment: index, totalSegments: total };
}

/** Time for what follows an identity's last request: its change write, the publish, the outbox update, the resume point. */
export const OUTBOX_ROOM_MS = 3_000;

/**
 * How much of the invocation must be left to start one more identity: its slowest fetch (every
 * attempt running into the request timeout, with the longest backoff between attempts, as the
 * source retries) and the writes after it. The source's defaults for the backoff apply, as in
 * `createSource`.
 */
export function deadlineMarginMs(config: Pick<Config, 'maxAttempts' | 'requestTimeoutMs'>): number {
  return longestFetchMs({ maxAttempts: config.maxAttempts, timeoutMs: config.requestTimeoutMs }) + OUTBOX_ROOM_MS;
}

/**
 * A run's receipt id (`core/run-receipt.ts`), saying when its last claim runs out at the latest:
 * the moment after which the run writes nothing (a Lambda's deadline, or when a local run stops
 * starting identities plus its slowest identity), plus the claim lease.
 */
export function newRunReceipt(lastWriteBy: number, config: Pick<Config, 'claimLeaseMs'>): RunReceipt {
  return { run: formatRunId(lastWriteBy + config.claimLeaseMs, randomBytes(6).toString('base64url')), lastWriteBy };
}

/** For a run that starts no identity after `startWindowMs`: when its last write is done at the latest. */
export function lastWriteOfBoundedRun(startedAt: number, startWindowMs: number, config: Pick<Config, 'maxAttempts' | 'requestTimeoutMs'>): number {
  return startedAt + startWindowMs + deadlineMarginMs(config);
}
