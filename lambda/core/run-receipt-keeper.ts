import type { OutboxEntry } from './outbox';
import type { SnapshotStore } from './ports';
import { MAX_OPEN_RUNS, runSettledBy } from './run-receipt';

export interface RunReceipt {
  /** `formatRunId(lastWriteBy + claim lease, random)`: unique, and says when its last claim runs out. */
  readonly run: string;
  /**
   * No entry is tagged with the run after this (epoch ms, the cycle's clock): the Lambda's
   * deadline, or when a local run's last identity has surely finished. Later writes complete
   * their entries on their own, so the id's bound holds whatever happens.
   */
  readonly lastWriteBy: number;
}

export type ReceiptStage = 'open' | 'close' | 'backlog' | 'prune';

/**
 * One cycle's side of its run receipt (`run-receipt.ts`): opens the run before the first tagged
 * write, says which entries the receipt covers, and closes the run only when nothing it answers
 * for can be unpublished; then prunes the dead runs no entry can carry any more. Without a
 * receipt (a targeted poll, a run that could not open) it tags nothing and covers nothing.
 */
export class RunReceiptKeeper {
  private opened?: Promise<string | undefined>;
  /** Open runs as this run found them when it opened (for pruning the dead ones). */
  private openRuns: readonly string[] = [];
  /**
   * A write whose outcome is unknown (it threw) may have stored an entry tagged with this run that
   * was never queued, or left one tagged after a refused publish: then the run must not close.
   */
  private unsafe = false;
  /**
   * This cycle may have left a dead run's entry untaken (a claim or a rendering that threw, an
   * item it could not read): it is not clean, and no run is pruned on its account.
   */
  private incomplete = false;
  private covered = 0;

  constructor(
    private readonly store: Pick<SnapshotStore, 'openRun' | 'closeRun' | 'pruneRuns'>,
    private readonly clock: () => number,
    private readonly receipt: RunReceipt | undefined,
    private readonly onFailure?: (stage: ReceiptStage, detail: unknown) => void,
  ) {}

  /** The run to tag one write's entries with, opening it first; none past the receipt's `lastWriteBy`. */
  async tagForWrite(): Promise<string | undefined> {
    const run = await this.open();
    return run !== undefined && this.clock() < (this.receipt?.lastWriteBy ?? 0) ? run : undefined;
  }

  /** A write that may store or keep an entry tagged with this run: when it throws, the run may not close. */
  async guard<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      this.unsafe = true;
      throw error;
    }
  }

  /** A dead run's pending entries this cycle could not take over. */
  takeoverIncomplete(): void {
    this.incomplete = true;
  }

  /** Clean for pruning: every identity was started and every dead run's entry it met was taken over. */
  isClean(skipped: number): boolean {
    return skipped === 0 && !this.incomplete;
  }

  /** The publisher accepted `entry`: true when the receipt publishes it, so it needs no write of its own. */
  covers(entry: OutboxEntry): boolean {
    if (entry.run === undefined) return false;
    this.covered += 1;
    return true;
  }

  /** The receipt: once every entry of the run was accepted (or released), one write publishes them all. Answers how many. */
  async close(): Promise<number> {
    const run = await this.opened;
    // Left open, its entries are sent again once their claims expire (same event ids): late, never lost.
    if (run === undefined || this.unsafe) return 0;
    try {
      await this.store.closeRun(run);
      return this.covered;
    } catch (error) {
      this.onFailure?.('close', error);
      return 0;
    }
  }

  /**
   * Runs that died stay open; one no entry can still carry is removed. Only a run that saw an
   * open run past its last claim tries, so most runs read nothing for it.
   */
  async pruneDead(totalSegments: number | undefined): Promise<void> {
    const now = this.clock();
    const candidates = this.openRuns.filter((run) => (runSettledBy(run) ?? Infinity) < now);
    if (candidates.length === 0) return;
    try {
      await this.store.pruneRuns(candidates, totalSegments);
    } catch (error) {
      this.onFailure?.('prune', error);
    }
  }

  private open(): Promise<string | undefined> {
    const receipt = this.receipt;
    if (!receipt) return Promise.resolve(undefined);
    this.opened ??= this.store.openRun(receipt.run).then(
      async (open) => {
        this.openRuns = open;
        if (open.length <= MAX_OPEN_RUNS) return receipt.run;
        this.onFailure?.('backlog', open.length);
        await this.store.closeRun(receipt.run).catch(() => undefined);
        return undefined;
      },
      (error: unknown) => {
        this.onFailure?.('open', error);
        return undefined;
      },
    );
    return this.opened;
  }
}
