import type { Sink } from './io';

const WIDTH = 30;

/**
 * A progress bar redrawn in place on a terminal, for commands that write many items; nothing at
 * all when the sink is not a terminal (a pipe, a file, a test), so scripts see only results.
 * Redrawn when the bar grows by a percent, at most about a hundred times per run.
 */
export class ProgressBar {
  private readonly enabled: boolean;
  private drawn = -1;

  constructor(
    private readonly sink: Sink,
    private readonly total: number,
    private readonly noun: string,
  ) {
    this.enabled = sink.isTTY === true && total > 1;
  }

  update(done: number): void {
    if (!this.enabled) return;
    const percent = Math.floor((done * 100) / this.total);
    if (percent === this.drawn) return;
    this.drawn = percent;
    const filled = Math.round((done * WIDTH) / this.total);
    this.sink.write(`\r[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${done}/${this.total} ${this.noun}`);
  }

  /** Erases the bar, so the lines that follow start clean. */
  clear(): void {
    if (this.enabled && this.drawn >= 0) this.sink.write('\r\u001b[2K');
  }
}
