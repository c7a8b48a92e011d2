import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { CycleAbortedError, TokenUnavailableError, UpstreamUnauthorizedError } from './core/errors';
import type { CycleObserver, CycleSummary } from './core/poll-cycle';
import { METRICS } from './env-names';

/** What the source counts that the cycle summary does not. */
export interface SourceCounters {
  readonly throttled: number;
  readonly unauthorized: number;
}

/**
 * Logs and metrics for one cycle. Logs carry ids, counts and error kinds only: never a token,
 * a response body or customer data (the cycle never hands those to the observer).
 */
export class CycleTelemetry implements CycleObserver {
  failingIdentities = 0;
  /** 1 when the cycle stopped because the token could not be read. */
  tokenUnavailable = 0;

  constructor(
    private readonly logger: Logger,
    private readonly failureStreakThreshold: number,
  ) {}

  identityFailed(id: string, error: unknown, streak: number): void {
    if (streak >= this.failureStreakThreshold) this.failingIdentities += 1;
    this.logger.warn('identity poll failed', { identityId: id, streak, failing: streak >= this.failureStreakThreshold, error: errorSummary(error) });
  }

  identityNotFound(id: string): void {
    this.logger.info('identity not found upstream', { identityId: id });
  }

  publishFailed(event: { identityId: string; eventId: string }, reason: string): void {
    this.logger.warn('publish failed; event stays pending for the next cycle', { identityId: event.identityId, eventId: event.eventId, reason });
  }

  outboxUpdateFailed(id: string, error: unknown): void {
    this.logger.warn('store update failed', { identityId: id, error: errorSummary(error) });
  }

  resumePointFailed(error: unknown): void {
    this.logger.warn('could not store where the cycle stopped', { error: errorSummary(error) });
  }

  cycleEndFailed(error: unknown): void {
    this.logger.warn('could not store when the cycle ended', { error: errorSummary(error) });
  }

  /** Late deliveries at worst (`CycleObserver.receiptFailed`): a warning, with what it costs. */
  receiptFailed(stage: 'open' | 'close' | 'backlog' | 'prune', detail: unknown): void {
    const meaning = {
      open: 'could not open the run; its events are completed one by one',
      close: 'could not close the run; its events are sent again once their claims expire',
      backlog: 'too many runs left open by functions that died; events are completed one by one until they are pruned',
      prune: 'could not prune runs left open by functions that died',
    }[stage];
    this.logger.warn(meaning, stage === 'backlog' ? { openRuns: detail } : { error: errorSummary(detail) });
  }

  /** One error line saying what stopped the cycle: a refused token, an unreadable one, or something else. */
  cycleAborted(error: unknown): void {
    const cause = error instanceof CycleAbortedError ? error.cause : undefined;
    if (cause instanceof TokenUnavailableError) {
      this.tokenUnavailable = 1;
      this.logger.error('cannot read the CommBox token; cycle stopped', { reason: cause.reason, error: errorSummary(cause) });
    } else if (cause instanceof UpstreamUnauthorizedError) {
      this.logger.error('CommBox refused the token even after re-reading the secret; cycle stopped');
    } else {
      this.logger.error('cycle aborted', { error: errorSummary(error) });
    }
  }

  emit(metrics: Metrics, summary: CycleSummary, source: SourceCounters): void {
    const counts: readonly (readonly [name: string, value: number])[] = [
      [METRICS.polled, summary.polled],
      [METRICS.changed, summary.changed],
      [METRICS.published, summary.published],
      [METRICS.publishFailed, summary.publishFailed],
      // Polls that failed: identities whose event was not accepted are PublishFailed, not counted twice.
      [METRICS.failed, summary.pollFailed],
      [METRICS.notFound, summary.notFound],
      [METRICS.skipped, summary.skipped],
      [METRICS.throttled, source.throttled],
      [METRICS.unauthorized, source.unauthorized],
      [METRICS.tokenUnavailable, this.tokenUnavailable],
      [METRICS.failingIdentities, this.failingIdentities],
      [METRICS.alertsSent, summary.alertsSent],
      [METRICS.alertsDeferred, summary.alertsDeferred],
      [METRICS.alertsDropped, summary.alertsDropped],
    ];
    for (const [name, value] of counts) metrics.addMetric(name, MetricUnit.Count, value);
    metrics.addMetric(METRICS.cycleDuration, MetricUnit.Milliseconds, summary.durationMs);
  }
}

export function errorSummary(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
