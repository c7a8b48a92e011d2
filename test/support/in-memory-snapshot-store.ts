import type { IdentityId } from '../../lambda/core/identity-id';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { PendingEvent, UnreadState, WatchedIdentity } from '../../lambda/core/model';
import type { ChangeToSave, CycleInput, ScanSegment, SnapshotStore, TargetedInput } from '../../lambda/core/ports';

/** One identity's item: what a Scan hands the cycle is all the item holds. */
export type StoredIdentity = WatchedIdentity;

export type StoreOperation = keyof SnapshotStore;

/**
 * The SnapshotStore port in memory, with the DynamoDB store's conditions: a baseline only where
 * none is stored, a change only on the version read and with no event pending, a claim only by
 * compare-and-set on the claim seen, outbox updates only for the pending event they name, and no
 * write to an identity that is not registered. `loadCycle` and `loadIdentities` hand out copies,
 * as a Scan and a BatchGetItem do, so the store can move on under a cycle that already read it.
 */
export class InMemorySnapshotStore implements SnapshotStore {
  /** Calls per operation, refused writes included. */
  readonly calls: Record<StoreOperation, number> = {
    loadCycle: 0, loadIdentities: 0, saveBaseline: 0, saveChange: 0, claimPending: 0, completePending: 0, releasePending: 0,
    recordFailure: 0, markNotFound: 0, clearFailures: 0, saveResumePoint: 0, recordCycleEnd: 0,
  };
  /** The writes to identities and resume points made, in order, refused ones included; cycle ends are in `cycleEnd`. */
  readonly writes: StoreOperation[] = [];
  private readonly items = new Map<IdentityId, StoredIdentity>();
  private readonly resumePoints = new Map<string, IdentityId>();
  private readonly cycleEnds = new Map<string, string>();
  private readonly interceptors: { operation: StoreOperation; action: () => void }[] = [];

  /** Registers an identity, optionally with what earlier cycles stored for it. */
  put(id: string, item: Partial<Omit<StoredIdentity, 'id'>> = {}): this {
    const identityId = parseIdentityId(id);
    this.items.set(identityId, { failureStreak: 0, notFound: false, ...item, id: identityId });
    return this;
  }

  get(id: string): StoredIdentity | undefined {
    return this.items.get(parseIdentityId(id));
  }

  resumePoint(segment?: ScanSegment): IdentityId | undefined {
    return this.resumePoints.get(segmentKey(segment));
  }

  /** When the last cycle of the table (or of the segment) ran to its end. */
  cycleEnd(segment?: ScanSegment): string | undefined {
    return this.cycleEnds.get(segmentKey(segment));
  }

  /**
   * Runs `action` once, just before the next call of `operation` takes effect: throw in it to
   * make that call fail, or change the store in it to play an overlapping cycle that got there first.
   */
  before(operation: StoreOperation, action: () => void): this {
    this.interceptors.push({ operation, action });
    return this;
  }

  loadCycle(segment?: ScanSegment): Promise<CycleInput> {
    return this.run('loadCycle', () => {
      const ids = [...this.items.keys()];
      const identities = ids
        .filter((_, index) => !segment || index % segment.totalSegments === segment.segment)
        .map((id) => structuredClone(this.items.get(id) as StoredIdentity));
      const resumeFrom = this.resumePoint(segment);
      return { identities, ...(resumeFrom !== undefined ? { resumeFrom } : {}) };
    });
  }

  loadIdentities(ids: readonly IdentityId[]): Promise<TargetedInput> {
    return this.run('loadIdentities', () => {
      const unique = [...new Set(ids)];
      return {
        identities: unique.filter((id) => this.items.has(id)).map((id) => structuredClone(this.items.get(id) as StoredIdentity)),
        unregistered: unique.filter((id) => !this.items.has(id)),
      };
    });
  }

  saveBaseline(id: IdentityId, state: UnreadState, observedAt: string): Promise<boolean> {
    return this.write(
      'saveBaseline',
      id,
      (item) => !item.snapshot,
      (item) => ({ ...item, snapshot: { version: 1, state, changedAt: observedAt }, failureStreak: 0, notFound: false }),
    );
  }

  saveChange(change: ChangeToSave): Promise<boolean> {
    return this.write(
      'saveChange',
      change.id,
      (item) => item.snapshot?.version === change.expectedVersion && !item.pending,
      (item) => ({
        ...item,
        snapshot: { version: change.expectedVersion + 1, state: change.state, changedAt: change.event.observedAt },
        pending: { event: change.event, claimUntil: change.claimUntil },
        failureStreak: 0,
        notFound: false,
      }),
    );
  }

  claimPending(id: IdentityId, eventId: string, seenClaimUntil: number, claimUntil: number): Promise<boolean> {
    return this.write(
      'claimPending',
      id,
      (item) => item.pending?.event.eventId === eventId && item.pending.claimUntil === seenClaimUntil,
      (item) => ({ ...item, pending: { event: (item.pending as PendingEvent).event, claimUntil } }),
    );
  }

  async completePending(id: IdentityId, eventId: string): Promise<void> {
    await this.write('completePending', id, (item) => item.pending?.event.eventId === eventId, ({ pending: _done, ...item }) => item);
  }

  async releasePending(id: IdentityId, eventId: string): Promise<void> {
    await this.write(
      'releasePending',
      id,
      (item) => item.pending?.event.eventId === eventId,
      (item) => ({ ...item, pending: { event: (item.pending as PendingEvent).event, claimUntil: 0 } }),
    );
  }

  async recordFailure(id: IdentityId, streak: number): Promise<void> {
    await this.write('recordFailure', id, () => true, (item) => ({ ...item, failureStreak: streak }));
  }

  async markNotFound(id: IdentityId): Promise<void> {
    await this.write('markNotFound', id, () => true, (item) => ({ ...item, notFound: true }));
  }

  async clearFailures(id: IdentityId): Promise<void> {
    await this.write('clearFailures', id, () => true, (item) => ({ ...item, failureStreak: 0, notFound: false }));
  }

  saveResumePoint(segment: ScanSegment | undefined, resumeFrom: IdentityId | undefined): Promise<void> {
    return this.run('saveResumePoint', () => {
      this.writes.push('saveResumePoint');
      if (resumeFrom === undefined) this.resumePoints.delete(segmentKey(segment));
      else this.resumePoints.set(segmentKey(segment), resumeFrom);
    });
  }

  recordCycleEnd(segment: ScanSegment | undefined, endedAt: string): Promise<void> {
    return this.run('recordCycleEnd', () => void this.cycleEnds.set(segmentKey(segment), endedAt));
  }

  /** A conditional update of a registered identity's item; false when the condition does not hold. */
  private write(
    operation: StoreOperation,
    id: IdentityId,
    condition: (item: StoredIdentity) => boolean,
    update: (item: StoredIdentity) => StoredIdentity,
  ): Promise<boolean> {
    return this.run(operation, () => {
      this.writes.push(operation);
      const item = this.items.get(id);
      if (!item || !condition(item)) return false;
      this.items.set(id, update(item));
      return true;
    });
  }

  /** Asynchronous like a real store: callers interleave at every call. */
  private async run<T>(operation: StoreOperation, body: () => T): Promise<T> {
    this.calls[operation] += 1;
    await Promise.resolve();
    const index = this.interceptors.findIndex((i) => i.operation === operation);
    if (index >= 0) this.interceptors.splice(index, 1)[0]?.action();
    return body();
  }
}

function segmentKey(segment?: ScanSegment): string {
  return segment ? `${segment.segment}/${segment.totalSegments}` : 'all';
}
