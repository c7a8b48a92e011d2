import { parseWebhookEndpointId } from '../../lambda/core/webhook-endpoint';
import { buildTestEvent, deferralDelayMs, deliveryLogKey, FIRST_DEFERRAL_MS, MAX_DEFERRAL_MS, parseWebhookEvent, TEST_EVENT_TYPE } from '../../lambda/core/webhook-job';

describe('parseWebhookEvent', () => {
  test('reads the routing fields of a change event, keeping an id beyond 2^53 exact', () => {
    const body = '{"version":1,"type":"unread.changed","eventId":"e-1","identityId":9223372036854775807,"observedAt":"2026-02-12T15:09:23.998Z"}';

    expect(parseWebhookEvent(body)).toEqual({ eventId: 'e-1', type: 'unread.changed', identityId: '9223372036854775807', observedAt: '2026-02-12T15:09:23.998Z' });
  });

  test.each([
    ['not JSON', 'nope', 'the event is not JSON'],
    ['an array', '[1]', 'the event is not a JSON object'],
    ['no eventId', '{"type":"unread.changed"}', 'the event has no usable eventId'],
    ['an eventId with a space', '{"type":"unread.changed","eventId":"a b"}', 'the event has no usable eventId'],
    ['no type', '{"eventId":"e"}', 'the event has no usable type'],
  ])('refuses %s without quoting it', (_what, body, message) => {
    expect(() => parseWebhookEvent(body)).toThrow(message);
  });

  test('an observedAt that is not an ISO UTC time is left out, and the log key takes the fan-out time', () => {
    const event = parseWebhookEvent('{"type":"unread.alert","eventId":"e","identityId":7,"observedAt":"yesterday"}');

    expect(event).toEqual({ eventId: 'e', type: 'unread.alert', identityId: '7' });
    expect(deliveryLogKey(event, Date.parse('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z#e');
  });
});

describe('deferralDelayMs', () => {
  test('doubles from one second up to five minutes, spread by up to half again by the event id', () => {
    const delays = [0, 1, 2, 3, 20].map((deferrals) => deferralDelayMs({ deferrals, eventId: 'e-1' }));

    expect(delays[0]).toBeGreaterThanOrEqual(FIRST_DEFERRAL_MS);
    expect(delays[0]).toBeLessThan(FIRST_DEFERRAL_MS * 1.5);
    expect(delays[3]! / delays[0]!).toBeCloseTo(8, 5);
    expect(delays[4]).toBeGreaterThanOrEqual(MAX_DEFERRAL_MS);
    expect(delays[4]).toBeLessThan(MAX_DEFERRAL_MS * 1.5);
  });

  test('the same delivery always waits the same; different events spread out', () => {
    const spread = new Set(Array.from({ length: 20 }, (_, i) => deferralDelayMs({ deferrals: 0, eventId: `e-${i}` })));

    expect(deferralDelayMs({ deferrals: 2, eventId: 'x' })).toBe(deferralDelayMs({ deferrals: 2, eventId: 'x' }));
    expect(spread.size).toBeGreaterThan(15);
  });
});

describe('buildTestEvent', () => {
  test('a webhook.test event names the endpoint and carries no identity', () => {
    const id = parseWebhookEndpointId('wh_0123456789abcdef0123');
    const { body, event } = buildTestEvent(id, 'test_1', Date.parse('2026-02-12T15:00:00Z'));

    expect(JSON.parse(body)).toEqual({ version: 1, type: TEST_EVENT_TYPE, eventId: 'test_1', endpointId: id, observedAt: '2026-02-12T15:00:00.000Z' });
    expect(parseWebhookEvent(body)).toEqual(event);
  });
});
