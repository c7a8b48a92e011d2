import type { DeliveryAttemptOutcome } from '../core/webhook-delivery';
import type { DeliveryStep } from '../core/webhook-dispatcher';
import type { DeliveryJob } from '../core/webhook-job';
import type { DeadLetterState, EnqueueResult, WebhookDeliveryQueue } from '../core/webhook-ports';
import type { QueueTimers } from './in-memory-repoll-queue';

const NODE_TIMERS: QueueTimers = {
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface InMemoryWebhookQueueOptions {
  /** Epoch ms, the clock the jobs' `notBeforeMs` are on. */
  readonly clock: () => number;
  /** @default Node's timers */
  readonly timers?: QueueTimers;
  /** A job whose consumer threw comes back after this long, as an SQS message would after its visibility timeout. @default 30_000 */
  readonly redeliveryDelayMs?: number;
  /** Receives of one job (SQS's maxReceiveCount) before it is dead-lettered as poison. @default 5 */
  readonly maxReceives?: number;
  /** Jobs running at once; more wait their turn, first come first served. @default unlimited */
  readonly concurrency?: number;
  /** Jobs not waited for after `cutOff` (a local `poll` keeps them for the next one). */
  readonly onLate?: (job: DeliveryJob) => void;
  /** What a dead letter becomes. @default kept in `deadLetters`, answered as `dead-letter` */
  readonly onDeadLetter?: (job: DeliveryJob, lastOutcome: DeliveryAttemptOutcome) => Promise<DeadLetterState>;
}

export type WebhookJobConsumer = (job: DeliveryJob) => Promise<DeliveryStep>;

/**
 * The delivery queue in one process, with SQS's semantics where the dispatcher relies on them:
 * a job runs when its `notBeforeMs` comes (timers, injectable for a fake clock); one whose
 * consumer throws runs again after the redelivery delay, up to `maxReceives` times; one that
 * comes back early (`wait`) waits again. Jobs run concurrently, each on its own. `idle()`
 * resolves when nothing waits or runs. The local `poll` delivers through it; tests drive it.
 */
export class InMemoryWebhookQueue implements WebhookDeliveryQueue {
  /** Every job accepted, in order (for tests). */
  readonly enqueued: DeliveryJob[] = [];
  readonly deadLetters: { readonly job: DeliveryJob; readonly reason: string }[] = [];
  private readonly timers: QueueTimers;
  private readonly waiting = new Map<unknown, { readonly job: DeliveryJob; readonly atMs: number }>();
  private dueBy = Number.POSITIVE_INFINITY;
  private running = 0;
  private readonly ready: { readonly job: DeliveryJob; readonly receive: number }[] = [];
  private idleWaiters: (() => void)[] = [];
  private consumer?: WebhookJobConsumer;
  private closed = false;

  constructor(private readonly options: InMemoryWebhookQueueOptions) {
    this.timers = options.timers ?? NODE_TIMERS;
  }

  /** The dispatcher's `deliver`, set once the dispatcher (which enqueues here) exists. */
  consumeWith(consumer: WebhookJobConsumer): void {
    this.consumer = consumer;
  }

  enqueue(jobs: readonly DeliveryJob[]): Promise<EnqueueResult> {
    if (this.closed) return Promise.resolve({ failed: jobs.map((job) => ({ job, reason: 'QueueClosed' })) });
    for (const job of jobs) {
      this.enqueued.push(job);
      this.schedule(job, job.notBeforeMs, 1);
    }
    return Promise.resolve({ failed: [] });
  }

  deadLetter(job: DeliveryJob, lastOutcome: DeliveryAttemptOutcome): Promise<DeadLetterState> {
    if (this.options.onDeadLetter) return this.options.onDeadLetter(job, lastOutcome);
    this.deadLetters.push({ job, reason: `schedule used up (${lastOutcome.kind})` });
    return Promise.resolve('dead-letter');
  }

  /** Jobs waiting for their time or their turn, plus those running. */
  get pending(): number {
    return this.waiting.size + this.ready.length + this.running;
  }

  /** Resolves when no job waits or runs (jobs handed to `onLate` do not count). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * From now on, jobs due after `atMs` are not waited for: those waiting and those scheduled
   * later go to `onLate` instead. A local `poll` calls it when its cycle is done.
   */
  cutOff(atMs: number): void {
    this.dueBy = atMs;
    for (const [handle, { job, atMs: due }] of [...this.waiting]) {
      if (due <= atMs) continue;
      this.timers.clearTimeout(handle);
      this.waiting.delete(handle);
      this.options.onLate?.(job);
    }
    this.checkIdle();
  }

  /** Drops what waits; running jobs finish. */
  close(): void {
    this.closed = true;
    for (const handle of this.waiting.keys()) this.timers.clearTimeout(handle);
    this.waiting.clear();
    this.ready.length = 0;
    this.checkIdle();
  }

  private schedule(job: DeliveryJob, atMs: number, receive: number): void {
    if (this.closed) return;
    if (atMs > this.dueBy) {
      this.options.onLate?.(job);
      return;
    }
    const handle = this.timers.setTimeout(() => {
      this.waiting.delete(handle);
      this.ready.push({ job, receive });
      this.startReady();
    }, Math.max(0, atMs - this.options.clock()));
    this.waiting.set(handle, { job, atMs });
  }

  private startReady(): void {
    while (!this.closed && this.ready.length > 0 && this.running < (this.options.concurrency ?? Number.POSITIVE_INFINITY)) {
      const { job, receive } = this.ready.shift() as { job: DeliveryJob; receive: number };
      void this.run(job, receive);
    }
    this.checkIdle();
  }

  private async run(job: DeliveryJob, receive: number): Promise<void> {
    this.running += 1;
    try {
      if (this.consumer === undefined) throw new Error('no consumer');
      const step = await this.consumer(job);
      if (step.kind === 'wait') this.schedule(job, step.untilMs, receive + 1);
    } catch {
      if (receive >= (this.options.maxReceives ?? 5)) this.deadLetters.push({ job, reason: 'receive limit' });
      else this.schedule(job, this.options.clock() + (this.options.redeliveryDelayMs ?? 30_000), receive + 1);
    } finally {
      this.running -= 1;
      this.startReady();
    }
  }

  private checkIdle(): void {
    if (this.pending > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
