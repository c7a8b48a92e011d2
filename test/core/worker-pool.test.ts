import { runPool } from '../../lambda/core/worker-pool';

const tick = (ms = 1): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Work that records how many run at once and the order they start and finish in. */
function tracker(): { work: (item: number) => Promise<void>; maxInFlight: () => number; started: number[]; finished: number[] } {
  let inFlight = 0;
  let max = 0;
  const started: number[] = [];
  const finished: number[] = [];
  return {
    started,
    finished,
    maxInFlight: () => max,
    work: async (item) => {
      started.push(item);
      inFlight += 1;
      max = Math.max(max, inFlight);
      await tick(1 + (item % 3));
      inFlight -= 1;
      finished.push(item);
    },
  };
}

const items = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('runPool', () => {
  it.each([
    [1, 10],
    [3, 10],
    [10, 10],
    [16, 4],
  ])('keeps at most %i items in flight over %i items', async (concurrency, count) => {
    // Prepare
    const t = tracker();

    // Act
    await runPool(items(count), concurrency, t.work, () => true);

    // Assess
    expect(t.maxInFlight()).toBe(Math.min(concurrency, count));
  });

  it('works every item once, starting them in order, and returns how many started', async () => {
    // Prepare
    const t = tracker();

    // Act
    const started = await runPool(items(25), 4, t.work, () => true);

    // Assess
    expect(started).toBe(25);
    expect(t.started).toEqual(items(25));
    expect([...t.finished].sort((a, b) => a - b)).toEqual(items(25));
  });

  it('stops starting items once shouldStart answers false, finishes those in flight, and returns the started count', async () => {
    // Prepare
    const t = tracker();
    let asked = 0;
    const shouldStart = (): boolean => {
      asked += 1;
      return asked <= 5;
    };

    // Act
    const started = await runPool(items(20), 3, t.work, shouldStart);

    // Assess
    expect(started).toBe(5);
    expect(t.started).toEqual([0, 1, 2, 3, 4]);
    expect([...t.finished].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  });

  it('starts nothing when shouldStart answers false at once', async () => {
    // Prepare
    const t = tracker();

    // Act
    const started = await runPool(items(5), 2, t.work, () => false);

    // Assess
    expect([started, t.started.length]).toEqual([0, 0]);
  });

  it('returns 0 for no items', async () => {
    // Act
    const started = await runPool([], 8, () => Promise.resolve(), () => true);

    // Assess
    expect(started).toBe(0);
  });
});
