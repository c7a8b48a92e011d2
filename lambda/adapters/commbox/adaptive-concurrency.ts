import { setTimeout as sleep } from 'node:timers/promises';
/**
 * An AIMD limit on upstream requests in flight, shared by every request of one source.
 *
 * Throughput against an upstream of latency L and rate limit R peaks at R·L requests in flight;
 * more only earns 429s. The right number is unknown in advance and moves, so the limit probes:
 * it halves on overload (429, timeout) and grows by one per `limit` successes (one per round
 * trip), never above `maxConcurrency`. A `Retry-After` closes a shared gate: no new request
 * starts before it, whoever received it, and the limit does not grow for as long again after it
 * opens (a rate-limited upstream refills its bucket during the pause; growing at once would
 * drain it and earn the next burst of 429s, as the rate-limited scenario of `npm run bench` shows).
 */
export interface AdaptiveConcurrencyOptions {
  /** The hard ceiling and the starting limit. */
  readonly maxConcurrency: number;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What one request told us about the upstream's capacity. */
export type AttemptSignal = 'success' | 'overload' | 'neutral';

export interface Permit {
  /** Frees the slot; idempotent, only the first call counts. */
  release(signal: AttemptSignal): void;
}

export interface LimiterSnapshot {
  readonly limit: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly waiting: number;
  readonly decreases: number;
  readonly increases: number;
  /** Epoch ms before which no request starts (0 when the gate is open). */
  readonly notBefore: number;
}

export class AdaptiveConcurrencyLimiter {
  readonly maxConcurrency: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private currentLimit: number;
  private inFlight = 0;
  private maxInFlight = 0;
  private notBefore = 0;
  private growthPausedUntil = 0;
  private successes = 0;
  private decreases = 0;
  private increases = 0;
  /** Every grant gets the next sequence number. */
  private nextSeq = 0;
  /**
   * Signals from requests granted before this sequence number are ignored: they were already in
   * flight when the limit last dropped, so their 429s describe the old limit, not the new one.
   * Without this, one burst of 429s would halve the limit once per response, down to 1.
   */
  private windowStart = 0;
  private readonly waiters: ((permit: Permit) => void)[] = [];
  private gateTimerPending = false;

  constructor(options: AdaptiveConcurrencyOptions) {
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new RangeError(`maxConcurrency must be a positive integer, got ${options.maxConcurrency}`);
    }
    this.maxConcurrency = options.maxConcurrency;
    this.currentLimit = options.maxConcurrency;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleep;
  }

  get limit(): number {
    return this.currentLimit;
  }

  snapshot(): LimiterSnapshot {
    return {
      limit: this.currentLimit,
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
      waiting: this.waiters.length,
      decreases: this.decreases,
      increases: this.increases,
      notBefore: this.notBefore > this.now() ? this.notBefore : 0,
    };
  }

  /** Resolves when a request may start: under the current limit and past the Retry-After gate. FIFO. */
  acquire(): Promise<Permit> {
    if (this.waiters.length === 0 && this.canStart()) return Promise.resolve(this.grant());
    return new Promise<Permit>((resolve) => {
      this.waiters.push(resolve);
      this.pump();
    });
  }

  /** Closes the gate until `epochMs` (a later time wins; an earlier one never reopens it). */
  deferUntil(epochMs: number): void {
    const now = this.now();
    if (epochMs > this.notBefore) this.notBefore = epochMs;
    // Probing upward right after the gate opens would only drain the server's bucket again:
    // the limit stays put for as long again as the gate was closed.
    const pausedUntil = epochMs + Math.max(0, epochMs - now);
    if (pausedUntil > this.growthPausedUntil) this.growthPausedUntil = pausedUntil;
  }

  private canStart(): boolean {
    return this.inFlight < this.currentLimit && this.now() >= this.notBefore;
  }

  private grant(): Permit {
    this.inFlight += 1;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    const seq = this.nextSeq;
    this.nextSeq += 1;
    let released = false;
    return {
      release: (signal: AttemptSignal): void => {
        if (released) return;
        released = true;
        this.inFlight -= 1;
        this.adapt(seq, signal);
        this.pump();
      },
    };
  }

  private adapt(seq: number, signal: AttemptSignal): void {
    if (signal === 'neutral' || seq < this.windowStart) return;
    if (signal === 'overload') {
      this.currentLimit = Math.max(1, Math.floor(this.currentLimit / 2));
      this.windowStart = this.nextSeq;
      this.successes = 0;
      this.decreases += 1;
      return;
    }
    if (this.now() < this.growthPausedUntil) return;
    this.successes += 1;
    if (this.successes >= this.currentLimit && this.currentLimit < this.maxConcurrency) {
      this.currentLimit += 1;
      this.successes = 0;
      this.increases += 1;
    }
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.inFlight < this.currentLimit) {
      const wait = this.notBefore - this.now();
      if (wait > 0) {
        this.wakeAfter(wait);
        return;
      }
      const resolve = this.waiters.shift();
      resolve?.(this.grant());
    }
  }

  /** One timer at a time; when it fires the gate is checked again (it may have moved later). */
  private wakeAfter(ms: number): void {
    if (this.gateTimerPending) return;
    this.gateTimerPending = true;
    const wake = (): void => {
      this.gateTimerPending = false;
      this.pump();
    };
    this.sleep(ms).then(wake, wake);
  }
}
