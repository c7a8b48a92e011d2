import { createHash } from 'node:crypto';
import type { AlertToSend } from './alert-decision';
import type { AlertKind } from './alert-state';
import type { IdentityId } from './identity-id';
import type { ConversationUnread } from './model';

export const ALERT_EVENT_TYPE = 'unread.alert';
export const ALERT_EVENT_VERSION = 1;

/** The alert event of CONTRACT.md. Ids are decimal strings here and JSON numbers on the wire. */
export interface UnreadAlertEvent {
  readonly version: typeof ALERT_EVENT_VERSION;
  readonly type: typeof ALERT_EVENT_TYPE;
  readonly kind: AlertKind;
  readonly eventId: string;
  readonly identityId: IdentityId;
  readonly label?: string;
  readonly total: number;
  readonly lastAlertTotal: number;
  readonly changes: number;
  readonly waitingSince: string;
  /** The conversations with unread messages now (not only those that changed). */
  readonly conversations: readonly ConversationUnread[];
  readonly truncated?: true;
  readonly observedAt: string;
}

/**
 * An alert as it waits in the outbox: the event plus what its texts need and the event does not
 * carry. Stored together, so a re-send renders the same bytes even if the policy changed since.
 */
export interface AlertNotice {
  readonly event: UnreadAlertEvent;
  /** The identity's zone when the alert was decided: texts show local times in it. */
  readonly timeZone: string;
  /** ISO time of the previous alert of the episode, which a digest says "since". */
  readonly lastAlertAt?: string;
}

export interface AlertNoticeInput {
  readonly identityId: IdentityId;
  readonly label?: string;
  readonly alert: AlertToSend;
  readonly timeZone: string;
}

export function buildAlertNotice(input: AlertNoticeInput): AlertNotice {
  const { alert } = input;
  const event: UnreadAlertEvent = {
    version: ALERT_EVENT_VERSION,
    type: ALERT_EVENT_TYPE,
    kind: alert.kind,
    eventId: deriveAlertEventId(input.identityId, alert.episode, alert.sequence, alert.waitingSince),
    identityId: input.identityId,
    ...(input.label ? { label: input.label } : {}),
    total: alert.total,
    lastAlertTotal: alert.lastAlertTotal,
    changes: alert.changes,
    waitingSince: new Date(alert.waitingSince).toISOString(),
    conversations: alert.conversations,
    observedAt: new Date(alert.observedAt).toISOString(),
  };
  return {
    event,
    timeZone: input.timeZone,
    ...(alert.lastAlertAt !== undefined ? { lastAlertAt: new Date(alert.lastAlertAt).toISOString() } : {}),
  };
}

/**
 * Identity + episode + alert sequence name one alert, so overlapping cycles and re-sends agree
 * on it. The episode's start is hashed in too: an identity removed and registered again starts
 * its counters over, and its new alerts must not reuse ids that subscribers already deduplicated.
 * Shaped as an RFC 9562 version-8 UUID, like change events (a different input, so never equal).
 */
export function deriveAlertEventId(identityId: IdentityId, episode: number, sequence: number, waitingSince: number): string {
  const hex = createHash('sha256').update(`${ALERT_EVENT_TYPE}\n${identityId}\n${episode}\n${sequence}\n${waitingSince}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
