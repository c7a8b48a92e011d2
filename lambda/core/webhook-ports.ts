import type { DeliveryAttemptOutcome } from './webhook-delivery';
import type { DisabledReason, WebhookEndpoint, WebhookEndpointHealth, WebhookEndpointId, WebhookEventType } from './webhook-endpoint';
import type { DeliveryJob, DeliveryState, LoggedAttempt, LoggedDelivery } from './webhook-job';
import type { AttemptVerdict } from './webhook-retry-schedule';
import type { EndpointSecrets } from './webhook-signature';

/** What `webhooks add` registers (the secret goes to the vault, never here). */
export interface NewWebhookEndpoint {
  readonly id: WebhookEndpointId;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly identityIds?: readonly string[];
  readonly createdAtMs: number;
}

export interface AttemptRecorded {
  readonly health: WebhookEndpointHealth;
  /** Set when this attempt disabled the endpoint (410, or the failure limit): counted and alarmed once. */
  readonly disabled?: DisabledReason;
}

/**
 * The endpoints registry. Every write names an existing endpoint and changes nothing when it is
 * gone (a removed endpoint is never brought back by a late delivery).
 */
export interface WebhookEndpointStore {
  /** Every endpoint, active or disabled, in id order. */
  list(): Promise<WebhookEndpoint[]>;
  /** Read strongly, so a disable or a removal is seen by the next attempt. */
  get(id: WebhookEndpointId): Promise<WebhookEndpoint | undefined>;
  create(endpoint: NewWebhookEndpoint): Promise<void>;
  /** False when there was no such endpoint. */
  remove(id: WebhookEndpointId): Promise<boolean>;
  /** Active again with its counters reset; false when there is no such endpoint. */
  enable(id: WebhookEndpointId, nowMs: number): Promise<boolean>;
  /**
   * Applies `recordAttempt` of webhook-retry-schedule.ts atomically (concurrent deliveries to one
   * endpoint) and disables the endpoint when the verdict or the failure limit says so. Undefined
   * when the endpoint is gone.
   */
  recordAttempt(id: WebhookEndpointId, verdict: AttemptVerdict, nowMs: number): Promise<AttemptRecorded | undefined>;
  /** A delivery ran out of retries. */
  recordDeadLetter(id: WebhookEndpointId): Promise<void>;
}

export class WebhookSecretMissingError extends Error {
  override readonly name = 'WebhookSecretMissingError';
}

/** Where the signing secrets are kept: Secrets Manager in AWS, the webhooks table in a local run. */
export interface WebhookSecretVault {
  /** Creates or replaces the endpoint's secrets. */
  store(id: WebhookEndpointId, secrets: EndpointSecrets): Promise<void>;
  /** Throws WebhookSecretMissingError when there are none. */
  load(id: WebhookEndpointId): Promise<EndpointSecrets>;
  remove(id: WebhookEndpointId): Promise<void>;
}

/** The cap on deliveries in flight to one endpoint: leases that expire, so a crashed dispatcher frees its slot. */
export interface DeliverySlots {
  /** A slot held until `nowMs + leaseMs` (or `release`), or undefined when the endpoint has its maximum in flight. */
  acquire(id: WebhookEndpointId, nowMs: number, leaseMs: number): Promise<string | undefined>;
  release(id: WebhookEndpointId, slot: string): Promise<void>;
}

export interface DeliveryRecord {
  readonly job: DeliveryJob;
  readonly attempt: LoggedAttempt;
  readonly state: DeliveryState;
  readonly nextAttemptAtMs?: number;
}

/** The bounded delivery log, per endpoint: what was sent, when, and how it went. */
export interface DeliveryLog {
  /** Whether the endpoint already accepted this delivery (a redelivered message is not sent again). */
  wasDelivered(job: DeliveryJob): Promise<boolean>;
  /** Adds an attempt to the delivery's entry (made on its first attempt, with the body). */
  record(record: DeliveryRecord): Promise<void>;
  /** Marks an entry that already exists as `dropped` (its endpoint was disabled before the next attempt). */
  markDropped(job: DeliveryJob, nowMs: number): Promise<void>;
  /** Newest first, at most `limit`; with `sinceLogKey`, only entries at or after it (oldest first). */
  list(id: WebhookEndpointId, options: { readonly limit?: number; readonly sinceLogKey?: string }): Promise<LoggedDelivery[]>;
  removeAll(id: WebhookEndpointId): Promise<void>;
}

export interface EnqueueResult {
  /** Jobs not accepted, with a short reason (an error code, never content). */
  readonly failed: readonly { readonly job: DeliveryJob; readonly reason: string }[];
}

/**
 * Where deliveries wait for their attempt: SQS in AWS (a message per delivery, delayed or kept
 * invisible until its time), timers in a local run. Never throws for a job: answers which failed.
 */
export interface WebhookDeliveryQueue {
  /** Each job becomes due at its `notBeforeMs`. */
  enqueue(jobs: readonly DeliveryJob[]): Promise<EnqueueResult>;
  /**
   * The schedule is used up. Answers the state the log records: `dead-letter` (AWS: in the DLQ),
   * `kept` (a local run: tried first by the next `poll`) or `failed` (a replay from the CLI, which
   * keeps nothing). Throws when it could not be kept.
   */
  deadLetter(job: DeliveryJob, lastOutcome: DeliveryAttemptOutcome): Promise<DeadLetterState>;
}

export type DeadLetterState = Extract<DeliveryState, 'dead-letter' | 'kept' | 'failed'>;

/**
 * A local run's deliveries not yet settled, kept in the webhooks table: written before the event
 * counts as published, removed when the delivery is settled, so what a `poll` could not deliver
 * (or did not get to, if it was stopped) is tried first by the next one.
 */
export interface LocalDeliveryBacklog {
  /** Creates or replaces the entry of each job's (endpoint, event). */
  put(jobs: readonly DeliveryJob[]): Promise<void>;
  /** Every entry, oldest first (the first enqueue time, then the event time). */
  list(): Promise<DeliveryJob[]>;
  remove(job: DeliveryJob): Promise<void>;
}
