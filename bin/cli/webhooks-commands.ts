import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { InMemoryWebhookQueue } from '../../lambda/adapters/in-memory-webhook-queue';
import { describeOutcome } from '../../lambda/adapters/sqs-webhook-queue';
import { createWebhookSender, createWebhookStores, type WebhookStores } from '../../lambda/composition';
import { isLocalRun, type Config } from '../../lambda/config';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { DeliveryAttemptOutcome } from '../../lambda/core/webhook-delivery';
import { WebhookDispatcher, type DispatchObserver } from '../../lambda/core/webhook-dispatcher';
import {
  DEFAULT_WEBHOOK_EVENT_TYPES,
  InvalidWebhookUrlError,
  isWebhookEventType,
  newWebhookEndpointId,
  parseWebhookEndpointId,
  parseWebhookUrl,
  redactWebhookUrl,
  WEBHOOK_EVENT_TYPES,
  type WebhookEndpoint,
  type WebhookEndpointId,
  type WebhookEventType,
} from '../../lambda/core/webhook-endpoint';
import { buildTestEvent, deliveryLogKey, TEST_EVENT_TYPE, type DeliveryJob, type LoggedDelivery } from '../../lambda/core/webhook-job';
import { classifyAttempt, IN_RUN_RETRY_SCHEDULE } from '../../lambda/core/webhook-retry-schedule';
import { newWebhookSecret, rotateSecret } from '../../lambda/core/webhook-signature';
import { LocalWebhookDelivery, type LocalDeliverySummary } from '../../lambda/local-webhooks';
import { UsageError, type CliIo, type Sink } from './io';

/**
 * `unread-notifier webhooks …` (CONTRACT "Signed webhooks"): the registry of signed-webhook
 * receivers, a test delivery, secret rotation, the delivery log and replay. Input is checked
 * before anything is written; the secret is printed by `add` and `rotate-secret` only.
 */

/** `webhooks test` and `replay` send this many deliveries at once, below the per-endpoint cap. */
const CLI_CONCURRENCY = 4;
const DEFAULT_DELIVERIES_SHOWN = 20;

function dynamo(): DynamoDBClient {
  return new DynamoDBClient({});
}

interface Context {
  readonly stores: WebhookStores;
  readonly localRun: boolean;
}

function contextOf(config: Config, io: CliIo): Context {
  const localRun = isLocalRun(io.env);
  try {
    return { stores: createWebhookStores(config, dynamo(), localRun), localRun };
  } catch (error) {
    // Only a table name too long to name its webhooks table after it.
    throw new UsageError((error as Error).message);
  }
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerWebhookCommands(program: Command, config: () => Config, io: CliIo): void {
  const webhooks = program
    .command('webhooks')
    .description('signed webhooks (Standard Webhooks 1.0): the event JSON POSTed to your https endpoint, signed with its secret');
  webhooks
    .command('add <url>')
    .description('register an endpoint; prints {"id","secret"} once (the only time the secret is shown)')
    .option('--events <types>', `comma-separated event types: ${WEBHOOK_EVENT_TYPES.join(', ')} (default ${DEFAULT_WEBHOOK_EVENT_TYPES.join(',')})`)
    .option('--identity <id>', "only this identity's events (repeatable; default every identity)", collect, [])
    .action((url: string, opts: { events?: string; identity: string[] }) => addWebhookCommand(config(), io, url, opts));
  webhooks
    .command('list')
    .description('list the endpoints and their status (no secrets)')
    .option('--json', 'print one JSON array')
    .action((opts: { json?: boolean }) => listWebhooksCommand(config(), io, opts.json === true));
  webhooks
    .command('remove <id>')
    .description('remove an endpoint, its secret and its delivery log')
    .action((id: string) => removeWebhookCommand(config(), io, id));
  webhooks
    .command('enable <id>')
    .description('make a disabled endpoint active again (same secret)')
    .action((id: string) => enableWebhookCommand(config(), io, id));
  webhooks
    .command('test <id>')
    .description('send a signed webhook.test event to the endpoint now; exit 0 on 2xx')
    .action((id: string) => testWebhookCommand(config(), io, id));
  webhooks
    .command('rotate-secret <id>')
    .description('new signing secret, printed once; the old one also signs for 24 hours')
    .action((id: string) => rotateWebhookSecretCommand(config(), io, id));
  webhooks
    .command('replay <id>')
    .description('send the logged events again (same webhook-id), from the given time on')
    .requiredOption('--since <time>', 'ISO 8601 time (or a date, UTC)')
    .action((id: string, opts: { since: string }) => replayWebhookCommand(config(), io, id, opts.since));
  webhooks
    .command('deliveries <id>')
    .description('recent deliveries to the endpoint, newest first, with their attempts')
    .option('--json', 'print one JSON array')
    .option('--limit <n>', `how many (default ${DEFAULT_DELIVERIES_SHOWN})`)
    .action((id: string, opts: { json?: boolean; limit?: string }) => deliveriesCommand(config(), io, id, opts));
}

export function parseEndpointId(raw: string): WebhookEndpointId {
  try {
    return parseWebhookEndpointId(raw.trim());
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function parseEventTypes(raw: string | undefined): WebhookEventType[] {
  if (raw === undefined) return [...DEFAULT_WEBHOOK_EVENT_TYPES];
  const types = raw.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (types.length === 0) throw new UsageError(`--events needs at least one of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  for (const type of types) {
    if (!isWebhookEventType(type)) throw new UsageError(`unknown event type ${JSON.stringify(type.slice(0, 40))}: expected ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  }
  return [...new Set(types as WebhookEventType[])];
}

/** An ISO 8601 time with its zone, or a date (midnight UTC). */
export function parseSince(raw: string): number {
  const text = raw.trim();
  const dateOnly = /^\d{4}-\d\d-\d\d$/.test(text);
  const dateTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/.test(text);
  const ms = dateOnly || dateTime ? Date.parse(dateOnly ? `${text}T00:00:00Z` : text) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--since must be an ISO 8601 time such as 2026-02-12T15:00:00Z (or a date): ${JSON.stringify(text.slice(0, 40))}`);
  return ms;
}

async function existing(stores: WebhookStores, id: WebhookEndpointId): Promise<WebhookEndpoint> {
  const endpoint = await stores.endpoints.get(id);
  if (endpoint === undefined) throw new UsageError(`webhook ${id} is not registered in ${stores.tableName}`);
  return endpoint;
}

export async function addWebhookCommand(config: Config, io: CliIo, rawUrl: string, opts: { events?: string; identity: string[] }): Promise<void> {
  const localRun = isLocalRun(io.env);
  let url: URL;
  try {
    url = parseWebhookUrl(rawUrl.trim(), { localRun });
  } catch (error) {
    if (error instanceof InvalidWebhookUrlError) throw new UsageError(error.message);
    throw error;
  }
  const events = parseEventTypes(opts.events);
  const identityIds = [
    ...new Set(
      opts.identity.map((raw) => {
        try {
          return parseIdentityId(raw.trim());
        } catch (error) {
          throw new UsageError(`--identity: ${(error as Error).message}`);
        }
      }),
    ),
  ];
  const { stores } = contextOf(config, io);
  const id = newWebhookEndpointId(randomBytes);
  const secret = newWebhookSecret(randomBytes);
  // The secret first: an endpoint never exists without one. If the endpoint cannot be written, the secret goes again.
  await stores.secrets.store(id, { current: secret });
  try {
    await stores.endpoints.create({ id, url: url.href, events, ...(identityIds.length > 0 ? { identityIds } : {}), createdAtMs: Date.now() });
  } catch (error) {
    await stores.secrets.remove(id).catch(() => undefined);
    throw error;
  }
  io.stdout.write(`${JSON.stringify({ id, secret })}\n`);
  io.stderr.write(
    `added webhook ${id} for ${events.join(', ')}${identityIds.length > 0 ? ` of identities ${identityIds.join(', ')}` : ''} to ${redactWebhookUrl(url)}\n` +
      'note: the secret is shown only now; give it to the receiver (Standard Webhooks verification) and keep it out of logs\n',
  );
}

/** What `list --json` shows of an endpoint: never a secret, and the URL without its query. */
export function endpointRow(endpoint: WebhookEndpoint): Record<string, unknown> {
  const { status, health } = endpoint;
  return {
    id: endpoint.id,
    url: redactWebhookUrl(endpoint.url),
    events: endpoint.events,
    identityIds: endpoint.identityIds ?? [],
    status: status.state,
    ...(status.state === 'disabled' ? { reason: status.reason, disabledAt: new Date(status.sinceMs).toISOString() } : {}),
    consecutiveFailures: health.consecutiveFailures,
    ...(health.failingSinceMs !== undefined ? { failingSince: new Date(health.failingSinceMs).toISOString() } : {}),
    deadLetters: health.deadLetters,
    ...(health.lastSuccessMs !== undefined ? { lastSuccess: new Date(health.lastSuccessMs).toISOString() } : {}),
  };
}

function statusText(endpoint: WebhookEndpoint): string {
  const { status, health } = endpoint;
  if (status.state === 'disabled') {
    return `disabled (${status.reason === 'gone' ? 'the receiver answered 410 Gone' : 'failing past the limit'}) since ${new Date(status.sinceMs).toISOString()}`;
  }
  if (health.consecutiveFailures > 0) return `active, ${health.consecutiveFailures} failed attempt(s) in a row`;
  return 'active';
}

export async function listWebhooksCommand(config: Config, io: CliIo, json: boolean): Promise<void> {
  const { stores } = contextOf(config, io);
  const endpoints = await stores.endpoints.list();
  if (json) {
    io.stdout.write(`${JSON.stringify(endpoints.map(endpointRow))}\n`);
    return;
  }
  if (endpoints.length === 0) {
    io.stdout.write(`no webhooks registered in ${stores.tableName}\n`);
    return;
  }
  for (const endpoint of endpoints) {
    const identities = endpoint.identityIds === undefined ? 'every identity' : `identities ${endpoint.identityIds.join(',')}`;
    io.stdout.write(`${endpoint.id}\t${statusText(endpoint)}\t${endpoint.events.join(',')}\t${identities}\t${redactWebhookUrl(endpoint.url)}\n`);
  }
}

export async function removeWebhookCommand(config: Config, io: CliIo, rawId: string): Promise<void> {
  const id = parseEndpointId(rawId);
  const { stores } = contextOf(config, io);
  // The endpoint first: from then on nothing is delivered to it, whatever else fails.
  if (!(await stores.endpoints.remove(id))) throw new UsageError(`webhook ${id} is not registered in ${stores.tableName}`);
  const leftovers: string[] = [];
  await stores.secrets.remove(id).catch((error: unknown) => leftovers.push(`its secret (${(error as Error).name})`));
  await stores.log.removeAll(id).catch((error: unknown) => leftovers.push(`its delivery log (${(error as Error).name})`));
  io.stdout.write(`removed webhook ${id}\n`);
  if (leftovers.length > 0) io.stderr.write(`warning: webhook ${id} is removed, but ${leftovers.join(' and ')} could not be deleted\n`);
}

export async function enableWebhookCommand(config: Config, io: CliIo, rawId: string): Promise<void> {
  const id = parseEndpointId(rawId);
  const { stores } = contextOf(config, io);
  const endpoint = await existing(stores, id);
  if (endpoint.status.state === 'active') {
    io.stdout.write(`webhook ${id} is already active\n`);
    return;
  }
  if (!(await stores.endpoints.enable(id, Date.now()))) throw new UsageError(`webhook ${id} is not registered in ${stores.tableName}`);
  io.stdout.write(`enabled webhook ${id} (same secret); send what it missed with: unread-notifier webhooks replay ${id} --since <ISO>\n`);
}

/** A dispatcher for one command's deliveries (test, replay): the in-run schedule, nothing kept. */
function cliDispatcher(ctx: Context, io: CliIo, observer: DispatchObserver = {}): { dispatcher: WebhookDispatcher; queue: InMemoryWebhookQueue } {
  const queue = new InMemoryWebhookQueue({ clock: Date.now, concurrency: CLI_CONCURRENCY, redeliveryDelayMs: 1_000, maxReceives: 3, onDeadLetter: () => Promise.resolve('failed') });
  const dispatcher = new WebhookDispatcher({
    endpoints: ctx.stores.endpoints,
    slots: ctx.stores.endpoints,
    secrets: ctx.stores.secrets,
    log: ctx.stores.log,
    sender: createWebhookSender(ctx.localRun, io.webhookTransport),
    queue,
    clock: Date.now,
    schedule: IN_RUN_RETRY_SCHEDULE,
    observer,
  });
  queue.consumeWith((job) => dispatcher.deliver(job));
  return { dispatcher, queue };
}

/** The response status alone on stdout (so scripts can read it), the rest in words. */
export async function testWebhookCommand(config: Config, io: CliIo, rawId: string): Promise<void> {
  const id = parseEndpointId(rawId);
  const ctx = contextOf(config, io);
  await existing(ctx.stores, id);
  const now = Date.now();
  const eventId = `test_${randomBytes(12).toString('hex')}`;
  const { body, event } = buildTestEvent(id, eventId, now);
  const job: DeliveryJob = { endpointId: id, eventId, eventType: TEST_EVENT_TYPE, logKey: deliveryLogKey(event, now), body, kind: 'test', attempt: 1, notBeforeMs: now, deferrals: 0 };
  const step = await cliDispatcher(ctx, io).dispatcher.deliver(job);
  const outcome = step.kind === 'settled' ? step.outcome : undefined;
  if (outcome === undefined) throw new Error(`webhook ${id} was not tested (it was removed meanwhile)`);
  if (outcome.kind === 'response') io.stdout.write(`${outcome.status}\n`);
  else io.stdout.write(`no response: ${describeOutcome(outcome)}\n`);
  if (classifyAttempt(outcome) === 'delivered') {
    io.stderr.write(`webhook ${id} accepted the signed ${TEST_EVENT_TYPE} event ${eventId} in ${outcome.durationMs} ms\n`);
    return;
  }
  throw new DeliveryFailedError(`webhook ${id} did not accept the test event: ${explain(outcome)}`);
}

/** A delivery that was not accepted: exit 1, not 2 (the input was fine). */
export class DeliveryFailedError extends Error {
  override readonly name = 'DeliveryFailedError';
}

function explain(outcome: DeliveryAttemptOutcome): string {
  if (outcome.kind === 'response') {
    if (outcome.status >= 300 && outcome.status < 400) return `HTTP ${outcome.status} (redirects are not followed: register the final URL)`;
    if (outcome.status === 410) return 'HTTP 410 Gone (the dispatcher disables an endpoint that answers this)';
    return `HTTP ${outcome.status}`;
  }
  return describeOutcome(outcome);
}

export async function rotateWebhookSecretCommand(config: Config, io: CliIo, rawId: string): Promise<void> {
  const id = parseEndpointId(rawId);
  const { stores } = contextOf(config, io);
  await existing(stores, id);
  const now = Date.now();
  const rotated = rotateSecret(await stores.secrets.load(id), newWebhookSecret(randomBytes), now);
  await stores.secrets.store(id, rotated);
  io.stdout.write(`${JSON.stringify({ id, secret: rotated.current })}\n`);
  io.stderr.write(`rotated the secret of webhook ${id}; deliveries carry both signatures until ${new Date(rotated.previous?.signsUntilMs ?? now).toISOString()}\n`);
}

export async function replayWebhookCommand(config: Config, io: CliIo, rawId: string, rawSince: string): Promise<void> {
  const id = parseEndpointId(rawId);
  const sinceMs = parseSince(rawSince);
  const ctx = contextOf(config, io);
  const endpoint = await existing(ctx.stores, id);
  if (endpoint.status.state !== 'active') throw new UsageError(`webhook ${id} is disabled (${endpoint.status.reason}): run 'unread-notifier webhooks enable ${id}' first`);
  const since = new Date(sinceMs).toISOString();
  const logged = (await ctx.stores.log.list(id, { sinceLogKey: since })).filter((entry) => entry.eventType !== TEST_EVENT_TYPE);
  if (logged.length === 0) {
    io.stdout.write(`nothing logged for webhook ${id} since ${since}\n`);
    return;
  }
  const results = new Map<string, string>();
  const { queue } = cliDispatcher(ctx, io, {
    delivered: (job, outcome) => results.set(job.logKey, `replayed ${job.eventId} (${describeOutcome(outcome)})`),
    attemptFailed: (job, outcome, next) => {
      if (next) io.stderr.write(`warning: ${job.eventId} attempt ${job.attempt} failed (${explain(outcome)}); trying again\n`);
      else results.set(job.logKey, `not delivered ${job.eventId} (${explain(outcome)})`);
    },
    dropped: (job, why) => results.set(job.logKey, `not delivered ${job.eventId} (${why})`),
  });
  const now = Date.now();
  await queue.enqueue(logged.map((entry) => replayJob(entry, now)));
  await queue.idle();
  let failed = 0;
  for (const entry of logged) {
    const line = results.get(entry.logKey) ?? `not delivered ${entry.eventId} (no answer)`;
    if (!line.startsWith('replayed')) failed += 1;
    io.stdout.write(`${line}\n`);
  }
  if (failed > 0) throw new DeliveryFailedError(`${failed} of ${logged.length} replayed events were not accepted by webhook ${id}`);
}

function replayJob(entry: LoggedDelivery, nowMs: number): DeliveryJob {
  return {
    endpointId: entry.endpointId,
    eventId: entry.eventId,
    eventType: entry.eventType,
    logKey: entry.logKey,
    body: entry.body,
    kind: 'replay',
    attempt: 1,
    notBeforeMs: nowMs,
    deferrals: 0,
  };
}

export async function deliveriesCommand(config: Config, io: CliIo, rawId: string, opts: { json?: boolean; limit?: string }): Promise<void> {
  const id = parseEndpointId(rawId);
  const limit = opts.limit === undefined ? DEFAULT_DELIVERIES_SHOWN : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be an integer from 1 to 1000');
  const { stores } = contextOf(config, io);
  await existing(stores, id);
  const entries = await stores.log.list(id, { limit });
  if (opts.json) {
    io.stdout.write(`${JSON.stringify(entries.map(deliveryRow))}\n`);
    return;
  }
  if (entries.length === 0) {
    io.stdout.write(`no deliveries logged for webhook ${id}\n`);
    return;
  }
  for (const entry of entries) {
    const last = entry.attempts[entry.attempts.length - 1];
    const next = entry.nextAttemptAtMs !== undefined && entry.state === 'retrying' ? `, next attempt ${new Date(entry.nextAttemptAtMs).toISOString()}` : '';
    const lastText = last ? `, last ${describeOutcome(last.outcome)} at ${new Date(last.atMs).toISOString()}` : '';
    io.stdout.write(`${observedAtOf(entry)}\t${entry.eventId}\t${entry.eventType}\t${entry.state}\t${entry.attempts.length} attempt(s)${lastText}${next}\n`);
  }
}

function observedAtOf(entry: LoggedDelivery): string {
  return entry.logKey.slice(0, entry.logKey.indexOf('#'));
}

/** What `deliveries --json` shows: the attempts and their outcomes; no body, no URL, no secret. */
export function deliveryRow(entry: LoggedDelivery): Record<string, unknown> {
  return {
    eventId: entry.eventId,
    eventType: entry.eventType,
    observedAt: observedAtOf(entry),
    state: entry.state,
    ...(entry.nextAttemptAtMs !== undefined && entry.state === 'retrying' ? { nextAttemptAt: new Date(entry.nextAttemptAtMs).toISOString() } : {}),
    attempts: entry.attempts.map((a) => ({
      attempt: a.attempt,
      kind: a.kind,
      at: new Date(a.atMs).toISOString(),
      outcome: a.outcome.kind,
      ...(a.outcome.kind === 'response' ? { status: a.outcome.status } : {}),
      ...(a.outcome.kind === 'network' ? { code: a.outcome.code } : {}),
      ...(a.outcome.kind === 'refused' ? { reason: a.outcome.reason } : {}),
      durationMs: a.outcome.durationMs,
    })),
  };
}

/** `poll` without TOPIC_ARN delivers to the registered endpoints itself; with it, the stack's dispatcher does. */
export function createPollWebhooks(config: Config, io: CliIo): LocalWebhookDelivery | undefined {
  if (config.topicArn) return undefined;
  const localRun = isLocalRun(io.env);
  let stores: WebhookStores;
  try {
    stores = createWebhookStores(config, dynamo(), localRun);
  } catch {
    // A table name too long for its webhooks table: there can be no webhooks.
    return undefined;
  }
  return new LocalWebhookDelivery({ stores, sender: createWebhookSender(localRun, io.webhookTransport), observer: terminalObserver(io.stderr) });
}

/** One line per delivery outcome on the terminal: ids, status and timing only. */
export function terminalObserver(out: Sink): DispatchObserver {
  const what = (job: DeliveryJob): string => `webhook ${job.endpointId}: ${job.eventType} ${job.eventId.slice(0, 8)}`;
  return {
    delivered: (job, outcome) => out.write(`${what(job)} delivered (${describeOutcome(outcome)}, ${outcome.durationMs} ms)\n`),
    attemptFailed: (job, outcome, next) =>
      out.write(
        `warning: ${what(job)} attempt ${job.attempt} failed (${explain(outcome)})` +
          (next ? `; next attempt in ${Math.max(0, Math.round((next.notBeforeMs - Date.now()) / 1000))} s\n` : '\n'),
      ),
    deadLettered: (job, _outcome, state) => {
      if (state === 'kept') out.write(`warning: ${what(job)} not delivered; kept for the next poll\n`);
    },
    endpointDisabled: (job, reason) =>
      out.write(
        `warning: webhook ${job.endpointId} disabled: ${reason === 'gone' ? 'it answered 410 Gone' : 'failing past the limit'}; 'unread-notifier webhooks enable ${job.endpointId}' turns it back on\n`,
      ),
  };
}

/** The poll's closing line about webhooks, when there were any. */
export function reportLocalDeliveries(summary: LocalDeliverySummary, io: CliIo): void {
  if (summary.delivered + summary.kept + summary.failedAttempts === 0) return;
  io.stderr.write(
    `webhooks: ${summary.delivered} delivered` +
      (summary.kept > 0 ? `, ${summary.kept} kept for the next poll` : '') +
      (summary.endpointsDisabled > 0 ? `, ${summary.endpointsDisabled} endpoint(s) disabled` : '') +
      '\n',
  );
}
