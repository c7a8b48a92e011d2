import { InMemoryWebhookQueue } from './adapters/in-memory-webhook-queue';
import type { QueueTimers } from './adapters/in-memory-repoll-queue';
import { WebhooksTableMissingError } from './adapters/dynamodb-webhook-table';
import type { EventPublisher, PublishResult } from './core/ports';
import type { Publication } from './core/publication';
import type { DeliveryAttemptOutcome, WebhookSender } from './core/webhook-delivery';
import { WebhookDispatcher, type DeliveryResult, type DeliveryStep, type DispatchObserver } from './core/webhook-dispatcher';
import type { DeliveryJob } from './core/webhook-job';
import type { DeadLetterState, DeliveryLog, DeliverySlots, EnqueueResult, LocalDeliveryBacklog, WebhookDeliveryQueue, WebhookEndpointStore, WebhookSecretVault } from './core/webhook-ports';
import { IN_RUN_RETRY_SCHEDULE } from './core/webhook-retry-schedule';

/** How long a `poll` waits for its deliveries' attempts to start: the in-run schedule (1 s, 2 s, 4 s) fits, with room for Retry-After. */
export const IN_RUN_WINDOW_MS = 10_000;

export interface LocalWebhookStores {
  readonly endpoints: WebhookEndpointStore & DeliverySlots;
  readonly log: DeliveryLog;
  readonly secrets: WebhookSecretVault;
  readonly backlog: LocalDeliveryBacklog;
}

export interface LocalWebhookDeliveryOptions {
  readonly stores: LocalWebhookStores;
  readonly sender: WebhookSender;
  /** Epoch ms. @default Date.now */
  readonly clock?: () => number;
  /** @default Node's timers */
  readonly timers?: QueueTimers;
  /** @default IN_RUN_WINDOW_MS */
  readonly windowMs?: number;
  /** Per-delivery lines for the terminal. */
  readonly observer?: DispatchObserver;
}

export interface LocalDeliverySummary {
  readonly delivered: number;
  /** Attempts that failed (some were retried and then delivered). */
  readonly failedAttempts: number;
  /** Deliveries still undelivered at the end: tried first by the next `poll`. */
  readonly kept: number;
  readonly endpointsDisabled: number;
}

/**
 * Deliveries some run of this process has queued and not yet settled or handed back. `serve` and
 * `npm start` run cycles and re-polls at once, each with its own LocalWebhookDelivery: a run does
 * not take from the backlog what another run of the process is still delivering or retrying, so a
 * receiver is not sent one delivery twice by one process.
 */
const OWNED_IN_THIS_PROCESS = new Set<string>();

/** Settled for good: nothing left to try, so the backlog entry goes. */
const SETTLED: ReadonlySet<DeliveryResult> = new Set(['delivered', 'gone', 'disabled', 'dropped', 'duplicate', 'failed']);

/**
 * Webhook delivery inside a local `poll` (no TOPIC_ARN), with the dispatcher's own code:
 * - `start()` reads what earlier polls left undelivered, so it goes first;
 * - `publisher(inner)` wraps the console publisher: an event counts as published only once its
 *   deliveries are stored in the backlog (webhooks table), so a refused write leaves the event
 *   pending in the cycle's outbox, and a stopped `poll` loses nothing;
 * - `finish()` waits for the deliveries and their in-run retries (1 s, 2 s, 4 s); those that
 *   still fail, or whose next attempt would fall after the window, stay in the backlog.
 * Receivers never change the poll's outcome: failures are only reported.
 */
export class LocalWebhookDelivery {
  private readonly clock: () => number;
  private readonly queue: InMemoryWebhookQueue;
  private readonly dispatcher: WebhookDispatcher;
  private readonly counts = { delivered: 0, failedAttempts: 0, endpointsDisabled: 0 };
  private readonly unsettled = new Set<string>();
  /** This run's part of OWNED_IN_THIS_PROCESS, handed back when the run ends. */
  private readonly owned = new Set<string>();
  private active = true;
  private kept: DeliveryJob[] = [];

  constructor(private readonly options: LocalWebhookDeliveryOptions) {
    this.clock = options.clock ?? Date.now;
    const { stores } = options;
    this.queue = new InMemoryWebhookQueue({
      clock: this.clock,
      ...(options.timers ? { timers: options.timers } : {}),
      redeliveryDelayMs: 1_000,
      // Due after the window: it is in the backlog already, with its next attempt.
      onLate: (job) => this.unsettled.add(keyOf(job)),
    });
    const backlogged = new BackloggedQueue(this.queue, stores.backlog, (jobs) => this.own(jobs));
    const observer = options.observer;
    const counting: DispatchObserver = {
      ...observer,
      delivered: (job, outcome) => {
        this.counts.delivered += 1;
        observer?.delivered?.(job, outcome);
      },
      attemptFailed: (job, outcome, next) => {
        this.counts.failedAttempts += 1;
        observer?.attemptFailed?.(job, outcome, next);
      },
      endpointDisabled: (job, reason) => {
        this.counts.endpointsDisabled += 1;
        observer?.endpointDisabled?.(job, reason);
      },
    };
    this.dispatcher = new WebhookDispatcher({
      endpoints: stores.endpoints,
      slots: stores.endpoints,
      secrets: stores.secrets,
      log: stores.log,
      sender: options.sender,
      queue: backlogged,
      clock: this.clock,
      schedule: IN_RUN_RETRY_SCHEDULE,
      observer: counting,
    });
    this.queue.consumeWith((job) => this.consume(job));
  }

  /**
   * Reads the deliveries earlier polls left (read only: they are queued, oldest first, ahead of
   * the first new event or at `finish`). Without a webhooks table (an older `init`) there is
   * nothing to do. Never throws: when the table cannot be read, the next poll tries again, and
   * new events wait in the cycle's outbox until their deliveries can be stored.
   */
  async start(): Promise<void> {
    try {
      this.kept = (await this.options.stores.backlog.list()).filter((job) => !OWNED_IN_THIS_PROCESS.has(keyOf(job)));
    } catch (error) {
      if (error instanceof WebhooksTableMissingError) this.active = false;
    }
  }

  /** Queues what earlier polls left, once, before anything new. */
  private async releaseKept(): Promise<void> {
    const kept = this.kept.splice(0);
    if (kept.length === 0) return;
    for (const job of kept) this.unsettled.add(keyOf(job));
    this.own(kept);
    await this.queue.enqueue(kept.map((job) => ({ ...job, notBeforeMs: Math.min(job.notBeforeMs, this.clock()) })));
  }

  /** The cycle's publisher, delivering to webhooks what it accepted. */
  publisher(inner: EventPublisher): EventPublisher {
    return { publishBatch: (batch) => this.publishBatch(inner, batch) };
  }

  private async publishBatch(inner: EventPublisher, batch: readonly Publication[]): Promise<PublishResult[]> {
    const results = await inner.publishBatch(batch);
    if (!this.active) return results;
    await this.releaseKept();
    const accepted = results.flatMap((result, i) => {
      const body = result.ok ? defaultJsonOf(batch[i]) : undefined;
      return body === undefined ? [] : [{ index: i, body }];
    });
    if (accepted.length === 0) return results;
    let fanned;
    try {
      fanned = await this.dispatcher.fanOut(accepted.map((a) => a.body));
    } catch (error) {
      if (error instanceof WebhooksTableMissingError) {
        this.active = false;
        return results;
      }
      const reason = `webhook deliveries not stored (${error instanceof Error ? error.message : 'error'})`;
      fanned = accepted.map(() => ({ ok: false as const, reason }));
    }
    const out = [...results];
    fanned.forEach((result, j) => {
      const index = (accepted[j] as { index: number }).index;
      const eventId = (results[index] as PublishResult).eventId;
      if (!result.ok) out[index] = { eventId, ok: false, reason: result.reason };
    });
    return out;
  }

  /**
   * Waits for every delivery and its in-run retries due within the window from now; what is
   * left stays for the next poll.
   */
  async finish(): Promise<LocalDeliverySummary> {
    if (this.active) await this.releaseKept();
    this.queue.cutOff(this.clock() + (this.options.windowMs ?? IN_RUN_WINDOW_MS));
    await this.queue.idle();
    this.queue.close();
    this.handBack();
    return { ...this.counts, kept: this.unsettled.size };
  }

  /** For a refused command: nothing more is sent, the backlog stays as it was. */
  abandon(): void {
    this.kept = [];
    this.queue.close();
    this.handBack();
  }

  private own(jobs: readonly DeliveryJob[]): void {
    for (const job of jobs) {
      OWNED_IN_THIS_PROCESS.add(keyOf(job));
      this.owned.add(keyOf(job));
    }
  }

  /** What this run leaves in the backlog is free for the next run to take. */
  private handBack(): void {
    for (const key of this.owned) OWNED_IN_THIS_PROCESS.delete(key);
    this.owned.clear();
  }

  private async consume(job: DeliveryJob): Promise<DeliveryStep> {
    this.unsettled.add(keyOf(job));
    const step = await this.dispatcher.deliver(job);
    if (step.kind === 'settled' && SETTLED.has(step.result)) {
      this.unsettled.delete(keyOf(job));
      await this.options.stores.backlog.remove(job);
    }
    return step;
  }
}

function keyOf(job: DeliveryJob): string {
  return `${job.endpointId}#${job.logKey}`;
}

/** The `default` of an SNS message: the event JSON webhooks receive. */
export function defaultJsonOf(publication: Publication | undefined): string | undefined {
  if (publication === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(publication.message);
    if (typeof parsed === 'object' && parsed !== null && 'default' in parsed && typeof parsed.default === 'string') return parsed.default;
  } catch {
    // Not a message of ours: nothing to deliver.
  }
  return undefined;
}

/**
 * The local run's queue: a job is written to the backlog before it is queued in memory, and a
 * delivery whose in-run schedule is used up is kept there with its schedule reset for the next poll.
 */
class BackloggedQueue implements WebhookDeliveryQueue {
  constructor(
    private readonly memory: InMemoryWebhookQueue,
    private readonly backlog: LocalDeliveryBacklog,
    private readonly owned: (jobs: readonly DeliveryJob[]) => void,
  ) {}

  async enqueue(jobs: readonly DeliveryJob[]): Promise<EnqueueResult> {
    // Owned before the backlog holds them, so a run starting meanwhile does not take them too.
    this.owned(jobs);
    try {
      await this.backlog.put(jobs);
    } catch (error) {
      if (error instanceof WebhooksTableMissingError) throw error;
      const reason = error instanceof Error ? error.name : 'Error';
      return { failed: jobs.map((job) => ({ job, reason })) };
    }
    return this.memory.enqueue(jobs);
  }

  async deadLetter(job: DeliveryJob, _lastOutcome: DeliveryAttemptOutcome): Promise<DeadLetterState> {
    await this.backlog.put([{ ...job, attempt: 1, notBeforeMs: 0, deferrals: 0 }]);
    return 'kept';
  }
}
