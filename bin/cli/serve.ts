/**
 * `unread-notifier serve`: the poller and the re-poll endpoint in one local process. A cycle at
 * once and then every interval (the schedule), `POST /repoll` and `GET /health` on 127.0.0.1, and
 * the re-polls it grants run as targeted polls through the same store, outbox and claims (the
 * in-memory queue standing in for SQS). The pieces are the Lambda functions' own.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRepollMarker } from '../../lambda/adapters/dynamodb-repoll-marker';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { InMemoryRepollQueue } from '../../lambda/adapters/in-memory-repoll-queue';
import { createPublisher, createSource, createTokenProvider, createWebhookSender, createWebhookStores, type WebhookStores } from '../../lambda/composition';
import { ConfigError, isLocalRun, requireToken, type Config } from '../../lambda/config';
import type { IdentityId } from '../../lambda/core/identity-id';
import { runPollCycle, type CycleObserver, type CycleSummary } from '../../lambda/core/poll-cycle';
import type { EventPublisher } from '../../lambda/core/ports';
import { RepollSecretError } from '../../lambda/core/repoll-auth';
import type { RepollMessage, RepollSecretSource } from '../../lambda/core/repoll-ports';
import { runRepollBatch, type RepollBatchResult } from '../../lambda/core/repoll-run';
import { LocalWebhookDelivery } from '../../lambda/local-webhooks';
import { lastWriteOfBoundedRun, newRunReceipt } from '../../lambda/invocation';
import { REPOLL_ENV, repollWindowMs } from '../../lambda/repoll-config';
import { fixedRepollSecrets, type RepollHttpResponse } from '../../lambda/repoll-endpoint';
import { CoalescingRepollMarker } from '../../local/coalescing-repoll-marker';
import { RepollDispatcher } from '../../local/repoll-dispatcher';
import { startRepollHttpServer } from '../../local/repoll-http-server';
import { UsageError, type CliIo } from './io';
import { reportLocalDeliveries, terminalObserver } from './webhooks-commands';

export const DEFAULT_SERVE_PORT = 8787;
export const DEFAULT_SERVE_INTERVAL_SECONDS = 60;
/** A re-poll that failed is tried again this much later, at most this many times; the schedule is the safety net. */
const RETRY_DELAY_MS = 5_000;
const MAX_RETRIES = 3;

/** What `serve` reports as it goes; each hook gets counts and ids, never a secret or a request body. */
export interface ServeReport {
  cycleDone?(summary: CycleSummary, cycle: number): void;
  cycleFailed?(error: unknown, cycle: number): void;
  /** A tick came while the previous cycle still ran: skipped, cycles never overlap. */
  cycleSkipped?(cycle: number): void;
  request?(response: RepollHttpResponse): void;
  repolled?(result: RepollBatchResult): void;
}

/**
 * What wraps the publisher of one run: a scheduled cycle or one identity's re-poll. `serve` and
 * `npm start` deliver signed webhooks this way without TOPIC_ARN, as `poll` does; `done` is awaited
 * when the run has ended (it waits for the deliveries' in-run retries).
 */
export interface ServeRun {
  readonly publisher: (inner: EventPublisher) => EventPublisher;
  done(): Promise<void>;
}

export interface ServeOptions {
  readonly config: Config;
  readonly dynamo: DynamoDBClient;
  readonly secrets: RepollSecretSource;
  readonly publisher: EventPublisher;
  /** 0 for any free port; always on 127.0.0.1. */
  readonly port: number;
  /** Milliseconds between scheduled cycles; undefined runs none (the caller has its own schedule). */
  readonly intervalMs?: number;
  /** @default REPOLL_WINDOW_MS's default (2 s) */
  readonly windowMs?: number;
  /** Observes the scheduled cycles. */
  readonly cycleObserver?: CycleObserver;
  /** Observes the re-polls (targeted polls). */
  readonly repollObserver?: CycleObserver;
  readonly report?: ServeReport;
  /** Called before each run; undefined (or none) publishes straight to `publisher`. */
  readonly run?: (kind: 'cycle' | 'repoll') => Promise<ServeRun | undefined>;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
}

export interface ServeHandle {
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  /** Re-polls waiting for their delay (the trailing ones) or for their turn. */
  readonly queue: InMemoryRepollQueue;
  /** Stops cleanly: no new request or cycle; the cycle and re-polls in flight finish the identities they started. */
  stop(): Promise<void>;
}

/** Starts the endpoint, the re-poll queue and (with `intervalMs`) the schedule. */
export async function startServe(options: ServeOptions): Promise<ServeHandle> {
  const { config } = options;
  const clock = options.clock ?? Date.now;
  const source = createSource(config, createTokenProvider(config));
  const store = new DynamoDbSnapshotStore(options.dynamo, config.tableName);
  let stopping = false;
  const mayStart = (): boolean => !stopping;
  const retries = new Map<IdentityId, number>();

  const pollIdentity = (publisher: EventPublisher) => (id: IdentityId): Promise<CycleSummary> =>
    runPollCycle(
      { source, store, publisher, clock, ...(options.repollObserver ? { observer: options.repollObserver } : {}) },
      { concurrency: 1, claimLeaseMs: config.claimLeaseMs, alertDefaults: config.alertDefaults, only: { ids: [id], unregistered: 'ignore' } },
    );
  /** Runs `work` with this run's publisher, and waits for what the run still does after it. */
  const inRun = async <T>(kind: 'cycle' | 'repoll', work: (publisher: EventPublisher) => Promise<T>): Promise<T> => {
    const run = await options.run?.(kind);
    try {
      return await work(run ? run.publisher(options.publisher) : options.publisher);
    } finally {
      await run?.done();
    }
  };

  // One re-poll per identity at a time, as many identities at once as the source may poll.
  const repoll = async (message: RepollMessage): Promise<void> => {
    const result = await inRun('repoll', (publisher) =>
      runRepollBatch([{ messageId: message.identityId, identityId: message.identityId, requestedAt: message.requestedAt }], pollIdentity(publisher), {
        concurrency: 1,
        clock,
        shouldStartMore: mayStart,
      }),
    );
    options.report?.repolled?.(result);
    const [outcome] = result.outcomes;
    if (outcome === undefined) return;
    const attempt = (retries.get(outcome.identityId) ?? 0) + 1;
    if (outcome.kind !== 'retry' || stopping || outcome.reason === 'not-started' || attempt > MAX_RETRIES) {
      retries.delete(outcome.identityId);
      return;
    }
    retries.set(outcome.identityId, attempt);
    await queue.send([{ identityId: outcome.identityId, delayMs: RETRY_DELAY_MS, requestedAt: message.requestedAt }]);
  };
  const dispatcher = new RepollDispatcher(repoll, config.pollConcurrency);
  const queue = new InMemoryRepollQueue({
    consume: (messages) => {
      dispatcher.dispatch(messages);
      return Promise.resolve();
    },
  });

  let cycles = 0;
  let requests = 0;
  let lastCycle: (Pick<CycleSummary, 'identities' | 'polled' | 'changed' | 'published' | 'failed'> & { endedAt: string }) | undefined;
  // One process answers every request: a burst is collapsed here instead of racing on the table.
  const marker = new CoalescingRepollMarker(new DynamoDbRepollMarker(options.dynamo, config.tableName));
  const server = await startRepollHttpServer({
    port: options.port,
    deps: { secrets: options.secrets, marker, queue, now: clock, ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }) },
    health: () => ({ cycles, lastCycle: lastCycle ?? null, repoll: { requests, pending: queue.pending + dispatcher.pending } }),
    onResponse: (response) => {
      requests += 1;
      options.report?.request?.(response);
    },
  });

  let cycleInFlight: Promise<void> | undefined;
  const runCycle = (): void => {
    if (stopping) return;
    cycles += 1;
    const cycle = cycles;
    if (cycleInFlight) {
      options.report?.cycleSkipped?.(cycle);
      return;
    }
    const startedAt = clock();
    cycleInFlight = inRun('cycle', (publisher) =>
      runPollCycle(
        { source, store, publisher, clock, ...(options.cycleObserver ? { observer: options.cycleObserver } : {}) },
        {
          concurrency: config.pollConcurrency,
          claimLeaseMs: config.claimLeaseMs,
          alertDefaults: config.alertDefaults,
          // Stopping, or half the claim lease gone (as `poll` does): no identity starts; those started finish.
          shouldStartMore: () => mayStart() && clock() - startedAt < config.claimLeaseMs / 2,
          receipt: newRunReceipt(lastWriteOfBoundedRun(startedAt, config.claimLeaseMs / 2, config), config),
        },
      ),
    ).then(
      (summary) => {
        lastCycle = { identities: summary.identities, polled: summary.polled, changed: summary.changed, published: summary.published, failed: summary.failed, endedAt: new Date(clock()).toISOString() };
        options.report?.cycleDone?.(summary, cycle);
      },
      (error: unknown) => options.report?.cycleFailed?.(error, cycle),
    ).finally(() => {
      cycleInFlight = undefined;
    });
  };
  let timer: NodeJS.Timeout | undefined;
  if (options.intervalMs !== undefined) {
    runCycle();
    timer = setInterval(runCycle, options.intervalMs);
  }

  let stopped: Promise<void> | undefined;
  return {
    baseUrl: server.baseUrl,
    queue,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (timer) clearInterval(timer);
        // Requests in flight are answered (their re-polls queued) before the queue closes.
        await server.close();
        await queue.close();
        await dispatcher.close();
        await cycleInFlight;
      })();
      return stopped;
    },
  };
}

export interface ServeFlags {
  readonly port?: string;
  readonly interval?: string;
}

/** Resolves when the process is asked to stop (SIGTERM, Ctrl-C); a second Ctrl-C exits at once. */
export interface StopSignal {
  readonly stopped: Promise<string>;
  dispose(): void;
}

export function processStopSignal(): StopSignal {
  let resolveStop: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    resolveStop = resolve;
  });
  let asked = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (asked) {
      // Asked twice: the user does not want to wait for the identities in flight.
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    asked = true;
    resolveStop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export function parseServePort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_SERVE_PORT;
  if (!/^\d{1,5}$/.test(raw.trim()) || Number(raw) > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (0: any free port): ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function parseServeInterval(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_SERVE_INTERVAL_SECONDS * 1000;
  const seconds = Number(raw.trim());
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(seconds >= 0.1) || seconds > 86_400) {
    throw new UsageError(`--interval must be a number of seconds from 0.1 to 86400: ${JSON.stringify(raw)}`);
  }
  return Math.round(seconds * 1000);
}

/** The secret from REPOLL_SECRET: required, strong enough, never printed (errors name the problem only). */
export function serveSecrets(env: CliIo['env']): RepollSecretSource {
  const secret = env[REPOLL_ENV.secret]?.trim();
  if (secret === undefined || secret === '') {
    throw new ConfigError(`missing ${REPOLL_ENV.secret}: serve needs the re-poll endpoint's secret (16 or more characters without spaces)`);
  }
  try {
    return fixedRepollSecrets(secret);
  } catch (error) {
    if (error instanceof RepollSecretError) throw new ConfigError(`${REPOLL_ENV.secret}: ${error.message.replace(/^the current re-poll secret /, 'the secret ')}`);
    throw error;
  }
}

/** `unread-notifier serve`: runs until SIGTERM or Ctrl-C (or `io.untilStopped`), then stops cleanly (exit 0). */
export async function serveCommand(config: Config, io: CliIo, flags: ServeFlags): Promise<void> {
  const port = parseServePort(flags.port);
  const intervalMs = parseServeInterval(flags.interval);
  const secrets = serveSecrets(io.env);
  const windowMs = repollWindowMs(io.env);
  requireToken(config);

  const stop: StopSignal = io.untilStopped ? { stopped: io.untilStopped(), dispose: () => undefined } : processStopSignal();
  const dynamo = new DynamoDBClient({});
  // Without TOPIC_ARN the registered webhooks are delivered from here, as `poll` delivers them.
  const localRun = isLocalRun(io.env);
  const webhookStores = config.topicArn ? undefined : webhookStoresOf(config, dynamo, localRun);
  const sender = createWebhookSender(localRun, io.webhookTransport);
  const say = (line: string): void => void io.stderr.write(`${time()}  ${line}\n`);
  let handle: ServeHandle;
  try {
    handle = await startServe({
      config,
      dynamo,
      secrets,
      publisher: createPublisher(config, undefined, io.stdout),
      port,
      intervalMs,
      windowMs,
      cycleObserver: warnings(say),
      repollObserver: warnings(say),
      run: async (kind) => {
        if (!webhookStores) return undefined;
        const webhooks = new LocalWebhookDelivery({ stores: webhookStores, sender, observer: terminalObserver(io.stderr) });
        // Only the scheduled cycles take what earlier runs left undelivered: re-polls running at once would send it twice.
        if (kind === 'cycle') await webhooks.start();
        return { publisher: (inner) => webhooks.publisher(inner), done: async () => reportLocalDeliveries(await webhooks.finish(), io) };
      },
      report: {
        cycleDone: (s, n) =>
          say(`cycle ${n}: polled ${s.polled}/${s.identities}, ${s.changed} changed, ${s.published} published, ${s.failed} failed in ${s.durationMs} ms`),
        cycleFailed: (error, n) => say(`cycle ${n} failed: ${message(error)}`),
        cycleSkipped: (n) => say(`cycle ${n} skipped: the previous cycle is still running`),
        request: (r) => say(describeRequest(r)),
        repolled: (result) => {
          for (const outcome of result.outcomes) say(describeOutcome(outcome, result));
        },
      },
    });
  } catch (error) {
    stop.dispose();
    dynamo.destroy();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`port ${port} on 127.0.0.1 is in use: choose another with --port`);
    throw error;
  }
  say(
    `serve: listening on ${handle.baseUrl}: POST /repoll (Authorization: Bearer <${REPOLL_ENV.secret}>, or /repoll/<${REPOLL_ENV.secret}>), GET /health; ` +
      `a cycle now and every ${intervalMs / 1000} s on table ${config.tableName}. Ctrl-C or SIGTERM stops.`,
  );
  if (!config.topicArn) say('no TOPIC_ARN: events print on stdout as JSON lines');
  const why = await stop.stopped;
  say(`${why}: stopping (the identities in flight finish; nothing new starts)`);
  try {
    await handle.stop();
  } finally {
    stop.dispose();
    dynamo.destroy();
  }
  say('serve: stopped');
}

/** The webhooks table's stores, or none when the table name leaves no room for its webhooks table's. */
function webhookStoresOf(config: Config, dynamo: DynamoDBClient, localRun: boolean): WebhookStores | undefined {
  try {
    return createWebhookStores(config, dynamo, localRun);
  } catch {
    return undefined;
  }
}

function warnings(say: (line: string) => void): CycleObserver {
  return {
    identityFailed: (id, error, streak) => say(`warning: identity ${id} failed (${message(error)}); ${streak} time(s) in a row`),
    identityNotFound: (id) => say(`warning: identity ${id} not found upstream`),
    publishFailed: (event, reason) => say(`warning: event ${event.eventId} not published (${reason}); it stays pending`),
  };
}

function describeRequest(r: RepollHttpResponse): string {
  const s = r.summary;
  if (s.status !== 202) return `re-poll request: ${s.status} (${(JSON.parse(r.body) as { error?: string }).error ?? 'refused'})`;
  const ignored = Object.values(s.ignored).reduce((a, b) => a + b, 0);
  return `re-poll request: 202, ${s.accepted} accepted (${s.pollNow} now, ${s.trailing} at the window's end, ${s.collapsed} already due), ${ignored} ignored`;
}

function describeOutcome(outcome: RepollBatchResult['outcomes'][number], result: RepollBatchResult): string {
  switch (outcome.kind) {
    case 'polled': {
      const after = result.latenciesMs.get(outcome.identityId);
      const events = outcome.published === 0 ? 'no change' : `${outcome.published} event(s) published`;
      return (
        `re-polled identity ${outcome.identityId}${after === undefined ? '' : ` ${(after / 1000).toFixed(1)} s after the request`}: ${events}` +
        (outcome.sentPending ? ' (its pending event sent first)' : '')
      );
    }
    case 'unregistered':
      return `re-poll of identity ${outcome.identityId} skipped: no longer registered`;
    case 'retry':
      return `re-poll of identity ${outcome.identityId} not done (${outcome.reason}); tried again shortly, and the next cycle polls it anyway`;
  }
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
}

function time(): string {
  return new Date().toISOString().slice(11, 19);
}
