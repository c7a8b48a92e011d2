import type { AlertNotice } from './alert-event';
import type { IdentityId } from './identity-id';
import type { CycleEnd, IdentityRecord, Registration, RegistrationFields, UnreadChangedEvent, UnreadState, WatchedIdentity } from './model';
import type { KeptEntry, OutboxEntry } from './outbox';
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
  /** Items that could not be decoded and were left out (reported to the store's `onMalformedItem`). */
  readonly unreadable?: number;
}

/** The identities a targeted poll asked for, read by key. */
export interface TargetedInput {
  readonly identities: readonly WatchedIdentity[];
  /** Asked for but not registered. */
  readonly unregistered: readonly IdentityId[];
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

/** What a write that replaces the outbox knows of it. */
export interface OutboxWrite {
  /**
   * The published entries the outbox held as read (`WatchedIdentity.delivered`): the write replaces
   * them, and is refused when the outbox holds anything else or one of them is no longer tagged
   * with the run that published it (released since, or taken over). @default none
   */
  readonly delivered?: readonly KeptEntry[];
  /** The run whose receipt answers for the entries written; absent: each is completed on its own. */
  readonly run?: string;
}

export interface ChangeToSave extends OutboxWrite {
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
export interface AlertToSave extends AlertUpdate, OutboxWrite {
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
  /**
   * `now`: the cycle's clock as it starts loading. The store may then count, without decoding,
   * the entries it can tell were published before it looked (`publishedBefore`).
   */
  loadCycle(segment?: ScanSegment, now?: number): Promise<CycleInput>;
  /** Reads just these identities by key (strongly consistent), for a targeted poll; no resume point. */
  loadIdentities(ids: readonly IdentityId[]): Promise<TargetedInput>;
  /**
   * Stores the first snapshot, as observed at `observedAt` (ISO 8601, stored as when it last
   * changed), and the alert state adopted at it (`alertState`, encoded).
   */
  saveBaseline(id: IdentityId, state: UnreadState, observedAt: string, alertState: string): Promise<boolean>;
  /**
   * Stores the new snapshot, its event, the alert state and the alert (if any) in one conditional
   * write: the version and the alert state read, and an empty outbox. The event's `observedAt` is
   * stored as when the state last changed.
   */
  saveChange(change: ChangeToSave): Promise<boolean>;
  /** Stores an alert decision without a change: the version and alert state read, and an empty outbox. */
  saveAlert(update: AlertToSave): Promise<boolean>;
  /**
   * Takes over outbox entries whose claims have expired, in one write: a compare-and-set on the
   * claim seen of every one of them. With `run`, that run's receipt answers for them from now on;
   * without, each is completed on its own.
   */
  claimPending(id: IdentityId, entries: readonly OutboxEntry[], claimUntil: number, run?: string): Promise<boolean>;
  /**
   * Removes published entries kept past `KEEP_PUBLISHED_MS` (no change replaced them), in one
   * write, each only while it is still tagged with the closed run that published it.
   */
  dropKept(id: IdentityId, entries: readonly KeptEntry[]): Promise<boolean>;
  /** The publisher accepted the entry: drop it from the outbox (the others stay). */
  completePending(id: IdentityId, entry: OutboxEntry): Promise<void>;
  /** The publisher refused the entry: keep it pending, untie it from its run, and let the next cycle take it at once. */
  releasePending(id: IdentityId, entry: OutboxEntry): Promise<void>;
  /**
   * Marks a run open, before it writes its first entry: its entries are pending while it is.
   * Answers the runs open now, this one included (runs that died stay open until pruned).
   */
  openRun(run: string): Promise<readonly string[]>;
  /**
   * The run's receipt: every entry it answers for was accepted by the publisher (or released), so
   * they are all published at once, in one write, instead of one `completePending` each.
   */
  closeRun(run: string): Promise<void>;
  /**
   * Removes those of `candidates` (open runs past their last claim) that every segment of the
   * layout (`totalSegments`, undefined: the whole table) has run a clean cycle since.
   */
  pruneRuns(candidates: readonly string[], totalSegments: number | undefined): Promise<void>;
  recordFailure(id: IdentityId, streak: number): Promise<void>;
  markNotFound(id: IdentityId): Promise<void>;
  /** A good poll after failures or a 404: reset the streak and the not-found mark. */
  clearFailures(id: IdentityId): Promise<void>;
  saveResumePoint(segment: ScanSegment | undefined, resumeFrom: IdentityId | undefined): Promise<void>;
  /**
   * A cycle over the table (or one segment of it) ran to its end: one bookkeeping write per cycle.
   * `cleanSince`: when it started, if it was clean (no identity skipped or failed); a cycle that
   * was not keeps the last clean one's time.
   */
  recordCycleEnd(segment: ScanSegment | undefined, endedAt: string, cleanSince?: number): Promise<void>;
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
