import { diffUnread } from '../../lambda/core/diff';
import { buildEvent } from '../../lambda/core/event-builder';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { normalizeState, type UnreadChangedEvent } from '../../lambda/core/model';
import type { EventPublisher, PublishResult } from '../../lambda/core/ports';
import { buildPublication, SNS_MAX_BYTES, type Publication } from '../../lambda/core/publication';
import { MAX_BATCH_ENTRIES, PublishQueue } from '../../lambda/core/publish-queue';

/** Queues a change event with its own rendering, as the cycle does. */
function add(queue: PublishQueue<UnreadChangedEvent>, e: UnreadChangedEvent): void {
  queue.add(e, buildPublication(e));
}

/** An event for identity `n` with `conversations` changed conversations (more of them, more bytes). */
function event(n: number, conversations = 1): UnreadChangedEvent {
  const previous = normalizeState(0, []);
  const next = normalizeState(
    conversations,
    Array.from({ length: conversations }, (_, i) => ({ objectId: String(1_000_000 + i), streamId: '19155', unread: 1 })),
  );
  return buildEvent({
    identityId: parseIdentityId(String(n)),
    fromVersion: 1,
    previous,
    next,
    diff: diffUnread(previous, next)!,
    observedAt: new Date(0),
  });
}

/** An in-memory publisher: records every batch and answers with `answer`. */
class FakePublisher implements EventPublisher {
  readonly batches: Publication[][] = [];
  constructor(private readonly answer: (batch: readonly Publication[]) => Promise<PublishResult[]> = okAll) {}
  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    this.batches.push([...batch]);
    return this.answer(batch);
  }
}

function okAll(batch: readonly Publication[]): Promise<PublishResult[]> {
  return Promise.resolve(batch.map((p) => ({ eventId: p.eventId, ok: true as const })));
}

function recorder(): { handler: (e: UnreadChangedEvent, r: PublishResult) => Promise<void>; results: Map<string, PublishResult> } {
  const results = new Map<string, PublishResult>();
  return {
    results,
    handler: (e, r) => {
      results.set(e.eventId, r);
      return Promise.resolve();
    },
  };
}

describe('PublishQueue', () => {
  it.each([
    [1, [1]],
    [10, [10]],
    [11, [10, 1]],
    [25, [10, 10, 5]],
  ])('sends %i small events in batches of at most 10: %j', async (count, sizes) => {
    // Prepare
    const publisher = new FakePublisher();
    const queue = new PublishQueue<UnreadChangedEvent>(publisher, recorder().handler);

    // Act
    for (let n = 1; n <= count; n += 1) add(queue, event(n));
    await queue.drain();

    // Assess
    expect(publisher.batches.map((b) => b.length)).toEqual(sizes);
    expect(queue.requests).toBe(sizes.length);
    expect(MAX_BATCH_ENTRIES).toBe(10);
  });

  it('splits batches so that no call passes 256 KB', async () => {
    // Prepare
    const publisher = new FakePublisher();
    const queue = new PublishQueue<UnreadChangedEvent>(publisher, recorder().handler);
    const events = [1, 2, 3, 4, 5].map((n) => event(n, 1_000));

    // Act
    for (const e of events) add(queue, e);
    await queue.drain();

    // Assess
    const bytes = publisher.batches.map((b) => b.reduce((sum, p) => sum + p.sizeBytes, 0));
    expect(publisher.batches.length).toBeGreaterThan(1);
    for (const size of bytes) expect(size).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(publisher.batches.flat().map((p) => p.eventId)).toEqual(events.map((e) => e.eventId));
  });

  it('marks every event of a batch failed when the publisher throws', async () => {
    // Prepare
    const { handler, results } = recorder();
    const queue = new PublishQueue<UnreadChangedEvent>(new FakePublisher(() => Promise.reject(new Error('Throttled: Rate exceeded'))), handler);
    const events = [event(1), event(2), event(3)];

    // Act
    for (const e of events) add(queue, e);
    await queue.drain();

    // Assess
    expect([...results.values()]).toEqual(events.map((e) => ({ eventId: e.eventId, ok: false, reason: 'Throttled: Rate exceeded' })));
  });

  it('hands each entry its own result, failures included', async () => {
    // Prepare
    const { handler, results } = recorder();
    const publisher = new FakePublisher((batch) =>
      Promise.resolve(
        batch.map((p, i): PublishResult => (i === 1 ? { eventId: p.eventId, ok: false, reason: 'InternalError' } : { eventId: p.eventId, ok: true })),
      ),
    );
    const queue = new PublishQueue<UnreadChangedEvent>(publisher, handler);
    const [a, b, c] = [event(1), event(2), event(3)];

    // Act
    for (const e of [a, b, c]) add(queue, e);
    await queue.drain();

    // Assess
    expect(results.get(a.eventId)).toEqual({ eventId: a.eventId, ok: true });
    expect(results.get(b.eventId)).toEqual({ eventId: b.eventId, ok: false, reason: 'InternalError' });
    expect(results.get(c.eventId)).toEqual({ eventId: c.eventId, ok: true });
  });

  it('marks an event the publisher gave no result for failed', async () => {
    // Prepare
    const { handler, results } = recorder();
    const queue = new PublishQueue<UnreadChangedEvent>(new FakePublisher(() => Promise.resolve([])), handler);
    const e = event(1);

    // Act
    add(queue, e);
    await queue.drain();

    // Assess
    expect(results.get(e.eventId)).toEqual({ eventId: e.eventId, ok: false, reason: 'no result for entry' });
  });

  it('drain waits for the publisher and for every result handler', async () => {
    // Prepare
    let answer = (): void => undefined;
    const publisher = new FakePublisher((batch) => new Promise((resolve) => (answer = () => void okAll(batch).then(resolve))));
    const handled: string[] = [];
    const queue = new PublishQueue<UnreadChangedEvent>(publisher, async (e) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      handled.push(e.eventId);
    });
    const e = event(1);
    add(queue, e);
    let drained = false;

    // Act
    const draining = queue.drain().then(() => (drained = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const drainedBeforeAnswer = drained;
    answer();
    await draining;

    // Assess
    expect(drainedBeforeAnswer).toBe(false);
    expect(handled).toEqual([e.eventId]);
  });

  it('sends nothing until a batch fills or drain is called', async () => {
    // Prepare
    const publisher = new FakePublisher();
    const queue = new PublishQueue<UnreadChangedEvent>(publisher, recorder().handler);

    // Act
    for (let n = 1; n <= 9; n += 1) add(queue, event(n));
    const before = publisher.batches.length;
    await queue.drain();

    // Assess
    expect([before, publisher.batches.length]).toEqual([0, 1]);
  });

  it('drain on an empty queue makes no request', async () => {
    // Prepare
    const publisher = new FakePublisher();
    const queue = new PublishQueue<UnreadChangedEvent>(publisher, recorder().handler);

    // Act
    await queue.drain();

    // Assess
    expect(publisher.batches).toEqual([]);
  });

  it('reports a failing result handler from drain, after every batch settled, without an unhandled rejection', async () => {
    // Prepare
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const settled: string[] = [];
    const queue = new PublishQueue<UnreadChangedEvent>(new FakePublisher(), async (e) => {
      // Identity 1 fails at once, 2-10 (same batch) finish later, 11 (second batch) at once.
      await new Promise((resolve) => setTimeout(resolve, e.identityId === '1' || e.identityId === '11' ? 0 : 30));
      if (e.identityId === '1') throw new Error('outbox write failed');
      settled.push(e.identityId);
    });
    for (let n = 1; n <= 11; n += 1) add(queue, event(n));
    await new Promise((resolve) => setTimeout(resolve, 10));

    // Act
    const draining = queue.drain();

    // Assess
    await expect(draining).rejects.toThrow('outbox write failed');
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
    expect(settled).toHaveLength(10);
    expect(settled).toContain('11');
  });
});
