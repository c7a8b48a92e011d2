import type { IdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadState } from '../../lambda/core/model';
import type { FetchOutcome, UnreadSource } from '../../lambda/core/ports';

/** What the fake upstream answers for one request: a state, a 404, or an error to throw. */
export type ScriptedAnswer = UnreadState | 'not-found' | Error;

/** A state from `[objectId, streamId, unread]` rows, its total their sum. */
export function unread(...rows: readonly (readonly [objectId: string, streamId: string, unread: number])[]): UnreadState {
  return normalizeState(
    rows.reduce((sum, [, , n]) => sum + n, 0),
    rows.map(([objectId, streamId, n]) => ({ objectId, streamId, unread: n })),
  );
}

/**
 * The UnreadSource port in memory: each identity answers its standing state, after any one-off
 * answers queued for it; an identity it does not know is not found (a CommBox 404).
 */
export class ScriptedUnreadSource implements UnreadSource {
  /** Every identity asked, in the order asked. */
  readonly asked: IdentityId[] = [];
  private readonly standing = new Map<string, UnreadState>();
  private readonly queued = new Map<string, ScriptedAnswer[]>();

  set(id: string, state: UnreadState): this {
    this.standing.set(id, state);
    return this;
  }

  /** Answers these first, one per request, then the standing state again. */
  answerNext(id: string, ...answers: ScriptedAnswer[]): this {
    this.queued.set(id, [...(this.queued.get(id) ?? []), ...answers]);
    return this;
  }

  async fetchUnread(id: IdentityId): Promise<FetchOutcome> {
    this.asked.push(id);
    await Promise.resolve();
    const answer = this.queued.get(id)?.shift() ?? this.standing.get(id) ?? 'not-found';
    if (answer instanceof Error) throw answer;
    return answer === 'not-found' ? { kind: 'not-found' } : { kind: 'ok', state: answer };
  }
}
