import type { IdentityId } from './identity-id';
import type { CycleEnd, IdentityRecord, Registration, RegistrationFields, UnreadChangedEvent, UnreadState, WatchedIdentity } from './model';
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

/** The identities a targeted poll asked for, read by key. */
export interface TargetedInput {
  readonly identities: readonly WatchedIdentity[];
  /** Asked for but not registered. */
  readonly unregistered: readonly IdentityId[];
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
  /** Reads just these identities by key (strongly consistent), for a targeted poll; no resume point. */
  loadIdentities(ids: readonly IdentityId[]): Promise<TargetedInput>;
  /** `observedAt` (ISO 8601) is stored with the state as when it last changed. */
  saveBaseline(id: IdentityId, state: UnreadState, observedAt: string): Promise<boolean>;
  /**
   * Stores the new snapshot and its pending event in one conditional write (version and no
   * pending); the event's `observedAt` is stored as when the state last changed.
   */
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
  /** A cycle over the table (or one segment of it) ran to its end: one bookkeeping write per cycle. */
  recordCycleEnd(segment: ScanSegment | undefined, endedAt: string): Promise<void>;
}

/** `stack`: a table with the stack's protections (in AWS); `plain`: the key schema only (a local run). */
export type TableSetup = 'stack' | 'plain';

/** The registry and everything stored beside it, as the CLI reads and manages them. */
export interface IdentityRegistry {
  ensureReady(setup: TableSetup): Promise<'created' | 'exists'>;
  /** Registers an identity that is not registered; one that is stays exactly as it is. */
  register(id: IdentityId, fields?: RegistrationFields): Promise<'added' | 'already-there'>;
  /** Changes only the given fields of a registered identity; false (nothing written) when it is not registered. */
  update(id: IdentityId, fields: RegistrationFields): Promise<boolean>;
  /** Removes an identity with everything stored for it; false when it was not registered. */
  unregister(id: IdentityId): Promise<boolean>;
  /** Which of these ids are registered (a strongly consistent read). */
  registeredAmong(ids: readonly IdentityId[]): Promise<Set<IdentityId>>;
  /** Everything stored for one identity; undefined when it is not registered. Throws MalformedItemError for a broken item. */
  get(id: IdentityId): Promise<IdentityRecord | undefined>;
  list(): Promise<Registration[]>;
  /** The registrations and the cycle ends, from one read of the table. */
  listing(): Promise<{ registrations: Registration[]; cycleEnds: CycleEnd[] }>;
  /** When cycles last ended, per segment (a read of the table's bookkeeping). */
  cycleEnds(): Promise<CycleEnd[]>;
}

export type PublishResult = { readonly eventId: string; readonly ok: true } | { readonly eventId: string; readonly ok: false; readonly reason: string };

/** Sends one batch (at most 10 entries, at most 256 KB); answers per entry, never throws for an entry. */
export interface EventPublisher {
  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]>;
}
