import type { DeliveryAttemptOutcome } from './webhook-delivery';
import { HEALTHY, type DisabledReason, type WebhookEndpointHealth } from './webhook-endpoint';

/**
 * When a failed delivery is tried again, and when an endpoint is given up on. Pure: the time
 * comes in as `nowMs`; the caller turns a `retry` into an SQS delay or visibility timeout
 * (AWS) or a wait inside `poll` (local runs).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface RetrySchedule {
  /** The wait before each retry; its length is the number of retries after the first attempt. */
  readonly delaysMs: readonly number[];
  /** The longest wait a `Retry-After` may ask for; a longer one is shortened to this. */
  readonly maxRetryAfterMs: number;
}

/**
 * The dispatcher's schedule, the one Svix documents: the first attempt at once, then retries
 * after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h. Eight attempts over 27 h 35 min 5 s, so a
 * receiver that is down for a whole day still gets the event. Every wait fits SQS (delay up to
 * 15 min, visibility timeout up to 12 h).
 */
export const DISPATCHER_RETRY_SCHEDULE: RetrySchedule = {
  delaysMs: [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR],
  maxRetryAfterMs: 10 * HOUR,
};

/**
 * `poll` in a local run waits for its deliveries: four attempts within 7 s (at most 10 s with
 * `Retry-After`), then the delivery is kept for the next `poll`, which tries it first.
 */
export const IN_RUN_RETRY_SCHEDULE: RetrySchedule = {
  delaysMs: [1 * SECOND, 2 * SECOND, 4 * SECOND],
  maxRetryAfterMs: 3 * SECOND,
};

/** How one attempt went: accepted (2xx), gone (410: disable the endpoint) or failed (anything else). */
export type AttemptVerdict = 'delivered' | 'gone' | 'failed';

/**
 * 2xx is delivered; 410 means the receiver wants no more; every other status (3xx included:
 * redirects are not followed), a timeout, a network error or a refused address is a failure.
 */
export function classifyAttempt(outcome: DeliveryAttemptOutcome): AttemptVerdict {
  if (outcome.kind !== 'response') return 'failed';
  if (outcome.status >= 200 && outcome.status <= 299) return 'delivered';
  return outcome.status === 410 ? 'gone' : 'failed';
}

export type DeliveryDecision =
  | { readonly kind: 'delivered' }
  /** 410: stop this delivery and disable the endpoint at once. */
  | { readonly kind: 'disable-endpoint'; readonly reason: Extract<DisabledReason, 'gone'> }
  /** Try again as attempt `nextAttempt`, not before `notBeforeMs`. */
  | { readonly kind: 'retry'; readonly nextAttempt: number; readonly delayMs: number; readonly notBeforeMs: number }
  /** The schedule is used up: to the dead-letter queue (AWS), or kept for the next `poll` (local). */
  | { readonly kind: 'dead-letter'; readonly attempts: number };

export interface AttemptResult {
  readonly outcome: DeliveryAttemptOutcome;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly schedule: RetrySchedule;
  /** When the attempt ended, epoch ms. */
  readonly nowMs: number;
}

/**
 * What to do after an attempt. A `Retry-After` (seconds or an HTTP date) can only lengthen the
 * scheduled wait, never shorten it: a receiver asking for "1" every time would otherwise use up
 * all attempts within seconds and lose the day-long reach. It is capped at `maxRetryAfterMs`.
 */
export function decideAfterAttempt(result: AttemptResult): DeliveryDecision {
  const { outcome, attempt, schedule, nowMs } = result;
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error(`attempt must be a positive integer, got ${attempt}`);
  const verdict = classifyAttempt(outcome);
  if (verdict === 'delivered') return { kind: 'delivered' };
  if (verdict === 'gone') return { kind: 'disable-endpoint', reason: 'gone' };
  const scheduled = schedule.delaysMs[attempt - 1];
  if (scheduled === undefined) return { kind: 'dead-letter', attempts: attempt };
  const asked = outcome.kind === 'response' ? parseRetryAfterMs(outcome.retryAfter, nowMs) : undefined;
  const delayMs = Math.max(scheduled, Math.min(asked ?? 0, schedule.maxRetryAfterMs));
  return { kind: 'retry', nextAttempt: attempt + 1, delayMs, notBeforeMs: nowMs + delayMs };
}

/** `Retry-After` as delta-seconds or an HTTP date, in ms from `nowMs` (0 for a date in the past); undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * SECOND;
  // Only a date with letters (IMF-fixdate and the obsolete forms): Date.parse would take "12" as a year.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * The failure limit: an endpoint is disabled (reason `failing`, alarmed on) at a failed attempt
 * once it has had no accepted delivery for `failingForMs` since its first failure and at least
 * `minConsecutiveFailures` attempts failed in a row. Five days, as Svix does, gives a weekend
 * outage room to be fixed; the attempt count keeps one late failure of a quiet endpoint from
 * counting as five days of trouble.
 */
export const ENDPOINT_FAILURE_LIMIT = {
  failingForMs: 5 * DAY,
  minConsecutiveFailures: DISPATCHER_RETRY_SCHEDULE.delaysMs.length + 1,
} as const;

export function failureLimitReached(health: WebhookEndpointHealth, nowMs: number): boolean {
  return (
    health.failingSinceMs !== undefined &&
    nowMs - health.failingSinceMs >= ENDPOINT_FAILURE_LIMIT.failingForMs &&
    health.consecutiveFailures >= ENDPOINT_FAILURE_LIMIT.minConsecutiveFailures
  );
}

export interface HealthUpdate {
  readonly health: WebhookEndpointHealth;
  /** Set when this attempt disables the endpoint. */
  readonly disable?: DisabledReason;
}

/**
 * An endpoint's counters after one attempt. Any 2xx resets them. The store should apply the
 * same change atomically (concurrent deliveries to one endpoint) and then ask `failureLimitReached`.
 */
export function recordAttempt(health: WebhookEndpointHealth, verdict: AttemptVerdict, nowMs: number): HealthUpdate {
  if (verdict === 'delivered') return { health: { ...HEALTHY, lastSuccessMs: nowMs } };
  const next: WebhookEndpointHealth = {
    ...health,
    consecutiveFailures: health.consecutiveFailures + 1,
    failingSinceMs: health.failingSinceMs ?? nowMs,
  };
  if (verdict === 'gone') return { health: next, disable: 'gone' };
  return failureLimitReached(next, nowMs) ? { health: next, disable: 'failing' } : { health: next };
}

/** A delivery ran out of retries: counted for `webhooks list` and the alarm, reset by the next success. */
export function recordDeadLetter(health: WebhookEndpointHealth): WebhookEndpointHealth {
  return { ...health, deadLetters: health.deadLetters + 1 };
}
