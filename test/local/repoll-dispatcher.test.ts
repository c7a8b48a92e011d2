import type { IdentityId } from '../../lambda/core/identity-id';
import type { RepollMessage } from '../../lambda/core/repoll-ports';
import { RepollDispatcher } from '../../local/repoll-dispatcher';

/** Re-polls that end when the test says so. */
class Gate {
  readonly started: string[] = [];
  readonly inFlight = new Set<string>();
  maxInFlight = 0;
  private readonly finishers = new Map<string, (() => void)[]>();

  readonly run = (message: RepollMessage): Promise<void> => {
    this.started.push(message.identityId);
    this.inFlight.add(message.identityId);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
    return new Promise<void>((resolve) => {
      const list = this.finishers.get(message.identityId) ?? [];
      list.push(() => {
        this.inFlight.delete(message.identityId);
        resolve();
      });
      this.finishers.set(message.identityId, list);
    });
  };

  async finish(id: string): Promise<void> {
    this.finishers.get(id)?.shift()?.();
    // Let the dispatcher react (its finally, then the next start).
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  }
}

const message = (id: string): RepollMessage => ({ identityId: id as IdentityId, delayMs: 0, requestedAt: 0 });

describe('the re-poll dispatcher of serve', () => {
  test('runs different identities at once, up to its concurrency, and starts the next as one ends', async () => {
    const gate = new Gate();
    const dispatcher = new RepollDispatcher(gate.run, 2);

    dispatcher.dispatch([message('1'), message('2'), message('3')]);

    expect(gate.started).toEqual(['1', '2']);
    await gate.finish('1');
    expect(gate.started).toEqual(['1', '2', '3']);
    expect(gate.maxInFlight).toBe(2);
  });

  test('never polls one identity twice at once: requests during its poll become one more poll after it', async () => {
    const gate = new Gate();
    const dispatcher = new RepollDispatcher(gate.run, 8);

    dispatcher.dispatch([message('1')]);
    dispatcher.dispatch([message('1')]);
    dispatcher.dispatch([message('1'), message('1')]);

    expect(gate.started).toEqual(['1']);
    await gate.finish('1');
    expect(gate.started).toEqual(['1', '1']);
    await gate.finish('1');
    expect(gate.started).toEqual(['1', '1']);
    expect(dispatcher.pending).toBe(0);
  });

  test('close waits for the polls in flight and drops those waiting', async () => {
    const gate = new Gate();
    const dispatcher = new RepollDispatcher(gate.run, 1);
    dispatcher.dispatch([message('1'), message('2')]);
    let closed = false;

    const closing = dispatcher.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed).toBe(false);
    await gate.finish('1');
    await closing;

    expect(gate.started).toEqual(['1']);
    dispatcher.dispatch([message('3')]);
    expect(gate.started).toEqual(['1']);
  });

  test('a failed re-poll does not stop the others', async () => {
    const started: string[] = [];
    const dispatcher = new RepollDispatcher((m) => {
      started.push(m.identityId);
      return m.identityId === '1' ? Promise.reject(new Error('boom')) : Promise.resolve();
    }, 1);

    dispatcher.dispatch([message('1'), message('2')]);
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
    await dispatcher.close();

    expect(started).toEqual(['1', '2']);
  });
});
