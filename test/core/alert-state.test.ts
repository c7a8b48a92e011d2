import { decodeAlertState, encodeAlertState, INITIAL_ALERT_STATE, InvalidAlertStateError, type AlertState } from '../../lambda/core/alert-state';

const busy: AlertState = {
  episode: 42,
  waiting: true,
  waitingSince: Date.parse('2026-02-12T13:50:00.123Z'),
  alerted: 'sent',
  lastAlertAt: Date.parse('2026-02-12T14:05:00Z'),
  lastAlertTotal: 11,
  sequence: 317,
  changes: 4,
  reminders: 1,
  deferred: true,
  clearedOwed: false,
  dueAt: Date.parse('2026-02-12T14:20:00Z'),
  policy: '3fa9c2d1',
};

describe('alert state encoding', () => {
  test('round-trips a busy identity in about 60 bytes', () => {
    const text = encodeAlertState(busy);
    expect(decodeAlertState(text)).toEqual(busy);
    expect(text).toMatch(/^A1\./);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64);
  });

  test('round-trips the initial state, leaving optional fields out', () => {
    expect(encodeAlertState(INITIAL_ALERT_STATE)).toBe('A1.0.0...0.0.0.0..');
    expect(decodeAlertState('A1.0.0...0.0.0.0..')).toEqual(INITIAL_ALERT_STATE);
  });

  test('reads a later version that appended fields, ignoring them', () => {
    expect(decodeAlertState(`${encodeAlertState(busy).replace(/^A1/, 'A2')}.zz.future`)).toEqual(busy);
  });

  test.each([
    ['an empty string', ''],
    ['another format', 'B1.0.0...0.0.0.0..'],
    ['missing fields', 'A1.0.0...0.0'],
    ['a field that is not base 36', 'A1.0.0...0.0.-1.0..'],
    ['an unknown alerted status', 'A1.0.6...0.0.0.0..'],
    ['a bad fingerprint', 'A1.0.0...0.0.0.0..XYZ'],
  ])('refuses %s with a typed error', (_case, text) => {
    expect(() => decodeAlertState(text)).toThrow(InvalidAlertStateError);
  });
});
