/**
 * A re-poll is a targeted poll through the same store, outbox and conditional writes as the
 * schedule's cycles: racing a scheduled cycle on the same identity it can never double an event
 * (dynalite and the CommBox simulator, the real store and source).
 */
import type { IdentityId } from '../../lambda/core/identity-id';
import { BUILT_IN_ALERT_DEFAULTS } from '../../lambda/core/alert-policy';
import { repollIdentity, type RepollOutcome } from '../../lambda/core/repoll-run';
import { cycleHarness, type CycleHarness } from '../support/cycle-harness';

const ID = '558355' as IdentityId;
/** These races are about change events: a policy no identity reaches keeps alerts out of the count. */
const CHANGES_ONLY = { alertDefaults: { ...BUILT_IN_ALERT_DEFAULTS, minUnread: 1_000_000 } };
let h: CycleHarness;

beforeEach(async () => {
  // Answers take 1-9 ms, so which of the two contenders reads and writes first varies.
  h = await cycleHarness({ latencyMs: 5, jitterMs: 4, seed: 11 });
  h.simulator.world.addIdentity(ID, [{ objectId: 396001, streamId: 19155, unread: 1 }]);
  await h.register(ID);
  await h.cycle(CHANGES_ONLY);
});

afterEach(() => h.close());

/** The re-poll as the consumer runs it: a targeted poll of the identity, on a store of its own (another process). */
const repoll = (): Promise<RepollOutcome> =>
  repollIdentity(ID, (id) => h.cycle({ ...CHANGES_ONLY, concurrency: 1, only: { ids: [id], unregistered: 'ignore' } }, { store: h.newStore() }));

describe('a re-poll racing a scheduled cycle on the same identity (dynalite)', () => {
  test('one event per change, whichever stores it first, over twenty races', async () => {
    for (let round = 1; round <= 20; round += 1) {
      h.simulator.world.setUnread(ID, 396001, round + 1, 19155);
      const before = h.publisher.received.length;

      const [, outcome] = await Promise.all([h.cycle(CHANGES_ONLY, { store: h.newStore() }), repoll()]);

      const events = h.publisher.received.slice(before);
      expect([round, events.map((e) => [e.previousTotal, e.total])]).toEqual([round, [[round, round + 1]]]);
      expect(outcome.kind).toBe('polled');
    }
    expect(new Set(h.publisher.received.map((e) => e.eventId)).size).toBe(20);
  });

  test('a pending event is sent once, with the eventId it was stored with, then the identity is polled', async () => {
    const refused: string[] = [];
    h.simulator.world.setUnread(ID, 396001, 3, 19155);
    h.publisher.failNext();
    await h.cycle(CHANGES_ONLY, { observer: { publishFailed: (event) => refused.push(event.eventId) } });
    expect(refused).toHaveLength(1);
    h.simulator.world.setUnread(ID, 396001, 5, 19155);

    // The consumer retries a re-poll that found the pending event held by the racing cycle (as SQS redelivers it).
    const [, first] = await Promise.all([h.cycle(CHANGES_ONLY, { store: h.newStore() }), repoll()]);
    const outcome = first.kind === 'retry' ? await repoll() : first;

    expect(outcome.kind).toBe('polled');
    expect(h.publisher.received.map((e) => [e.eventId === refused[0], e.previousTotal, e.total])).toEqual([
      [true, 1, 3],
      [false, 3, 5],
    ]);
  });

  test('with no cycle in the way, the re-poll itself sends the pending event first and then polls (two targeted polls)', async () => {
    h.simulator.world.setUnread(ID, 396001, 3, 19155);
    h.publisher.failNext();
    await h.cycle(CHANGES_ONLY);
    h.simulator.world.setUnread(ID, 396001, 4, 19155);

    const outcome = await repoll();

    expect(outcome).toEqual({ kind: 'polled', identityId: ID, polls: 2, sentPending: true, published: 2 });
    expect(h.publisher.received.map((e) => [e.previousTotal, e.total])).toEqual([
      [1, 3],
      [3, 4],
    ]);
  });
});
