import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { DynamoDbSnapshotStore } from './adapters/dynamodb-snapshot-store';
import { createPublisher, createSource, createTokenProvider } from './composition';
import { loadConfig } from './config';
import { CycleAbortedWithSummary } from './core/errors';
import { runPollCycle, type CycleSummary } from './core/poll-cycle';
import { CycleTelemetry, errorSummary } from './cycle-telemetry';
import { METRICS } from './env-names';
import { deadlineMarginMs, newRunReceipt, parseInvocation } from './invocation';

// Built once per execution environment: config fails fast at init, clients keep their connections.
const config = loadConfig(process.env);
// The service (the metrics' `service` dimension) is the stack's own name: two copies never mix their figures.
const logger = new Logger({ serviceName: config.serviceName });
const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: config.serviceName });
let malformedItems = 0;
const store = new DynamoDbSnapshotStore(new DynamoDBClient({}), config.tableName, {
  onMalformedItem: (key, error) => {
    malformedItems += 1;
    logger.error('skipping unreadable item', { key, error: errorSummary(error) });
  },
});
const source = createSource(config, createTokenProvider(config, () => new SecretsManagerClient({})));
const publisher = createPublisher(config, () => new SNSClient({}));
/** No identity starts when less than this is left: the last one started must still finish. */
const DEADLINE_MARGIN_MS = deadlineMarginMs(config);

export const handler = async (event: unknown, context: Context): Promise<CycleSummary> => {
  logger.addContext(context);
  const segment = parseInvocation(event);
  const telemetry = new CycleTelemetry(logger, config.failureStreakThreshold);
  const before = { ...source.stats };
  malformedItems = 0;
  if (context.getRemainingTimeInMillis() <= DEADLINE_MARGIN_MS) {
    logger.warn('the function timeout leaves no time to poll: lower REQUEST_TIMEOUT_MS or MAX_ATTEMPTS, or raise the timeout', { deadlineMarginMs: DEADLINE_MARGIN_MS });
  }
  try {
    const summary = await runPollCycle(
      { source, store, publisher, clock: Date.now, observer: telemetry },
      {
        concurrency: config.pollConcurrency,
        claimLeaseMs: config.claimLeaseMs,
        alertDefaults: config.alertDefaults,
        ...(segment ? { segment } : {}),
        shouldStartMore: () => context.getRemainingTimeInMillis() > DEADLINE_MARGIN_MS,
        // Nothing is written after the function's deadline: the run's claims end a lease later.
        receipt: newRunReceipt(Date.now() + context.getRemainingTimeInMillis(), config),
      },
    );
    logger.info('cycle finished', { segment, ...summary });
    if (summary.resumeFrom !== undefined) logger.warn('deadline reached; the next cycle resumes here', { resumeFrom: summary.resumeFrom, skipped: summary.skipped });
    telemetry.emit(metrics, summary, countersSince(before));
    return summary;
  } catch (error) {
    telemetry.cycleAborted(error);
    if (error instanceof CycleAbortedWithSummary) telemetry.emit(metrics, error.summary, countersSince(before));
    throw error;
  } finally {
    metrics.addMetric(METRICS.malformedItems, MetricUnit.Count, malformedItems);
    metrics.publishStoredMetrics();
  }
};

function countersSince(before: { throttled: number; unauthorized: number }): { throttled: number; unauthorized: number } {
  return { throttled: source.stats.throttled - before.throttled, unauthorized: source.stats.unauthorized - before.unauthorized };
}
