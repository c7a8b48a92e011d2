import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { DynamoDbRepollMarker } from '../adapters/dynamodb-repoll-marker';
import { SecretsManagerRepollSecrets } from '../adapters/secrets-manager-repoll-secrets';
import { SqsRepollQueue } from '../adapters/sqs-repoll-queue';
import { METRICS } from '../env-names';
import { loadRepollEndpointConfig, REPOLL_METRICS } from '../repoll-config';
import { handleRepollRequest, type RepollHttpRequest, type RepollLog, type RepollSummary } from '../repoll-endpoint';

// Built once per execution environment: config fails fast at init, clients keep their connections.
const config = loadRepollEndpointConfig(process.env);
const logger = new Logger({ serviceName: METRICS.service });
const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
const marker = new DynamoDbRepollMarker(new DynamoDBClient({}), config.tableName);
const queue = new SqsRepollQueue(new SQSClient({}), config.queueUrl);
const secrets = new SecretsManagerRepollSecrets(new SecretsManagerClient({}), config.secretId);
const log: RepollLog = {
  info: (message, fields) => logger.info(message, fields),
  error: (message, fields) => logger.error(message, fields),
};

/**
 * The re-poll endpoint behind a Lambda Function URL (the payload is API Gateway's v2 shape, so it
 * serves an HTTP API too). Never logs the event: its path and body may carry the secret and
 * customer data.
 */
export const handler = async (event: LambdaFunctionURLEvent, context: Context): Promise<LambdaFunctionURLResult> => {
  logger.addContext(context);
  try {
    const response = await handleRepollRequest(toRepollRequest(event), { secrets, marker, queue, now: Date.now, windowMs: config.windowMs, log });
    emitRepollMetrics(metrics, response.summary);
    return { statusCode: response.status, headers: { ...response.headers }, body: response.body };
  } catch (error) {
    // Not expected (the endpoint answers its failures); the name only, as the message could quote anything.
    logger.error('re-poll request failed', { error: error instanceof Error ? error.name : 'Error' });
    return { statusCode: 500, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ error: 'internal error' }) };
  } finally {
    metrics.publishStoredMetrics();
  }
};

/** The transport-neutral request of a Function URL (or HTTP API) event. */
export function toRepollRequest(event: LambdaFunctionURLEvent): RepollHttpRequest {
  const raw = event.body ?? '';
  return {
    method: event.requestContext?.http?.method ?? 'GET',
    path: event.rawPath ?? '/',
    headers: event.headers ?? {},
    body: event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8'),
  };
}

export function emitRepollMetrics(target: Metrics, summary: RepollSummary): void {
  const counts: [string, number][] = [
    [REPOLL_METRICS.accepted, summary.accepted],
    [REPOLL_METRICS.pollNow, summary.pollNow],
    [REPOLL_METRICS.trailing, summary.trailing],
    [REPOLL_METRICS.collapsed, summary.collapsed],
    [REPOLL_METRICS.ignoredMalformed, summary.ignored.malformed],
    [REPOLL_METRICS.ignoredUnregistered, summary.ignored.unregistered],
    [REPOLL_METRICS.ignoredObjectOnly, summary.ignored['object-only-unmapped']],
    [REPOLL_METRICS.unauthorized, summary.status === 401 ? 1 : 0],
    [REPOLL_METRICS.failed, summary.failed],
  ];
  for (const [name, value] of counts) target.addMetric(name, MetricUnit.Count, value);
}
