/**
 * Environment variable names, shared by the runtime (`lambda/config.ts`) and the stack (`lib/`)
 * so the two cannot drift apart.
 */
export const ENV = {
  apiBaseUrl: 'API_BASE_URL',
  apiToken: 'API_TOKEN',
  apiTokenSecretId: 'API_TOKEN_SECRET_ID',
  tableName: 'TABLE_NAME',
  topicArn: 'TOPIC_ARN',
  pollConcurrency: 'POLL_CONCURRENCY',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  maxAttempts: 'MAX_ATTEMPTS',
  claimLeaseSeconds: 'CLAIM_LEASE_SECONDS',
  failureStreakThreshold: 'FAILURE_STREAK_THRESHOLD',
  /**
   * The `service` dimension of every metric and the service of every log line. The stack sets it
   * to its own name, so two copies of the stack in one account never mix their metrics.
   */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** The alert policy defaults' variables (ALERT_MIN_UNREAD, ALERT_COOLDOWN, …), one per policy field but `snoozeUntil`. */
export { ALERT_ENV } from './core/alert-policy';

/** CloudWatch metric namespace and names, emitted by the handler and alarmed on by the stack. */
export const METRICS = {
  namespace: 'UnreadNotifier',
  /** The `service` dimension when ENV.serviceName is not set (local runs); the stack sets its own. */
  service: 'unread-notifier',
  polled: 'Polled',
  changed: 'Changed',
  published: 'Published',
  publishFailed: 'PublishFailed',
  failed: 'Failed',
  notFound: 'NotFound',
  throttled: 'Throttled',
  unauthorized: 'Unauthorized',
  failingIdentities: 'FailingIdentities',
  skipped: 'Skipped',
  cycleDuration: 'CycleDuration',
  /** The token could not be read (empty secret, access denied, KMS refused): CommBox was never called. */
  tokenUnavailable: 'TokenUnavailable',
  /** Registry items the code cannot decode; they are skipped, never silently. */
  malformedItems: 'MalformedItems',
  /** `unread.alert` events the publisher accepted. */
  alertsSent: 'AlertsSent',
  /** Alerts held back (cooldown, quiet hours, snooze); they go out later, or are dropped. */
  alertsDeferred: 'AlertsDeferred',
  /** Owed alerts given up because the identity read everything before they were due. */
  alertsDropped: 'AlertsDropped',
} as const;

const BOOKKEEPING_PREFIX = '#';

/**
 * The DynamoDB key, shared by the store adapter, `init` and the CDK table. Bookkeeping items
 * (where a deadline-cut cycle stopped, when a cycle last ended, and whatever later versions keep
 * beside the identities) live under keys that start with `bookkeepingPrefix`, which no id can:
 * readers skip every such key, known or not. The stack grants the function GetItem, PutItem and
 * DeleteItem only on the resume keys and PutItem only on the cycle keys (identity items it
 * changes with UpdateItem, attribute by attribute).
 */
export const TABLE_KEY = {
  partitionKey: 'identityId',
  bookkeepingPrefix: BOOKKEEPING_PREFIX,
  resumeKeyPrefix: `${BOOKKEEPING_PREFIX}resume#`,
  cycleKeyPrefix: `${BOOKKEEPING_PREFIX}cycle#`,
  /** The one item of open runs (`run-receipt.ts`): a run's entries are pending while its id is in it. */
  runsKey: `${BOOKKEEPING_PREFIX}runs`,
} as const;

/**
 * The webhooks table, beside the registry and named after it (`<TABLE_NAME>-webhooks`), so the
 * poll's Scan never reads it and two registries never share one. One partition holds the
 * endpoints; each endpoint's delivery log has its own; a local run also keeps its secrets and its
 * undelivered backlog here (in AWS the secrets are in Secrets Manager, see `webhookSecretNameOf`).
 */
export const WEBHOOKS_TABLE = {
  suffix: '-webhooks',
  partitionKey: 'pk',
  sortKey: 'sk',
  /** One item per endpoint: sort key = endpoint id. */
  endpointPartition: 'endpoint',
  /** `log#<endpoint id>`: one item per delivery, sort key = `observedAt#eventId`. */
  logPartitionPrefix: 'log#',
  /** Local runs only: one item per endpoint with its secrets. */
  secretPartition: 'secret',
  /** Local runs only: deliveries `poll` has not settled, sort key = `endpointId#eventId`. */
  backlogPartition: 'backlog',
} as const;

/** DynamoDB's longest table name. */
const MAX_TABLE_NAME = 255;

/** `<tableName>-webhooks`; the registry's name may have at most 246 characters for it to fit. */
export function webhooksTableNameOf(tableName: string): string {
  const name = `${tableName}${WEBHOOKS_TABLE.suffix}`;
  if (name.length > MAX_TABLE_NAME) {
    throw new Error(`the table name is too long for its webhooks table (${name.length} > ${MAX_TABLE_NAME} characters): use at most ${MAX_TABLE_NAME - WEBHOOKS_TABLE.suffix.length}`);
  }
  return name;
}

/**
 * The Secrets Manager name of an endpoint's signing secrets in AWS: under its webhooks table's
 * name, so the dispatcher's IAM grant covers exactly the secrets of this stack's endpoints.
 */
export function webhookSecretNameOf(webhooksTableName: string, endpointId: string): string {
  return `${webhookSecretPrefixOf(webhooksTableName)}${endpointId}`;
}

export function webhookSecretPrefixOf(webhooksTableName: string): string {
  return `${webhooksTableName}/`;
}
