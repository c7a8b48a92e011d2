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
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** CloudWatch metric namespace and names, emitted by the handler and alarmed on by the stack. */
export const METRICS = {
  namespace: 'UnreadNotifier',
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
} as const;

/**
 * The DynamoDB key, shared by the store adapter, `init` and the CDK table. Bookkeeping items
 * (where a deadline-cut cycle stopped) live under keys with this prefix, which no id can have;
 * the stack grants the function item reads and writes only on those.
 */
export const TABLE_KEY = { partitionKey: 'identityId', resumeKeyPrefix: '#resume#' } as const;
