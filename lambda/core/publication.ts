import { stringifyWithNumericIds } from './json-with-ids';
import type { UnreadChangedEvent } from './model';

/** What the publisher sends for one event: SNS-shaped but free of any SDK type. */
export interface Publication {
  readonly eventId: string;
  readonly identityId: string;
  readonly subject: string;
  /** The `MessageStructure: "json"` message: `{default, email, sms}`. */
  readonly message: string;
  readonly attributes: Readonly<Record<string, { readonly type: 'String' | 'Number'; readonly value: string }>>;
  /** Bytes SNS counts for this entry: message, subject and attribute names, types and values. */
  readonly sizeBytes: number;
}

/** SNS accepts 262,144 bytes per message and per PublishBatch call; keep room for batch framing. */
export const SNS_MAX_BYTES = 262_144;
export const MAX_PUBLICATION_BYTES = 256_000;
export const SMS_MAX_CHARS = 140;
export const SUBJECT_MAX_CHARS = 99;
const EMAIL_MAX_CONVERSATION_LINES = 50;
const ID_KEYS = new Set(['identityId', 'objectId', 'streamId']);

export function eventToJson(event: UnreadChangedEvent): string {
  return stringifyWithNumericIds(event, ID_KEYS);
}

/** Renders an event for SNS, cutting the conversation list (and setting `truncated`) to fit the size limit. */
export function buildPublication(event: UnreadChangedEvent, maxBytes = MAX_PUBLICATION_BYTES): Publication {
  return fit(event, maxBytes).publication;
}

/**
 * The event as it will be published, with its conversation list already cut when it would pass
 * SNS's size limit, together with its rendering (so the cycle renders a new event only once).
 * The cycle stores this event in the outbox, so the stored item stays within DynamoDB's 400 KB
 * and a resend is the same event, byte for byte.
 */
export function fit(event: UnreadChangedEvent, maxBytes = MAX_PUBLICATION_BYTES): { event: UnreadChangedEvent; publication: Publication } {
  const fitted = fitByCutting(event, event.conversations.length, cut, render, maxBytes);
  return { event: fitted.value, publication: fitted.publication };
}

/**
 * The longest prefix of `value`'s list (of `length` entries) whose rendering fits `maxBytes`,
 * found by bisection; `value` itself when it fits whole. Shared by change events and alerts.
 */
export function fitByCutting<T>(
  value: T,
  length: number,
  cutTo: (value: T, keep: number) => T,
  renderOf: (value: T) => Publication,
  maxBytes: number,
): { value: T; publication: Publication } {
  const whole = renderOf(value);
  if (whole.sizeBytes <= maxBytes) return { value, publication: whole };
  let best = { value: cutTo(value, 0), publication: renderOf(cutTo(value, 0)) };
  let low = 1;
  let high = length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const candidate = cutTo(value, mid);
    const publication = renderOf(candidate);
    if (publication.sizeBytes <= maxBytes) {
      best = { value: candidate, publication };
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return best;
}

/** The bytes SNS counts for one entry: message, subject, and attribute names, types and values. */
export function measurePublication(publication: Omit<Publication, 'sizeBytes'>): number {
  let bytes = Buffer.byteLength(publication.message) + Buffer.byteLength(publication.subject);
  for (const [name, attribute] of Object.entries(publication.attributes)) {
    bytes += Buffer.byteLength(name) + attribute.type.length + Buffer.byteLength(attribute.value);
  }
  return bytes;
}

function cut(event: UnreadChangedEvent, keep: number): UnreadChangedEvent {
  return { ...event, conversations: event.conversations.slice(0, keep), truncated: true };
}

function render(event: UnreadChangedEvent): Publication {
  const subject = subjectLine(event);
  const message = JSON.stringify({ default: eventToJson(event), email: emailText(event), sms: smsText(event) });
  const attributes = {
    identityId: { type: 'String', value: event.identityId },
    eventType: { type: 'String', value: event.type },
    direction: { type: 'String', value: event.direction },
    total: { type: 'Number', value: String(event.total) },
    delta: { type: 'Number', value: String(event.delta) },
  } as const;
  const rendered = { eventId: event.eventId, identityId: event.identityId, subject, message, attributes };
  return { ...rendered, sizeBytes: measurePublication(rendered) };
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * For an event whose total did not change (one conversation read, another received): which way
 * the conversations moved, e.g. "1 conversation up, 2 down". A cut list gives no reliable counts.
 */
function movedText(event: UnreadChangedEvent): string {
  if (event.truncated) return 'conversations moved';
  const up = event.conversations.filter((c) => c.current > c.previous).length;
  const down = event.conversations.length - up;
  if (down === 0) return `${plural(up, 'conversation')} up`;
  if (up === 0) return `${plural(down, 'conversation')} down`;
  return `${plural(up, 'conversation')} up, ${down} down`;
}

/** SNS subjects must be ASCII, one line, under 100 characters. */
export function subjectLine(event: UnreadChangedEvent): string {
  const label = event.label ? ` (${asciiOnly(event.label)})` : '';
  const counts = event.delta === 0 ? `unchanged at ${event.total} (conversations moved)` : `${event.direction}: ${event.total} (${signed(event.delta)})`;
  const line = `CommBox unread ${counts} for identity ${event.identityId}${label}`;
  return line.length <= SUBJECT_MAX_CHARS ? line : `${line.slice(0, SUBJECT_MAX_CHARS - 1)}~`;
}

export function emailText(event: UnreadChangedEvent): string {
  const who = event.label ? `${event.label} (identity ${event.identityId})` : `identity ${event.identityId}`;
  const [headline, counts] =
    event.delta === 0
      ? [`Unread CommBox messages moved between conversations for ${who}.`, `Unread now: ${event.total}, unchanged in total: ${movedText(event)}.`]
      : [`Unread CommBox messages ${event.direction} for ${who}.`, `Unread now: ${event.total} (was ${event.previousTotal}, ${signed(event.delta)}).`];
  const lines = [headline, '', counts, `Observed at ${event.observedAt}.`, ''];
  const shown = event.conversations.slice(0, EMAIL_MAX_CONVERSATION_LINES);
  if (shown.length > 0) lines.push(`Conversations that changed (${event.conversations.length}${event.truncated ? '+' : ''}):`);
  for (const c of shown) {
    lines.push(`  - conversation ${c.objectId} on stream ${c.streamId}: ${c.previous} -> ${c.current} unread`);
  }
  const hidden = event.conversations.length - shown.length;
  if (hidden > 0 || event.truncated) lines.push(`  … and more conversations not listed here.`);
  lines.push('', `Event id: ${event.eventId}`);
  return lines.join('\n');
}

/** One GSM-7 segment: basic-alphabet characters only (none of the two-septet escapes), at most 140. */
export function smsText(event: UnreadChangedEvent): string {
  const change = event.delta === 0 ? `, unchanged in total (${movedText(event)})` : ` (${signed(event.delta)})`;
  const base = `CommBox: ${plural(event.total, 'unread message')}${change} for identity ${event.identityId}`;
  const label = event.label ? gsm7Basic(event.label).trim() : '';
  const text = label ? `${base} - ${label}` : base;
  return text.length <= SMS_MAX_CHARS ? text : `${text.slice(0, SMS_MAX_CHARS - 3)}...`;
}

function asciiOnly(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** The GSM 03.38 basic character set, without the escape-table characters that cost two septets. */
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);

export function gsm7Basic(text: string): string {
  let out = '';
  for (const ch of text) out += ch === '\n' || ch === '\r' ? ' ' : GSM7_BASIC.has(ch) ? ch : '?';
  return out;
}
