import type { IdentityId } from '../lambda/core/identity-id';
import type { RepollMessage } from '../lambda/core/repoll-ports';

/**
 * Runs the re-polls `serve` is handed as soon as they are due, at most `concurrency` identities
 * at once, and never two polls of one identity at once: a re-poll for an identity already being
 * polled waits for that poll to end (a second message read by the first poll's request would be
 * lost to its conflict otherwise), and several waiting ones become one. This is what SQS's
 * consumers plus the queue's delays do in AWS; here one process does it, without batches that wait
 * for their slowest identity.
 */
export class RepollDispatcher {
  private readonly running = new Map<IdentityId, Promise<void>>();
  /** At most one follow-up per identity: the earliest request waiting. */
  private readonly following = new Map<IdentityId, RepollMessage>();
  private readonly ready: RepollMessage[] = [];
  private active = 0;
  private closed = false;

  constructor(
    private readonly run: (message: RepollMessage) => Promise<void>,
    private readonly concurrency: number,
  ) {}

  /** Hands over due re-polls; returns at once. */
  dispatch(messages: readonly RepollMessage[]): void {
    if (this.closed) return;
    for (const message of messages) {
      const id = message.identityId;
      if (this.running.has(id) || this.ready.some((m) => m.identityId === id)) {
        if (!this.following.has(id)) this.following.set(id, message);
      } else {
        this.ready.push(message);
      }
    }
    this.pump();
  }

  /** Identities being polled or waiting. */
  get pending(): number {
    return this.running.size + this.ready.length + this.following.size;
  }

  /** Starts nothing more; resolves when the polls in flight have ended. Waiting re-polls are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    this.ready.length = 0;
    this.following.clear();
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private pump(): void {
    while (!this.closed && this.active < this.concurrency && this.ready.length > 0) {
      const message = this.ready.shift() as RepollMessage;
      this.start(message);
    }
  }

  private start(message: RepollMessage): void {
    const id = message.identityId;
    this.active += 1;
    const done = this.run(message)
      .catch(() => undefined)
      .finally(() => {
        this.active -= 1;
        this.running.delete(id);
        const next = this.following.get(id);
        if (next !== undefined && !this.closed) {
          this.following.delete(id);
          this.ready.push(next);
        }
        this.pump();
      });
    this.running.set(id, done);
  }
}
