import fc from 'fast-check';
import { DEFAULT_REPOLL_WINDOW_MS, planRepoll, pollNowThreshold, type MarkerObservation } from '../../lambda/core/repoll-debounce';

const W = DEFAULT_REPOLL_WINDOW_MS;
const T0 = 1_770_000_000_000;

describe('planRepoll', () => {
  it('an unregistered identity is never polled', () => {
    expect(planRepoll(T0, W, { registered: false })).toEqual({ decision: 'unregistered' });
  });

  it('the first request polls now and marks now', () => {
    expect(planRepoll(T0, W, { registered: true })).toEqual({ decision: 'poll-now', pollAt: T0 });
  });

  it('a request a full window after the last poll polls now', () => {
    expect(planRepoll(T0 + W, W, { registered: true, pollAt: T0 })).toEqual({ decision: 'poll-now', pollAt: T0 + W });
  });

  it('a request after the poll started and within its window earns one poll at the window end', () => {
    expect(planRepoll(T0 + 500, W, { registered: true, pollAt: T0 })).toEqual({ decision: 'poll-at-window-end', pollAt: T0 + W, delayMs: W - 500 });
  });

  it('a request at the very moment the poll starts still earns the trailing poll', () => {
    expect(planRepoll(T0, W, { registered: true, pollAt: T0 })).toEqual({ decision: 'poll-at-window-end', pollAt: T0 + W, delayMs: W });
  });

  it('a request before a granted poll starts collapses into it', () => {
    expect(planRepoll(T0 + 700, W, { registered: true, pollAt: T0 + W })).toEqual({ decision: 'collapsed', pollAt: T0 + W });
  });

  it('once the trailing poll has started, a request earns the next window end', () => {
    expect(planRepoll(T0 + W + 10, W, { registered: true, pollAt: T0 + W })).toMatchObject({ decision: 'poll-at-window-end', pollAt: T0 + 2 * W });
  });

  it('a window of 0 polls every request now', () => {
    expect(planRepoll(T0, 0, { registered: true, pollAt: T0 })).toEqual({ decision: 'poll-now', pollAt: T0 });
  });

  it('pollNowThreshold is exactly the poll-now branch', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: -20_000, max: 20_000 }), fc.integer({ min: 0, max: 5_000 }), (now, offset, w) => {
        const pollAt = now + offset;
        expect(planRepoll(now, w, { registered: true, pollAt }).decision === 'poll-now').toBe(pollAt <= pollNowThreshold(now, w));
      }),
    );
  });

  /** Applies the plans to one marker as a store would, for a sequence of request times. */
  function simulate(times: readonly number[], w: number): { polls: number[] } {
    let seen: MarkerObservation = { registered: true };
    const polls: number[] = [];
    for (const now of times) {
      const plan = planRepoll(now, w, seen);
      if (plan.decision === 'poll-now' || plan.decision === 'poll-at-window-end') {
        polls.push(plan.pollAt);
        seen = { registered: true, pollAt: plan.pollAt };
      }
    }
    return { polls };
  }

  it('a burst of 50 within one window gives one poll now and one at the window end', () => {
    const { polls } = simulate(Array.from({ length: 50 }, (_, i) => T0 + i * 30), W);
    expect(polls).toEqual([T0, T0 + W]);
  });

  it('every request is followed by a poll that starts at or after it, within one window, and polls are a window apart', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 5_000 }), (offsets, w) => {
        const times = [...offsets].sort((a, b) => a - b).map((o) => T0 + o);
        const { polls } = simulate(times, w);
        for (const t of times) expect(polls.some((p) => p >= t && p <= t + w)).toBe(true);
        for (let i = 1; i < polls.length; i += 1) expect(polls[i]! - polls[i - 1]!).toBeGreaterThanOrEqual(w);
      }),
    );
  });
});
