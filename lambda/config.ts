import { inspect } from 'node:util';
import type { AlertPolicy } from './core/alert-policy';
import { InvalidAlertPolicyError, parseAlertDefaults } from './core/alert-policy-parse';
import { ENV, METRICS } from './env-names';

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
  /** The `service` dimension of the metrics and the service of the logs (the stack's name in Lambda). */
  readonly serviceName: string;
  /** The stack-wide alert policy (ALERT_* variables, the built-in defaults for those unset); identities' own values win. */
  readonly alertDefaults: AlertPolicy;
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
  serviceName: METRICS.service,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses one setting's value; `name` is what a refusal names: the environment variable, or the
 * CLI flag the value was given as. One parser per setting serves both, so they are checked alike.
 */
export type SettingParser<T> = (raw: string, name: string) => T;

/** Settings the CLI also takes as flags, already parsed; they win, and their variables are not read. */
export type ConfigOverrides = Partial<Pick<Config, 'apiBaseUrl' | 'tableName' | 'topicArn' | 'pollConcurrency'>>;

/** Reads the configuration once and fails fast, naming the variable that is wrong. */
export function loadConfig(env: Env, given: ConfigOverrides = {}): Config {
  const token = readToken(env);
  const topicArn = given.topicArn ?? read(env, ENV.topicArn, parseTopicArn);
  return Object.freeze({
    apiBaseUrl: given.apiBaseUrl ?? parseApiBaseUrl(optional(env, ENV.apiBaseUrl) ?? DEFAULTS.apiBaseUrl),
    ...(token ? { token } : {}),
    tableName: given.tableName ?? read(env, ENV.tableName, parseTableName) ?? DEFAULTS.tableName,
    ...(topicArn ? { topicArn } : {}),
    pollConcurrency: given.pollConcurrency ?? read(env, ENV.pollConcurrency, parsePollConcurrency) ?? DEFAULTS.pollConcurrency,
    requestTimeoutMs: integer(env, ENV.requestTimeoutMs, DEFAULTS.requestTimeoutMs, 100, 120_000),
    maxAttempts: integer(env, ENV.maxAttempts, DEFAULTS.maxAttempts, 1, 10),
    claimLeaseMs: integer(env, ENV.claimLeaseSeconds, DEFAULTS.claimLeaseSeconds, 1, 86_400) * 1000,
    failureStreakThreshold: integer(env, ENV.failureStreakThreshold, DEFAULTS.failureStreakThreshold, 1, 10_000),
    serviceName: serviceName(optional(env, ENV.serviceName) ?? DEFAULTS.serviceName),
    alertDefaults: alertDefaults(env),
  });
}

/** The ALERT_* variables; a bad one is refused naming the variable, its value and what it expects. */
function alertDefaults(env: Env): AlertPolicy {
  try {
    return parseAlertDefaults(env);
  } catch (error) {
    if (error instanceof InvalidAlertPolicyError) throw new ConfigError(error.message, { cause: error });
    throw error;
  }
}

export const parseTableName: SettingParser<string> = (raw, name) => {
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(raw)) {
    throw new ConfigError(`${name} must be 3-255 characters of letters, digits, '_', '-' or '.': ${JSON.stringify(raw)}`);
  }
  return raw;
};

export const parseTopicArn: SettingParser<string> = (raw, name) => {
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(raw)) {
    throw new ConfigError(`${name} is not an SNS topic ARN: ${JSON.stringify(raw)}`);
  }
  return raw;
};

export const parsePollConcurrency: SettingParser<number> = (raw, name) => integerIn(raw, name, 1, 1000);

/** Polling needs a token; managing the registry does not. */
export function requireToken(config: Config): TokenSource {
  if (!config.token) throw new ConfigError(`missing token: set ${ENV.apiToken} (local runs) or ${ENV.apiTokenSecretId} (Secrets Manager)`);
  return config.token;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** The SDK's own variable for the DynamoDB endpoint; on loopback it makes a local run (CONTRACT.md). */
const DYNAMODB_ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_DYNAMODB';

/**
 * A local run (`npm start`, the tests, the README's local recipe) talks to a DynamoDB on this
 * machine; anything else talks to AWS, where the stack's protections apply.
 */
export function isLocalRun(env: Env): boolean {
  const endpoint = optional(env, DYNAMODB_ENDPOINT_VARIABLE);
  if (endpoint === undefined || !URL.canParse(endpoint)) return false;
  return isLoopbackHost(new URL(endpoint).hostname);
}

/** https only, except plain http to this machine for the simulator; an origin, nothing more. */
export function parseApiBaseUrl(raw: string, name: string = ENV.apiBaseUrl): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(`${name} must use https (plain http is allowed only for localhost): ${JSON.stringify(url.origin)}`);
  }
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(`${name} must be an origin such as https://api.commbox.io, without path, query or credentials`);
  }
  return new URL(url.origin);
}

/** A CloudWatch dimension value: 1 to 255 printable ASCII characters. */
function serviceName(raw: string): string {
  if (!/^[\x21-\x7e]{1,255}$/.test(raw)) throw new ConfigError(`${ENV.serviceName} must be 1-255 printable ASCII characters without spaces: ${JSON.stringify(raw)}`);
  return raw;
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

function read<T>(env: Env, name: string, parse: SettingParser<T>): T | undefined {
  const raw = optional(env, name);
  return raw === undefined ? undefined : parse(raw, name);
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  return read(env, name, (raw) => integerIn(raw, name, min, max)) ?? fallback;
}

function integerIn(raw: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}: ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
