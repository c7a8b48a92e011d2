import type { IdentityId } from '../../lambda/core/identity-id';
import { planRepoll } from '../../lambda/core/repoll-debounce';
import type { RepollDecision, RepollMarker, RepollMessage, RepollQueue, RepollSendResult } from '../../lambda/core/repoll-ports';
import type { RepollLog } from '../../lambda/repoll-endpoint';

/** The marker's contract in memory: registered ids, one `pollAt` each, the core's plan applied atomically. */
export class InMemoryRepollMarker implements RepollMarker {
  readonly pollAt = new Map<string, number>();
  readonly marked: string[] = [];
  private readonly registered: Set<string>;

  constructor(registered: Iterable<string>) {
    this.registered = new Set(registered);
  }

  mark(id: IdentityId, now: number, windowMs: number): Promise<RepollDecision> {
    this.marked.push(id);
    const pollAt = this.pollAt.get(id);
    const plan = planRepoll(now, windowMs, this.registered.has(id) ? { registered: true, ...(pollAt === undefined ? {} : { pollAt }) } : { registered: false });
    switch (plan.decision) {
      case 'poll-now':
        this.pollAt.set(id, plan.pollAt);
        return Promise.resolve({ decision: 'poll-now' });
      case 'poll-at-window-end':
        this.pollAt.set(id, plan.pollAt);
        return Promise.resolve({ decision: 'poll-at-window-end', delayMs: plan.delayMs });
      default:
        return Promise.resolve({ decision: plan.decision });
    }
  }
}

/** Records what was sent; `refuse` makes it answer those ids as failed. */
export class RecordingRepollQueue implements RepollQueue {
  readonly sent: RepollMessage[] = [];
  refuse = new Set<string>();

  send(messages: readonly RepollMessage[]): Promise<RepollSendResult> {
    const failed = messages.filter((m) => this.refuse.has(m.identityId)).map((m) => ({ identityId: m.identityId, reason: 'InternalError' }));
    this.sent.push(...messages.filter((m) => !this.refuse.has(m.identityId)));
    return Promise.resolve({ failed });
  }
}

/** Every log line, serialised as a JSON logger would write it. */
export class CapturingLog implements RepollLog {
  readonly lines: string[] = [];

  info(message: string, fields: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: 'INFO', message, ...fields }));
  }

  error(message: string, fields: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: 'ERROR', message, ...fields }));
  }

  get text(): string {
    return this.lines.join('\n');
  }
}

export { fixedRepollSecrets as fixedSecrets } from '../../lambda/repoll-endpoint';

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public nowMs = 1_770_000_000_000) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}
