import { InMemoryRepollQueue, type QueueTimers } from '../../lambda/adapters/in-memory-repoll-queue';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { RepollMessage } from '../../lambda/core/repoll-ports';

/** Timers on a clock the test moves. */
class ManualTimers implements QueueTimers {
  now = 0;
  private readonly due = new Map<number, { at: number; run: () => void }>();
  private nextHandle = 1;

  setTimeout(run: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.due.set(handle, { at: this.now + ms, run });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  advance(ms: number): void {
    this.now += ms;
    for (const [handle, timer] of [...this.due].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.now) continue;
      this.due.delete(handle);
      timer.run();
    }
  }

  get pending(): number {
    return this.due.size;
  }
}

const message = (id: string, delayMs = 0): RepollMessage => ({ identityId: parseIdentityId(id), delayMs, requestedAt: 0 });

/** Lets pending promise callbacks run (no time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

function setup() {
  const timers = new ManualTimers();
  const deliveries: string[][] = [];
  const gates: (() => void)[] = [];
  let hold = false;
  const queue = new InMemoryRepollQueue({
    timers,
    consume: (messages) => {
      deliveries.push(messages.map((m) => m.identityId));
      return hold ? new Promise<void>((resolve) => gates.push(resolve)) : Promise.resolve();
    },
  });
  return { timers, deliveries, queue, holdDeliveries: () => (hold = true), releaseOne: () => gates.shift()?.() };
}

describe('InMemoryRepollQueue', () => {
  it('delivers a message without delay at once, the messages of one send together', async () => {
    const { queue, deliveries } = setup();

    await queue.send([message('1'), message('2')]);
    await queue.idle();

    expect(deliveries).toEqual([['1', '2']]);
  });

  it('holds a delayed message until its delay has passed', async () => {
    const { queue, deliveries, timers } = setup();
    await queue.send([message('1', 2_000)]);

    timers.advance(1_999);
    await queue.idle();
    expect(deliveries).toEqual([]);

    timers.advance(1);
    await queue.idle();
    expect(deliveries).toEqual([['1']]);
  });

  it('runs one delivery at a time: what becomes due meanwhile goes in the next one, each identity once', async () => {
    const { queue, deliveries, holdDeliveries, releaseOne } = setup();
    holdDeliveries();
    await queue.send([message('1')]);
    await settle();

    await queue.send([message('2'), message('3'), message('2')]);
    await settle();
    expect(deliveries).toEqual([['1']]);
    releaseOne();
    await settle();
    releaseOne();
    await queue.idle();

    expect(deliveries).toEqual([['1'], ['2', '3']]);
  });

  it('a delivery that fails is reported and the queue goes on', async () => {
    const errors: string[][] = [];
    let calls = 0;
    const queue = new InMemoryRepollQueue({
      timers: new ManualTimers(),
      consume: () => (++calls === 1 ? Promise.reject(new Error('poll failed')) : Promise.resolve()),
      onError: (_error, ids) => errors.push([...ids]),
    });

    await queue.send([message('1')]);
    await queue.idle();
    await queue.send([message('2')]);
    await queue.idle();

    expect(errors).toEqual([['1']]);
    expect(calls).toBe(2);
  });

  it('close() drops what waits, cancels its timers and refuses later messages', async () => {
    const { queue, deliveries, timers } = setup();
    await queue.send([message('1', 2_000)]);

    await queue.close();
    timers.advance(5_000);
    const late = await queue.send([message('2')]);

    expect(timers.pending).toBe(0);
    expect(deliveries).toEqual([]);
    expect(late.failed).toEqual([{ identityId: '2', reason: 'QueueClosed' }]);
  });

  it('counts what is pending', async () => {
    const { queue } = setup();

    await queue.send([message('1', 1_000), message('2', 2_000)]);

    expect(queue.pending).toBe(2);
  });
});
