import { backoffCeilingMs, longestFetchMs, RETRY_BACKOFF } from '../../lambda/adapters/commbox/commbox-objects-source';
import { DEFAULTS } from '../../lambda/config';
import { deadlineMarginMs, OUTBOX_ROOM_MS } from '../../lambda/invocation';

describe('deadlineMarginMs: the time left below which the handler starts no more identities', () => {
  it('is every attempt running into the request timeout, the longest backoff between attempts, and room for the writes after', () => {
    const margin = deadlineMarginMs({ maxAttempts: 4, requestTimeoutMs: 5_000 });

    expect(margin).toBe(4 * 5_000 + (200 + 400 + 800) + OUTBOX_ROOM_MS);
  });

  it('with the defaults, covers every attempt timing out, not only two', () => {
    const margin = deadlineMarginMs({ maxAttempts: DEFAULTS.maxAttempts, requestTimeoutMs: DEFAULTS.requestTimeoutMs });

    expect(margin).toBeGreaterThan(DEFAULTS.maxAttempts * DEFAULTS.requestTimeoutMs);
  });

  it.each([
    { attempts: 1, expected: 2_000 + OUTBOX_ROOM_MS },
    { attempts: 2, expected: 2 * 2_000 + 200 + OUTBOX_ROOM_MS },
    { attempts: 3, expected: 3 * 2_000 + 200 + 400 + OUTBOX_ROOM_MS },
  ])('grows by one timeout and one backoff per attempt ($attempts attempts)', ({ attempts, expected }) => {
    expect(deadlineMarginMs({ maxAttempts: attempts, requestTimeoutMs: 2_000 })).toBe(expected);
  });
});

describe('longestFetchMs and the backoff it counts', () => {
  it('uses the backoff the source retries with, capped at its maximum', () => {
    const ceilings = Array.from({ length: 9 }, (_, retry) => backoffCeilingMs(retry));

    expect(ceilings).toEqual([200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000, 5_000]);
    expect(Math.max(...ceilings)).toBe(RETRY_BACKOFF.maxDelayMs);
  });

  it('counts the backoff a source given its own delays would use', () => {
    expect(longestFetchMs({ maxAttempts: 3, timeoutMs: 100, baseDelayMs: 10, maxDelayMs: 15 })).toBe(3 * 100 + 10 + 15);
  });

  it('at ten attempts counts nine backoffs, the last four at the cap', () => {
    expect(longestFetchMs({ maxAttempts: 10, timeoutMs: 1_000 })).toBe(10 * 1_000 + 200 + 400 + 800 + 1_600 + 3_200 + 4 * 5_000);
  });
});
