import type { IdentityId } from './identity-id';
import type { Registration, UnreadChangedEvent, UnreadState, WatchedIdentity } from './model';
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

export interface ChangeToSave {
  readonly id: IdentityId;
  readonly expectedVersion: number;
  readonly state: UnreadState;
  readonly event: UnreadChangedEvent;
  readonly claimUntil: number;
}

/**
 * Snapshots and the outbox. Every `boolean` write is conditional and answers false when another
 * cycle got there first; nothing else may be inferred from false.
 */
export interface SnapshotStore {
  loadCycle(segment?: ScanSegment): Promise<CycleInput>;
  saveBaseline(id: IdentityId, state: UnreadState): Promise<boolean>;
  /** Stores the new snapshot and its pending event in one conditional write (version and no pending). */
  saveChange(change: ChangeToSave): Promise<boolean>;
  /** Takes over a pending event whose claim has expired: compare-and-set on the claim seen. */
  claimPending(id: IdentityId, eventId: string, seenClaimUntil: number, claimUntil: number): Promise<boolean>;
  /** The publisher accepted the event: drop it from the outbox. */
  completePending(id: IdentityId, eventId: string): Promise<void>;
  /** The publisher refused the event: keep it pending and let the next cycle take it at once. */
  releasePending(id: IdentityId, eventId: string): Promise<void>;
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
