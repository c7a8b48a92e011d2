import { setTimeout as sleep } from 'node:timers/promises';
import type { Secret } from '../../config';
import { TokenUnavailableError, UpstreamError, UpstreamUnauthorizedError } from '../../core/errors';
import { isIdentityId, type IdentityId } from '../../core/identity-id';
import type { UnreadState } from '../../core/model';
import type { FetchOutcome, UnreadSource } from '../../core/ports';
import { AdaptiveConcurrencyLimiter, type AttemptSignal } from './adaptive-concurrency';
import { parseObjectsBody } from './commbox-objects-body';
import { HttpTransportError, NodeHttpTransport, type HttpGetAnswer, type HttpTransport } from './http-transport';
import type { TokenProvider } from '../token-provider';

export interface CommBoxObjectsSourceOptions {
  /** A fixed origin (see `parseApiBaseUrl`); only the path is ever added to it. */
  readonly baseUrl: URL;
  readonly tokens: TokenProvider;
  /** Per attempt, body included. */
  readonly timeoutMs: number;
  /** Attempts per identity for transient failures (429, 5xx, timeouts, network errors). */
  readonly maxAttempts: number;
  /** Never more requests than this in flight, whatever the adaptive limit says. */
  readonly maxConcurrency: number;
  /**
   * Send requests through this transport instead of node:http with a keep-alive pool of
   * `maxConcurrency` sockets (tests script the upstream's answers this way).
   */
  readonly transport?: HttpTransport;
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); the jitter source. */
  readonly random?: () => number;
  /** Epoch milliseconds; for Retry-After dates and the shared gate. */
  readonly now?: () => number;
  /** @default RETRY_BACKOFF.baseDelayMs */
  readonly baseDelayMs?: number;
  /** @default RETRY_BACKOFF.maxDelayMs */
  readonly maxDelayMs?: number;
  /** A longer Retry-After is shortened to this. @default 10000 */
  readonly maxRetryAfterMs?: number;
  /** A bigger body is malformed. @default 16 MiB */
  readonly maxBodyBytes?: number;
}

export interface SourceStatsSnapshot {
  readonly requests: number;
  readonly throttled: number;
  readonly retries: number;
  readonly timeouts: number;
  readonly serverErrors: number;
  readonly unauthorized: number;
  readonly networkErrors: number;
  readonly malformed: number;
  readonly notFound: number;
  readonly rejected: number;
}

/** Counters for metrics and the benchmark; `requests` counts HTTP attempts, retries included. */
export class SourceStats implements SourceStatsSnapshot {
  requests = 0;
  throttled = 0;
  retries = 0;
  timeouts = 0;
  serverErrors = 0;
  unauthorized = 0;
  networkErrors = 0;
  malformed = 0;
  notFound = 0;
  rejected = 0;

  snapshot(): SourceStatsSnapshot {
    return { ...this };
  }

  reset(): void {
    Object.assign(this, new SourceStats());
  }
}

type RetryableKind = Exclude<UpstreamError['kind'], 'rejected'>;

/** What one HTTP attempt came to; an attempt never throws. */
type Attempt =
  | { readonly kind: 'ok'; readonly state: UnreadState }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'retry'; readonly error: RetryableKind; readonly reason: string; readonly retryAfterMs?: number };

/**
 * A malformed 200 body is retried once: a cut or garbled body is usually a passing accident,
 * but a changed format would otherwise cost `maxAttempts` requests per identity every cycle.
 */
const MAX_MALFORMED_ATTEMPTS = 2;
/** Error bodies are read (so the connection can be reused) but only this much of them. */
const MAX_DISCARDED_BYTES = 64 * 1024;

/** The retry backoff: full jitter below min(maxDelayMs, baseDelayMs·2^retry). */
export const RETRY_BACKOFF = { baseDelayMs: 200, maxDelayMs: 5000 } as const;

export interface RetryBudget {
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** The most one backoff may wait before retry number `retry` (0 for the first retry). */
export function backoffCeilingMs(retry: number, backoff: Pick<RetryBudget, 'baseDelayMs' | 'maxDelayMs'> = {}): number {
  const base = backoff.baseDelayMs ?? RETRY_BACKOFF.baseDelayMs;
  return Math.min(backoff.maxDelayMs ?? RETRY_BACKOFF.maxDelayMs, base * 2 ** retry);
}

/**
 * The longest `fetchUnread` of one identity takes with these settings: every attempt running
 * into its timeout, with the longest backoff between them. Not counted: waiting for a slot or
 * for a Retry-After gate, and the one immediate retry after re-reading a refused token.
 */
export function longestFetchMs(budget: RetryBudget): number {
  let total = budget.maxAttempts * budget.timeoutMs;
  for (let retry = 0; retry < budget.maxAttempts - 1; retry += 1) total += backoffCeilingMs(retry, budget);
  return total;
}

/**
 * CommBox `GET /v2/users/identities/{id}/objects` as an UnreadSource. Throws only
 * UpstreamUnauthorizedError (CommBox refused the token, also after one refresh),
 * TokenUnavailableError (the token could not be read) and UpstreamError; their messages hold
 * status codes and short reasons, never the token, a body or customer data.
 */
export class CommBoxObjectsSource implements UnreadSource {
  readonly stats = new SourceStats();
  readonly limiter: AdaptiveConcurrencyLimiter;
  private readonly transport: HttpTransport;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxBodyBytes: number;
  /** Grows with each completed refresh, so 401s of one stale token share one refresh. */
  private tokenGeneration = 0;
  private refreshing: Promise<Secret> | undefined;

  constructor(private readonly options: CommBoxObjectsSourceOptions) {
    if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be a positive integer, got ${options.maxAttempts}`);
    }
    this.transport = options.transport ?? new NodeHttpTransport(options.baseUrl, options.maxConcurrency);
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.baseDelayMs = options.baseDelayMs ?? RETRY_BACKOFF.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? RETRY_BACKOFF.maxDelayMs;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
    this.limiter = new AdaptiveConcurrencyLimiter({ maxConcurrency: options.maxConcurrency, now: this.now, sleep: this.sleep });
  }

  async fetchUnread(id: IdentityId): Promise<FetchOutcome> {
    // The id is validated upstream of here; checked again because it becomes part of a URL.
    if (!isIdentityId(id)) throw new UpstreamError('identity id is not a canonical int64; refused before any request', 'rejected');
    const path = `/v2/users/identities/${encodeURIComponent(id)}/objects`;

    let generation = this.tokenGeneration;
    let token = await this.currentToken();
    let refreshed = false;
    let attempts = 0;
    let malformed = 0;
    for (;;) {
      attempts += 1;
      const permit = await this.limiter.acquire();
      let attempt: Attempt | undefined;
      try {
        attempt = await this.attempt(path, token);
      } finally {
        permit.release(attempt ? signalOf(attempt) : 'neutral');
      }

      switch (attempt.kind) {
        case 'ok':
          return { kind: 'ok', state: attempt.state };
        case 'not-found':
          return { kind: 'not-found' };
        case 'rejected':
          throw new UpstreamError(attempt.reason, 'rejected');
        case 'unauthorized':
          if (!this.options.tokens.refresh) {
            throw new UpstreamUnauthorizedError(`CommBox refused ${this.options.tokens.description ?? 'the API token'} (HTTP 401); check the token`);
          }
          if (refreshed) throw new UpstreamUnauthorizedError('CommBox refused the API token (HTTP 401), also after fetching it again');
          // A rotated secret: fetch it once more and retry at once; this retry is not a backoff attempt.
          token = await this.refreshToken(generation);
          generation = this.tokenGeneration;
          refreshed = true;
          attempts -= 1;
          continue;
        case 'retry':
          if (attempt.error === 'malformed') malformed += 1;
          if (attempt.retryAfterMs !== undefined) this.limiter.deferUntil(this.now() + attempt.retryAfterMs);
          if (attempts >= this.options.maxAttempts || malformed >= MAX_MALFORMED_ATTEMPTS) {
            throw new UpstreamError(`${attempt.reason}; gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}`, attempt.error);
          }
          this.stats.retries += 1;
          // The Retry-After gate, if any, is waited for in `acquire`.
          await this.sleep(this.backoffMs(attempts - 1));
      }
    }
  }

  /** Full jitter: uniform in [0, min(max, base·2^retry)), so retrying clients spread out. */
  private backoffMs(retry: number): number {
    return Math.floor(this.random() * backoffCeilingMs(retry, { baseDelayMs: this.baseDelayMs, maxDelayMs: this.maxDelayMs }));
  }

  private async attempt(path: string, token: Secret): Promise<Attempt> {
    this.stats.requests += 1;
    let answer: HttpGetAnswer;
    try {
      // Redirects are never followed: one would carry the bearer token to wherever it points.
      answer = await this.transport.get({
        path,
        headers: { authorization: `Bearer ${token.reveal()}`, accept: 'application/json' },
        timeoutMs: this.options.timeoutMs,
        maxBodyBytes: (status) => (status === 200 ? this.maxBodyBytes : MAX_DISCARDED_BYTES),
      });
    } catch (error) {
      if (error instanceof HttpTransportError && error.kind === 'timeout') {
        this.stats.timeouts += 1;
        return { kind: 'retry', error: 'timeout', reason: `no answer within ${this.options.timeoutMs} ms` };
      }
      this.stats.networkErrors += 1;
      const code = error instanceof HttpTransportError && error.code ? `${error.code} ` : '';
      return { kind: 'retry', error: 'network', reason: `network error (${code}${hostAndPort(this.options.baseUrl)})` };
    }
    return this.interpret(answer);
  }

  private interpret(answer: HttpGetAnswer): Attempt {
    if (answer.status !== 200) return this.classify(answer.status, 'HTTP', answer.retryAfter);
    if (answer.body === undefined) return this.malformed(`body larger than ${this.maxBodyBytes} bytes`);
    const body = parseObjectsBody(answer.body);
    if (body.kind === 'ok') return body;
    if (body.kind === 'malformed') return this.malformed(body.reason);
    // HTTP 200 with an error status in the body: treated as if it were the HTTP status.
    return this.classify(body.status, 'body status', answer.retryAfter);
  }

  private classify(status: number, where: 'HTTP' | 'body status', retryAfter: string | null): Attempt {
    const label = `CommBox answered ${where} ${status}`;
    if (status === 404) {
      this.stats.notFound += 1;
      return { kind: 'not-found' };
    }
    if (status === 401) {
      this.stats.unauthorized += 1;
      return { kind: 'unauthorized' };
    }
    const retryAfterMs = parseRetryAfter(retryAfter, this.now(), this.maxRetryAfterMs);
    const withRetryAfter = retryAfterMs === undefined ? {} : { retryAfterMs };
    if (status === 429) {
      this.stats.throttled += 1;
      return { kind: 'retry', error: 'throttled', reason: `${label} (throttled)`, ...withRetryAfter };
    }
    if (status >= 500 && status <= 599) {
      this.stats.serverErrors += 1;
      return { kind: 'retry', error: 'server', reason: `${label} (server error)`, ...withRetryAfter };
    }
    if (status === 408) {
      this.stats.timeouts += 1;
      return { kind: 'retry', error: 'timeout', reason: `${label} (request timeout)` };
    }
    if ((status >= 300 && status <= 399) || status === 0) {
      this.stats.rejected += 1;
      return { kind: 'rejected', reason: `${label}: redirects are refused` };
    }
    if (status >= 400 && status <= 499) {
      this.stats.rejected += 1;
      return { kind: 'rejected', reason: `${label} (request refused)` };
    }
    return this.malformed(`unexpected ${where} ${status}`);
  }

  private malformed(reason: string): Attempt {
    this.stats.malformed += 1;
    return { kind: 'retry', error: 'malformed', reason: `malformed response: ${reason}` };
  }

  /** A token that cannot be read is not a 401: CommBox was not asked, and the error says what failed. */
  private async currentToken(): Promise<Secret> {
    try {
      return await this.options.tokens.getToken();
    } catch (error) {
      throw tokenUnavailable(error);
    }
  }

  /** One refresh per stale token, however many requests saw it refused at once. */
  private async refreshToken(seenGeneration: number): Promise<Secret> {
    if (seenGeneration !== this.tokenGeneration) return this.currentToken();
    const tokens = this.options.tokens;
    if (!tokens.refresh) return this.currentToken();
    this.refreshing ??= tokens.refresh().finally(() => {
      this.tokenGeneration += 1;
      this.refreshing = undefined;
    });
    try {
      return await this.refreshing;
    } catch (error) {
      // CommBox refused the token (counted as unauthorized), and reading it again failed too: that second failure is what to fix.
      throw tokenUnavailable(error);
    }
  }
}

function tokenUnavailable(error: unknown): TokenUnavailableError {
  if (error instanceof TokenUnavailableError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TokenUnavailableError(`cannot obtain the CommBox API token: ${detail}`, 'read-failed', { cause: error });
}

/** The host and port a request goes to, to name an unreachable CommBox (not a secret: the configured origin). */
function hostAndPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

/** 429s and timeouts say "too much"; a good answer (404 included) says "fine"; the rest says nothing. */
function signalOf(attempt: Attempt): AttemptSignal {
  if (attempt.kind === 'ok' || attempt.kind === 'not-found') return 'success';
  if (attempt.kind === 'retry' && (attempt.error === 'throttled' || attempt.error === 'timeout')) return 'overload';
  return 'neutral';
}

/**
 * `Retry-After` as delta-seconds or an HTTP-date, in ms from `now`, clamped to [0, capMs];
 * undefined when absent or unreadable (then the backoff alone applies).
 */
export function parseRetryAfter(value: string | null | undefined, now: number, capMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^[0-9]+$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(capMs, Math.max(0, ms));
}
