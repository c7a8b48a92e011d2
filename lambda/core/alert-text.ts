import type { AlertNotice } from './alert-event';
import { gsm7Basic, SMS_MAX_CHARS, SUBJECT_MAX_CHARS } from './publication';
import { formatLocalTime } from './zoned-time';

/**
 * The texts people read: who, how many are waiting, since when (local time in the identity's
 * zone), and what changed since the last alert. One headline per kind serves the SMS, the
 * subject and the email's first line, so they never disagree.
 */

const EMAIL_MAX_CONVERSATION_LINES = 50;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Whole minutes, at least 1: "30 min", "2 h 5 min", "3 days". */
export function formatElapsed(ms: number): string {
  const minutes = Math.max(1, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 48) return rest > 0 ? `${hours} h ${rest} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} days`;
}

function localTime(notice: AlertNotice, iso: string): string {
  return formatLocalTime(Date.parse(iso), Date.parse(notice.event.observedAt), notice.timeZone);
}

function inConversations(notice: AlertNotice): string {
  const { conversations, truncated } = notice.event;
  if (conversations.length === 0) return '';
  return truncated ? ` in ${conversations.length}+ conversations` : ` in ${plural(conversations.length, 'conversation')}`;
}

/** "3 -> 11 unread in 4 conversations since 14:05", "still 5 unread after 30 min", "all read". */
export function alertHeadline(notice: AlertNotice): string {
  const e = notice.event;
  switch (e.kind) {
    case 'new':
      return `${e.total} unread${inConversations(notice)}, waiting since ${localTime(notice, e.waitingSince)}`;
    case 'digest':
      return `${e.lastAlertTotal} -> ${e.total} unread${inConversations(notice)} since ${localTime(notice, notice.lastAlertAt ?? e.waitingSince)}`;
    case 'reminder':
      return `still ${e.total} unread after ${formatElapsed(Date.parse(e.observedAt) - Date.parse(e.waitingSince))}`;
    case 'cleared':
      return e.total === 0 ? `all read (was ${e.lastAlertTotal})` : `down to ${e.total} unread (was ${e.lastAlertTotal})`;
  }
}

/** One GSM-7 segment: basic-alphabet characters only, at most 140; the label is cut first. */
export function alertSmsText(notice: AlertNotice): string {
  const e = notice.event;
  const label = e.label ? gsm7Basic(e.label).replace(/\s+/g, ' ').trim() : '';
  const head = gsm7Basic(`CommBox: ${alertHeadline(notice)} - `);
  const who = label || `identity ${e.identityId}`;
  const room = SMS_MAX_CHARS - head.length;
  if (who.length <= room) return head + who;
  if (room >= 8) return `${head}${who.slice(0, room - 3).trimEnd()}...`;
  return `${head}${who}`.slice(0, SMS_MAX_CHARS - 3) + '...';
}

/** SNS subjects must be ASCII, one line, under 100 characters. */
export function alertSubject(notice: AlertNotice): string {
  const e = notice.event;
  const who = e.label ? e.label.replace(/[^\x20-\x7e]/g, '?').replace(/\s+/g, ' ').trim() : `identity ${e.identityId}`;
  const what = {
    new: `${e.total} unread waiting`,
    digest: `${e.lastAlertTotal} -> ${e.total} unread`,
    reminder: `still ${e.total} unread`,
    cleared: e.total === 0 ? 'all read' : `down to ${e.total} unread`,
  }[e.kind];
  const line = `CommBox: ${what} for ${who}`;
  return line.length <= SUBJECT_MAX_CHARS ? line : `${line.slice(0, SUBJECT_MAX_CHARS - 1)}~`;
}

export function alertEmailText(notice: AlertNotice): string {
  const e = notice.event;
  const who = e.label ? `${e.label} (identity ${e.identityId})` : `identity ${e.identityId}`;
  const zone = ` (${notice.timeZone})`;
  const kindLine = {
    new: 'New: unread messages are waiting.',
    digest: `Digest: ${plural(e.changes, 'change')} since the last alert.`,
    reminder: 'Reminder: these messages are still waiting.',
    cleared: 'Cleared: nothing is waiting any more.',
  }[e.kind];
  const lines = [
    `${who}: ${alertHeadline(notice)}.`,
    '',
    kindLine,
    `Unread now: ${e.total}${inConversations(notice)}${e.kind === 'new' ? '' : ` (was ${e.lastAlertTotal})`}.`,
    `Waiting since: ${localTime(notice, e.waitingSince)}${zone}.`,
    `Observed at: ${localTime(notice, e.observedAt)}${zone}, ${e.observedAt}.`,
  ];
  const shown = e.conversations.slice(0, EMAIL_MAX_CONVERSATION_LINES);
  if (shown.length > 0) lines.push('', `Conversations with unread messages (${e.conversations.length}${e.truncated ? '+' : ''}):`);
  for (const c of shown) lines.push(`  - conversation ${c.objectId} on stream ${c.streamId}: ${c.unread} unread`);
  if (e.conversations.length > shown.length || e.truncated) lines.push('  … and more conversations not listed here.');
  lines.push('', `Event id: ${e.eventId}`);
  return lines.join('\n');
}
