import type { IdentityId } from '../core/identity-id';
import type { RepollMessage, RepollQueue, RepollSendResult } from '../core/repoll-ports';

/** Timers, injectable so tests run on a fake clock. */
export interface QueueTimers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const NODE_TIMERS: QueueTimers = {
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface InMemoryRepollQueueOptions {
  /** Runs one targeted poll of the given identities; rejections go to `onError`, the queue goes on. */
  readonly consume: (messages: readonly RepollMessage[]) => Promise<void>;
  readonly onError?: (error: unknown, identityIds: readonly IdentityId[]) => void;
  /** @default Node's timers */
  readonly timers?: QueueTimers;
}

/**
 * The re-poll queue of `unread-notifier serve`: one process, no SQS. A message waits its delay on
 * a timer, then joins the next delivery. Deliveries run one at a time: messages that become due
 * while one runs are delivered together when it ends, each identity once. `close()` drops what
 * still waits and resolves when the running delivery has ended.
 */
export class InMemoryRepollQueue implements RepollQueue {
  private readonly timers: QueueTimers;
  private readonly waiting = new Set<unknown>();
  private ready = new Map<IdentityId, RepollMessage>();
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: InMemoryRepollQueueOptions) {
    this.timers = options.timers ?? NODE_TIMERS;
  }

  send(messages: readonly RepollMessage[]): Promise<RepollSendResult> {
    if (this.closed) return Promise.resolve({ failed: messages.map((m) => ({ identityId: m.identityId, reason: 'QueueClosed' })) });
    for (const message of messages) {
      if (message.delayMs <= 0) {
        this.enqueue(message);
        continue;
      }
      const handle = this.timers.setTimeout(() => {
        this.waiting.delete(handle);
        this.enqueue(message);
      }, message.delayMs);
      this.waiting.add(handle);
    }
    return Promise.resolve({ failed: [] });
  }

  /** Messages waiting for their delay plus those due and not yet delivered. */
  get pending(): number {
    return this.waiting.size + this.ready.size;
  }

  /** Resolves when nothing is being delivered (delayed messages may still wait). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const handle of this.waiting) this.timers.clearTimeout(handle);
    this.waiting.clear();
    this.ready.clear();
    await this.idle();
  }

  private enqueue(message: RepollMessage): void {
    if (this.closed) return;
    if (!this.ready.has(message.identityId)) this.ready.set(message.identityId, message);
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    // Let the rest of the caller's batch join this delivery.
    await Promise.resolve();
    try {
      while (this.ready.size > 0 && !this.closed) {
        const batch = [...this.ready.values()];
        this.ready = new Map();
        try {
          await this.options.consume(batch);
        } catch (error) {
          this.options.onError?.(error, batch.map((m) => m.identityId));
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
