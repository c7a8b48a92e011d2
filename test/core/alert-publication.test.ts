import type { AlertToSend } from '../../lambda/core/alert-decision';
import { buildAlertNotice, deriveAlertEventId, type AlertNotice } from '../../lambda/core/alert-event';
import { alertEventToJson, buildAlertPublication, fitAlert } from '../../lambda/core/alert-publication';
import type { AlertKind } from '../../lambda/core/alert-state';
import { alertEmailText, alertSmsText, alertSubject, formatElapsed } from '../../lambda/core/alert-text';
import { deriveEventId } from '../../lambda/core/event-builder';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type ConversationUnread } from '../../lambda/core/model';
import { SNS_MAX_BYTES } from '../../lambda/core/publication';

const identityId = parseIdentityId('558355');
const conversations = (n: number, each = 1): ConversationUnread[] =>
  Array.from({ length: n }, (_, i) => ({ objectId: String(396001 + i), streamId: '19155', unread: each }));

function notice(kind: AlertKind, fields: Partial<AlertToSend> = {}, label: string | null = 'Support desk'): AlertNotice {
  const alert: AlertToSend = {
    kind,
    episode: 3,
    sequence: 7,
    total: 11,
    lastAlertTotal: 3,
    changes: 4,
    waitingSince: Date.parse('2026-02-12T12:50:00Z'),
    lastAlertAt: Date.parse('2026-02-12T13:05:00Z'),
    conversations: conversations(4),
    observedAt: Date.parse('2026-02-12T13:32:00Z'),
    ...fields,
  };
  return buildAlertNotice({ identityId, ...(label !== null ? { label } : {}), alert, timeZone: 'Europe/Berlin' });
}

function messageOf(n: AlertNotice): { default: string; email: string; sms: string } {
  return JSON.parse(buildAlertPublication(n).message) as { default: string; email: string; sms: string };
}

describe('the alert event (SNS default)', () => {
  test('has the CONTRACT shape, in its order, ids as JSON numbers', () => {
    const n = notice('digest', { conversations: [{ objectId: '396001', streamId: '19155', unread: 2 }], total: 7 });
    expect(messageOf(n).default).toBe(
      `{"version":1,"type":"unread.alert","kind":"digest","eventId":"${n.event.eventId}","identityId":558355,"label":"Support desk",` +
        `"total":7,"lastAlertTotal":3,"changes":4,"waitingSince":"2026-02-12T12:50:00.000Z",` +
        `"conversations":[{"objectId":396001,"streamId":19155,"unread":2}],"observedAt":"2026-02-12T13:32:00.000Z"}`,
    );
  });

  test('keeps every digit of ids beyond 2^53', () => {
    const n = buildAlertNotice({
      identityId: parseIdentityId('9223372036854775807'),
      alert: { kind: 'new', episode: 1, sequence: 1, total: 1, lastAlertTotal: 0, changes: 1, waitingSince: 0, observedAt: 0, conversations: [{ objectId: '9007199254740993', streamId: '1', unread: 1 }] },
      timeZone: 'UTC',
    });
    expect(alertEventToJson(n.event)).toContain('"identityId":9223372036854775807');
    expect(alertEventToJson(n.event)).toContain('"objectId":9007199254740993');
  });

  test('carries the attributes subscription filters use', () => {
    expect(buildAlertPublication(notice('reminder')).attributes).toEqual({
      eventType: { type: 'String', value: 'unread.alert' },
      alertKind: { type: 'String', value: 'reminder' },
      identityId: { type: 'String', value: '558355' },
      total: { type: 'Number', value: '11' },
    });
  });
});

describe('deriveAlertEventId', () => {
  const since = Date.parse('2026-02-12T12:50:00Z');

  test('is the same for the same identity, episode, sequence and episode start, and a version-8 UUID', () => {
    expect(deriveAlertEventId(identityId, 3, 7, since)).toBe(deriveAlertEventId(identityId, 3, 7, since));
    expect(deriveAlertEventId(identityId, 3, 7, since)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('differs for another alert, episode, identity or a re-registration (another episode start)', () => {
    const id = deriveAlertEventId(identityId, 3, 7, since);
    expect(deriveAlertEventId(identityId, 3, 8, since)).not.toBe(id);
    expect(deriveAlertEventId(identityId, 4, 7, since)).not.toBe(id);
    expect(deriveAlertEventId(parseIdentityId('558356'), 3, 7, since)).not.toBe(id);
    expect(deriveAlertEventId(identityId, 3, 7, since + 1)).not.toBe(id);
  });

  test('never equals a change event id', () => {
    const state = normalizeState(1, conversations(1));
    expect(deriveAlertEventId(identityId, 1, 1, 0)).not.toBe(deriveEventId(identityId, 1, state, state));
  });
});

describe('alert texts, readable at a glance (times in the identity zone, Europe/Berlin)', () => {
  test.each<[AlertKind, Partial<AlertToSend>, string, string]>([
    ['new', { total: 5, conversations: conversations(2), lastAlertTotal: 0 }, 'CommBox: 5 unread in 2 conversations, waiting since 13:50 - Support desk', 'CommBox: 5 unread waiting for Support desk'],
    ['digest', {}, 'CommBox: 3 -> 11 unread in 4 conversations since 14:05 - Support desk', 'CommBox: 3 -> 11 unread for Support desk'],
    ['reminder', { total: 5, waitingSince: Date.parse('2026-02-12T13:02:00Z') }, 'CommBox: still 5 unread after 30 min - Support desk', 'CommBox: still 5 unread for Support desk'],
    ['cleared', { total: 0, lastAlertTotal: 7, conversations: [] }, 'CommBox: all read (was 7) - Support desk', 'CommBox: all read for Support desk'],
    ['cleared', { total: 2, lastAlertTotal: 7, conversations: conversations(1, 2) }, 'CommBox: down to 2 unread (was 7) - Support desk', 'CommBox: down to 2 unread for Support desk'],
  ])('%s: SMS and subject', (kind, fields, sms, subject) => {
    const n = notice(kind, fields);
    expect(alertSmsText(n)).toBe(sms);
    expect(alertSubject(n)).toBe(subject);
    expect(messageOf(n).sms).toBe(sms);
  });

  test('a digest of an episode without an earlier alert counts from when it began waiting', () => {
    const first = notice('digest', { lastAlertAt: undefined });
    expect(first.lastAlertAt).toBeUndefined();
    expect(alertSmsText(first)).toBe('CommBox: 3 -> 11 unread in 4 conversations since 13:50 - Support desk');
  });

  test('without a label, the identity is named by its id', () => {
    const n = notice('new', {}, null);
    expect(alertSmsText(n)).toBe('CommBox: 11 unread in 4 conversations, waiting since 13:50 - identity 558355');
    expect(alertSubject(n)).toBe('CommBox: 11 unread waiting for identity 558355');
  });

  test('the email says who, what changed, since when in the zone, and lists the conversations', () => {
    expect(alertEmailText(notice('digest'))).toBe(
      [
        'Support desk (identity 558355): 3 -> 11 unread in 4 conversations since 14:05.',
        '',
        'Digest: 4 changes since the last alert.',
        'Unread now: 11 in 4 conversations (was 3).',
        'Waiting since: 13:50 (Europe/Berlin).',
        'Observed at: 14:32 (Europe/Berlin), 2026-02-12T13:32:00.000Z.',
        '',
        'Conversations with unread messages (4):',
        '  - conversation 396001 on stream 19155: 1 unread',
        '  - conversation 396002 on stream 19155: 1 unread',
        '  - conversation 396003 on stream 19155: 1 unread',
        '  - conversation 396004 on stream 19155: 1 unread',
        '',
        `Event id: ${notice('digest').event.eventId}`,
      ].join('\n'),
    );
  });

  test('a long label is cut so the SMS stays one segment', () => {
    const n = notice('digest', {}, 'A very long team name '.repeat(10));
    expect(alertSmsText(n)).toHaveLength(140);
    expect(alertSmsText(n)).toMatch(/^CommBox: 3 -> 11 unread in 4 conversations since 14:05 - A very long team name .*\.\.\.$/);
  });

  test.each([
    [59_000, '1 min'],
    [30 * 60_000, '30 min'],
    [125 * 60_000, '2 h 5 min'],
    [3 * 3_600_000, '3 h'],
    [50 * 3_600_000, '2 days'],
  ])('elapsed %d ms reads "%s"', (ms, text) => {
    expect(formatElapsed(ms)).toBe(text);
  });
});

describe('fitAlert (SNS size limit)', () => {
  test('cuts the conversation list and sets truncated when the event would pass the limit', () => {
    const big = notice('digest', { conversations: conversations(12_000, 3), total: 36_000 });
    const { notice: fitted, publication } = fitAlert(big);
    expect(publication.sizeBytes).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(fitted.event.truncated).toBe(true);
    expect(fitted.event.conversations.length).toBeGreaterThan(1000);
    expect(fitted.event.conversations.length).toBeLessThan(12_000);
    expect(JSON.parse(messageOf(fitted).default)).toMatchObject({ truncated: true });
    expect(messageOf(fitted).sms).toContain(`in ${fitted.event.conversations.length}+ conversations`);
  });

  test('leaves an event that fits as it is', () => {
    const n = notice('new');
    expect(fitAlert(n).notice).toBe(n);
  });
});
