import { ConfigError, loadConfig } from './config';
import { webhooksTableNameOf } from './env-names';

/** Environment variable names of the webhook dispatcher, shared by the runtime and the stack. */
export const WEBHOOK_ENV = {
  /** The queue of deliveries, one message per (event, endpoint) (the stack sets it). */
  deliveryQueueUrl: 'WEBHOOK_DELIVERY_QUEUE_URL',
  /** Where deliveries go when the retry schedule is used up (the stack sets it). */
  deadLetterQueueUrl: 'WEBHOOK_DEAD_LETTER_QUEUE_URL',
} as const;

/** CloudWatch metric names of the dispatcher (namespace METRICS.namespace, the stack's `service` dimension). */
export const WEBHOOK_METRICS = {
  /** Events fanned out from the topic. */
  events: 'WebhookEvents',
  /** Deliveries queued by the fan-out (one per matching endpoint). */
  queued: 'WebhookDeliveriesQueued',
  delivered: 'WebhookDelivered',
  /** Attempts that got no 2xx (any other status, a timeout, a network error, a refused address). */
  attemptFailed: 'WebhookAttemptFailed',
  /** Deliveries whose schedule was used up (each is in the dead-letter queue). */
  deadLettered: 'WebhookDeadLettered',
  /** Endpoints disabled (410 Gone, or failing past the limit). */
  endpointDisabled: 'WebhookEndpointDisabled',
  /** Attempts put back because the endpoint had its maximum in flight. */
  deferred: 'WebhookDeferred',
  /** Deliveries not sent: the endpoint was removed or disabled, or had already accepted the event. */
  dropped: 'WebhookDropped',
  /** Health counter or delivery log writes that failed (the deliveries went on). */
  bookkeepingFailed: 'WebhookBookkeepingFailed',
} as const;

export interface WebhookDispatcherConfig {
  /** The registry table's name; the webhooks table is named after it. */
  readonly tableName: string;
  readonly webhooksTableName: string;
  readonly deliveryQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly serviceName: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const QUEUE_URL = /^https:\/\/\S+\/\d{12}\/[A-Za-z0-9_-]{1,80}$/;

/** The dispatcher's configuration, read once; throws ConfigError naming the variable. */
export function loadWebhookDispatcherConfig(env: Env): WebhookDispatcherConfig {
  const { tableName, serviceName } = loadConfig(env);
  let webhooksTableName: string;
  try {
    webhooksTableName = webhooksTableNameOf(tableName);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return Object.freeze({
    tableName,
    webhooksTableName,
    deliveryQueueUrl: queueUrl(env, WEBHOOK_ENV.deliveryQueueUrl),
    deadLetterQueueUrl: queueUrl(env, WEBHOOK_ENV.deadLetterQueueUrl),
    serviceName,
  });
}

function queueUrl(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw new ConfigError(`missing ${name}`);
  if (!QUEUE_URL.test(value)) throw new ConfigError(`${name} is not a standard SQS queue URL: ${JSON.stringify(value)}`);
  return value;
}

/** The queue name at the end of an SQS queue URL or ARN. */
export function queueNameOf(urlOrArn: string): string {
  return urlOrArn.split(/[/:]/).pop() ?? '';
}
