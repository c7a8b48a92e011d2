import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ConfigError, loadConfig } from '../lambda/config';
import { formatAlertPolicyValue } from '../lambda/core/alert-policy';
import { InvalidAlertPolicyError, parseAlertPolicyValue } from '../lambda/core/alert-policy-parse';
import type { Direction } from '../lambda/core/model';
import type { EventType } from '../lambda/core/subscription-filter';
import { ALERT_ENV, ENV, type EnvName } from '../lambda/env-names';
import { MAX_WATCHED_INTERVAL } from './alarms';
import { isKmsKeyArn } from './api-token-secret';
import type { EventFilter, IntegratorQueueSpec, SubscriptionSpec } from './event-subscriptions';
import type { AlertPolicyDefaults } from './poller';
import type { UnreadNotifierStackProps } from './unread-notifier-stack';

/**
 * The context keys `bin/app.ts` reads (`cdk deploy -c key=value`, or `context` in cdk.json /
 * cdk.context.json). Lists take a comma-separated string or a JSON array; a JSON entry may be an
 * object `{"endpoint": "...", "events": ["unread.alert", "unread.changed"], "identityId": "558355",
 * "directions": ["increased"]}` to filter (a direction applies to change events only).
 */
export const CONTEXT_KEYS = {
  stackName: 'stack name; a second name deploys a second, independent copy (default UnreadNotifier)',
  scheduleRateMinutes: `minutes between polls of every identity, 1 to ${MAX_WATCHED_INTERVAL.toMinutes()} (default 1)`,
  shards: 'schedules, each polling one parallel-scan segment of the registry (default 1)',
  timeoutSeconds: 'function timeout, below the rate (default rate minus 10 s: 50)',
  apiBaseUrl: 'CommBox API origin (default https://api.commbox.io)',
  pollConcurrency: 'CommBox requests in flight per shard (default 128)',
  failureStreakThreshold: 'failed polls in a row before an identity counts as failing (default 5)',
  memorySize: 'function memory in MB, which also sets its CPU share (default 256)',
  apiTokenSecretName: 'use this existing Secrets Manager secret instead of creating an empty one',
  apiTokenSecretKmsKeyArn: 'the ARN of the customer managed KMS key that encrypts that existing secret (the poller may decrypt through Secrets Manager only)',
  alertEmails: 'email subscriptions (unread.alert events unless an entry says "events")',
  smsNumbers: 'SMS subscriptions, E.164 such as +14155550100 (unread.alert events unless an entry says "events")',
  webhookUrls: 'HTTPS webhook subscriptions (unread.changed events unless an entry says "events")',
  integratorQueue: 'true (or a filter object) to create an SQS queue subscribed with raw delivery (unread.changed events by default)',
  alertPolicy:
    'the stack-wide alert policy, a JSON object of policy fields as the CLI flags write them, e.g. {"cooldown":"15m","quietHours":"22:00-07:00","timeZone":"Europe/Berlin"} (each identity may set its own)',
  opsEmails: 'email subscriptions to the alarm topic',
  logRetentionDays: 'function log retention in days, a CloudWatch Logs value (default 30)',
  removalPolicy: 'retain (default) or destroy: what deleting the stack does to the table, secret and logs',
  repollEndpointConcurrency: "reserved concurrency of the re-poll endpoint; requests beyond it get 429 and the poller keeps the account's pool (default 5; 0 reserves none, for accounts whose quota is still 10)",
  repollConsumerConcurrency: 're-poll consumers at once, from 2: caps the CommBox requests a webhook storm can cause (default 2)',
  repollWindowMs: 'requests for one identity within this many milliseconds cause one poll, plus one at its end (default 2000)',
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;

export interface AppConfig {
  readonly stackName: string;
  readonly props: UnreadNotifierStackProps;
}

export const DEFAULT_STACK_NAME = 'UnreadNotifier';

/** A context value or key the app refuses; bin/app.ts prints its message as one line. */
export class ContextError extends Error {
  override readonly name = 'ContextError';
}

/**
 * Context keys that become a setting of the function's environment: checked here by the
 * runtime's own parser (lambda/config.ts), before the stack is built, under the key's name.
 */
const RUNTIME_SETTINGS: Partial<Record<ContextKey, EnvName>> = {
  apiBaseUrl: ENV.apiBaseUrl,
  pollConcurrency: ENV.pollConcurrency,
  failureStreakThreshold: ENV.failureStreakThreshold,
};

/** Context keys of CDK itself (cdk.json, the CLI); any key with `:` or starting with `@` is CDK's too. */
const CDK_CONTEXT_KEYS: readonly string[] = ['cli-telemetry', 'acknowledged-issue-numbers'];

/**
 * Refuses a context key the app does not know (`-c shardz=3` would otherwise be ignored
 * silently), suggesting the known key it is closest to.
 */
export function checkContextKeys(keys: readonly string[]): void {
  const known = Object.keys(CONTEXT_KEYS);
  for (const key of keys) {
    if (known.includes(key) || CDK_CONTEXT_KEYS.includes(key) || key.startsWith('@') || key.includes(':')) continue;
    const closest = known
      .map((candidate) => ({ candidate, distance: editDistance(key.toLowerCase(), candidate.toLowerCase()) }))
      .sort((a, b) => a.distance - b.distance)[0];
    const hint = closest && closest.distance <= Math.max(2, Math.floor(key.length / 3)) ? `did you mean "${closest.candidate}"? ` : '';
    throw new ContextError(`unknown context key "${key}"; ${hint}the keys are ${known.join(', ')}`);
  }
}

/** Reads and checks the context; every error names the key and what it expected. */
export function readAppConfig(get: (key: ContextKey) => unknown): AppConfig {
  for (const [key, variable] of Object.entries(RUNTIME_SETTINGS) as [ContextKey, EnvName][]) {
    const value = get(key);
    if (!present(value)) continue;
    try {
      loadConfig({ [variable]: typeof value === 'string' ? value : JSON.stringify(value) });
    } catch (error) {
      // The runtime names the variable; the person wrote the context key.
      if (error instanceof ConfigError && error.message.startsWith(`${variable} `)) throw new ContextError(`context key "${key}" ${error.message.slice(variable.length + 1)}`);
      throw error;
    }
  }
  const stackName = optionalString(get, 'stackName') ?? DEFAULT_STACK_NAME;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw contextError('stackName', 'a CloudFormation stack name (a letter, then letters, digits and hyphens)', stackName);
  }
  const rate = scheduleRateMinutes(get);
  const timeout = optionalInteger(get, 'timeoutSeconds');
  const apiTokenSecretName = optionalString(get, 'apiTokenSecretName');
  return {
    stackName,
    props: {
      removalPolicy: removalPolicy(get),
      scheduleRate: rate === undefined ? undefined : Duration.minutes(rate),
      shards: optionalInteger(get, 'shards'),
      timeout: timeout === undefined ? undefined : Duration.seconds(timeout),
      apiBaseUrl: optionalString(get, 'apiBaseUrl'),
      pollConcurrency: optionalInteger(get, 'pollConcurrency'),
      failureStreakThreshold: optionalInteger(get, 'failureStreakThreshold'),
      memorySize: optionalInteger(get, 'memorySize'),
      apiTokenSecretName,
      apiTokenSecretKmsKeyArn: secretKmsKeyArn(get, apiTokenSecretName),
      alertEmails: subscriptionList(get, 'alertEmails'),
      smsNumbers: subscriptionList(get, 'smsNumbers'),
      webhookUrls: subscriptionList(get, 'webhookUrls'),
      integratorQueue: integratorQueue(get),
      alertPolicy: alertPolicy(get),
      opsEmails: subscriptionList(get, 'opsEmails')?.map((spec) => {
        if (spec.identityId !== undefined || spec.directions !== undefined) throw contextError('opsEmails', 'plain email addresses (alarms are not filtered)', spec);
        return spec.endpoint;
      }),
      logRetention: logRetention(get),
      repollEndpointConcurrency: optionalInteger(get, 'repollEndpointConcurrency'),
      repollConsumerConcurrency: optionalInteger(get, 'repollConsumerConcurrency'),
      repollWindow: repollWindow(get),
    },
  };
}

function scheduleRateMinutes(get: (key: ContextKey) => unknown): number | undefined {
  const minutes = optionalInteger(get, 'scheduleRateMinutes');
  const max = MAX_WATCHED_INTERVAL.toMinutes();
  if (minutes !== undefined && (minutes < 1 || minutes > max)) {
    throw contextError('scheduleRateMinutes', `from 1 to ${max} (the NotPolling alarm watches two intervals, and CloudWatch alarms look back at most 7 days)`, minutes);
  }
  return minutes;
}

function repollWindow(get: (key: ContextKey) => unknown): Duration | undefined {
  const ms = optionalInteger(get, 'repollWindowMs');
  if (ms !== undefined && ms > 60_000) throw contextError('repollWindowMs', 'from 0 to 60000 (milliseconds)', ms);
  return ms === undefined ? undefined : Duration.millis(ms);
}

function secretKmsKeyArn(get: (key: ContextKey) => unknown, secretName: string | undefined): string | undefined {
  const arn = optionalString(get, 'apiTokenSecretKmsKeyArn');
  if (arn === undefined) return undefined;
  if (secretName === undefined) throw contextError('apiTokenSecretKmsKeyArn', 'given only with apiTokenSecretName (a secret the stack creates uses the AWS managed key)', arn);
  if (!isKmsKeyArn(arn)) throw contextError('apiTokenSecretKmsKeyArn', 'a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/<id> (not an alias)', arn);
  return arn;
}

function contextError(key: ContextKey, expected: string, got: unknown): Error {
  return new ContextError(`context key "${key}" must be ${expected}; got ${JSON.stringify(got)}`);
}

/** Levenshtein distance, for the did-you-mean of an unknown key. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
}

function optionalString(get: (key: ContextKey) => unknown, key: ContextKey): string | undefined {
  const value = get(key);
  if (!present(value)) return undefined;
  if (typeof value !== 'string') throw contextError(key, 'a string', value);
  return value.trim();
}

function optionalInteger(get: (key: ContextKey) => unknown, key: ContextKey): number | undefined {
  const value = get(key);
  if (!present(value)) return undefined;
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) throw contextError(key, 'a whole number', value);
  return number;
}

function removalPolicy(get: (key: ContextKey) => unknown): RemovalPolicy | undefined {
  const value = optionalString(get, 'removalPolicy');
  if (value === undefined) return undefined;
  if (value.toLowerCase() === 'retain') return RemovalPolicy.RETAIN;
  if (value.toLowerCase() === 'destroy') return RemovalPolicy.DESTROY;
  throw contextError('removalPolicy', '"retain" or "destroy"', value);
}

function logRetention(get: (key: ContextKey) => unknown): logs.RetentionDays | undefined {
  const days = optionalInteger(get, 'logRetentionDays');
  if (days === undefined) return undefined;
  const allowed = Object.values(logs.RetentionDays).filter((v): v is logs.RetentionDays => typeof v === 'number' && v !== logs.RetentionDays.INFINITE);
  const match = allowed.find((v) => Number(v) === days);
  if (match === undefined) throw contextError('logRetentionDays', `one of ${allowed.join(', ')}`, days);
  return match;
}

/** A JSON string is parsed; any other string is a comma-separated list. */
function listOf(get: (key: ContextKey) => unknown, key: ContextKey): unknown[] | undefined {
  const value = get(key);
  if (!present(value)) return undefined;
  if (Array.isArray(value)) return value as unknown[];
  if (typeof value !== 'string') throw contextError(key, 'a comma-separated string or a JSON array', value);
  const text = value.trim();
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed as unknown[];
    } catch {
      // reported below
    }
    throw contextError(key, 'a valid JSON array', text);
  }
  return text.split(',').map((part) => part.trim()).filter((part) => part !== '');
}

function subscriptionList(get: (key: ContextKey) => unknown, key: ContextKey): SubscriptionSpec[] | undefined {
  return listOf(get, key)?.map((entry) => {
    if (typeof entry === 'string') return { endpoint: entry.trim() };
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw contextError(key, 'a list of strings or {"endpoint", "identityId", "directions"} objects', entry);
    const { endpoint, ...filter } = entry as Record<string, unknown>;
    if (typeof endpoint !== 'string' || endpoint.trim() === '') throw contextError(key, 'entries with a string "endpoint"', entry);
    return { endpoint: endpoint.trim(), ...eventFilter(key, filter) };
  });
}

function integratorQueue(get: (key: ContextKey) => unknown): IntegratorQueueSpec | undefined {
  let value = get('integratorQueue');
  if (!present(value) || value === false || value === 'false') return undefined;
  if (value === true || value === 'true') return {};
  if (typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      value = JSON.parse(value);
    } catch {
      throw contextError('integratorQueue', 'true or a JSON filter object', value);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw contextError('integratorQueue', 'true or a filter object {"identityId", "directions"}', value);
  return eventFilter('integratorQueue', value as Record<string, unknown>);
}

function eventFilter(key: ContextKey, raw: Record<string, unknown>): EventFilter {
  const unknownKeys = Object.keys(raw).filter((k) => k !== 'identityId' && k !== 'directions' && k !== 'events');
  if (unknownKeys.length > 0) throw contextError(key, 'objects with only "endpoint", "events", "identityId" and "directions"', raw);
  const filter: { events?: EventType[]; identityId?: string; directions?: Direction[] } = {};
  const { identityId, directions, events } = raw;
  if (events !== undefined) {
    const list = typeof events === 'string' ? events.split(',').map((e) => e.trim()) : events;
    if (!Array.isArray(list) || !list.every((e): e is string => typeof e === 'string')) throw contextError(key, 'events as a list of strings', events);
    filter.events = list as EventType[];
  }
  if (identityId !== undefined) {
    // A JSON number beyond 2^53 has already lost digits: only safe integers are taken as numbers.
    if (typeof identityId === 'number' && Number.isSafeInteger(identityId)) filter.identityId = String(identityId);
    else if (typeof identityId === 'string') filter.identityId = identityId.trim();
    else throw contextError(key, 'an identityId written as a string, such as "558355"', identityId);
  }
  if (directions !== undefined) {
    const list = typeof directions === 'string' ? directions.split(',').map((d) => d.trim()) : directions;
    if (!Array.isArray(list) || !list.every((d): d is string => typeof d === 'string')) throw contextError(key, 'directions as a list of strings', directions);
    filter.directions = list as Direction[];
  }
  return filter;
}

/**
 * The stack-wide alert policy: an object (or its JSON) of the policy fields, each checked by the
 * parser the CLI and the function use, and written as the flags write it. `snoozeUntil` has no
 * stack-wide default: it belongs to one identity.
 */
function alertPolicy(get: (key: ContextKey) => unknown): AlertPolicyDefaults | undefined {
  let value = get('alertPolicy');
  if (!present(value)) return undefined;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw contextError('alertPolicy', 'a JSON object of alert policy fields', value);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw contextError('alertPolicy', 'an object of alert policy fields', value);
  const fields = Object.keys(ALERT_ENV) as (keyof typeof ALERT_ENV)[];
  const policy: Partial<Record<keyof typeof ALERT_ENV, string | number | boolean>> = {};
  for (const [field, raw] of Object.entries(value as Record<string, unknown>)) {
    if (field === 'snoozeUntil') throw new ContextError('context key "alertPolicy": snoozeUntil has no stack-wide default; snooze one identity with identities set <id> --snooze-until');
    if (!(fields as string[]).includes(field)) throw new ContextError(`context key "alertPolicy" has an unknown field ${JSON.stringify(field)}; the fields are ${fields.join(', ')}`);
    const name = field as keyof typeof ALERT_ENV;
    try {
      policy[name] = formatAlertPolicyValue(name, parseAlertPolicyValue(name, raw));
    } catch (error) {
      if (error instanceof InvalidAlertPolicyError) throw new ContextError(`context key "alertPolicy": invalid ${name} ${JSON.stringify(raw)}: expected ${error.expected}`);
      throw error;
    }
  }
  return policy;
}
