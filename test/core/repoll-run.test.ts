import { CycleAbortedWithSummary } from '../../lambda/core/errors';
import type { IdentityId } from '../../lambda/core/identity-id';
import type { CycleSummary } from '../../lambda/core/poll-cycle';
import { repollIdentity, runRepollBatch, type PollIdentity, type QueuedRepoll } from '../../lambda/core/repoll-run';

const ID = '558355' as IdentityId;

function summary(fields: Partial<CycleSummary> = {}): CycleSummary {
  return {
    identities: 1, polled: 0, changed: 0, published: 0, failed: 0, notFound: 0, durationMs: 1,
    baselines: 0, resent: 0, publishFailed: 0, conflicts: 0, skipped: 0, publishRequests: 0,
    ...fields,
  } as CycleSummary;
}

/** Answers each targeted poll with the next scripted summary (per identity), and records the calls. */
function scripted(script: Record<string, CycleSummary[]>): PollIdentity & { calls: string[] } {
  const calls: string[] = [];
  const poll = (id: IdentityId): Promise<CycleSummary> => {
    calls.push(id);
    const next = script[id]?.shift();
    if (next === undefined) throw new Error(`no scripted poll left for ${id}`);
    return Promise.resolve(next);
  };
  return Object.assign(poll, { calls });
}

describe('repollIdentity', () => {
  test('an identity polled (a change published) is done after one targeted poll', async () => {
    const poll = scripted({ [ID]: [summary({ polled: 1, changed: 1, published: 1 })] });

    expect(await repollIdentity(ID, poll)).toEqual({ kind: 'polled', identityId: ID, polls: 1, sentPending: false, published: 1 });
    expect(poll.calls).toEqual([ID]);
  });

  test('an identity with a pending event gets it sent, then is polled in a second targeted poll', async () => {
    const poll = scripted({ [ID]: [summary({ resent: 1, published: 1 }), summary({ polled: 1, changed: 1, published: 1 })] });

    expect(await repollIdentity(ID, poll)).toEqual({ kind: 'polled', identityId: ID, polls: 2, sentPending: true, published: 2 });
    expect(poll.calls).toEqual([ID, ID]);
  });

  test('a pending event the publisher refused again is retried later, without polling past it', async () => {
    const poll = scripted({ [ID]: [summary({ resent: 1, publishFailed: 1, failed: 1 })] });

    expect(await repollIdentity(ID, poll)).toEqual({ kind: 'retry', identityId: ID, reason: 'publish-failed' });
    expect(poll.calls).toHaveLength(1);
  });

  test('a new change whose event was refused is retried (it stays pending)', async () => {
    const poll = scripted({ [ID]: [summary({ polled: 1, changed: 1, publishFailed: 1, failed: 1 })] });

    expect(await repollIdentity(ID, poll)).toMatchObject({ kind: 'retry', reason: 'publish-failed' });
  });

  test('a failed poll (CommBox after its retries) is retried', async () => {
    const poll = scripted({ [ID]: [summary({ failed: 1 })] });

    expect(await repollIdentity(ID, poll)).toMatchObject({ kind: 'retry', reason: 'poll-failed' });
  });

  test("an identity whose pending event another cycle holds is retried: that cycle sends it, the poll is still owed", async () => {
    const poll = scripted({ [ID]: [summary({ skipped: 1 })] });

    expect(await repollIdentity(ID, poll)).toMatchObject({ kind: 'retry', reason: 'held-by-another-cycle' });
  });

  test('a change another cycle stored first is polled once more: that cycle may have read CommBox before the message', async () => {
    const poll = scripted({ [ID]: [summary({ polled: 1, conflicts: 1 }), summary({ polled: 1, changed: 1, published: 1 })] });

    expect(await repollIdentity(ID, poll)).toEqual({ kind: 'polled', identityId: ID, polls: 2, sentPending: false, published: 1 });
  });

  test('at most three targeted polls per re-poll, however often it conflicts', async () => {
    const conflict = (): CycleSummary => summary({ polled: 1, conflicts: 1 });
    const poll = scripted({ [ID]: [conflict(), conflict(), conflict(), conflict()] });

    expect(await repollIdentity(ID, poll)).toMatchObject({ kind: 'polled', polls: 3 });
    expect(poll.calls).toHaveLength(3);
  });

  test('a pending event another cycle took over (its claim moved) is not polled past: retried while that cycle holds it', async () => {
    const poll = scripted({ [ID]: [summary({ conflicts: 1 }), summary({ skipped: 1 })] });

    expect(await repollIdentity(ID, poll)).toMatchObject({ kind: 'retry', reason: 'held-by-another-cycle' });
  });

  test('an identity found gone upstream (404) is done', async () => {
    const poll = scripted({ [ID]: [summary({ notFound: 1 })] });

    expect(await repollIdentity(ID, poll)).toMatchObject({ kind: 'polled' });
  });

  test('an identity removed since its request is unregistered: nothing to poll', async () => {
    const poll = scripted({ [ID]: [summary({ identities: 0 })] });

    expect(await repollIdentity(ID, poll)).toEqual({ kind: 'unregistered', identityId: ID });
  });

  test('an aborted cycle (a 401) propagates', async () => {
    const aborted = new CycleAbortedWithSummary('cycle aborted: 401', summary());
    const poll: PollIdentity = () => Promise.reject(aborted);

    await expect(repollIdentity(ID, poll)).rejects.toBe(aborted);
  });
});

describe('runRepollBatch', () => {
  const message = (messageId: string, identityId: string, requestedAt = 1_000): QueuedRepoll => ({ messageId, identityId: identityId as IdentityId, requestedAt });
  const clock = (): number => 1_800;

  test('several messages for one identity cause one re-poll, and share its outcome', async () => {
    const poll = scripted({ '1': [summary({ failed: 1 })], '2': [summary({ polled: 1 })] });

    const result = await runRepollBatch([message('a', '1'), message('b', '2'), message('c', '1')], poll, { concurrency: 4, clock });

    expect(poll.calls.sort()).toEqual(['1', '2']);
    expect(result.retryMessageIds).toEqual(['a', 'c']);
    expect(result.outcomes.map((o) => [o.identityId, o.kind])).toEqual([
      ['1', 'retry'],
      ['2', 'polled'],
    ]);
  });

  test('the latency runs from the earliest request for the identity to the end of its poll', async () => {
    const poll = scripted({ '1': [summary({ polled: 1 })] });

    const result = await runRepollBatch([message('a', '1', 1_300), message('b', '1', 1_100)], poll, { concurrency: 1, clock });

    expect([...result.latenciesMs]).toEqual([['1', 700]]);
  });

  test('after an abort no identity starts, and every identity not polled is retried', async () => {
    const aborted = new CycleAbortedWithSummary('cycle aborted: 401', summary());
    const calls: string[] = [];
    const poll: PollIdentity = (id) => {
      calls.push(id);
      return id === '1' ? Promise.reject(aborted) : Promise.resolve(summary({ polled: 1 }));
    };

    const result = await runRepollBatch([message('a', '1'), message('b', '2'), message('c', '3')], poll, { concurrency: 1, clock });

    expect(calls).toEqual(['1']);
    expect(result.aborted).toBe(aborted);
    expect(result.retryMessageIds).toEqual(['a', 'b', 'c']);
    expect(result.outcomes.map((o) => o.kind === 'retry' && o.reason)).toEqual(['aborted', 'aborted', 'aborted']);
  });

  test('identities not started before the deadline are retried as not started', async () => {
    const poll = scripted({ '1': [summary({ polled: 1 })] });
    let starts = 0;

    const result = await runRepollBatch([message('a', '1'), message('b', '2')], poll, { concurrency: 1, clock, shouldStartMore: () => starts++ < 1 });

    expect(result.retryMessageIds).toEqual(['b']);
    expect(result.outcomes[1]).toEqual({ kind: 'retry', identityId: '2', reason: 'not-started' });
  });

  test('every cycle summary is handed to `record` (metrics)', async () => {
    const poll = scripted({ '1': [summary({ resent: 1, published: 1 }), summary({ polled: 1 })] });
    const recorded: CycleSummary[] = [];

    await runRepollBatch([message('a', '1')], poll, { concurrency: 1, clock, record: (s) => recorded.push(s) });

    expect(recorded.map((s) => [s.resent, s.polled])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });
});
