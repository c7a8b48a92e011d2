/**
 * The soak test's instruments: decorators around the real ports that record what happened
 * (a history the model checks afterwards), inject SNS faults, and kill a cycle between two of
 * its steps as if its process had died.
 *
 * Layering of one cycle, outermost first:
 *   store:     CrashingStore → RecordingStore → DynamoDbSnapshotStore (dynalite)
 *   publisher: CrashingPublisher → FaultySnsPublisher → SnsStandIn (the subscriber's view)
 *   source:    ObservingSource → CommBoxObjectsSource → simulator
 * Recording sits below the crash layer, so a write that reached the table before the "process
 * died" is recorded, and one that never left is not.
 */
import type { AlertNotice } from '../../lambda/core/alert-event';
import type { IdentityId } from '../../lambda/core/identity-id';
import type { UnreadChangedEvent, UnreadState } from '../../lambda/core/model';
import type { KeptEntry, OutboxEntry } from '../../lambda/core/outbox';
import type {
  AlertToSave,
  ChangeToSave,
  CycleInput,
  EventPublisher,
  FetchOutcome,
  PublishResult,
  ScanSegment,
  SnapshotStore,
  TargetedInput,
  UnreadSource,
} from '../../lambda/core/ports';
import type { Publication } from '../../lambda/core/publication';
import { hashSeed, mulberry32 } from '../../local/seeded-random';

/** Where a cycle can be killed: between two of its steps. */
export const CRASH_STEPS = [
  'after-baseline',
  'before-save-change',
  'after-save-change',
  'after-save-alert',
  'after-claim',
  'before-publish',
  'after-publish',
  'before-complete',
  'after-complete',
  'before-release',
  'before-close-run',
  'after-close-run',
] as const;
export type CrashStep = (typeof CRASH_STEPS)[number];

/** Kill the cycle at the `nth` time (from 1) it reaches `step`. */
export interface CrashPlan {
  readonly step: CrashStep;
  readonly nth: number;
}

/** How SNS misbehaves in one cycle; each a probability per call or per entry. */
export interface SnsFaultProfile {
  /** The whole PublishBatch call fails; nothing is delivered. */
  readonly callFails: number;
  /** One entry is refused (in `Failed`); the others are delivered. */
  readonly entryRefused: number;
  /** SNS delivers the batch but the answer is lost (timeout after acceptance). */
  readonly answerLost: number;
}

export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

/** One cycle's identity and fate: which plan it runs under, and whether its process has "died". */
export class CycleContext {
  crashed: { readonly step: CrashStep; readonly id: string } | undefined;
  private readonly reached = new Map<CrashStep, number>();

  constructor(
    readonly cycle: number,
    /** Cycles of one round run at the same time (overlapping); rounds run one after the other. */
    readonly round: number,
    readonly seed: number,
    readonly now: () => number,
    readonly crashPlan?: CrashPlan,
    readonly sns?: SnsFaultProfile,
  ) {}

  /** Every call after the crash fails too: the process is gone. */
  assertAlive(): void {
    if (this.crashed) throw new SimulatedCrash(`cycle ${this.cycle} is dead (crashed ${this.crashed.step})`);
  }

  /** Counts arrivals at `step` and dies at the planned one. */
  checkpoint(step: CrashStep, id: string): void {
    this.assertAlive();
    if (this.crashPlan?.step !== step) return;
    const count = (this.reached.get(step) ?? 0) + 1;
    this.reached.set(step, count);
    if (count === this.crashPlan.nth) {
      this.crashed = { step, id };
      throw new SimulatedCrash(`cycle ${this.cycle} crashed ${step} (identity ${id})`);
    }
  }

  /** A draw in [0, 1) fixed by the seed, this cycle and what it is about. */
  draw(...about: readonly (string | number)[]): number {
    return mulberry32(hashSeed(this.seed, 'soak', this.cycle, ...about))();
  }
}

/** What a cycle found in the table for one identity when it started. */
export interface LoadedView {
  readonly version?: number;
  readonly state?: UnreadState;
  /** The outbox entries, in order, with until when each one's claim runs (0: released); absent when empty. */
  readonly pending?: readonly { readonly eventId: string; readonly claimUntil: number }[];
}

export type LedgerEntry =
  | { readonly kind: 'baseline'; readonly cycle: number; readonly id: string; readonly state: UnreadState; readonly at: number }
  | {
      readonly kind: 'change';
      readonly cycle: number;
      readonly id: string;
      readonly fromVersion: number;
      readonly state: UnreadState;
      readonly event: UnreadChangedEvent;
      /** The alert stored with the change, if its decision sent one. */
      readonly alert?: AlertNotice;
      readonly claimUntil: number;
    }
  | {
      /** An alert decision stored without a change (time passed, or the policy changed). */
      readonly kind: 'alert';
      readonly cycle: number;
      readonly id: string;
      readonly version: number;
      readonly alert?: AlertNotice;
      readonly claimUntil: number;
    }
  | { readonly kind: 'claim'; readonly cycle: number; readonly id: string; readonly eventId: string; readonly seen: number; readonly until: number; readonly now: number }
  | { readonly kind: 'release'; readonly cycle: number; readonly id: string; readonly eventId: string }
  | { readonly kind: 'complete'; readonly cycle: number; readonly id: string; readonly eventId: string };

export interface Served {
  readonly cycle: number;
  readonly id: string;
  readonly state: UnreadState;
}

/** One message as a subscriber receives it, in arrival order. */
export interface Delivery {
  readonly seq: number;
  readonly cycle: number;
  readonly eventId: string;
  readonly identityId: string;
  /** The `default` JSON of the SNS message, exactly as a subscriber gets it. */
  readonly payload: string;
}

/** A read of the whole table. */
export interface TableView {
  readonly afterCycle: number;
  readonly identities: ReadonlyMap<
    string,
    LoadedView & {
      readonly failureStreak: number;
      readonly notFound: boolean;
      /** An alert is owed and held back (a deferred digest, a `cleared` not sent yet). */
      readonly alertOwed?: boolean;
    }
  >;
}

export interface CycleLog {
  readonly cycle: number;
  readonly round: number;
  readonly now: number;
  readonly loaded: Map<string, LoadedView>;
  crashed?: { readonly step: CrashStep; readonly id: string };
  unexpectedError?: string;
}

/** Everything the soak observed, for the model to judge. */
export class SoakHistory {
  readonly ledger: LedgerEntry[] = [];
  readonly served: Served[] = [];
  readonly deliveries: Delivery[] = [];
  readonly cycles = new Map<number, CycleLog>();

  cycleLog(cycle: number): CycleLog {
    const log = this.cycles.get(cycle);
    if (!log) throw new Error(`no log for cycle ${cycle}`);
    return log;
  }
}

/** Records every write that the real store reports as done, tagged with the cycle that made it. */
export class RecordingStore implements SnapshotStore {
  constructor(
    private readonly inner: SnapshotStore,
    private readonly history: SoakHistory,
    private readonly ctx: CycleContext,
  ) {}

  async loadCycle(segment?: ScanSegment, now?: number): Promise<CycleInput> {
    const input = await this.inner.loadCycle(segment, now);
    const loaded = new Map<string, LoadedView>();
    for (const w of input.identities) {
      loaded.set(w.id, {
        ...(w.snapshot ? { version: w.snapshot.version, state: w.snapshot.state } : {}),
        ...(w.outbox ? { pending: w.outbox.map((e) => ({ eventId: e.eventId, claimUntil: e.claimUntil })) } : {}),
      });
    }
    this.history.cycles.set(this.ctx.cycle, { cycle: this.ctx.cycle, round: this.ctx.round, now: this.ctx.now(), loaded });
    return input;
  }

  loadIdentities(ids: readonly IdentityId[]): Promise<TargetedInput> {
    return this.inner.loadIdentities(ids);
  }

  async saveBaseline(id: IdentityId, state: UnreadState, observedAt: string, alertState: string): Promise<boolean> {
    const done = await this.inner.saveBaseline(id, state, observedAt, alertState);
    if (done) this.history.ledger.push({ kind: 'baseline', cycle: this.ctx.cycle, id, state, at: this.ctx.now() });
    return done;
  }

  async saveChange(change: ChangeToSave): Promise<boolean> {
    const done = await this.inner.saveChange(change);
    if (done) {
      this.history.ledger.push({
        kind: 'change',
        cycle: this.ctx.cycle,
        id: change.id,
        fromVersion: change.expectedVersion,
        state: change.state,
        event: change.event,
        ...(change.alert.notice ? { alert: change.alert.notice } : {}),
        claimUntil: change.claimUntil,
      });
    }
    return done;
  }

  async saveAlert(update: AlertToSave): Promise<boolean> {
    const done = await this.inner.saveAlert(update);
    if (done) {
      this.history.ledger.push({
        kind: 'alert',
        cycle: this.ctx.cycle,
        id: update.id,
        version: update.version,
        ...(update.notice ? { alert: update.notice } : {}),
        claimUntil: update.claimUntil,
      });
    }
    return done;
  }

  /** One claim entry per outbox entry taken over (they are taken in one write). */
  async claimPending(id: IdentityId, entries: readonly OutboxEntry[], claimUntil: number, run?: string): Promise<boolean> {
    const done = await this.inner.claimPending(id, entries, claimUntil, run);
    if (done) {
      for (const entry of entries) {
        this.history.ledger.push({ kind: 'claim', cycle: this.ctx.cycle, id, eventId: entry.eventId, seen: entry.claimUntil, until: claimUntil, now: this.ctx.now() });
      }
    }
    return done;
  }

  dropKept(id: IdentityId, entries: readonly KeptEntry[]): Promise<boolean> {
    return this.inner.dropKept(id, entries);
  }

  /** Recorded when sent: the port does not say whether its condition held. */
  completePending(id: IdentityId, entry: OutboxEntry): Promise<void> {
    this.history.ledger.push({ kind: 'complete', cycle: this.ctx.cycle, id, eventId: entry.eventId });
    return this.inner.completePending(id, entry);
  }

  releasePending(id: IdentityId, entry: OutboxEntry): Promise<void> {
    this.history.ledger.push({ kind: 'release', cycle: this.ctx.cycle, id, eventId: entry.eventId });
    return this.inner.releasePending(id, entry);
  }

  recordFailure(id: IdentityId, streak: number): Promise<void> {
    return this.inner.recordFailure(id, streak);
  }

  markNotFound(id: IdentityId): Promise<void> {
    return this.inner.markNotFound(id);
  }

  clearFailures(id: IdentityId): Promise<void> {
    return this.inner.clearFailures(id);
  }

  saveResumePoint(segment: ScanSegment | undefined, resumeFrom: IdentityId | undefined): Promise<void> {
    return this.inner.saveResumePoint(segment, resumeFrom);
  }

  recordCycleEnd(segment: ScanSegment | undefined, endedAt: string, cleanSince?: number): Promise<void> {
    return this.inner.recordCycleEnd(segment, endedAt, cleanSince);
  }

  openRun(run: string): Promise<readonly string[]> {
    return this.inner.openRun(run);
  }

  closeRun(run: string): Promise<void> {
    return this.inner.closeRun(run);
  }

  pruneRuns(candidates: readonly string[], totalSegments: number | undefined): Promise<void> {
    return this.inner.pruneRuns(candidates, totalSegments);
  }
}

/** Kills the cycle before or after a store step; once dead, every store call throws. */
export class CrashingStore implements SnapshotStore {
  constructor(
    private readonly inner: SnapshotStore,
    private readonly ctx: CycleContext,
  ) {}

  private async step<T>(id: string, call: () => Promise<T>, before?: CrashStep, after?: (result: T) => CrashStep | undefined): Promise<T> {
    this.ctx.assertAlive();
    if (before) this.ctx.checkpoint(before, id);
    const result = await call();
    // Another step of this cycle may have died meanwhile: this answer then reaches nobody.
    this.ctx.assertAlive();
    const afterStep = after?.(result);
    if (afterStep) this.ctx.checkpoint(afterStep, id);
    return result;
  }

  loadCycle(segment?: ScanSegment, now?: number): Promise<CycleInput> {
    return this.step('-', () => this.inner.loadCycle(segment, now));
  }

  loadIdentities(ids: readonly IdentityId[]): Promise<TargetedInput> {
    return this.step('-', () => this.inner.loadIdentities(ids));
  }

  saveBaseline(id: IdentityId, state: UnreadState, observedAt: string, alertState: string): Promise<boolean> {
    return this.step(id, () => this.inner.saveBaseline(id, state, observedAt, alertState), undefined, (done) => (done ? 'after-baseline' : undefined));
  }

  saveChange(change: ChangeToSave): Promise<boolean> {
    return this.step(change.id, () => this.inner.saveChange(change), 'before-save-change', (done) => (done ? 'after-save-change' : undefined));
  }

  /** Dies after an alert was stored and before it is published: only a crash after one that sends an alert counts. */
  saveAlert(update: AlertToSave): Promise<boolean> {
    return this.step(update.id, () => this.inner.saveAlert(update), undefined, (done) => (done && update.notice ? 'after-save-alert' : undefined));
  }

  claimPending(id: IdentityId, entries: readonly OutboxEntry[], claimUntil: number, run?: string): Promise<boolean> {
    return this.step(id, () => this.inner.claimPending(id, entries, claimUntil, run), undefined, (done) => (done ? 'after-claim' : undefined));
  }

  completePending(id: IdentityId, entry: OutboxEntry): Promise<void> {
    return this.step(id, () => this.inner.completePending(id, entry), 'before-complete', () => 'after-complete');
  }

  dropKept(id: IdentityId, entries: readonly KeptEntry[]): Promise<boolean> {
    return this.step(id, () => this.inner.dropKept(id, entries));
  }

  releasePending(id: IdentityId, entry: OutboxEntry): Promise<void> {
    return this.step(id, () => this.inner.releasePending(id, entry), 'before-release');
  }

  recordFailure(id: IdentityId, streak: number): Promise<void> {
    return this.step(id, () => this.inner.recordFailure(id, streak));
  }

  markNotFound(id: IdentityId): Promise<void> {
    return this.step(id, () => this.inner.markNotFound(id));
  }

  clearFailures(id: IdentityId): Promise<void> {
    return this.step(id, () => this.inner.clearFailures(id));
  }

  saveResumePoint(segment: ScanSegment | undefined, resumeFrom: IdentityId | undefined): Promise<void> {
    return this.step('-', () => this.inner.saveResumePoint(segment, resumeFrom));
  }

  recordCycleEnd(segment: ScanSegment | undefined, endedAt: string, cleanSince?: number): Promise<void> {
    return this.step('-', () => this.inner.recordCycleEnd(segment, endedAt, cleanSince));
  }

  openRun(run: string): Promise<readonly string[]> {
    return this.step('-', () => this.inner.openRun(run));
  }

  /** Dies just before the receipt (every entry of the run stays pending) or just after it. */
  closeRun(run: string): Promise<void> {
    return this.step('-', () => this.inner.closeRun(run), 'before-close-run', () => 'after-close-run');
  }

  pruneRuns(candidates: readonly string[], totalSegments: number | undefined): Promise<void> {
    return this.step('-', () => this.inner.pruneRuns(candidates, totalSegments));
  }
}

/** Kills the cycle before a batch leaves or after SNS accepted it; once dead, publishing throws. */
export class CrashingPublisher implements EventPublisher {
  constructor(
    private readonly inner: EventPublisher,
    private readonly ctx: CycleContext,
  ) {}

  async publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    const first = batch[0]?.identityId ?? '-';
    this.ctx.checkpoint('before-publish', first);
    const results = await this.inner.publishBatch(batch);
    this.ctx.assertAlive();
    if (results.some((r) => r.ok)) this.ctx.checkpoint('after-publish', first);
    return results;
  }
}

export interface SnsFaultCounts {
  callFailed: number;
  entryRefused: number;
  answerLost: number;
}

/** SNS as a subscriber sees it: every message it accepted, in order. */
export class SnsStandIn {
  readonly counts: SnsFaultCounts = { callFailed: 0, entryRefused: 0, answerLost: 0 };
  private seq = 0;

  constructor(private readonly history: SoakHistory) {}

  deliver(publication: Publication, cycle: number): void {
    const message = JSON.parse(publication.message) as { default?: unknown; email?: unknown; sms?: unknown };
    if (typeof message.default !== 'string' || typeof message.email !== 'string' || typeof message.sms !== 'string') {
      throw new Error(`publication ${publication.eventId} is not a MessageStructure json message`);
    }
    this.seq += 1;
    this.history.deliveries.push({ seq: this.seq, cycle, eventId: publication.eventId, identityId: publication.identityId, payload: message.default });
  }
}

/** SNS with the faults of the cycle's profile: failed calls, refused entries, lost answers. */
export class FaultySnsPublisher implements EventPublisher {
  constructor(
    private readonly sns: SnsStandIn,
    private readonly ctx: CycleContext,
  ) {}

  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    const profile = this.ctx.sns;
    const key = batch.map((p) => p.eventId).join(',');
    if (profile && this.ctx.draw('sns-call', key) < profile.callFails) {
      this.sns.counts.callFailed += 1;
      return Promise.reject(new Error('SNS PublishBatch failed: InternalErrorException'));
    }
    const results = batch.map((publication): PublishResult => {
      if (profile && this.ctx.draw('sns-entry', publication.eventId) < profile.entryRefused) {
        this.sns.counts.entryRefused += 1;
        return { eventId: publication.eventId, ok: false, reason: 'InternalError (SNS fault)' };
      }
      this.sns.deliver(publication, this.ctx.cycle);
      return { eventId: publication.eventId, ok: true };
    });
    if (profile && results.some((r) => r.ok) && this.ctx.draw('sns-lost', key) < profile.answerLost) {
      this.sns.counts.answerLost += 1;
      return Promise.reject(new Error('SNS PublishBatch failed: socket hang up (the batch was delivered)'));
    }
    return Promise.resolve(results);
  }
}

/** Records what the upstream served to each successful poll; the states a cycle could see. */
export class ObservingSource implements UnreadSource {
  constructor(
    private readonly inner: UnreadSource,
    private readonly history: SoakHistory,
    private readonly ctx: CycleContext,
  ) {}

  async fetchUnread(id: IdentityId): Promise<FetchOutcome> {
    const outcome = await this.inner.fetchUnread(id);
    if (outcome.kind === 'ok') this.history.served.push({ cycle: this.ctx.cycle, id, state: outcome.state });
    return outcome;
  }
}
