import type { AlertNotice, UnreadAlertEvent } from './alert-event';
import { alertEmailText, alertSmsText, alertSubject } from './alert-text';
import { stringifyWithNumericIds } from './json-with-ids';
import { fitByCutting, MAX_PUBLICATION_BYTES, measurePublication, type Publication } from './publication';

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
  const fitted = fitByCutting(notice, notice.event.conversations.length, cut, render, maxBytes);
  return { notice: fitted.value, publication: fitted.publication };
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
