import type { AlertNotice, UnreadAlertEvent } from './alert-event';
import { alertEmailText, alertSmsText, alertSubject } from './alert-text';
import { stringifyWithNumericIds } from './json-with-ids';
import { MAX_PUBLICATION_BYTES, measurePublication, type Publication } from './publication';

/**
 * The SNS rendering of an alert, the same shape as a change event's: `default` (the event JSON,
 * ids as JSON numbers), `email`, `sms` and a `Subject`, with attributes for filter policies.
 */

const ID_KEYS = new Set(['identityId', 'objectId', 'streamId']);

export function alertEventToJson(event: UnreadAlertEvent): string {
  return stringifyWithNumericIds(event, ID_KEYS);
}

export function buildAlertPublication(notice: AlertNotice, maxBytes = MAX_PUBLICATION_BYTES): Publication {
  return fitAlert(notice, maxBytes).publication;
}

/**
 * The notice as it will be published, its conversation list cut (and `truncated` set) when it
 * would pass SNS's size limit, with its rendering. The cycle stores this notice in the outbox,
 * so a re-send is the same event, byte for byte.
 */
export function fitAlert(notice: AlertNotice, maxBytes = MAX_PUBLICATION_BYTES): { notice: AlertNotice; publication: Publication } {
  const whole = render(notice);
  if (whole.sizeBytes <= maxBytes) return { notice, publication: whole };
  let best = { notice: cut(notice, 0), publication: render(cut(notice, 0)) };
  let low = 1;
  let high = notice.event.conversations.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const candidate = cut(notice, mid);
    const publication = render(candidate);
    if (publication.sizeBytes <= maxBytes) {
      best = { notice: candidate, publication };
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return best;
}

function cut(notice: AlertNotice, keep: number): AlertNotice {
  return { ...notice, event: { ...notice.event, conversations: notice.event.conversations.slice(0, keep), truncated: true } };
}

function render(notice: AlertNotice): Publication {
  const { event } = notice;
  const subject = alertSubject(notice);
  const message = JSON.stringify({ default: alertEventToJson(event), email: alertEmailText(notice), sms: alertSmsText(notice) });
  const attributes = {
    eventType: { type: 'String', value: event.type },
    alertKind: { type: 'String', value: event.kind },
    identityId: { type: 'String', value: event.identityId },
    total: { type: 'Number', value: String(event.total) },
  } as const;
  const rendered = { eventId: event.eventId, identityId: event.identityId, subject, message, attributes };
  return { ...rendered, sizeBytes: measurePublication(rendered) };
}
