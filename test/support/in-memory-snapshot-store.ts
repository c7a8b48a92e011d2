import { decodeAlertState } from '../../lambda/core/alert-state';
import type { IdentityId } from '../../lambda/core/identity-id';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { UnreadState, WatchedIdentity } from '../../lambda/core/model';
import { entriesOfWrite, inOutboxOrder, pendingOf, type KeptEntry, type OutboxEntry, withDeliveredSetAside, withRun } from '../../lambda/core/outbox';
import type { AlertToSave, AlertUpdate, ChangeToSave, CycleInput, OutboxWrite, ScanSegment, SnapshotStore, TargetedInput } from '../../lambda/core/ports';
import { prunableRuns } from '../../lambda/core/run-receipt';

/** One identity's item: what a Scan hands the cycle is all the item holds. */
export type StoredIdentity = WatchedIdentity;

export type StoreOperation = keyof SnapshotStore;

/**
 * The SnapshotStore port in memory, with the DynamoDB store's conditions: a baseline only where
 * none is stored; a change or an alert decision only on the version and alert state read and
 * with nothing pending; a claim only by compare-and-set on the claims seen; outbox updates only
 * for the entry they name; and no write to an identity that is not registered. `loadCycle` and
 * `loadIdentities` hand out copies, as a Scan and a BatchGetItem do, so the store can move on
 * under a cycle that already read it.
 */
export class InMemorySnapshotStore implements SnapshotStore {
  /** Calls per operation, refused writes included. */
  readonly calls: Record<StoreOperation, number> = {
    loadCycle: 0, loadIdentities: 0, saveBaseline: 0, saveChange: 0, saveAlert: 0, claimPending: 0, completePending: 0, releasePending: 0,
    recordFailure: 0, markNotFound: 0, clearFailures: 0, saveResumePoint: 0, recordCycleEnd: 0, openRun: 0, closeRun: 0, pruneRuns: 0, dropKept: 0,
  };
  /** Runs open now (`run-receipt.ts`): their entries are pending; a closed run's entries are delivered. */
  readonly openRuns = new Set<string>();
  /** The writes to identities and resume points made, in order, refused ones included; cycle ends are in `cycleEnd`. */
  readonly writes: StoreOperation[] = [];
  private readonly items = new Map<IdentityId, StoredIdentity>();
  private readonly resumePoints = new Map<string, IdentityId>();
  private readonly cycleEnds = new Map<string, string>();
  private readonly cleanSince = new Map<string, number>();
  /** Items a scan of this store "could not decode": reported by `loadCycle`, as the DynamoDB store does. */
  unreadableItems = 0;
  private readonly interceptors: { operation: StoreOperation; action: () => void }[] = [];

  /** Registers an identity, optionally with what earlier cycles stored for it. */
  put(id: string, item: Partial<Omit<StoredIdentity, 'id'>> = {}): this {
    const identityId = parseIdentityId(id);
    const outbox = item.outbox ? inOutboxOrder(item.outbox) : undefined;
    this.items.set(identityId, { failureStreak: 0, notFound: false, ...item, ...(outbox ? { outbox } : {}), id: identityId });
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
        .map((id) => this.asRead(this.items.get(id) as StoredIdentity));
      const resumeFrom = this.resumePoint(segment);
      return { identities, ...(resumeFrom !== undefined ? { resumeFrom } : {}), ...(this.unreadableItems > 0 ? { unreadable: this.unreadableItems } : {}) };
    });
  }

  loadIdentities(ids: readonly IdentityId[]): Promise<TargetedInput> {
    return this.run('loadIdentities', () => {
      const unique = [...new Set(ids)];
      return {
        identities: unique.filter((id) => this.items.has(id)).map((id) => this.asRead(this.items.get(id) as StoredIdentity)),
        unregistered: unique.filter((id) => !this.items.has(id)),
      };
    });
  }

  /** A copy as a cycle reads it: the entries of closed runs set aside as `delivered`. */
  private asRead(item: StoredIdentity): StoredIdentity {
    return withDeliveredSetAside(structuredClone(item), this.openRuns);
  }

  /** Entries of closed runs: published, kept until the item's next write. */
  deliveredEntries(id: string): OutboxEntry[] {
    return (this.get(id)?.outbox ?? []).filter((e) => e.run !== undefined && !this.openRuns.has(e.run));
  }

  /** Entries still to be published. */
  pendingEntries(id: string): OutboxEntry[] {
    return pendingOf(this.get(id)?.outbox ?? [], this.openRuns).pending;
  }

  openRun(run: string): Promise<readonly string[]> {
    return this.run('openRun', () => {
      this.openRuns.add(run);
      return [...this.openRuns];
    });
  }

  closeRun(run: string): Promise<void> {
    return this.run('closeRun', () => void this.openRuns.delete(run));
  }

  pruneRuns(candidates: readonly string[], totalSegments: number | undefined): Promise<void> {
    return this.run('pruneRuns', () => {
      const segments = totalSegments === undefined ? [undefined] : Array.from({ length: totalSegments }, (_, segment) => ({ segment, totalSegments }));
      for (const run of prunableRuns(candidates, segments.map((segment) => this.cleanSince.get(segmentKey(segment))))) this.openRuns.delete(run);
    });
  }

  saveBaseline(id: IdentityId, state: UnreadState, observedAt: string, alertState: string): Promise<boolean> {
    return this.write(
      'saveBaseline',
      id,
      (item) => !item.snapshot,
      (item) => ({ ...item, snapshot: { version: 1, state, changedAt: observedAt }, alert: stored(alertState), failureStreak: 0, notFound: false }),
    );
  }

  saveChange(change: ChangeToSave): Promise<boolean> {
    const entries = entriesOfWrite(change.claimUntil, change.event, change.alert.notice, change.run);
    return this.write(
      'saveChange',
      change.id,
      (item) => item.snapshot?.version === change.expectedVersion && onlyDelivered(item, change) && alertStateIs(item, change.alert),
      (item) => ({
        ...item,
        snapshot: { version: change.expectedVersion + 1, state: change.state, changedAt: change.event.observedAt },
        outbox: entries,
        alert: stored(change.alert.next),
        failureStreak: 0,
        notFound: false,
      }),
    );
  }

  saveAlert(update: AlertToSave): Promise<boolean> {
    return this.write(
      'saveAlert',
      update.id,
      (item) => item.snapshot?.version === update.version && onlyDelivered(item, update) && alertStateIs(item, update),
      (item) => ({
        ...item,
        ...(update.notice ? { outbox: entriesOfWrite(update.claimUntil, undefined, update.notice, update.run) } : {}),
        alert: stored(update.next),
      }),
    );
  }

  claimPending(id: IdentityId, entries: readonly OutboxEntry[], claimUntil: number, run?: string): Promise<boolean> {
    return this.write(
      'claimPending',
      id,
      (item) => entries.every((entry) => item.outbox?.find((e) => e.eventId === entry.eventId)?.claimUntil === entry.claimUntil),
      (item) => ({
        ...item,
        outbox: (item.outbox ?? []).map((e) => (entries.some((entry) => entry.eventId === e.eventId) ? withRun({ ...e, claimUntil }, run) : e)),
      }),
    );
  }

  dropKept(id: IdentityId, entries: readonly KeptEntry[]): Promise<boolean> {
    return this.write(
      'dropKept',
      id,
      (item) => entries.every((kept) => item.outbox?.find((e) => e.eventId === kept.eventId)?.run === kept.run),
      ({ outbox, ...item }) => {
        const left = (outbox ?? []).filter((e) => !entries.some((kept) => kept.eventId === e.eventId));
        return left.length > 0 ? { ...item, outbox: left } : item;
      },
    );
  }

  async completePending(id: IdentityId, entry: OutboxEntry): Promise<void> {
    await this.write(
      'completePending',
      id,
      (item) => item.outbox?.some((e) => e.eventId === entry.eventId) === true,
      ({ outbox, ...item }) => {
        const left = (outbox ?? []).filter((e) => e.eventId !== entry.eventId);
        return left.length > 0 ? { ...item, outbox: left } : item;
      },
    );
  }

  async releasePending(id: IdentityId, entry: OutboxEntry): Promise<void> {
    await this.write(
      'releasePending',
      id,
      (item) => item.outbox?.some((e) => e.eventId === entry.eventId) === true,
      (item) => ({ ...item, outbox: (item.outbox ?? []).map((e) => (e.eventId === entry.eventId ? withRun({ ...e, claimUntil: 0 }, undefined) : e)) }),
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

  recordCycleEnd(segment: ScanSegment | undefined, endedAt: string, cleanSince?: number): Promise<void> {
    return this.run('recordCycleEnd', () => {
      this.cycleEnds.set(segmentKey(segment), endedAt);
      if (cleanSince !== undefined) this.cleanSince.set(segmentKey(segment), cleanSince);
    });
  }

  /** When the segment's last clean cycle started, if one is on record. */
  lastCleanCycle(segment?: ScanSegment): number | undefined {
    return this.cleanSince.get(segmentKey(segment));
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

/** The outbox holds just the entries of closed runs the writer read (DynamoDB: its size, on the version and alert state read). */
function onlyDelivered(item: StoredIdentity, write: OutboxWrite): boolean {
  const kept = write.delivered ?? [];
  const outbox = item.outbox ?? [];
  return outbox.length === kept.length && kept.every((k) => outbox.some((e) => e.eventId === k.eventId && e.run === k.run));
}


function alertStateIs(item: StoredIdentity, update: AlertUpdate): boolean {
  return item.alert?.encoded === update.seen;
}

function stored(encoded: string): { state: ReturnType<typeof decodeAlertState>; encoded: string } {
  return { state: decodeAlertState(encoded), encoded };
}

function segmentKey(segment?: ScanSegment): string {
  return segment ? `${segment.segment}/${segment.totalSegments}` : 'all';
}
