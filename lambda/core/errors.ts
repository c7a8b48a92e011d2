/** The upstream refused the token (401): polling more identities would only hammer it. */
export class UpstreamUnauthorizedError extends Error {
  override readonly name = 'UpstreamUnauthorizedError';
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

/** The cycle stopped before its end: bad configuration, 401, an unreachable store. */
export class CycleAbortedError extends Error {
  override readonly name = 'CycleAbortedError';
}
