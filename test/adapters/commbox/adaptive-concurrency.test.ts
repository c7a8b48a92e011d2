import { AdaptiveConcurrencyLimiter, type Permit } from '../../../lambda/adapters/commbox/adaptive-concurrency';

/** A clock that moves only when told to, and sleeps that end when it passes them. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleepers: { until: number; wake: () => void }[] = [];
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleeps,
    sleep: (ms: number) =>
      new Promise<void>((wake) => {
        sleeps.push(ms);
        sleepers.push({ until: now + ms, wake });
      }),
    async advance(ms: number) {
      now += ms;
      for (const sleeper of sleepers.filter((s) => s.until <= now)) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.wake();
      }
      await flush();
    },
  };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function limiterWith(maxConcurrency: number, time = fakeTime()) {
  return { time, limiter: new AdaptiveConcurrencyLimiter({ maxConcurrency, now: time.now, sleep: time.sleep }) };
}

async function acquireAll(limiter: AdaptiveConcurrencyLimiter, n: number): Promise<Permit[]> {
  return Promise.all(Array.from({ length: n }, () => limiter.acquire()));
}

describe('AdaptiveConcurrencyLimiter', () => {
  it('starts at maxConcurrency', () => {
    const { limiter } = limiterWith(8);
    expect(limiter.limit).toBe(8);
  });

  it('holds back the request beyond the limit until one in flight is released', async () => {
    const { limiter } = limiterWith(2);
    await acquireAll(limiter, 2);
    let third: Permit | undefined;
    void limiter.acquire().then((p) => (third = p));
    await flush();

    expect(third).toBeUndefined();
    expect(limiter.snapshot()).toMatchObject({ inFlight: 2, waiting: 1 });
  });

  it('grants a waiting request as soon as a slot is released', async () => {
    const { limiter } = limiterWith(1);
    const [held] = await acquireAll(limiter, 1);
    let granted = false;
    void limiter.acquire().then(() => (granted = true));
    await flush();
    expect(granted).toBe(false);

    held!.release('success');
    await flush();

    expect(granted).toBe(true);
  });

  it('serves waiting requests in the order they asked', async () => {
    const { limiter } = limiterWith(1);
    const [held] = await acquireAll(limiter, 1);
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) => limiter.acquire().then((p) => (order.push(n), p.release('neutral'))));

    held!.release('neutral');
    await Promise.all(waiting);

    expect(order).toEqual([1, 2, 3]);
  });

  it('never has more in flight than maxConcurrency, whatever the signals', async () => {
    const { limiter } = limiterWith(5);
    let inFlight = 0;
    let peak = 0;
    const signals = ['success', 'overload', 'neutral'] as const;
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const permit = await limiter.acquire();
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        for (let k = 0; k < i % 3; k += 1) await flush();
        inFlight -= 1;
        permit.release(signals[(i * 7) % 3]!);
      }),
    );
    expect(peak).toBeLessThanOrEqual(5);
    expect(limiter.snapshot().maxInFlight).toBeLessThanOrEqual(5);
  });

  it('halves the limit on an overload', async () => {
    const { limiter } = limiterWith(8);
    const [permit] = await acquireAll(limiter, 1);

    permit!.release('overload');

    expect(limiter.limit).toBe(4);
  });

  it('halves only once for a burst of overloads from requests that were already in flight', async () => {
    const { limiter } = limiterWith(16);
    const permits = await acquireAll(limiter, 16);

    for (const permit of permits) permit.release('overload');

    expect(limiter.limit).toBe(8);
  });

  it('halves again on an overload from a request started after the last decrease', async () => {
    const { limiter } = limiterWith(16);
    const [before] = await acquireAll(limiter, 1);
    before!.release('overload');
    const [after] = await acquireAll(limiter, 1);

    after!.release('overload');

    expect(limiter.limit).toBe(4);
  });

  it('starts nothing new after a decrease until those in flight are below the new limit', async () => {
    const { limiter } = limiterWith(4);
    const permits = await acquireAll(limiter, 4);
    permits[0]!.release('overload');
    let granted = false;
    void limiter.acquire().then(() => (granted = true));

    permits[1]!.release('neutral');
    await flush();
    expect(granted).toBe(false);
    permits[2]!.release('neutral');
    await flush();

    expect(granted).toBe(true);
    expect(limiter.snapshot()).toMatchObject({ limit: 2, inFlight: 2 });
  });

  it('never drops below one', async () => {
    const { limiter } = limiterWith(2);
    for (let i = 0; i < 5; i += 1) (await limiter.acquire()).release('overload');

    expect(limiter.limit).toBe(1);
  });

  it('grows by one after as many successes as the limit, after a decrease', async () => {
    const { limiter } = limiterWith(8);
    (await limiter.acquire()).release('overload');
    expect(limiter.limit).toBe(4);

    for (let i = 0; i < 3; i += 1) (await limiter.acquire()).release('success');
    expect(limiter.limit).toBe(4);
    (await limiter.acquire()).release('success');

    expect(limiter.limit).toBe(5);
  });

  it('ignores successes of requests that started before the last decrease', async () => {
    const { limiter } = limiterWith(4);
    const old = await acquireAll(limiter, 4);
    old[0]!.release('overload');

    for (const permit of old.slice(1)) permit.release('success');
    (await limiter.acquire()).release('success');

    expect(limiter.limit).toBe(2);
  });

  it('recovers to maxConcurrency and no further', async () => {
    const { limiter } = limiterWith(4);
    (await limiter.acquire()).release('overload');
    for (let i = 0; i < 50; i += 1) (await limiter.acquire()).release('success');

    expect(limiter.limit).toBe(4);
  });

  it('starts nothing before a Retry-After gate opens', async () => {
    const { limiter, time } = limiterWith(4);
    limiter.deferUntil(time.now() + 2000);
    let granted = false;
    void limiter.acquire().then(() => (granted = true));

    await time.advance(1999);
    expect(granted).toBe(false);
    await time.advance(1);

    expect(granted).toBe(true);
    expect(time.sleeps).toEqual([2000]);
  });

  it('keeps the later gate when a second Retry-After arrives', async () => {
    const { limiter, time } = limiterWith(4);
    limiter.deferUntil(time.now() + 1000);
    limiter.deferUntil(time.now() + 3000);
    limiter.deferUntil(time.now() + 500);
    let granted = false;
    void limiter.acquire().then(() => (granted = true));

    await time.advance(2999);
    expect(granted).toBe(false);
    await time.advance(1);

    expect(granted).toBe(true);
  });

  it('does not grow for as long again as the gate was closed, so it does not drain the bucket at once', async () => {
    const { limiter, time } = limiterWith(8);
    (await limiter.acquire()).release('overload');
    limiter.deferUntil(time.now() + 1000);
    await time.advance(1000);

    for (let i = 0; i < 8; i += 1) (await limiter.acquire()).release('success');
    expect(limiter.limit).toBe(4);
    await time.advance(1000);
    for (let i = 0; i < 4; i += 1) (await limiter.acquire()).release('success');

    expect(limiter.limit).toBe(5);
  });

  it('counts a permit released twice only once', async () => {
    const { limiter } = limiterWith(4);
    const [permit] = await acquireAll(limiter, 1);

    permit!.release('overload');
    permit!.release('overload');

    expect(limiter.snapshot()).toMatchObject({ inFlight: 0, limit: 2, decreases: 1 });
  });

  it('refuses a maxConcurrency below one', () => {
    expect(() => new AdaptiveConcurrencyLimiter({ maxConcurrency: 0 })).toThrow(RangeError);
  });
});
