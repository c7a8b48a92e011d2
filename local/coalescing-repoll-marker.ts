import type { IdentityId } from '../lambda/core/identity-id';
import type { RepollDecision, RepollMarker } from '../lambda/core/repoll-ports';

/**
 * The marker of a process that answers every request itself (`serve`): marks of one identity are
 * made one after another, and a request that comes while a poll this process granted has not
 * started yet (a trailing poll waiting for its window's end) is collapsed into it without asking
 * the table: that poll reads CommBox after the request, whatever else wrote the marker. So a burst
 * of 50 webhooks costs the table a handful of requests instead of fifty racing conditional writes
 * (dynalite and DynamoDB Local do not return the item with a failed condition, so each lost race
 * would cost a read as well).
 */
export class CoalescingRepollMarker implements RepollMarker {
  /** The last mark of each identity, in order. */
  private readonly tails = new Map<IdentityId, Promise<unknown>>();
  /** When the latest poll this process granted starts, per identity (epoch ms). */
  private readonly grantedAt = new Map<IdentityId, number>();

  constructor(private readonly inner: RepollMarker) {}

  mark(id: IdentityId, now: number, windowMs: number): Promise<RepollDecision> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    const decision = previous.then(
      () => this.markNow(id, now, windowMs),
      () => this.markNow(id, now, windowMs),
    );
    const tail = decision.catch(() => undefined);
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return decision;
  }

  private async markNow(id: IdentityId, now: number, windowMs: number): Promise<RepollDecision> {
    const granted = this.grantedAt.get(id);
    if (granted !== undefined && now < granted) return { decision: 'collapsed' };
    const decision = await this.inner.mark(id, now, windowMs);
    if (decision.decision === 'poll-now') this.grantedAt.set(id, now);
    else if (decision.decision === 'poll-at-window-end') this.grantedAt.set(id, now + decision.delayMs);
    else if (decision.decision === 'unregistered') this.grantedAt.delete(id);
    this.forgetOld(now, windowMs);
    return decision;
  }

  /** Grants older than a window decide nothing any more. */
  private forgetOld(now: number, windowMs: number): void {
    if (this.grantedAt.size < 1024) return;
    for (const [id, at] of this.grantedAt) if (at < now - windowMs) this.grantedAt.delete(id);
  }
}
