import type { AlertNotice } from './alert-event';
import type { IdentityId } from './identity-id';
import type { Registration, UnreadChangedEvent, UnreadState, WatchedIdentity } from './model';
import type { OutboxEntry } from './outbox';
import type { Publication } from './publication';

/** One parallel-scan slice of the registry. */
export interface ScanSegment {
  readonly segment: number;
  readonly totalSegments: number;
}

export type FetchOutcome = { readonly kind: 'ok'; readonly state: UnreadState } | { readonly kind: 'not-found' };

/**
 * The upstream: CommBox. Throws UpstreamUnauthorizedError or TokenUnavailableError (either aborts
 * the cycle) or UpstreamError (fails one identity).
 */
export interface UnreadSource {
  fetchUnread(id: IdentityId): Promise<FetchOutcome>;
}

export interface CycleInput {
  readonly identities: readonly WatchedIdentity[];
  /** Where the previous cycle of this segment stopped at its deadline, if it did. */
  readonly resumeFrom?: IdentityId;
}

/**
 * An alert decision to store. The write is refused when the stored alert state is no longer the
 * one the decision started from (`seen`): an overlapping cycle decided first, and two cycles
 * never both send an alert.
 */
export interface AlertUpdate {
  /** The encoded alert state as read; undefined when none was stored. */
  readonly seen?: string;
  /** The encoded alert state to store. */
  readonly next: string;
  /** An alert to put in the outbox (with its claim), if the decision sends one. */
  readonly notice?: AlertNotice;
}

export interface ChangeToSave {
  readonly id: IdentityId;
  readonly expectedVersion: number;
  readonly state: UnreadState;
  readonly event: UnreadChangedEvent;
  /** The claim of the change event and of the alert stored with it. */
  readonly claimUntil: number;
  /** The alert decision made on this change, stored in the same conditional write. */
  readonly alert: AlertUpdate;
}

/** An alert decision when only time passed (or the policy changed): no new snapshot. */
export interface AlertToSave extends AlertUpdate {
  readonly id: IdentityId;
  /** The snapshot version the decision was made on; the write is refused if a change was stored meanwhile. */
  readonly version: number;
  readonly seen: string;
  readonly claimUntil: number;
}

/**
 * Snapshots and the outbox. Every `boolean` write is conditional and answers false when another
 * cycle got there first; nothing else may be inferred from false.
 */
export interface SnapshotStore {
  loadCycle(segment?: ScanSegment): Promise<CycleInput>;
  /** Stores the first snapshot and the alert state adopted at it (`alertState`, encoded). */
  saveBaseline(id: IdentityId, state: UnreadState, alertState: string): Promise<boolean>;
  /**
   * Stores the new snapshot, its event, the alert state and the alert (if any) in one conditional
   * write: the version and the alert state read, and an empty outbox.
   */
  saveChange(change: ChangeToSave): Promise<boolean>;
  /** Stores an alert decision without a change: the version and alert state read, and an empty outbox. */
  saveAlert(update: AlertToSave): Promise<boolean>;
  /**
   * Takes over outbox entries whose claims have expired, in one write: a compare-and-set on the
   * claim seen of every one of them.
   */
  claimPending(id: IdentityId, entries: readonly OutboxEntry[], claimUntil: number): Promise<boolean>;
  /** The publisher accepted the entry: drop it from the outbox (the others stay). */
  completePending(id: IdentityId, entry: OutboxEntry): Promise<void>;
  /** The publisher refused the entry: keep it pending and let the next cycle take it at once. */
  releasePending(id: IdentityId, entry: OutboxEntry): Promise<void>;
  recordFailure(id: IdentityId, streak: number): Promise<void>;
  markNotFound(id: IdentityId): Promise<void>;
  /** A good poll after failures or a 404: reset the streak and the not-found mark. */
  clearFailures(id: IdentityId): Promise<void>;
  saveResumePoint(segment: ScanSegment | undefined, resumeFrom: IdentityId | undefined): Promise<void>;
}

/** `stack`: a table with the stack's protections (in AWS); `plain`: the key schema only (a local run). */
export type TableSetup = 'stack' | 'plain';

/** The registry the CLI manages. */
export interface IdentityRegistry {
  ensureReady(setup: TableSetup): Promise<'created' | 'exists'>;
  register(id: IdentityId, label?: string): Promise<'added' | 'updated'>;
  unregister(id: IdentityId): Promise<boolean>;
  list(): Promise<Registration[]>;
}

export type PublishResult = { readonly eventId: string; readonly ok: true } | { readonly eventId: string; readonly ok: false; readonly reason: string };

/** Sends one batch (at most 10 entries, at most 256 KB); answers per entry, never throws for an entry. */
export interface EventPublisher {
  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]>;
}
