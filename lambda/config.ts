import { inspect } from 'node:util';
import { ENV } from './env-names';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A secret value that prints as `[redacted]` in logs, JSON and inspection. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

export type TokenSource = { readonly kind: 'value'; readonly token: Secret } | { readonly kind: 'secret'; readonly secretId: string };

export interface Config {
  readonly apiBaseUrl: URL;
  readonly token?: TokenSource;
  readonly tableName: string;
  readonly topicArn?: string;
  readonly pollConcurrency: number;
  readonly requestTimeoutMs: number;
  readonly maxAttempts: number;
  readonly claimLeaseMs: number;
  readonly failureStreakThreshold: number;
}

export const DEFAULTS = {
  apiBaseUrl: 'https://api.commbox.io',
  tableName: 'unread-notifier',
  /**
   * Upstream requests in flight per shard: where the cost model (`npm run bench`) puts a 256 MB
   * function at its lowest cost per identity for CommBox's typical latency (docs/performance.md).
   */
  pollConcurrency: 128,
  requestTimeoutMs: 5000,
  maxAttempts: 4,
  claimLeaseSeconds: 120,
  failureStreakThreshold: 5,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the configuration once and fails fast, naming the variable that is wrong. */
export function loadConfig(env: Env): Config {
  const token = readToken(env);
  const topicArn = optional(env, ENV.topicArn);
  if (topicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(topicArn)) {
    throw new ConfigError(`${ENV.topicArn} is not an SNS topic ARN: ${JSON.stringify(topicArn)}`);
  }
  const tableName = optional(env, ENV.tableName) ?? DEFAULTS.tableName;
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) {
    throw new ConfigError(`${ENV.tableName} must be 3-255 characters of letters, digits, '_', '-' or '.': ${JSON.stringify(tableName)}`);
  }
  return Object.freeze({
    apiBaseUrl: parseApiBaseUrl(optional(env, ENV.apiBaseUrl) ?? DEFAULTS.apiBaseUrl),
    ...(token ? { token } : {}),
    tableName,
    ...(topicArn ? { topicArn } : {}),
    pollConcurrency: integer(env, ENV.pollConcurrency, DEFAULTS.pollConcurrency, 1, 1000),
    requestTimeoutMs: integer(env, ENV.requestTimeoutMs, DEFAULTS.requestTimeoutMs, 100, 120_000),
    maxAttempts: integer(env, ENV.maxAttempts, DEFAULTS.maxAttempts, 1, 10),
    claimLeaseMs: integer(env, ENV.claimLeaseSeconds, DEFAULTS.claimLeaseSeconds, 1, 86_400) * 1000,
    failureStreakThreshold: integer(env, ENV.failureStreakThreshold, DEFAULTS.failureStreakThreshold, 1, 10_000),
  });
}

/** Polling needs a token; managing the registry does not. */
export function requireToken(config: Config): TokenSource {
  if (!config.token) throw new ConfigError(`missing token: set ${ENV.apiToken} (local runs) or ${ENV.apiTokenSecretId} (Secrets Manager)`);
  return config.token;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

/** https only, except plain http to this machine for the simulator; an origin, nothing more. */
export function parseApiBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${ENV.apiBaseUrl} is not a URL: ${JSON.stringify(raw)}`);
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(`${ENV.apiBaseUrl} must use https (plain http is allowed only for localhost): ${JSON.stringify(url.origin)}`);
  }
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(`${ENV.apiBaseUrl} must be an origin such as https://api.commbox.io, without path, query or credentials`);
  }
  return new URL(url.origin);
}

function readToken(env: Env): TokenSource | undefined {
  const secretId = optional(env, ENV.apiTokenSecretId);
  if (secretId !== undefined) return { kind: 'secret', secretId };
  const token = optional(env, ENV.apiToken);
  if (token === undefined) return undefined;
  if (/[\s\u0000-\u001f\u007f]/.test(token)) throw new ConfigError(`${ENV.apiToken} contains whitespace or control characters`);
  return { kind: 'value', token: new Secret(token) };
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}: ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
