import type { CycleSummary } from './poll-cycle';

/** The upstream refused the token (401): polling more identities would only hammer it. */
export class UpstreamUnauthorizedError extends Error {
  override readonly name = 'UpstreamUnauthorizedError';
}

/** What kept the token from being read; the message says it in words, with the fix where one is known. */
export type TokenUnavailableReason = 'no-value' | 'not-found' | 'access-denied' | 'decryption' | 'malformed' | 'read-failed';

/**
 * The token could not be read (an empty or missing secret, access denied, KMS refused): CommBox
 * was not asked with it. The message names the secret and what failed, never the token.
 */
export class TokenUnavailableError extends Error {
  override readonly name = 'TokenUnavailableError';
  constructor(
    message: string,
    readonly reason: TokenUnavailableReason,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** One identity could not be polled this cycle (retries exhausted, malformed body, 400, …). */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    readonly kind: 'throttled' | 'server' | 'timeout' | 'network' | 'malformed' | 'rejected',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Errors after which no identity can be polled: the cycle starts no more and aborts. */
export function stopsTheCycle(error: unknown): error is UpstreamUnauthorizedError | TokenUnavailableError {
  return error instanceof UpstreamUnauthorizedError || error instanceof TokenUnavailableError;
}

/** The cycle stopped before its end: bad configuration, 401, an unreadable token, an unreachable store. */
export class CycleAbortedError extends Error {
  override readonly name = 'CycleAbortedError';
}

/**
 * How every poll cycle aborts: with the counts of what it did before it stopped (events already
 * stored are published first), so callers can report them. `cause` is what stopped it.
 */
export class CycleAbortedWithSummary extends CycleAbortedError {
  constructor(
    message: string,
    readonly summary: CycleSummary,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A targeted poll named identities that are not registered; it was refused before any was polled. */
export class UnregisteredIdentitiesError extends Error {
  override readonly name = 'UnregisteredIdentitiesError';
  constructor(readonly ids: readonly string[]) {
    const shown = ids.slice(0, 10).join(', ') + (ids.length > 10 ? `, … (${ids.length} in all)` : '');
    super(`not registered: ${shown}; nothing was polled`);
  }
}
