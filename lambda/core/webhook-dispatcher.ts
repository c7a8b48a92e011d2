import type { DeliveryAttemptOutcome, WebhookSender } from './webhook-delivery';
import type { DisabledReason, WebhookEndpoint } from './webhook-endpoint';
import { deferralDelayMs, parseWebhookEvent, planDeliveries, type DeliveryJob, type DeliveryState, type WebhookEvent } from './webhook-job';
import type { DeliveryLog, DeliverySlots, WebhookDeliveryQueue, WebhookEndpointStore, WebhookSecretVault } from './webhook-ports';
import { classifyAttempt, decideAfterAttempt, type AttemptVerdict, type RetrySchedule } from './webhook-retry-schedule';
import { signingSecrets, signPayload } from './webhook-signature';

export interface WebhookDispatcherDeps {
  readonly endpoints: WebhookEndpointStore;
  readonly secrets: WebhookSecretVault;
  readonly sender: WebhookSender;
  readonly log: DeliveryLog;
  readonly slots: DeliverySlots;
  readonly queue: WebhookDeliveryQueue;
  /** Epoch ms; the only clock the dispatcher reads. */
  readonly clock: () => number;
  /** DISPATCHER_RETRY_SCHEDULE in AWS, IN_RUN_RETRY_SCHEDULE in `poll`. */
  readonly schedule: RetrySchedule;
  readonly observer?: DispatchObserver;
  /** How long an in-flight slot is held at most (a crashed attempt frees it then). @default 60_000 */
  readonly slotLeaseMs?: number;
}

/** Hooks for logs and metrics; the dispatcher never logs by itself. Nothing here carries a secret, a URL query or a response body. */
export interface DispatchObserver {
  fannedOut?(event: WebhookEvent, deliveries: number): void;
  delivered?(job: DeliveryJob, outcome: DeliveryAttemptOutcome): void;
  attemptFailed?(job: DeliveryJob, outcome: DeliveryAttemptOutcome, next?: DeliveryJob): void;
  deadLettered?(job: DeliveryJob, outcome: DeliveryAttemptOutcome, state: DeliveryState): void;
  endpointDisabled?(job: DeliveryJob, reason: DisabledReason): void;
  deferred?(job: DeliveryJob, next: DeliveryJob): void;
  dropped?(job: DeliveryJob, why: 'removed' | 'disabled' | 'duplicate'): void;
  /** A health counter or log write failed; the delivery itself went on. */
  bookkeepingFailed?(job: DeliveryJob, what: 'health' | 'log' | 'slot', error: unknown): void;
}

export type FanOutResult =
  | { readonly ok: true; readonly event: WebhookEvent; readonly deliveries: number }
  | { readonly ok: false; readonly reason: string };

export type DeliveryResult = 'delivered' | 'retry' | 'dead-letter' | 'kept' | 'failed' | 'gone' | 'disabled' | 'deferred' | 'dropped' | 'duplicate';

export type DeliveryStep =
  /** Came before its time (a wait longer than the queue can delay): put it back until then; nothing was sent. */
  | { readonly kind: 'wait'; readonly untilMs: number }
  | { readonly kind: 'settled'; readonly result: DeliveryResult; readonly outcome?: DeliveryAttemptOutcome };

/** An early message within this much of its time is attempted (SQS rounds delays up to whole seconds). */
const EARLY_TOLERANCE_MS = 1_000;

/**
 * The webhook dispatcher's two steps, the same in the Lambda and in `poll`:
 * - `fanOut`: an event becomes one queued delivery per matching active endpoint;
 * - `deliver`: one attempt of one delivery, signed with the endpoint's secret(s), then the
 *   schedule's decision carried out through the queue (retry, dead letter), the endpoint's
 *   health updated (410 and the failure limit disable it) and the attempt logged.
 * What must not be lost (a retry, a dead letter) goes through the queue, and a failure there
 * throws, so the delivery is tried again; health and log writes are best effort.
 */
export class WebhookDispatcher {
  private readonly slotLeaseMs: number;

  constructor(private readonly deps: WebhookDispatcherDeps) {
    this.slotLeaseMs = deps.slotLeaseMs ?? 60_000;
  }

  /** Fans out each event body; one result per body, in order. Endpoints are read once for all. */
  async fanOut(bodies: readonly string[]): Promise<FanOutResult[]> {
    type Planned = { readonly event: WebhookEvent; readonly jobs: DeliveryJob[] } | { readonly error: string };
    const events = bodies.map((body): { body: string; event: WebhookEvent } | { error: string } => {
      try {
        return { body, event: parseWebhookEvent(body) };
      } catch (error) {
        return { error: error instanceof Error ? error.message : 'not an event' };
      }
    });
    const endpoints: readonly WebhookEndpoint[] = events.some((e) => 'event' in e) ? await this.deps.endpoints.list() : [];
    const now = this.deps.clock();
    const planned = events.map((e): Planned => ('event' in e ? { event: e.event, jobs: planDeliveries(e.body, e.event, endpoints, now) } : e));
    const refused = await this.enqueueWithOneRetry(planned.flatMap((p) => ('jobs' in p ? p.jobs : [])));
    return planned.map((p): FanOutResult => {
      if (!('jobs' in p)) return { ok: false, reason: p.error };
      const failed = p.jobs.flatMap((job) => refused.get(job) ?? []);
      if (failed.length > 0) return { ok: false, reason: `${failed.length} of ${p.jobs.length} deliveries not queued (${failed[0]})` };
      this.deps.observer?.fannedOut?.(p.event, p.jobs.length);
      return { ok: true, event: p.event, deliveries: p.jobs.length };
    });
  }

  private async enqueueWithOneRetry(jobs: readonly DeliveryJob[]): Promise<Map<DeliveryJob, string>> {
    if (jobs.length === 0) return new Map();
    const first = await this.deps.queue.enqueue(jobs);
    if (first.failed.length === 0) return new Map();
    const second = await this.deps.queue.enqueue(first.failed.map((f) => f.job));
    return new Map(second.failed.map((f) => [f.job, f.reason]));
  }

  /** One attempt of one delivery, or why none was made. Throws when a retry or dead letter could not be queued. */
  async deliver(job: DeliveryJob): Promise<DeliveryStep> {
    const { deps } = this;
    const now = deps.clock();
    if (job.notBeforeMs > now + EARLY_TOLERANCE_MS) return { kind: 'wait', untilMs: job.notBeforeMs };
    const endpoint = await deps.endpoints.get(job.endpointId);
    if (endpoint === undefined) return this.drop(job, 'removed');
    if (job.kind !== 'test' && endpoint.status.state !== 'active') {
      await this.bestEffort(job, 'log', () => deps.log.markDropped(job, now));
      return this.drop(job, 'disabled');
    }
    if (job.kind === 'event' && (await deps.log.wasDelivered(job))) return this.drop(job, 'duplicate');
    if (job.kind === 'test') return this.test(job, endpoint);

    const slot = await deps.slots.acquire(job.endpointId, now, this.slotLeaseMs);
    if (slot === undefined) {
      const next: DeliveryJob = { ...job, deferrals: job.deferrals + 1, notBeforeMs: now + deferralDelayMs(job) };
      await this.enqueueOrThrow(next);
      deps.observer?.deferred?.(job, next);
      return { kind: 'settled', result: 'deferred' };
    }
    let outcome: DeliveryAttemptOutcome;
    try {
      outcome = await this.attempt(job, endpoint);
    } finally {
      await this.bestEffort(job, 'slot', () => deps.slots.release(job.endpointId, slot));
    }
    return this.settle(job, outcome);
  }

  /** `webhooks test`: one attempt, whatever the endpoint's status; never retried, never counted in its health. */
  private async test(job: DeliveryJob, endpoint: WebhookEndpoint): Promise<DeliveryStep> {
    const outcome = await this.attempt(job, endpoint);
    const delivered = classifyAttempt(outcome) === 'delivered';
    const atMs = this.deps.clock();
    await this.bestEffort(job, 'log', () =>
      this.deps.log.record({ job, attempt: { attempt: job.attempt, kind: job.kind, atMs, outcome }, state: delivered ? 'delivered' : 'failed' }),
    );
    return { kind: 'settled', result: delivered ? 'delivered' : 'failed', outcome };
  }

  private async attempt(job: DeliveryJob, endpoint: WebhookEndpoint): Promise<DeliveryAttemptOutcome> {
    const secrets = await this.deps.secrets.load(job.endpointId);
    const sentAtMs = this.deps.clock();
    const headers = signPayload({ id: job.eventId, sentAtMs, body: job.body, secrets: signingSecrets(secrets, sentAtMs) });
    return this.deps.sender.send({ url: endpoint.url, body: job.body, headers });
  }

  /** Carries out the schedule's decision: the queue first (it must not be lost), then health and log. */
  private async settle(job: DeliveryJob, outcome: DeliveryAttemptOutcome): Promise<DeliveryStep> {
    const { deps } = this;
    const atMs = deps.clock();
    const verdict = classifyAttempt(outcome);
    const decision = decideAfterAttempt({ outcome, attempt: job.attempt, schedule: deps.schedule, nowMs: atMs });
    const health = await this.recordHealth(job, verdict, atMs);
    const attempt = { attempt: job.attempt, kind: job.kind, atMs, outcome };
    const log = (state: DeliveryState, nextAttemptAtMs?: number): Promise<void> =>
      this.bestEffort(job, 'log', () => deps.log.record({ job, attempt, state, ...(nextAttemptAtMs === undefined ? {} : { nextAttemptAtMs }) }));
    if (health?.disabled !== undefined) deps.observer?.endpointDisabled?.(job, health.disabled);

    switch (decision.kind) {
      case 'delivered':
        deps.observer?.delivered?.(job, outcome);
        await log('delivered');
        return { kind: 'settled', result: 'delivered', outcome };
      case 'disable-endpoint':
        deps.observer?.attemptFailed?.(job, outcome);
        await log('gone');
        return { kind: 'settled', result: 'gone', outcome };
      case 'retry': {
        // The failure limit was reached at this attempt: the endpoint is off, a retry would only be dropped.
        if (health?.disabled !== undefined) {
          deps.observer?.attemptFailed?.(job, outcome);
          await log('dropped');
          return { kind: 'settled', result: 'disabled', outcome };
        }
        const next: DeliveryJob = { ...job, attempt: decision.nextAttempt, notBeforeMs: decision.notBeforeMs, deferrals: 0 };
        await this.enqueueOrThrow(next);
        deps.observer?.attemptFailed?.(job, outcome, next);
        await log('retrying', decision.notBeforeMs);
        return { kind: 'settled', result: 'retry', outcome };
      }
      case 'dead-letter': {
        deps.observer?.attemptFailed?.(job, outcome);
        const state = await deps.queue.deadLetter(job, outcome);
        deps.observer?.deadLettered?.(job, outcome, state);
        await this.bestEffort(job, 'health', () => deps.endpoints.recordDeadLetter(job.endpointId));
        await log(state);
        return { kind: 'settled', result: state, outcome };
      }
    }
  }

  private async recordHealth(job: DeliveryJob, verdict: AttemptVerdict, atMs: number): Promise<{ disabled?: DisabledReason } | undefined> {
    try {
      return await this.deps.endpoints.recordAttempt(job.endpointId, verdict, atMs);
    } catch (error) {
      this.deps.observer?.bookkeepingFailed?.(job, 'health', error);
      return undefined;
    }
  }

  private async enqueueOrThrow(job: DeliveryJob): Promise<void> {
    const { failed } = await this.deps.queue.enqueue([job]);
    if (failed.length > 0) throw new Error(`the delivery could not be queued again (${failed[0]?.reason ?? 'refused'})`);
  }

  private drop(job: DeliveryJob, why: 'removed' | 'disabled' | 'duplicate'): DeliveryStep {
    this.deps.observer?.dropped?.(job, why);
    return { kind: 'settled', result: why === 'duplicate' ? 'duplicate' : 'dropped' };
  }

  private async bestEffort(job: DeliveryJob, what: 'health' | 'log' | 'slot', write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.deps.observer?.bookkeepingFailed?.(job, what, error);
    }
  }
}
