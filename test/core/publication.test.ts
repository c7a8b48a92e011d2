import { diffUnread } from '../../lambda/core/diff';
import { buildEvent } from '../../lambda/core/event-builder';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type ConversationUnread, type UnreadChangedEvent } from '../../lambda/core/model';
import { buildPublication, eventToJson, fit, SNS_MAX_BYTES } from '../../lambda/core/publication';

/**
 * GSM 03.38 basic alphabet, written out here from the standard rather than imported, so the test
 * is an independent check. The escape-table characters ({}[]~^|€\ and form feed) are not in it.
 */
const GSM7_BASIC = new Set(
  [
    '@£$¥èéùìòÇ\nØø\rÅå',
    'Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ',
    ' !"#¤%&\'()*+,-./',
    '0123456789:;<=>?',
    '¡ABCDEFGHIJKLMNO',
    'PQRSTUVWXYZÄÖÑÜ§',
    '¿abcdefghijklmnopqrstuvwxyzäöñüà',
  ].join(''),
);

function event(options: { identity?: string; label?: string; conversations?: readonly ConversationUnread[]; total?: number } = {}): UnreadChangedEvent {
  const previous = normalizeState(1, [{ objectId: '396001', streamId: '19155', unread: 1 }]);
  const next = normalizeState(options.total ?? 3, options.conversations ?? [{ objectId: '396001', streamId: '19155', unread: 3 }]);
  const diff = diffUnread(previous, next);
  if (!diff) throw new Error('fixture has no change');
  return buildEvent({
    identityId: parseIdentityId(options.identity ?? '558355'),
    ...(options.label !== undefined ? { label: options.label } : {}),
    fromVersion: 1,
    previous,
    next,
    diff,
    observedAt: new Date('2026-02-12T15:09:23.998Z'),
  });
}

function messageOf(e: UnreadChangedEvent): { default: string; email: string; sms: string } {
  return JSON.parse(buildPublication(e).message) as { default: string; email: string; sms: string };
}

const LABELS: readonly (readonly [name: string, label: string | undefined])[] = [
  ['no label', undefined],
  ['an emoji', 'Support 🎧 desk'],
  ['accents outside GSM-7', 'Équipe à Zürich: ñ, ç, á, ő'],
  ['GSM-7 escape characters', 'braces {} [] ~ ^ | € \\ and more'],
  ['line breaks and tabs', 'two\nlines\r\nand\ta tab'],
  ['a very long label', 'long '.repeat(100)],
  ['right-to-left and zero-width text', 'שלום\u200b\u202e'],
];

describe('buildPublication: default (the event JSON)', () => {
  it('matches the CONTRACT schema exactly, ids as JSON numbers', () => {
    // Prepare
    const e = event({ label: 'Support desk' });

    // Act
    const json = messageOf(e).default;

    // Assess
    expect(json).toBe(
      '{"version":1,"type":"unread.changed",' +
        `"eventId":"${e.eventId}",` +
        '"identityId":558355,"label":"Support desk","previousTotal":1,"total":3,"delta":2,"direction":"increased",' +
        '"conversations":[{"objectId":396001,"streamId":19155,"previous":1,"current":3}],' +
        '"observedAt":"2026-02-12T15:09:23.998Z"}',
    );
    expect(json).toBe(eventToJson(e));
  });

  it('writes int64 ids beyond 2^53 as JSON numbers with every digit', () => {
    // Prepare
    const big = '9223372036854775807';
    const e = event({ identity: big, conversations: [{ objectId: big, streamId: '9223372036854775806', unread: 3 }] });

    // Act
    const json = messageOf(e).default;

    // Assess
    expect(json).toContain('"identityId":9223372036854775807,');
    expect(json).toContain('"objectId":9223372036854775807,"streamId":9223372036854775806,');
    expect(typeof (JSON.parse(json) as { identityId: unknown }).identityId).toBe('number');
  });

  it.each([
    ['NUL characters around digits', '\u000012\u0000'],
    ['digits only', '12345'],
    ['an escaped-looking text', '\\u000012\\u0000'],
  ])('keeps a label of %s a string', (_name, label) => {
    // Act
    const parsed = JSON.parse(messageOf(event({ label })).default) as { label: unknown; identityId: unknown };

    // Assess
    expect(parsed.label).toBe(label);
    expect(parsed.identityId).toBe(558355);
  });

  it('keeps a non-canonical id a string rather than writing invalid JSON', () => {
    // Prepare
    const e = event({ conversations: [{ objectId: '007', streamId: '19155', unread: 3 }] });

    // Act
    const parsed = JSON.parse(messageOf(e).default) as { conversations: { objectId: unknown }[] };

    // Assess
    expect(parsed.conversations.map((c) => c.objectId)).toContain('007');
  });
});

describe('buildPublication: sms', () => {
  it.each(LABELS)('stays within 140 characters of one GSM-7 segment with %s', (_name, label) => {
    // Act
    const sms = messageOf(event({ identity: '9223372036854775807', label })).sms;

    // Assess
    expect(sms.length).toBeLessThanOrEqual(140);
    expect([...sms].filter((ch) => !GSM7_BASIC.has(ch))).toEqual([]);
  });

  it('says the count, the change and the identity', () => {
    // Act
    const sms = messageOf(event({ label: 'Desk' })).sms;

    // Assess
    expect(sms).toBe('CommBox: 3 unread messages (+2) for identity 558355 - Desk');
  });
});

/** One conversation read (2 -> 0), another received (0 -> 2): the total stays at 3. */
function movedEvent(label?: string): UnreadChangedEvent {
  const previous = normalizeState(3, [{ objectId: '1', streamId: '10', unread: 2 }, { objectId: '2', streamId: '10', unread: 1 }]);
  const next = normalizeState(3, [{ objectId: '2', streamId: '10', unread: 1 }, { objectId: '3', streamId: '10', unread: 2 }]);
  const diff = diffUnread(previous, next);
  if (!diff) throw new Error('fixture has no change');
  return buildEvent({
    identityId: parseIdentityId('558355'),
    ...(label !== undefined ? { label } : {}),
    fromVersion: 4,
    previous,
    next,
    diff,
    observedAt: new Date('2026-02-12T15:09:23.998Z'),
  });
}

describe('buildPublication: a total that did not change while conversations moved', () => {
  it('says in the SMS that the total is unchanged and which way the conversations moved', () => {
    expect(messageOf(movedEvent('Desk')).sms).toBe('CommBox: 3 unread messages, unchanged in total (1 conversation up, 1 down) for identity 558355 - Desk');
  });

  it.each(LABELS)('keeps that SMS within one GSM-7 segment with %s', (_name, label) => {
    const { sms } = messageOf(movedEvent(label));

    expect(sms.length).toBeLessThanOrEqual(140);
    expect(sms).toContain('unchanged in total');
    expect([...sms].filter((ch) => !GSM7_BASIC.has(ch))).toEqual([]);
  });

  it('says so in the subject', () => {
    expect(buildPublication(movedEvent()).subject).toBe('CommBox unread unchanged at 3 (conversations moved) for identity 558355');
  });

  it('says so in the email, listing the conversations', () => {
    const { email } = messageOf(movedEvent('Support desk'));

    expect(email).toContain('Unread CommBox messages moved between conversations for Support desk (identity 558355).');
    expect(email).toContain('Unread now: 3, unchanged in total: 1 conversation up, 1 down.');
    expect(email).toContain('conversation 1 on stream 10: 2 -> 0 unread');
    expect(email).toContain('conversation 3 on stream 10: 0 -> 2 unread');
  });

  it.each([
    { name: 'a signed zero change', pattern: /\(0\)|, 0\)|[+-]0\b/ },
    { name: 'a direction', pattern: /increased|decreased/ },
  ])('never shows $name in the texts for people', ({ pattern }) => {
    const e = movedEvent();
    const { email, sms } = messageOf(e);

    expect([email, sms, buildPublication(e).subject].filter((text) => pattern.test(text))).toEqual([]);
  });

  it('counts the conversations both ways in plural', () => {
    const previous = normalizeState(4, [{ objectId: '1', streamId: '10', unread: 2 }, { objectId: '2', streamId: '10', unread: 2 }]);
    const next = normalizeState(4, [{ objectId: '3', streamId: '10', unread: 1 }, { objectId: '4', streamId: '10', unread: 1 }, { objectId: '5', streamId: '10', unread: 2 }]);
    const diff = diffUnread(previous, next);
    if (!diff) throw new Error('fixture has no change');
    const e = buildEvent({ identityId: parseIdentityId('7'), fromVersion: 1, previous, next, diff, observedAt: new Date(0) });

    expect(messageOf(e).sms).toBe('CommBox: 4 unread messages, unchanged in total (3 conversations up, 2 down) for identity 7');
  });
});

describe('buildPublication: subject', () => {
  it.each(LABELS)('is one ASCII line under 100 characters with %s', (_name, label) => {
    // Act
    const { subject } = buildPublication(event({ identity: '9223372036854775807', label }));

    // Assess
    expect(subject).toMatch(/^[\x21-\x7e][\x20-\x7e]{0,98}$/);
  });
});

describe('buildPublication: email', () => {
  it('reads as text naming the identity, the counts, each changed conversation and the event id', () => {
    // Prepare
    const e = event({ label: 'Support desk' });

    // Act
    const { email } = messageOf(e);

    // Assess
    expect(email).toContain('Unread CommBox messages increased for Support desk (identity 558355).');
    expect(email).toContain('Unread now: 3 (was 1, +2).');
    expect(email).toContain('conversation 396001 on stream 19155: 1 -> 3 unread');
    expect(email).toContain(`Event id: ${e.eventId}`);
    expect(email).not.toMatch(/[{}]/);
  });
});

describe('buildPublication: message attributes', () => {
  it.each([
    { name: 'an increase', total: 3, direction: 'increased', delta: '2' },
    { name: 'a decrease', total: 0, direction: 'decreased', delta: '-1' },
  ])('carries identityId, eventType, direction, total and delta typed for filter policies on $name', ({ total, direction, delta }) => {
    // Act
    const { attributes } = buildPublication(event({ total, conversations: total > 0 ? undefined : [] }));

    // Assess
    expect(attributes).toEqual({
      identityId: { type: 'String', value: '558355' },
      eventType: { type: 'String', value: 'unread.changed' },
      direction: { type: 'String', value: direction },
      total: { type: 'Number', value: String(total) },
      delta: { type: 'Number', value: delta },
    });
  });
});

describe('buildPublication: size limit', () => {
  it('cuts an event with 20,000 changed conversations below 256 KB and marks it truncated', () => {
    // Prepare
    const conversations = Array.from({ length: 20_000 }, (_, i) => ({
      objectId: String(9_000_000_000_000_000_000n + BigInt(i)),
      streamId: '9223372036854775807',
      unread: 1 + (i % 50),
    }));
    const e = event({ total: 30_000, conversations });

    // Act
    const publication = buildPublication(e);

    // Assess
    const wire = Buffer.byteLength(publication.message) + Buffer.byteLength(publication.subject);
    expect(wire).toBeLessThan(SNS_MAX_BYTES);
    expect(publication.sizeBytes).toBeLessThan(SNS_MAX_BYTES);
    const sent = JSON.parse(JSON.parse(publication.message).default as string) as { truncated?: boolean; conversations: unknown[] };
    expect(sent.truncated).toBe(true);
    expect(sent.conversations.length).toBeGreaterThan(0);
    expect(sent.conversations.length).toBeLessThan(e.conversations.length + 1);
    expect(sent.conversations[0]).toEqual({ objectId: 396001, streamId: 19155, previous: 1, current: 0 });
  });

  it('leaves an event that fits whole and without truncated', () => {
    // Act
    const sent = JSON.parse(messageOf(event()).default) as Record<string, unknown>;

    // Assess
    expect('truncated' in sent).toBe(false);
  });
});

describe('fit', () => {
  const base = {
    version: 1 as const,
    type: 'unread.changed' as const,
    eventId: '00000000-0000-8000-8000-000000000000',
    identityId: '558355' as never,
    previousTotal: 0,
    total: 20_000,
    delta: 20_000,
    direction: 'increased' as const,
    observedAt: '2026-02-12T15:09:23.998Z',
  };

  it('returns an event that fits unchanged, with its rendering', () => {
    const event = { ...base, conversations: [{ objectId: '1', streamId: '2', previous: 0, current: 1 }] };

    const fitted = fit(event);

    expect(fitted.event).toBe(event);
    expect(fitted.publication).toEqual(buildPublication(event));
  });

  it('cuts an oversized event so that the stored event, rendered again for a resend, is the same publication', () => {
    const conversations = Array.from({ length: 20_000 }, (_, i) => ({ objectId: String(1_000_000 + i), streamId: '19155', previous: 0, current: 1 }));
    const event = { ...base, conversations };

    const fitted = fit(event);

    expect(fitted.event.truncated).toBe(true);
    expect(fitted.event.conversations.length).toBeGreaterThan(0);
    expect(fitted.event.conversations.length).toBeLessThan(20_000);
    expect(buildPublication(fitted.event)).toEqual(fitted.publication);
    expect(Buffer.byteLength(JSON.stringify(fitted.event))).toBeLessThan(300_000);
  });
});
