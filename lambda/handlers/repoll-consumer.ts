import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbSnapshotStore } from '../adapters/dynamodb-snapshot-store';
import { parseRepollMessage } from '../adapters/sqs-repoll-queue';
import { createPublisher, createSource, createTokenProvider } from '../composition';
import { loadConfig } from '../config';
import type { IdentityId } from '../core/identity-id';
import { runPollCycle, type CycleSummary } from '../core/poll-cycle';
import { runRepollBatch, type QueuedRepoll } from '../core/repoll-run';
import { CycleTelemetry, errorSummary } from '../cycle-telemetry';
import { METRICS } from '../env-names';
import { deadlineMarginMs } from '../invocation';
import { REPOLL_METRICS } from '../repoll-config';

// Built once per execution environment, as the poller builds them (the same configuration and
// composition): config fails fast at init, clients keep their connections, and the CommBox
// source's Retry-After gate and adaptive concurrency are shared by every re-poll of the instance.
const config = loadConfig(process.env);
const logger = new Logger({ serviceName: config.serviceName });
const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: config.serviceName });
const store = new DynamoDbSnapshotStore(new DynamoDBClient({}), config.tableName, {
  onMalformedItem: (key, error) => logger.error('skipping unreadable item', { key, error: errorSummary(error) }),
});
const source = createSource(config, createTokenProvider(config, () => new SecretsManagerClient({})));
const publisher = createPublisher(config, () => new SNSClient({}));
/** No identity starts when less than this is left: the last one started must still finish. */
const DEADLINE_MARGIN_MS = deadlineMarginMs(config);

/**
 * The re-poll consumer: each SQS message names one identity; each identity of the batch gets one
 * targeted poll (its pending event sent first, if it has one). Messages whose re-poll must be
 * tried again are answered as batch item failures (SQS redelivers them after the visibility
 * timeout, then dead-letters them); malformed ones are dropped with a log line. The event itself
 * is never logged: it is made by the endpoint, but the queue could be written by others.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  const telemetry = new CycleTelemetry(logger, config.failureStreakThreshold);
  const before = { ...source.stats };
  const queued: QueuedRepoll[] = [];
  let dropped = 0;
  for (const record of event.Records ?? []) {
    const message = parseRepollMessage(record.body ?? '');
    if (message === undefined) {
      dropped += 1;
      logger.warn('dropping a queue message that is not a re-poll', { messageId: record.messageId });
      continue;
    }
    queued.push({ messageId: record.messageId, identityId: message.identityId, requestedAt: message.requestedAt });
  }

  const totals = emptyTotals();
  const result = await runRepollBatch(queued, (id: IdentityId) => targetedPoll(id, telemetry), {
    concurrency: config.pollConcurrency,
    clock: Date.now,
    shouldStartMore: () => context.getRemainingTimeInMillis() > DEADLINE_MARGIN_MS,
    record: (summary) => addTo(totals, summary),
  });

  const count = (kind: string): number => result.outcomes.filter((o) => o.kind === kind).length;
  const retried = result.outcomes.flatMap((o) => (o.kind === 'retry' ? [{ identityId: o.identityId, reason: o.reason }] : []));
  logger.info('re-polls done', {
    messages: event.Records?.length ?? 0,
    identities: result.outcomes.length,
    repolled: count('polled'),
    unregistered: count('unregistered'),
    retried,
    dropped,
    ...totals,
  });
  if (result.aborted) telemetry.cycleAborted(result.aborted);

  metrics.addMetric(REPOLL_METRICS.consumerPolled, MetricUnit.Count, count('polled'));
  metrics.addMetric(REPOLL_METRICS.consumerRetried, MetricUnit.Count, retried.length);
  for (const latency of result.latenciesMs.values()) metrics.addMetric(REPOLL_METRICS.consumerLatency, MetricUnit.Milliseconds, latency);
  // Per-identity facts under the poller's own names, so its alarms (401, unreadable token) cover re-polls too.
  const counts: [string, number][] = [
    [METRICS.changed, totals.changed],
    [METRICS.published, totals.published],
    [METRICS.publishFailed, totals.publishFailed],
    [METRICS.throttled, source.stats.throttled - before.throttled],
    [METRICS.unauthorized, source.stats.unauthorized - before.unauthorized],
    [METRICS.tokenUnavailable, telemetry.tokenUnavailable],
  ];
  for (const [name, value] of counts) metrics.addMetric(name, MetricUnit.Count, value);
  metrics.publishStoredMetrics();

  // Nothing could be polled (a 401, an unreadable token or table): fail the invocation, so it shows and alarms.
  if (result.aborted) throw result.aborted;
  return { batchItemFailures: result.retryMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
};

/** The poll cycle over just this identity, read by key: no scan, no resume point, the same outbox and claims. */
function targetedPoll(id: IdentityId, telemetry: CycleTelemetry): Promise<CycleSummary> {
  return runPollCycle(
    { source, store, publisher, clock: Date.now, observer: telemetry },
    { concurrency: 1, claimLeaseMs: config.claimLeaseMs, alertDefaults: config.alertDefaults, only: { ids: [id], unregistered: 'ignore' } },
  );
}

type Totals = Pick<CycleSummary, 'polled' | 'changed' | 'published' | 'publishFailed' | 'failed' | 'notFound' | 'baselines' | 'resent' | 'conflicts' | 'skipped'>;

function emptyTotals(): Totals {
  return { polled: 0, changed: 0, published: 0, publishFailed: 0, failed: 0, notFound: 0, baselines: 0, resent: 0, conflicts: 0, skipped: 0 };
}

function addTo(totals: Totals, summary: CycleSummary): void {
  for (const key of Object.keys(totals) as (keyof Totals)[]) totals[key] += summary[key];
}
