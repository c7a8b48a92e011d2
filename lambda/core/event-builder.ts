import { createHash } from 'node:crypto';
import type { UnreadDiff } from './diff';
import type { IdentityId } from './identity-id';
import { EVENT_TYPE, EVENT_VERSION, type Direction, type UnreadChangedEvent, type UnreadState } from './model';

export interface EventInput {
  readonly identityId: IdentityId;
  readonly label?: string;
  /** The version of the snapshot the change starts from; makes A→B→A→B two distinct ids. */
  readonly fromVersion: number;
  readonly previous: UnreadState;
  readonly next: UnreadState;
  readonly diff: UnreadDiff;
  readonly observedAt: Date;
}

export function buildEvent(input: EventInput): UnreadChangedEvent {
  const { diff } = input;
  const delta = diff.total - diff.previousTotal;
  return {
    version: EVENT_VERSION,
    type: EVENT_TYPE,
    eventId: deriveEventId(input.identityId, input.fromVersion, input.previous, input.next),
    identityId: input.identityId,
    ...(input.label ? { label: input.label } : {}),
    previousTotal: diff.previousTotal,
    total: diff.total,
    delta,
    direction: directionOf(delta, diff),
    conversations: diff.conversations,
    observedAt: input.observedAt.toISOString(),
  };
}

/**
 * When the total is unchanged but conversations moved (one read, another received), the event
 * still says `increased` if any conversation gained unread messages: someone has something new.
 */
function directionOf(delta: number, diff: UnreadDiff): Direction {
  if (delta > 0) return 'increased';
  if (delta < 0) return 'decreased';
  return diff.conversations.some((c) => c.current > c.previous) ? 'increased' : 'decreased';
}

/**
 * Same identity and same snapshot transition give the same id, so a re-sent or re-computed event
 * deduplicates downstream. Shaped as an RFC 9562 version-8 UUID.
 */
export function deriveEventId(identityId: IdentityId, fromVersion: number, previous: UnreadState, next: UnreadState): string {
  const hex = createHash('sha256')
    .update(`${identityId}\n${fromVersion}\n${fingerprint(previous)}\n${fingerprint(next)}`)
    .digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function fingerprint(state: UnreadState): string {
  return `${state.total}|${state.conversations.map((c) => `${c.objectId}:${c.unread}`).join(',')}`;
}
