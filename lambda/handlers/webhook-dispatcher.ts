import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbDeliveryLog } from '../adapters/dynamodb-webhook-deliveries';
import { DynamoDbWebhookEndpoints } from '../adapters/dynamodb-webhook-endpoints';
import { HttpWebhookSender } from '../adapters/http-webhook-sender';
import { SecretsManagerWebhookSecrets } from '../adapters/secrets-manager-webhook-secrets';
import { SqsWebhookQueue } from '../adapters/sqs-webhook-queue';
import { WebhookDispatcher } from '../core/webhook-dispatcher';
import { DISPATCHER_RETRY_SCHEDULE } from '../core/webhook-retry-schedule';
import { METRICS } from '../env-names';
import { loadWebhookDispatcherConfig, queueNameOf } from '../webhook-config';
import { DispatchTelemetry, handleWebhookRecords } from '../webhook-dispatch';

// Built once per execution environment: config fails fast at init, clients keep their connections.
const config = loadWebhookDispatcherConfig(process.env);
const logger = new Logger({ serviceName: config.serviceName });
const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: config.serviceName });
const dynamo = new DynamoDBClient({});
const endpoints = new DynamoDbWebhookEndpoints(dynamo, config.webhooksTableName, {
  onMalformed: (id, error) => logger.error('skipping an unreadable webhook endpoint', { endpointId: id, error: error.message }),
});
const queue = new SqsWebhookQueue(new SQSClient({}), { deliveryQueueUrl: config.deliveryQueueUrl, deadLetterQueueUrl: config.deadLetterQueueUrl });
const telemetry = new DispatchTelemetry({
  info: (message, fields) => logger.info(message, fields),
  warn: (message, fields) => logger.warn(message, fields),
  error: (message, fields) => logger.error(message, fields),
});
const dispatcher = new WebhookDispatcher({
  endpoints,
  slots: endpoints,
  secrets: new SecretsManagerWebhookSecrets(new SecretsManagerClient({}), config.webhooksTableName),
  log: new DynamoDbDeliveryLog(dynamo, config.webhooksTableName),
  // Never a local run here: https only, and no loopback (in Lambda it is the runtime API).
  sender: new HttpWebhookSender({ localRun: false, timeoutMs: 15_000 }),
  queue,
  clock: Date.now,
  schedule: DISPATCHER_RETRY_SCHEDULE,
  observer: telemetry,
});
const deliveryQueueName = queueNameOf(config.deliveryQueueUrl);

/**
 * The webhook dispatcher: SQS batches from the event queue (SNS, raw) and from the delivery
 * queue, answered with the records to keep (ReportBatchItemFailures). Never logs a body, a URL
 * query or a secret.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  telemetry.reset();
  try {
    return await handleWebhookRecords(event.Records, {
      dispatcher,
      postpone: (receiptHandle, untilMs) => queue.postpone(receiptHandle, untilMs),
      deliveryQueueName,
      log: telemetry.log,
    });
  } finally {
    for (const [name, value] of Object.entries(telemetry.counts)) metrics.addMetric(name, MetricUnit.Count, value);
    metrics.publishStoredMetrics();
  }
};
