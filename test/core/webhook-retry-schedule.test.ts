import type { DeliveryAttemptOutcome } from '../../lambda/core/webhook-delivery';
import { HEALTHY, type WebhookEndpointHealth } from '../../lambda/core/webhook-endpoint';
import {
  classifyAttempt,
  decideAfterAttempt,
  DISPATCHER_RETRY_SCHEDULE,
  ENDPOINT_FAILURE_LIMIT,
  failureLimitReached,
  IN_RUN_RETRY_SCHEDULE,
  parseRetryAfterMs,
  recordAttempt,
  recordDeadLetter,
  type RetrySchedule,
} from '../../lambda/core/webhook-retry-schedule';

const NOW_MS = Date.parse('2026-02-12T15:09:23.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const status = (code: number, retryAfter?: string): DeliveryAttemptOutcome => ({
  kind: 'response',
  status: code,
  ...(retryAfter === undefined ? {} : { retryAfter }),
  durationMs: 12,
});
const TIMEOUT: DeliveryAttemptOutcome = { kind: 'timeout', durationMs: 15_000 };
const RESET: DeliveryAttemptOutcome = { kind: 'network', code: 'ECONNRESET', durationMs: 3 };
const REFUSED: DeliveryAttemptOutcome = { kind: 'refused', reason: 'hooks.example.com resolves to a private address (10.0.0.5)', durationMs: 1 };

describe('classifyAttempt', () => {
  test.each([200, 201, 202, 204, 299])('%i is delivered', (code) => {
    expect(classifyAttempt(status(code))).toBe('delivered');
  });

  test('410 is gone', () => {
    expect(classifyAttempt(status(410))).toBe('gone');
  });

  test.each([100, 199, 300, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 408, 409, 413, 429, 500, 502, 503, 504, 599])(
    '%i is a failure (redirects are not followed)',
    (code) => {
      expect(classifyAttempt(status(code))).toBe('failed');
    },
  );

  test.each([
    ['a timeout', TIMEOUT],
    ['a connection reset', RESET],
    ['a refused address', REFUSED],
  ])('%s is a failure', (_case, outcome) => {
    expect(classifyAttempt(outcome)).toBe('failed');
  });
});

describe('the dispatcher schedule', () => {
  test('is 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts in all', () => {
    expect(DISPATCHER_RETRY_SCHEDULE.delaysMs).toEqual([5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]);
  });

  test('spans more than 24 hours from the first attempt to the last', () => {
    expect(lastAttemptAfterMs(DISPATCHER_RETRY_SCHEDULE)).toBeGreaterThanOrEqual(24 * HOUR);
  });

  test('every wait fits an SQS visibility timeout (12 h)', () => {
    expect(Math.max(...DISPATCHER_RETRY_SCHEDULE.delaysMs, DISPATCHER_RETRY_SCHEDULE.maxRetryAfterMs)).toBeLessThanOrEqual(12 * HOUR);
  });

  test.each([
    [1, 5 * SECOND],
    [2, 5 * MINUTE],
    [3, 30 * MINUTE],
    [4, 2 * HOUR],
    [5, 5 * HOUR],
    [6, 10 * HOUR],
    [7, 10 * HOUR],
  ])('a failed attempt %i is retried after its step', (attempt, delayMs) => {
    expect(decideAfterAttempt({ outcome: status(500), attempt, schedule: DISPATCHER_RETRY_SCHEDULE, nowMs: NOW_MS })).toEqual({
      kind: 'retry',
      nextAttempt: attempt + 1,
      delayMs,
      notBeforeMs: NOW_MS + delayMs,
    });
  });

  test.each([
    ['a 500', status(500)],
    ['a 301', status(301)],
    ['a timeout', TIMEOUT],
    ['a connection reset', RESET],
  ])('%s at the eighth attempt goes to the dead-letter queue', (_case, outcome) => {
    expect(decideAfterAttempt({ outcome, attempt: 8, schedule: DISPATCHER_RETRY_SCHEDULE, nowMs: NOW_MS })).toEqual({ kind: 'dead-letter', attempts: 8 });
  });

  test.each([1, 5, 8])('a 2xx at attempt %i is delivered', (attempt) => {
    expect(decideAfterAttempt({ outcome: status(204), attempt, schedule: DISPATCHER_RETRY_SCHEDULE, nowMs: NOW_MS })).toEqual({ kind: 'delivered' });
  });

  test.each([1, 8])('a 410 at attempt %i disables the endpoint at once', (attempt) => {
    expect(decideAfterAttempt({ outcome: status(410), attempt, schedule: DISPATCHER_RETRY_SCHEDULE, nowMs: NOW_MS })).toEqual({
      kind: 'disable-endpoint',
      reason: 'gone',
    });
  });

  test('an attempt number below 1 is a programming error', () => {
    expect(() => decideAfterAttempt({ outcome: status(500), attempt: 0, schedule: DISPATCHER_RETRY_SCHEDULE, nowMs: NOW_MS })).toThrow('attempt');
  });
});

describe('Retry-After', () => {
  const after = (retryAfter: string, attempt = 1, code = 429): number | undefined => {
    const decision = decideAfterAttempt({ outcome: status(code, retryAfter), attempt, schedule: DISPATCHER_RETRY_SCHEDULE, nowMs: NOW_MS });
    return decision.kind === 'retry' ? decision.delayMs : undefined;
  };

  test.each([
    ['seconds longer than the step lengthen the wait', '120', 1, 120 * SECOND],
    ['an HTTP date an hour ahead lengthens the wait', new Date(NOW_MS + HOUR).toUTCString(), 1, HOUR],
    ['seconds shorter than the step do not shorten it', '1', 3, 30 * MINUTE],
    ['a date in the past keeps the step', new Date(NOW_MS - HOUR).toUTCString(), 2, 5 * MINUTE],
    ['a day is capped at 10 hours', '86400', 1, 10 * HOUR],
    ['an unreadable value keeps the step', 'soon', 2, 5 * MINUTE],
    ['a bare number that is not seconds-only is unreadable', '1.5', 1, 5 * SECOND],
  ])('%s', (_case, retryAfter, attempt, expected) => {
    expect(after(retryAfter, attempt)).toBe(expected);
  });

  test('is honoured on a 503 as on a 429', () => {
    expect(after('600', 1, 503)).toBe(10 * MINUTE);
  });

  test('does not extend the schedule past its last attempt', () => {
    expect(decideAfterAttempt({ outcome: status(429, '60'), attempt: 8, schedule: DISPATCHER_RETRY_SCHEDULE, nowMs: NOW_MS })).toEqual({
      kind: 'dead-letter',
      attempts: 8,
    });
  });

  test.each([
    [undefined, undefined],
    ['0', 0],
    [' 30 ', 30 * SECOND],
    ['Thu, 12 Feb 2026 15:10:23 GMT', 60 * SECOND],
    ['Thu, 12 Feb 2026 15:00:00 GMT', 0],
    ['12', 12 * SECOND],
    ['-5', undefined],
    ['2026', 2026 * SECOND],
    ['', undefined],
    ['2026-02-12', undefined],
  ])('parseRetryAfterMs(%p) is %p', (value, expected) => {
    expect(parseRetryAfterMs(value, NOW_MS)).toBe(expected);
  });
});

describe('the in-run schedule of a local poll', () => {
  test('makes four attempts within 7 seconds', () => {
    expect(IN_RUN_RETRY_SCHEDULE.delaysMs.length + 1).toBe(4);
    expect(lastAttemptAfterMs(IN_RUN_RETRY_SCHEDULE)).toBe(7 * SECOND);
  });

  test('stays within 10 seconds even when every answer asks for an hour', () => {
    expect(lastAttemptAfterMs(IN_RUN_RETRY_SCHEDULE, status(503, '3600'))).toBe(10 * SECOND);
  });

  test('ends in a dead letter (kept for the next poll) after the fourth attempt', () => {
    expect(decideAfterAttempt({ outcome: RESET, attempt: 4, schedule: IN_RUN_RETRY_SCHEDULE, nowMs: NOW_MS })).toEqual({ kind: 'dead-letter', attempts: 4 });
  });
});

describe('the failure limit of an endpoint', () => {
  const failing = (sinceMs: number, consecutiveFailures: number): WebhookEndpointHealth => ({
    consecutiveFailures,
    failingSinceMs: sinceMs,
    deadLetters: 1,
  });

  test('is five days without an accepted delivery and at least eight failed attempts in a row', () => {
    expect(ENDPOINT_FAILURE_LIMIT).toEqual({ failingForMs: 5 * DAY, minConsecutiveFailures: 8 });
  });

  test.each([
    ['failing for 5 days with 8 failed attempts', 5 * DAY, 8, true],
    ['failing for 30 days with 9 failed attempts', 30 * DAY, 9, true],
    ['failing for 5 days less a second, with 500 failed attempts', 5 * DAY - SECOND, 500, false],
    ['failing for 6 days with only 7 failed attempts', 6 * DAY, 7, false],
  ])('an endpoint %s: limit reached is %p', (_case, forMs, failures, reached) => {
    expect(failureLimitReached(failing(NOW_MS - forMs, failures), NOW_MS)).toBe(reached);
  });

  test('a healthy endpoint never reaches it', () => {
    expect(failureLimitReached(HEALTHY, NOW_MS)).toBe(false);
  });

  test('a first failure starts the failing period', () => {
    expect(recordAttempt(HEALTHY, 'failed', NOW_MS)).toEqual({ health: { consecutiveFailures: 1, failingSinceMs: NOW_MS, deadLetters: 0 } });
  });

  test('later failures keep the start of the failing period', () => {
    const update = recordAttempt(failing(NOW_MS - DAY, 3), 'failed', NOW_MS);

    expect(update.health).toMatchObject({ consecutiveFailures: 4, failingSinceMs: NOW_MS - DAY });
    expect(update.disable).toBeUndefined();
  });

  test('the failed attempt that reaches the limit disables the endpoint as failing', () => {
    expect(recordAttempt(failing(NOW_MS - 5 * DAY, 7), 'failed', NOW_MS).disable).toBe('failing');
  });

  test('an accepted delivery resets every counter', () => {
    expect(recordAttempt(failing(NOW_MS - 4 * DAY, 40), 'delivered', NOW_MS)).toEqual({
      health: { consecutiveFailures: 0, deadLetters: 0, lastSuccessMs: NOW_MS },
    });
  });

  test('a 410 disables a healthy endpoint at once as gone', () => {
    expect(recordAttempt(HEALTHY, 'gone', NOW_MS).disable).toBe('gone');
  });

  test('a dead letter is counted until the next success', () => {
    expect(recordDeadLetter(recordDeadLetter(HEALTHY)).deadLetters).toBe(2);
  });

  test('an endpoint down for a week is disabled at the first failed attempt after five days, on the real schedule', () => {
    let health: WebhookEndpointHealth = HEALTHY;
    let clock = NOW_MS;
    let disabledAfterMs: number | undefined;
    // One event an hour, each tried on the full schedule; attempts in time order.
    const attempts: number[] = [];
    for (let event = 0; event < 7 * 24; event += 1) {
      let at = NOW_MS + event * HOUR;
      attempts.push(at);
      for (const delay of DISPATCHER_RETRY_SCHEDULE.delaysMs) attempts.push((at += delay));
    }
    for (const at of attempts.sort((a, b) => a - b)) {
      clock = at;
      const update = recordAttempt(health, 'failed', clock);
      health = update.health;
      if (update.disable !== undefined) {
        disabledAfterMs = clock - NOW_MS;
        break;
      }
    }

    expect(disabledAfterMs).toBe(5 * DAY);
  });
});

/** When the last attempt starts, counted from the first, if every attempt fails with `outcome`. */
function lastAttemptAfterMs(schedule: RetrySchedule, outcome: DeliveryAttemptOutcome = status(500)): number {
  let now = 0;
  for (let attempt = 1; ; attempt += 1) {
    const decision = decideAfterAttempt({ outcome, attempt, schedule, nowMs: now });
    if (decision.kind !== 'retry') return now;
    now = decision.notBeforeMs;
  }
}
