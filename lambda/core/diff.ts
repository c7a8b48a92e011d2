import { compareDecimalIds } from './identity-id';
import type { ConversationChange, UnreadState } from './model';

export interface UnreadDiff {
  readonly previousTotal: number;
  readonly total: number;
  /** Only the conversations whose count changed; a missing conversation counts as 0. */
  readonly conversations: readonly ConversationChange[];
}

/** The change from `previous` to `next`, or undefined when nothing a subscriber sees has changed. */
export function diffUnread(previous: UnreadState, next: UnreadState): UnreadDiff | undefined {
  const before = new Map(previous.conversations.map((c) => [c.objectId, c]));
  const changes: ConversationChange[] = [];
  for (const current of next.conversations) {
    const old = before.get(current.objectId);
    before.delete(current.objectId);
    const previousCount = old?.unread ?? 0;
    if (previousCount !== current.unread) {
      changes.push({ objectId: current.objectId, streamId: current.streamId, previous: previousCount, current: current.unread });
    }
  }
  for (const gone of before.values()) {
    changes.push({ objectId: gone.objectId, streamId: gone.streamId, previous: gone.unread, current: 0 });
  }
  if (changes.length === 0 && previous.total === next.total) return undefined;
  changes.sort((a, b) => compareDecimalIds(a.objectId, b.objectId));
  return { previousTotal: previous.total, total: next.total, conversations: changes };
}
