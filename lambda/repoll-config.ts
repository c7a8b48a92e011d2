import { ConfigError, loadConfig } from './config';
import { DEFAULT_REPOLL_WINDOW_MS } from './core/repoll-debounce';

/**
 * Environment variable names of the re-poll endpoint, shared by the runtime and the stack
 * (to be folded into env-names.ts when the pieces are wired together).
 */
export const REPOLL_ENV = {
  /** The SQS queue the endpoint sends re-polls to (the stack sets it). */
  queueUrl: 'REPOLL_QUEUE_URL',
  /** Secrets Manager id of the endpoint's secret(s) (the stack sets it). */
  secretId: 'REPOLL_SECRET_ID',
  /** The local `serve`'s secret (CONTRACT: never printed). */
  secret: 'REPOLL_SECRET',
  /** The debounce window in milliseconds. */
  windowMs: 'REPOLL_WINDOW_MS',
} as const;

/** CloudWatch metric names of the endpoint (namespace METRICS.namespace). */
export const REPOLL_METRICS = {
  /** Identities accepted (polled now, at the window's end, or collapsed into a poll already due). */
  accepted: 'RepollAccepted',
  pollNow: 'RepollPollNow',
  trailing: 'RepollTrailing',
  collapsed: 'RepollCollapsed',
  ignoredMalformed: 'RepollIgnoredMalformed',
  ignoredUnregistered: 'RepollIgnoredUnregistered',
  /** Webhooks that named only a conversation whose identity could not be found. */
  ignoredObjectOnly: 'RepollIgnoredObjectOnly',
  /** Requests refused for a missing or wrong secret. */
  unauthorized: 'RepollUnauthorized',
  /** Entries whose marker write or queue message failed (answered 503). */
  failed: 'RepollFailed',
} as const;

export interface RepollEndpointConfig {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly secretId: string;
  readonly windowMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The endpoint function's configuration, read once; throws ConfigError naming the variable. */
export function loadRepollEndpointConfig(env: Env): RepollEndpointConfig {
  const { tableName } = loadConfig(env);
  const queueUrl = required(env, REPOLL_ENV.queueUrl);
  if (!/^https:\/\/\S+\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(queueUrl)) {
    throw new ConfigError(`${REPOLL_ENV.queueUrl} is not an SQS queue URL: ${JSON.stringify(queueUrl)}`);
  }
  return Object.freeze({ tableName, queueUrl, secretId: required(env, REPOLL_ENV.secretId), windowMs: repollWindowMs(env) });
}

/** `REPOLL_WINDOW_MS`: 0 to 60000, default 2000. */
export function repollWindowMs(env: Env): number {
  const raw = env[REPOLL_ENV.windowMs]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_REPOLL_WINDOW_MS;
  if (!/^\d+$/.test(raw) || Number(raw) > 60_000) {
    throw new ConfigError(`${REPOLL_ENV.windowMs} must be an integer from 0 to 60000 (milliseconds): ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw new ConfigError(`missing ${name}`);
  return value;
}
