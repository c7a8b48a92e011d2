import { isIdentityId } from './identity-id';
import { parseJsonWithNumberText } from './json-number-text';
import type { DeliveryAttemptOutcome } from './webhook-delivery';
import { endpointsFor, type WebhookEndpoint, type WebhookEndpointId } from './webhook-endpoint';

/**
 * One delivery: one event to one endpoint. The unit the dispatcher queues, retries and logs, so
 * each endpoint's deliveries go their own way (one dead endpoint never holds up another, and an
 * endpoint that accepted an event never gets it again because another endpoint failed).
 */

/** `event`: fanned out from the topic (or `poll`); `replay`: `webhooks replay`; `test`: `webhooks test`. */
export type DeliveryKind = 'event' | 'replay' | 'test';

export interface DeliveryJob {
  readonly endpointId: WebhookEndpointId;
  /** `webhook-id`: the event's `eventId`, the same on every attempt, replay and redelivery. */
  readonly eventId: string;
  readonly eventType: string;
  /** The delivery log entry: the event's `observedAt` and id, so one event always lands on one entry. */
  readonly logKey: string;
  /** The event JSON exactly as published (the SNS `default`): what is signed and sent. */
  readonly body: string;
  readonly kind: DeliveryKind;
  /** The attempt this job makes, 1 for the first. */
  readonly attempt: number;
  /** Not before this time (epoch ms): the retry schedule's wait. */
  readonly notBeforeMs: number;
  /** Times this attempt was put back because the endpoint had its maximum in flight. */
  readonly deferrals: number;
}

/** What the dispatcher needs of an event body: both event kinds and `webhook.test` carry these. */
export interface WebhookEvent {
  readonly eventId: string;
  readonly type: string;
  /** A decimal string (ids go past 2^53); empty for `webhook.test`. */
  readonly identityId: string;
  readonly observedAt?: string;
}

export class InvalidWebhookEventError extends Error {
  override readonly name = 'InvalidWebhookEventError';
}

/** Header-safe, as `signPayload` requires of a `webhook-id`. */
const EVENT_ID = /^[\x21-\x7e]{1,255}$/;
const EVENT_TYPE = /^[a-z][a-z0-9_.-]{0,63}$/;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** Reads the routing fields of an event body; the message never quotes the body. */
export function parseWebhookEvent(body: string): WebhookEvent {
  let parsed: unknown;
  try {
    parsed = parseJsonWithNumberText(body);
  } catch {
    throw new InvalidWebhookEventError('the event is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidWebhookEventError('the event is not a JSON object');
  const { eventId, type, identityId, observedAt } = parsed as Record<string, unknown>;
  if (typeof eventId !== 'string' || !EVENT_ID.test(eventId)) throw new InvalidWebhookEventError('the event has no usable eventId');
  if (typeof type !== 'string' || !EVENT_TYPE.test(type)) throw new InvalidWebhookEventError('the event has no usable type');
  const identity = typeof identityId === 'string' && isIdentityId(identityId) ? identityId : '';
  return { eventId, type, identityId: identity, ...(typeof observedAt === 'string' && ISO_UTC.test(observedAt) ? { observedAt } : {}) };
}

/** `observedAt#eventId`: sorts by time, so `replay --since` is a key range; the fan-out time stands in for a missing `observedAt`. */
export function deliveryLogKey(event: WebhookEvent, nowMs: number): string {
  return `${event.observedAt ?? new Date(nowMs).toISOString()}#${event.eventId}`;
}

/** One first-attempt job for every active endpoint that wants this event, in the order given. */
export function planDeliveries(body: string, event: WebhookEvent, endpoints: readonly WebhookEndpoint[], nowMs: number): DeliveryJob[] {
  const logKey = deliveryLogKey(event, nowMs);
  return endpointsFor(event, endpoints).map((endpoint) => ({
    endpointId: endpoint.id,
    eventId: event.eventId,
    eventType: event.type,
    logKey,
    body,
    kind: 'event',
    attempt: 1,
    notBeforeMs: nowMs,
    deferrals: 0,
  }));
}

/** The `webhook.test` event `webhooks test` sends: no identity, no counts, a fresh id. */
export const TEST_EVENT_TYPE = 'webhook.test';

export function buildTestEvent(endpointId: WebhookEndpointId, eventId: string, nowMs: number): { body: string; event: WebhookEvent } {
  const observedAt = new Date(nowMs).toISOString();
  const body = JSON.stringify({ version: 1, type: TEST_EVENT_TYPE, eventId, endpointId, observedAt });
  return { body, event: { eventId, type: TEST_EVENT_TYPE, identityId: '', observedAt } };
}

/** How many deliveries to one endpoint may be in flight at once, across every dispatcher. */
export const MAX_IN_FLIGHT_PER_ENDPOINT = 5;
/** The first wait of a delivery put back because its endpoint is busy; doubled at each deferral. */
export const FIRST_DEFERRAL_MS = 1_000;
/** The longest such wait. */
export const MAX_DEFERRAL_MS = 5 * 60_000;

/**
 * How long a delivery waits when its endpoint already has its maximum in flight: doubling from
 * one second to five minutes, plus up to half again, spread by the event id so a burst to one
 * slow endpoint does not come back all at once. Not an attempt: the schedule does not move.
 */
export function deferralDelayMs(job: Pick<DeliveryJob, 'deferrals' | 'eventId'>): number {
  const base = Math.min(MAX_DEFERRAL_MS, FIRST_DEFERRAL_MS * 2 ** Math.min(job.deferrals, 20));
  return base + Math.floor((base / 2) * hashFraction(job.eventId));
}

/** A number in [0, 1) from a string (FNV-1a), deterministic. */
function hashFraction(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

/** How a delivery stands, as the delivery log keeps it. */
export type DeliveryState =
  /** An attempt failed and another is scheduled. */
  | 'retrying'
  | 'delivered'
  /** The receiver answered 410 Gone: the endpoint was disabled. */
  | 'gone'
  /** The schedule was used up: in the dead-letter queue (AWS). */
  | 'dead-letter'
  /** The in-run schedule was used up: kept for the next `poll` (local runs). */
  | 'kept'
  /** Not sent (again): the endpoint was disabled before the attempt. */
  | 'dropped'
  /** A `webhooks test` that was not accepted (tests are never retried). */
  | 'failed';

export interface LoggedAttempt {
  readonly attempt: number;
  readonly kind: DeliveryKind;
  /** When the attempt ended, epoch ms. */
  readonly atMs: number;
  readonly outcome: DeliveryAttemptOutcome;
}

/** One delivery as the log keeps it: what was sent (so it can be replayed), when, and how it went. */
export interface LoggedDelivery {
  readonly endpointId: WebhookEndpointId;
  readonly logKey: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly body: string;
  readonly state: DeliveryState;
  /** The most recent attempts, oldest first (a bounded number). */
  readonly attempts: readonly LoggedAttempt[];
  readonly updatedAtMs: number;
  /** Scheduled next attempt, while `retrying`. */
  readonly nextAttemptAtMs?: number;
}

/** Attempts kept per logged delivery: the whole dispatcher schedule, and a few replays. */
export const MAX_LOGGED_ATTEMPTS = 12;
/** Deliveries kept per endpoint; the oldest goes when another comes. */
export const DELIVERY_LOG_LIMIT = 1000;
