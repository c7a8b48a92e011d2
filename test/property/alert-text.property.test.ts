/**
 * Alert texts, the policy's written form and the state's encoding, over arbitrary values.
 */
import fc from 'fast-check';
import type { AlertToSend } from '../../lambda/core/alert-decision';
import { buildAlertNotice } from '../../lambda/core/alert-event';
import { ALERT_POLICY_FIELDS, formatAlertPolicyOverrides, type AlertPolicyOverrides } from '../../lambda/core/alert-policy';
import { parseAlertPolicyOverrides } from '../../lambda/core/alert-policy-parse';
import { buildAlertPublication } from '../../lambda/core/alert-publication';
import { decodeAlertState, encodeAlertState, type AlertState } from '../../lambda/core/alert-state';
import { alertSmsText, alertSubject } from '../../lambda/core/alert-text';
import { parseIdentityId } from '../../lambda/core/identity-id';

/** GSM 03.38 basic alphabet, written out here from the standard (no escape-table characters). */
const GSM7_BASIC = new Set(
  ['@£$¥èéùìòÇ\nØø\rÅå', 'Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ', ' !"#¤%&\'()*+,-./', '0123456789:;<=>?', '¡ABCDEFGHIJKLMNO', 'PQRSTUVWXYZÄÖÑÜ§', '¿abcdefghijklmnopqrstuvwxyzäöñüà'].join(''),
);

const instant = fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2035-01-01T00:00:00Z') });
const label = fc.option(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 80 })), { nil: undefined });
const big = fc.oneof(fc.nat({ max: 20 }), fc.nat({ max: 2_000_000_000 }));
const notice = fc
  .record({
    identity: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String),
    label,
    kind: fc.constantFrom('new' as const, 'digest' as const, 'reminder' as const, 'cleared' as const),
    total: big,
    lastAlertTotal: big,
    changes: big,
    episode: fc.nat(),
    sequence: fc.nat(),
    since: instant,
    lastAlert: fc.option(instant, { nil: undefined }),
    elapsed: fc.nat({ max: 400 * 86_400_000 }),
    conversations: fc.nat({ max: 5 }),
    zone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham'),
  })
  .map((r) => {
    const alert: AlertToSend = {
      kind: r.kind,
      episode: r.episode,
      sequence: r.sequence,
      total: r.total,
      lastAlertTotal: r.lastAlertTotal,
      changes: r.changes,
      waitingSince: r.since,
      ...(r.lastAlert !== undefined ? { lastAlertAt: r.lastAlert } : {}),
      conversations: Array.from({ length: r.conversations }, (_, i) => ({ objectId: String(9_007_199_254_740_993n + BigInt(i)), streamId: '1', unread: 1 })),
      observedAt: r.since + r.elapsed,
    };
    return buildAlertNotice({ identityId: parseIdentityId(r.identity), ...(r.label !== undefined ? { label: r.label } : {}), alert, timeZone: r.zone });
  });

describe('alert texts for any label, numbers, kind, zone and time', () => {
  test('the SMS is one GSM-7 segment: at most 140 basic-alphabet characters, one line', () => {
    fc.assert(
      fc.property(notice, (n) => {
        const sms = alertSmsText(n);
        expect(sms.length).toBeLessThanOrEqual(140);
        expect([...sms].filter((ch) => !GSM7_BASIC.has(ch))).toEqual([]);
        expect(sms).not.toMatch(/[\r\n]/);
        expect(sms.startsWith('CommBox: ')).toBe(true);
      }),
    );
  });

  test('the subject is one line of printable ASCII under 100 characters', () => {
    fc.assert(
      fc.property(notice, (n) => {
        expect(alertSubject(n)).toMatch(/^[\x20-\x7e]{1,99}$/);
      }),
    );
  });

  test('the published message carries the SMS and an event JSON that parses back', () => {
    fc.assert(
      fc.property(notice, (n) => {
        const message = JSON.parse(buildAlertPublication(n).message) as { default: string; sms: string };
        expect(message.sms).toBe(alertSmsText(n));
        expect(JSON.parse(message.default)).toMatchObject({ type: 'unread.alert', kind: n.event.kind, total: n.event.total });
      }),
    );
  });
});

const overrides: fc.Arbitrary<AlertPolicyOverrides> = fc.record(
  {
    minUnread: fc.integer({ min: 1, max: 1_000_000 }),
    cooldown: fc.integer({ min: 0, max: 366 * 86_400 }).map((s) => s * 1000),
    quietHours: fc.option(fc.tuple(fc.nat({ max: 1439 }), fc.nat({ max: 1439 })).filter(([s, e]) => s !== e).map(([start, end]) => ({ start, end })), { nil: null }),
    timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT-14'),
    remindAfter: fc.option(fc.integer({ min: 60, max: 366 * 86_400 }).map((s) => s * 1000), { nil: null }),
    maxReminders: fc.integer({ min: 0, max: 100 }),
    notifyCleared: fc.boolean(),
    snoozeUntil: fc.option(instant, { nil: null }),
  },
  { requiredKeys: [] },
);

describe('the written policy', () => {
  test('any overrides written as an export line read back the same', () => {
    fc.assert(
      fc.property(overrides, (o) => {
        expect(parseAlertPolicyOverrides(formatAlertPolicyOverrides(o))).toEqual(o);
        expect(Object.keys(formatAlertPolicyOverrides(o)).every((k) => (ALERT_POLICY_FIELDS as readonly string[]).includes(k))).toBe(true);
      }),
    );
  });
});

const optionalInstant = fc.option(instant, { nil: undefined });
const state: fc.Arbitrary<AlertState> = fc
  .record({
    episode: fc.nat(),
    waiting: fc.boolean(),
    waitingSince: optionalInstant,
    alerted: fc.constantFrom('none' as const, 'baseline' as const, 'sent' as const),
    lastAlertAt: optionalInstant,
    lastAlertTotal: big,
    sequence: fc.nat(),
    changes: fc.nat(),
    reminders: fc.nat({ max: 100 }),
    deferred: fc.boolean(),
    clearedOwed: fc.boolean(),
    dueAt: optionalInstant,
    policy: fc.option(fc.stringMatching(/^[0-9a-f]{8}$/), { nil: undefined }),
  })
  .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as unknown as AlertState);

describe('the alert state encoding', () => {
  test('round-trips any state and stays short', () => {
    fc.assert(
      fc.property(state, (s) => {
        const text = encodeAlertState(s);
        expect(decodeAlertState(text)).toEqual(s);
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(90);
      }),
    );
  });
});
