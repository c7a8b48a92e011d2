import { decideAlert, needsDecision, type AlertDecision } from './alert-decision';
import { buildAlertNotice, type AlertNotice } from './alert-event';
import { alertPolicyFingerprint, resolveAlertPolicy, type AlertPolicy } from './alert-policy';
import { fitAlert } from './alert-publication';
import { encodeAlertState, type AlertKind } from './alert-state';
import { diffUnread, type UnreadDiff } from './diff';
import { CycleAbortedWithSummary, stopsTheCycle, UnregisteredIdentitiesError } from './errors';
import { buildEvent } from './event-builder';
import { compareDecimalIds, type IdentityId } from './identity-id';
import type { Snapshot, UnreadChangedEvent, UnreadState, WatchedIdentity } from './model';
import { entriesOfWrite, eventOf, inOutboxOrder, publicationOf, type OutboxEntry, type OutboxEvent, withRun } from './outbox';
import type { CycleInput, EventPublisher, PublishResult, ScanSegment, SnapshotStore, UnreadSource } from './ports';
import { fit, type Publication } from './publication';
import { PublishQueue } from './publish-queue';
import { KEEP_PUBLISHED_MS } from './run-receipt';
import { RunReceiptKeeper, type ReceiptStage, type RunReceipt } from './run-receipt-keeper';
import { runPool } from './worker-pool';

export interface PollCycleDeps {
  readonly source: UnreadSource;
  readonly store: SnapshotStore;
  readonly publisher: EventPublisher;
  /** Epoch milliseconds; the only clock the cycle reads. */
  readonly clock: () => number;
  readonly observer?: CycleObserver;
}

/** A cycle over the whole table, over one parallel-scan segment of it, or over the given identities. */
export interface PollCycleOptions {
  /** Identities worked on at once (each needs one upstream request). */
  readonly concurrency: number;
  /** How long a cycle owns an event it stored before another cycle may publish it instead. */
  readonly claimLeaseMs: number;
  readonly segment?: ScanSegment;
  /** A targeted poll instead of a scan; not together with `segment`. */
  readonly only?: TargetedPoll;
  /** Asked before each identity starts; false stops the cycle early (the Lambda deadline). */
  readonly shouldStartMore?: () => boolean;
  /**
   * The stack-wide alert policy: the defaults of the process that runs the cycle (its
   * environment, `parseAlertDefaults`). Each identity's own values win.
   */
  readonly alertDefaults: AlertPolicy;
  /**
   * This run's receipt (`run-receipt.ts`): a cycle over the table or a segment whose runs end by a
   * deadline confirms its publications by closing the run, one write instead of one per entry.
   * Absent (and for a targeted poll): each published entry is completed on its own.
   */
  readonly receipt?: RunReceipt;
}

export type { RunReceipt } from './run-receipt-keeper';

/** What an alert decision held back or gave up, as a stored decision reports it. */
export interface AlertsHeld {
  /** Alerts that became owed and wait (cooldown, quiet hours, snooze). */
  readonly deferred: readonly AlertKind[];
  /** Owed alerts that will never go out (the identity read everything before they were due). */
  readonly dropped: readonly AlertKind[];
  /** When the next alert is due, if one is scheduled (epoch ms). */
  readonly dueAt?: number;
}

/**
 * A targeted poll: only these identities, read by key instead of scanned (`poll --identity`,
 * re-poll). Same claims, outbox and conditional writes as a cycle; it moves no resume point and
 * records no cycle end. Ids not registered are refused before any identity is polled
 * (UnregisteredIdentitiesError), or left out with `unregistered: 'ignore'`.
 */
export interface TargetedPoll {
  readonly ids: readonly IdentityId[];
  readonly unregistered: 'refuse' | 'ignore';
}

/** Hooks for logs, metrics and progress; the cycle never logs by itself. */
export interface CycleObserver {
  baselineRecorded?(id: IdentityId, state: UnreadState): void;
  identityFailed?(id: IdentityId, error: unknown, streak: number): void;
  identityNotFound?(id: IdentityId): void;
  eventStored?(event: UnreadChangedEvent): void;
  eventPublished?(event: UnreadChangedEvent): void;
  alertStored?(notice: AlertNotice): void;
  alertPublished?(notice: AlertNotice): void;
  /** A stored decision deferred or dropped alerts. */
  alertsHeld?(id: IdentityId, held: AlertsHeld): void;
  /** The publisher refused an event or an alert; it stays pending. */
  publishFailed?(event: OutboxEvent, reason: string): void;
  outboxUpdateFailed?(id: IdentityId, error: unknown): void;
  resumePointFailed?(error: unknown): void;
  cycleEndFailed?(error: unknown): void;
  /**
   * The run could not be opened or closed, or too many runs are open: entries are completed one by
   * one (opening), or sent again once their claims expire (closing). Never a lost event.
   */
  receiptFailed?(stage: ReceiptStage, detail: unknown): void;
  progress?(done: number, total: number): void;
}

export interface CycleSummary {
  identities: number;
  polled: number;
  changed: number;
  /** Change events the publisher accepted (re-sent ones included). */
  published: number;
  /**
   * Identities the cycle left undone: their poll failed (`pollFailed`), or an event or alert of
   * theirs was not accepted and stays pending (`publishFailed`). Each identity counts once.
   */
  failed: number;
  notFound: number;
  durationMs: number;
  baselines: number;
  /** Alerts the publisher accepted (re-sent ones included). */
  alertsSent: number;
  /** Alerts that became owed and were held back (cooldown, quiet hours, snooze); each goes out later or is dropped. */
  alertsDeferred: number;
  /** Owed alerts given up: the identity stopped waiting before they were due. */
  alertsDropped: number;
  /** Events and alerts sent again from the outbox (an earlier publish failed or its cycle died). */
  resent: number;
  /** Identities whose poll failed: the upstream's answer, or storing what it answered. */
  pollFailed: number;
  /** Events and alerts the publisher did not accept; they stay pending and go out first next cycle. */
  publishFailed: number;
  /** Writes refused because an overlapping cycle had already stored the same change. */
  conflicts: number;
  /** Identities not started: the deadline came first, or another cycle owns their pending events. */
  skipped: number;
  publishRequests: number;
  /** Entries this run's receipt published (closing the run), each without a write of its own. */
  receipted: number;
  /** Published entries kept in their items past `KEEP_PUBLISHED_MS` and removed (one write per identity). */
  keptDropped: number;
  /** Set when the deadline stopped the cycle; the next cycle of the segment starts here. */
  resumeFrom?: IdentityId;
}

/**
 * Identities were there to poll and not one poll succeeded: one cause for all of them, such as
 * a wrong API_BASE_URL or CommBox down. A cycle that only resent or skipped is not this.
 */
export function noIdentityCouldBePolled(summary: CycleSummary): boolean {
  return summary.pollFailed > 0 && summary.polled === 0 && summary.notFound === 0;
}

/**
 * One poll cycle: load the registry slice (or the targeted identities), then for each identity
 * either resend its pending events or poll it, record what changed and decide its alert,
 * publish, and note where the cycle stopped and when it ended.
 * Resolves with the summary. A cycle that cannot go on (a 401, an unreadable token, an
 * unreadable registry) rejects with CycleAbortedWithSummary, after publishing what it stored.
 */
export function runPollCycle(deps: PollCycleDeps, options: PollCycleOptions): Promise<CycleSummary> {
  return new PollCycle(deps, options).run();
}

/**
 * The steps of one cycle, in the order they run: `run` → `load` → per identity `processIdentity`
 * (`resendPending`, or `pollIdentity` → `recordNotFound` | `recordBaseline` | `recordChange` |
 * `recordNoChange`, or `identityFailed`) → `settle` per publish result → `saveResumePoint` →
 * `recordCycleEnd` (these two not for a targeted poll).
 * The alert step runs inside the record steps: a baseline adopts the alert state; a change is
 * decided and stored with its alert in one write; with no change, a due alert or a changed
 * policy is decided and stored in a write of its own (`recordAlertOnly`), and nothing else is.
 * Its state: the summary every step adds to, the progress count and the cause that stopped it.
 */
class PollCycle {
  private readonly startedAt: number;
  private readonly summary: CycleSummary = {
    identities: 0, polled: 0, changed: 0, published: 0, failed: 0, notFound: 0, durationMs: 0,
    baselines: 0, alertsSent: 0, alertsDeferred: 0, alertsDropped: 0, resent: 0, pollFailed: 0, publishFailed: 0, conflicts: 0,
    skipped: 0, publishRequests: 0, receipted: 0, keptDropped: 0,
  };
  /** Events and alerts go out in batches while identities are still polled; results come back to `settle`. */
  private readonly queue: PublishQueue<OutboxEntry>;
  /** The defaults' effective policy, resolved once: most identities have no policy of their own. */
  private readonly defaultPolicy: EffectivePolicy;
  /** Identities with an entry the publisher refused this cycle (each counts once in `failed`). */
  private readonly publishFailedIds = new Set<IdentityId>();
  /** The first 401 or unreadable token: no identity starts after it and the cycle aborts. */
  private stopCause: unknown;
  private done = 0;
  /** This run's receipt: tags, what it covers, closing and pruning (none for a targeted poll). */
  private readonly receipt: RunReceiptKeeper;

  constructor(
    private readonly deps: PollCycleDeps,
    private readonly options: PollCycleOptions,
  ) {
    this.startedAt = deps.clock();
    this.queue = new PublishQueue(deps.publisher, (entry, result) => this.settle(entry, result));
    this.receipt = new RunReceiptKeeper(deps.store, deps.clock, options.only ? undefined : options.receipt, (stage, detail) =>
      deps.observer?.receiptFailed?.(stage, detail),
    );
    this.defaultPolicy = effectivePolicy(options.alertDefaults);
  }

  async run(): Promise<CycleSummary> {
    if (this.options.only && this.options.segment) throw new Error('a targeted poll reads its identities by key: it takes no scan segment');
    const input = await this.load();
    // An item left out unread may hold a dead run's entry this cycle cannot take over.
    if (input.unreadable) this.receipt.takeoverIncomplete();
    const ordered = orderForCycle(input.identities, input.resumeFrom);
    this.summary.identities = ordered.length;
    const started = await runPool(ordered, this.options.concurrency, (watched) => this.processIdentity(watched), () => this.mayStartMore());
    // Events already stored are published even when the cycle stops: nothing waits for a lease.
    await this.queue.drain();
    this.summary.receipted = await this.receipt.close();
    this.summary.publishRequests = this.queue.requests;
    this.summary.skipped += ordered.length - started;
    if (this.stopCause !== undefined) throw this.abort(`cycle aborted: ${describe(this.stopCause)}`, this.stopCause);
    this.summary.durationMs = this.elapsed();
    // A targeted poll is not a cycle of the table: where the table's cycles stand is not its business.
    if (this.options.only) return this.summary;
    await this.saveResumePoint(ordered[started]?.id, input.resumeFrom);
    await this.recordCycleEnd();
    await this.receipt.pruneDead(this.options.segment?.totalSegments);
    return this.summary;
  }

  private async load(): Promise<CycleInput> {
    const only = this.options.only;
    let input: CycleInput & { unregistered?: readonly IdentityId[] };
    try {
      input = only ? await this.deps.store.loadIdentities(only.ids) : await this.deps.store.loadCycle(this.options.segment, this.deps.clock());
    } catch (error) {
      throw this.abort(`cannot read the registry: ${describe(error)}`, error);
    }
    if (only?.unregistered === 'refuse' && input.unregistered?.length) throw new UnregisteredIdentitiesError(input.unregistered);
    return input;
  }

  private mayStartMore(): boolean {
    return this.stopCause === undefined && (this.options.shouldStartMore?.() ?? true);
  }

  /** An identity with pending events only gets them resent: its next change and alert wait until they are out. */
  private async processIdentity(watched: WatchedIdentity): Promise<void> {
    try {
      if (watched.outbox && watched.outbox.length > 0) await this.resendPending(watched, watched.outbox);
      else await this.pollIdentity(watched);
    } catch (error) {
      await this.identityFailed(watched, error);
    } finally {
      this.done += 1;
      this.deps.observer?.progress?.(this.done, this.summary.identities);
    }
  }

  /**
   * Takes over the pending entries once every claim on them has expired (their cycle died or
   * their publish was refused) and queues them in order. While another cycle still owns one of
   * them the identity waits, so its entries never go out of order.
   */
  private async resendPending(watched: WatchedIdentity, outbox: readonly OutboxEntry[]): Promise<void> {
    const now = this.deps.clock();
    if (outbox.some((entry) => entry.claimUntil > now)) {
      this.summary.skipped += 1;
      return;
    }
    const claimUntil = now + this.options.claimLeaseMs;
    let rendered: (readonly [OutboxEntry, Publication])[];
    let claimed: boolean;
    const run = await this.receipt.tagForWrite();
    try {
      // Rendered before the claim: an entry that cannot be rendered is never claimed and left unqueued.
      rendered = inOutboxOrder(outbox).map((entry) => [entry, publicationOf(entry)] as const);
      claimed = await this.receipt.guard(() => this.deps.store.claimPending(watched.id, outbox, claimUntil, run));
    } catch (error) {
      // Pending entries this cycle could not take over: a dead run's may still carry its id.
      this.receipt.takeoverIncomplete();
      throw error;
    }
    if (!claimed) {
      this.summary.conflicts += 1;
      return;
    }
    for (const [entry, publication] of rendered) {
      this.summary.resent += 1;
      this.queue.add(withRun({ ...entry, claimUntil }, run), publication);
    }
  }

  private async pollIdentity(watched: WatchedIdentity): Promise<void> {
    const outcome = await this.deps.source.fetchUnread(watched.id);
    if (outcome.kind === 'not-found') {
      await this.recordNotFound(watched);
      return;
    }
    this.summary.polled += 1;
    const policy = this.policyOf(watched);
    if (!watched.snapshot) {
      await this.recordBaseline(watched, outcome.state, policy);
      return;
    }
    const diff = diffUnread(watched.snapshot.state, outcome.state);
    if (diff) await this.recordChange(watched, watched.snapshot, outcome.state, diff, policy);
    else await this.recordNoChange(watched, watched.snapshot, policy);
  }

  private policyOf(watched: WatchedIdentity): EffectivePolicy {
    const own = watched.alertPolicy;
    if (!own || Object.keys(own).length === 0) return this.defaultPolicy;
    return effectivePolicy(resolveAlertPolicy(own, this.options.alertDefaults).policy);
  }

  private async recordNotFound(watched: WatchedIdentity): Promise<void> {
    this.summary.notFound += 1;
    this.deps.observer?.identityNotFound?.(watched.id);
    if (!watched.notFound) await this.deps.store.markNotFound(watched.id);
  }

  /** The first good poll: stored with the alert state adopted at it, never published. */
  private async recordBaseline(watched: WatchedIdentity, state: UnreadState, { policy }: EffectivePolicy): Promise<void> {
    const now = this.deps.clock();
    const decision = decideAlert({ policy, ...(watched.alert ? { state: watched.alert.state } : {}), next: state, now, isBaseline: true });
    if (!(await this.deps.store.saveBaseline(watched.id, state, new Date(now).toISOString(), encodeAlertState(decision.state)))) {
      this.summary.conflicts += 1;
      return;
    }
    this.summary.baselines += 1;
    this.deps.observer?.baselineRecorded?.(watched.id, state);
  }

  /**
   * Nothing to write, unless the identity has a failure streak or a not-found mark to clear, or
   * an alert decision to store (an alert due, a changed policy re-timing one in flight).
   */
  private async recordNoChange(watched: WatchedIdentity, snapshot: Snapshot, policy: EffectivePolicy): Promise<void> {
    if (watched.failureStreak > 0 || watched.notFound) await this.deps.store.clearFailures(watched.id);
    if (!(await this.recordAlertOnly(watched, snapshot, policy))) await this.dropKeptTooLong(watched);
  }

  /**
   * Published events a change would have replaced stay in the item; past `KEEP_PUBLISHED_MS`
   * reading them every cycle costs more than one write that removes them.
   */
  private async dropKeptTooLong(watched: WatchedIdentity): Promise<void> {
    const kept = watched.delivered ?? [];
    const now = this.deps.clock();
    if (kept.length === 0 || !kept.every((entry) => entry.claimUntil <= now - KEEP_PUBLISHED_MS)) return;
    if (await this.deps.store.dropKept(watched.id, kept)) this.summary.keptDropped += kept.length;
  }

  /**
   * A time-only alert decision: costs nothing unless `needsDecision`, and writes only what it
   * changed. True when it tried to write (the item is not the one read any more).
   */
  private async recordAlertOnly(watched: WatchedIdentity, snapshot: Snapshot, { policy, fingerprint }: EffectivePolicy): Promise<boolean> {
    const stored = watched.alert;
    const now = this.deps.clock();
    if (!stored || !needsDecision(stored.state, fingerprint, now, false)) return false;
    const decision = decideAlert({ policy, state: stored.state, previous: snapshot.state, now, isBaseline: false });
    const next = encodeAlertState(decision.state);
    if (!decision.alert && next === stored.encoded) return false;
    const notice = this.noticeOf(watched, decision, policy);
    const claimUntil = now + this.options.claimLeaseMs;
    const run = notice ? await this.receipt.tagForWrite() : undefined;
    const saved = await this.receipt.guard(() =>
      this.deps.store.saveAlert({
        id: watched.id,
        version: snapshot.version,
        seen: stored.encoded,
        next,
        ...(notice ? { notice: notice.notice } : {}),
        claimUntil,
        ...(watched.delivered?.length ? { delivered: watched.delivered } : {}),
        ...(run ? { run } : {}),
      }),
    );
    if (!saved) {
      // An overlapping cycle decided (or stored a change) first; it sends what is owed.
      this.summary.conflicts += 1;
      return true;
    }
    this.reportDecision(watched, decision, notice?.notice);
    const [entry] = entriesOfWrite(claimUntil, undefined, notice?.notice, run);
    if (entry && notice) this.queue.add(entry, notice.publication);
    return true;
  }

  /**
   * The new snapshot, its event, the alert decision and its alert are stored in one conditional
   * write before anything is queued.
   */
  private async recordChange(watched: WatchedIdentity, snapshot: Snapshot, state: UnreadState, diff: UnreadDiff, { policy }: EffectivePolicy): Promise<void> {
    const now = this.deps.clock();
    const { event, publication } = fit(
      buildEvent({
        identityId: watched.id,
        ...(watched.label ? { label: watched.label } : {}),
        fromVersion: snapshot.version,
        previous: snapshot.state,
        next: state,
        diff,
        observedAt: new Date(now),
      }),
    );
    const decision = decideAlert({ policy, ...(watched.alert ? { state: watched.alert.state } : {}), previous: snapshot.state, next: state, now, isBaseline: false });
    const notice = this.noticeOf(watched, decision, policy);
    const claimUntil = now + this.options.claimLeaseMs;
    const run = await this.receipt.tagForWrite();
    const stored = await this.receipt.guard(() =>
      this.deps.store.saveChange({
        id: watched.id,
        expectedVersion: snapshot.version,
        state,
        event,
        claimUntil,
        alert: {
          ...(watched.alert ? { seen: watched.alert.encoded } : {}),
          next: encodeAlertState(decision.state),
          ...(notice ? { notice: notice.notice } : {}),
        },
        ...(watched.delivered?.length ? { delivered: watched.delivered } : {}),
        ...(run ? { run } : {}),
      }),
    );
    if (!stored) {
      // An overlapping cycle stored this change (or a later one, or an alert) first and publishes it.
      this.summary.conflicts += 1;
      return;
    }
    this.summary.changed += 1;
    this.deps.observer?.eventStored?.(event);
    this.reportDecision(watched, decision, notice?.notice);
    const [change, alert] = entriesOfWrite(claimUntil, event, notice?.notice, run);
    if (change) this.queue.add(change, publication);
    if (alert && notice) this.queue.add(alert, notice.publication);
  }

  /** The alert of a decision, fitted to the publisher's limits, with its rendering. */
  private noticeOf(watched: WatchedIdentity, decision: AlertDecision, policy: AlertPolicy): ReturnType<typeof fitAlert> | undefined {
    if (!decision.alert) return undefined;
    return fitAlert(buildAlertNotice({ identityId: watched.id, ...(watched.label ? { label: watched.label } : {}), alert: decision.alert, timeZone: policy.timeZone }));
  }

  /** After a decision was stored: count and report what it held back and the alert it sends. */
  private reportDecision(watched: WatchedIdentity, decision: AlertDecision, notice: AlertNotice | undefined): void {
    this.summary.alertsDeferred += decision.deferred.length;
    this.summary.alertsDropped += decision.dropped.length;
    if (decision.deferred.length > 0 || decision.dropped.length > 0) {
      const { dueAt } = decision.state;
      this.deps.observer?.alertsHeld?.(watched.id, { deferred: decision.deferred, dropped: decision.dropped, ...(dueAt !== undefined ? { dueAt } : {}) });
    }
    if (notice) this.deps.observer?.alertStored?.(notice);
  }

  /** A 401 or an unreadable token stops the cycle; any other error fails this identity only. */
  private async identityFailed(watched: WatchedIdentity, error: unknown): Promise<void> {
    if (stopsTheCycle(error)) {
      this.stopCause ??= error;
      return;
    }
    this.summary.pollFailed += 1;
    this.summary.failed += 1;
    const streak = watched.failureStreak + 1;
    this.deps.observer?.identityFailed?.(watched.id, error, streak);
    try {
      await this.deps.store.recordFailure(watched.id, streak);
    } catch (storeError) {
      this.deps.observer?.outboxUpdateFailed?.(watched.id, storeError);
    }
  }

  /** The publisher's answer for one entry: accepted leaves the outbox, refused is released for the next cycle. */
  private async settle(entry: OutboxEntry, result: PublishResult): Promise<void> {
    const event = eventOf(entry);
    try {
      if (result.ok) {
        if (entry.kind === 'change') {
          this.summary.published += 1;
          this.deps.observer?.eventPublished?.(entry.event);
        } else {
          this.summary.alertsSent += 1;
          this.deps.observer?.alertPublished?.(entry.notice);
        }
        // An entry of this run is published by the run's receipt, not by a write of its own.
        if (!this.receipt.covers(entry)) await this.deps.store.completePending(event.identityId, entry);
      } else {
        this.summary.publishFailed += 1;
        // Its identity is left undone this cycle: the change or alert is stored, but nobody has heard of it yet.
        // Counted once per identity, though its change and its alert may both be refused.
        if (!this.publishFailedIds.has(event.identityId)) {
          this.publishFailedIds.add(event.identityId);
          this.summary.failed += 1;
        }
        this.deps.observer?.publishFailed?.(event, result.reason);
        await this.receipt.guard(() => this.deps.store.releasePending(event.identityId, entry));
      }
    } catch (error) {
      // The entry stays pending under its claim; a later cycle sends it again with the same id.
      this.deps.observer?.outboxUpdateFailed?.(event.identityId, error);
    }
  }

  /** Where the next cycle of this segment starts: the first identity not started, or the beginning. */
  private async saveResumePoint(resumeFrom: IdentityId | undefined, previous: IdentityId | undefined): Promise<void> {
    if (resumeFrom !== undefined) this.summary.resumeFrom = resumeFrom;
    if (resumeFrom === undefined && previous === undefined) return;
    try {
      await this.deps.store.saveResumePoint(this.options.segment, resumeFrom);
    } catch (error) {
      this.deps.observer?.resumePointFailed?.(error);
    }
  }

  /** One bookkeeping write per cycle, so `identities show` can say when the table was last polled through. */
  private async recordCycleEnd(): Promise<void> {
    try {
      // Clean for pruning: every identity was started and every dead run's entry it met was taken
      // over (a failed poll holds no pending entry; a refused publish is released, untagged).
      const clean = this.receipt.isClean(this.summary.skipped);
      await this.deps.store.recordCycleEnd(this.options.segment, new Date(this.deps.clock()).toISOString(), clean ? this.startedAt : undefined);
    } catch (error) {
      this.deps.observer?.cycleEndFailed?.(error);
    }
  }

  private abort(message: string, cause: unknown): CycleAbortedWithSummary {
    this.summary.durationMs = this.elapsed();
    return new CycleAbortedWithSummary(message, this.summary, { cause });
  }

  private elapsed(): number {
    return this.deps.clock() - this.startedAt;
  }
}

/** An effective alert policy with its fingerprint (what `needsDecision` compares with the stored state). */
interface EffectivePolicy {
  readonly policy: AlertPolicy;
  readonly fingerprint: string;
}

function effectivePolicy(policy: AlertPolicy): EffectivePolicy {
  return { policy, fingerprint: alertPolicyFingerprint(policy) };
}

/** Id order, rotated so that a cycle cut short by its deadline is continued where it stopped. */
export function orderForCycle(identities: readonly WatchedIdentity[], resumeFrom?: IdentityId): WatchedIdentity[] {
  const sorted = [...identities].sort((a, b) => compareDecimalIds(a.id, b.id));
  if (resumeFrom === undefined) return sorted;
  const start = sorted.findIndex((w) => compareDecimalIds(w.id, resumeFrom) >= 0);
  return start <= 0 ? sorted : [...sorted.slice(start), ...sorted.slice(0, start)];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
