/**
 * `npm run bench:repoll`: how long after a message its event goes out when CommBox's webhook
 * asks for a re-poll. dynalite runs in a process of its own (as DynamoDB is remote in AWS); the
 * CommBox simulator and `serve`'s endpoint, queue and targeted polls run here. The simulator
 * changes one identity at a time and calls the endpoint as CommBox would (OnNewActivity, secret in
 * the path); the latency runs from the change to the publisher accepting the event. The schedule
 * is off while measuring, so every event comes through a re-poll.
 * Prints a table, then one JSON line (the last line of stdout). `npm run bench:repoll -- --help`.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdentityRegistry } from '../lambda/adapters/dynamodb-identity-registry';
import { DynamoDbSnapshotStore } from '../lambda/adapters/dynamodb-snapshot-store';
import { createSource, createTokenProvider } from '../lambda/composition';
import { loadConfig } from '../lambda/config';
import { parseIdentityId } from '../lambda/core/identity-id';
import { runPollCycle } from '../lambda/core/poll-cycle';
import type { EventPublisher, PublishResult } from '../lambda/core/ports';
import type { Publication } from '../lambda/core/publication';
import { DEFAULT_REPOLL_WINDOW_MS } from '../lambda/core/repoll-debounce';
import { runPool } from '../lambda/core/worker-pool';
import { ENV } from '../lambda/env-names';
import { fixedRepollSecrets } from '../lambda/repoll-endpoint';
import { startServe } from '../bin/cli/serve';
import { startCommBoxSimulator, type CommBoxSimulator } from '../local/commbox-simulator';
import { hashSeed, mulberry32, sampleIndices } from '../local/seeded-random';
import { eventLoopDelay, type EventLoopDelay } from './poller';
import { forkedTopology } from './topology';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface RepollBenchOptions {
  readonly identities: number;
  readonly changes: number;
  /** Changes per second (open loop: they do not wait for one another). */
  readonly rate: number;
  /** Webhooks per burst. */
  readonly burst: number;
  /** In the burst scenario, every this-many-th change is announced by a burst instead of one webhook. */
  readonly burstEvery: number;
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly seed: number;
  /** Webhooks carry the identity as 3 * 2^50 + id, as CommBox's examples show: two more marker requests each. */
  readonly encodedIds: boolean;
}

const DEFAULTS: RepollBenchOptions = { identities: 10_000, changes: 1_000, rate: 50, burst: 50, burstEvery: 100, latencyMs: 20, jitterMs: 10, seed: 1, encodedIds: false };
const QUICK: Partial<RepollBenchOptions> = { identities: 2_000, changes: 200, burstEvery: 20 };

const USAGE = `npm run bench:repoll -- [options]

  --identities N    registered identities                         (default 10000)
  --changes N       changes per scenario, each to a distinct identity (default 1000)
  --rate R          changes per second                            (default 50)
  --burst B         webhooks per burst                             (default 50)
  --burst-every K   in the burst scenario, every K-th change comes as a burst (default 100)
  --latency MS      mean CommBox latency                           (default 20)
  --jitter MS       latency jitter, uniform ±                      (default 10)
  --seed S          seed of the world and the sample               (default 1)
  --encoded-ids     webhooks name identities as 3 * 2^50 + id (CommBox's examples): the endpoint tries
                    that id first, then the decoded one (two more DynamoDB requests per webhook)
  --quick           2,000 identities, 200 changes, a burst every 20th
  --help`;

export interface ScenarioFigures {
  readonly name: string;
  readonly changes: number;
  /** Changes whose event the publisher accepted. */
  readonly events: number;
  readonly webhooks: number;
  /** Webhooks not answered 202. */
  readonly refused: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  /** How long the endpoint took to answer a change's webhook (its 202), the burst's slowest for a burst. */
  readonly answerMs: { readonly p50: number; readonly p95: number };
  /** This process's event-loop delay during the scenario (serve, the simulator and the driver share it). */
  readonly eventLoopDelayMs: EventLoopDelay;
  /** CommBox requests of the scenario (polls). */
  readonly polls: number;
  readonly bursts: number;
  /** CommBox requests per burst, for the identities announced by a burst. */
  readonly pollsPerBurst?: { readonly min: number; readonly max: number; readonly mean: number };
}

/** Accepts every event and notes when each identity's event was accepted. */
class LatencyPublisher implements EventPublisher {
  readonly acceptedAt = new Map<string, number>();

  publishBatch(batch: readonly Publication[]): Promise<PublishResult[]> {
    const now = performance.now();
    for (const publication of batch) {
      const event = JSON.parse((JSON.parse(publication.message) as { default: string }).default) as { identityId: number | string };
      const id = String(event.identityId);
      if (!this.acceptedAt.has(id)) this.acceptedAt.set(id, now);
    }
    return Promise.resolve(batch.map((p) => ({ eventId: p.eventId, ok: true as const })));
  }
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** One more unread message in the identity's newest conversation (a new conversation when it has none). */
function change(simulator: CommBoxSimulator, id: string): void {
  const identity = simulator.world.get(id);
  const conversation = identity ? [...identity.conversations.values()][0] : undefined;
  if (conversation) simulator.world.setUnread(id, conversation.objectId, conversation.unread + 1);
  else simulator.world.setUnread(id, 900_000_000, 1, 19155);
}

async function scenario(
  name: string,
  simulator: CommBoxSimulator,
  publisher: LatencyPublisher,
  sample: readonly string[],
  options: RepollBenchOptions,
  burstEvery: number | undefined,
  log: (line: string) => void,
): Promise<ScenarioFigures> {
  const changedAt = new Map<string, number>();
  const burstPolls = new Map<string, number>();
  const statuses: Promise<number[]>[] = [];
  const answers: number[] = [];
  const requestsBefore = simulator.stats.requests;
  const loopDelay = eventLoopDelay();
  const start = performance.now();
  const intervalMs = 1000 / options.rate;
  for (const [k, id] of sample.entries()) {
    // Open loop: the k-th change is due at start + k / rate, whatever the earlier ones are doing.
    const due = start + k * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const burst = burstEvery !== undefined && k % burstEvery === 0;
    if (burst) burstPolls.set(id, simulator.requestCount(id));
    change(simulator, id);
    changedAt.set(id, performance.now());
    const sent = performance.now();
    statuses.push(
      simulator.sendWebhook(id, burst ? options.burst : 1).then((answered) => {
        answers.push(performance.now() - sent);
        return answered;
      }),
    );
  }
  const answered = (await Promise.all(statuses)).flat();
  // Every event, then the trailing polls of the bursts (a window after their last request).
  const deadline = performance.now() + 30_000;
  while ([...changedAt.keys()].some((id) => !publisher.acceptedAt.has(id)) && performance.now() < deadline) await sleep(20);
  await sleep(DEFAULT_REPOLL_WINDOW_MS + 1_000);

  const eventLoopDelayMs = loopDelay();
  const latencies = [...changedAt].flatMap(([id, at]) => {
    const accepted = publisher.acceptedAt.get(id);
    return accepted === undefined ? [] : [accepted - at];
  });
  latencies.sort((a, b) => a - b);
  answers.sort((a, b) => a - b);
  const perBurst = [...burstPolls].map(([id, before]) => simulator.requestCount(id) - before);
  const figures: ScenarioFigures = {
    name,
    changes: sample.length,
    events: latencies.length,
    webhooks: answered.length,
    refused: answered.filter((s) => s !== 202).length,
    latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? NaN },
    answerMs: { p50: percentile(answers, 0.5), p95: percentile(answers, 0.95) },
    eventLoopDelayMs,
    polls: simulator.stats.requests - requestsBefore,
    bursts: perBurst.length,
    ...(perBurst.length > 0
      ? { pollsPerBurst: { min: Math.min(...perBurst), max: Math.max(...perBurst), mean: perBurst.reduce((a, b) => a + b, 0) / perBurst.length } }
      : {}),
  };
  log(`${name}: ${figures.events}/${figures.changes} events, p95 ${figures.latencyMs.p95.toFixed(0)} ms, ${figures.polls} polls`);
  return figures;
}

export function formatTable(options: RepollBenchOptions, scenarios: readonly ScenarioFigures[]): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const rows = scenarios.map((f) =>
    [
      f.name.padEnd(22),
      `${f.events}/${f.changes}`.padStart(10),
      String(f.webhooks).padStart(9),
      s(f.latencyMs.p50).padStart(8),
      s(f.latencyMs.p95).padStart(8),
      s(f.latencyMs.p99).padStart(8),
      s(f.latencyMs.max).padStart(8),
      String(f.polls).padStart(6),
      (f.pollsPerBurst ? `${f.pollsPerBurst.min}-${f.pollsPerBurst.max} (${f.bursts} bursts)` : '-').padStart(20),
      `${f.answerMs.p50.toFixed(0)}/${f.answerMs.p95.toFixed(0)} ms`.padStart(14),
      `${f.eventLoopDelayMs.mean.toFixed(0)}/${f.eventLoopDelayMs.p99.toFixed(0)} ms`.padStart(12),
    ].join('  '),
  );
  return [
    `Re-poll latency: change → event accepted by the publisher. ${options.identities} identities, ${options.changes} changes per scenario at ${options.rate}/s, each to another identity; CommBox ${options.latencyMs}±${options.jitterMs} ms; window ${DEFAULT_REPOLL_WINDOW_MS} ms; ids ${options.encodedIds ? 'encoded (3 * 2^50 + id)' : 'as registered'}.`,
    `${'scenario'.padEnd(22)}  ${'events'.padStart(10)}  ${'webhooks'.padStart(9)}  ${'p50'.padStart(8)}  ${'p95'.padStart(8)}  ${'p99'.padStart(8)}  ${'max'.padStart(8)}  ${'polls'.padStart(6)}  ${'polls per burst'.padStart(20)}  ${'202 p50/p95'.padStart(14)}  ${'loop mean/p99'.padStart(12)}`,
    ...rows,
  ].join('\n');
}

export function parseRepollBenchOptions(argv: readonly string[]): RepollBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      identities: { type: 'string' },
      changes: { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'burst-every': { type: 'string' },
      latency: { type: 'string' },
      jitter: { type: 'string' },
      seed: { type: 'string' },
      quick: { type: 'boolean' },
      'encoded-ids': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const base = { ...DEFAULTS, ...(values.quick ? QUICK : {}) };
  const number = (name: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return value;
  };
  const options = {
    identities: Math.floor(number('identities', values.identities, base.identities, 10, 1_000_000)),
    changes: Math.floor(number('changes', values.changes, base.changes, 1, 100_000)),
    rate: number('rate', values.rate, base.rate, 0.1, 1_000),
    burst: Math.floor(number('burst', values.burst, base.burst, 1, 1_000)),
    burstEvery: Math.floor(number('burst-every', values['burst-every'], base.burstEvery, 1, 100_000)),
    latencyMs: number('latency', values.latency, base.latencyMs, 0, 10_000),
    jitterMs: number('jitter', values.jitter, base.jitterMs, 0, 10_000),
    seed: Math.floor(number('seed', values.seed, base.seed, 0, 2 ** 31)),
    encodedIds: values['encoded-ids'] ?? base.encodedIds,
  };
  if (options.changes * 2 > options.identities) throw new Error('--changes times two must not exceed --identities: each change goes to an identity of its own');
  return options;
}

async function main(options: RepollBenchOptions): Promise<void> {
  const log = (line: string): void => void process.stderr.write(`[bench:repoll] ${line}\n`);
  const loadBefore = loadavg()[0] ?? 0;
  const topology = await forkedTopology();
  const client = new DynamoDBClient({ endpoint: topology.dynamoEndpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const simulator = await startCommBoxSimulator({ seed: options.seed, latencyMs: options.latencyMs, jitterMs: options.jitterMs });
  let serve: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    const tableName = 'repoll-bench';
    const registry = new DynamoDbIdentityRegistry(client, tableName);
    await registry.ensureReady('plain');
    const ids = simulator.world.populate(options.identities, { firstId: 1_000_001, maxConversations: 3 });
    log(`registering ${ids.length} identities`);
    await runPool(ids, 32, async (id) => void (await registry.register(parseIdentityId(id))), () => true);

    const config = loadConfig({ [ENV.apiBaseUrl]: simulator.baseUrl, [ENV.apiToken]: simulator.token, [ENV.tableName]: tableName, [ENV.pollConcurrency]: '64' });
    const publisher = new LatencyPublisher();
    log('baseline cycle (what serve runs at start)');
    const baseline = await runPollCycle(
      { source: createSource(config, createTokenProvider(config)), store: new DynamoDbSnapshotStore(client, tableName), publisher, clock: Date.now },
      { concurrency: 64, claimLeaseMs: config.claimLeaseMs, alertDefaults: config.alertDefaults },
    );
    log(`baseline: ${baseline.baselines} baselines in ${baseline.durationMs} ms`);

    const secret = randomBytes(24).toString('base64url');
    serve = await startServe({ config, dynamo: client, secrets: fixedRepollSecrets(secret), publisher, port: 0 });
    simulator.setWebhook({ url: `${serve.baseUrl}/repoll/${secret}`, encodeIds: options.encodedIds });

    // Two disjoint samples of distinct identities: no change is folded into another's poll.
    const random = mulberry32(hashSeed(options.seed, 'repoll-bench'));
    const picked = sampleIndices(random, ids.length, options.changes * 2).map((i) => ids[i] as string);
    const single = await scenario('one webhook per change', simulator, publisher, picked.slice(0, options.changes), options, undefined, log);
    const bursts = await scenario(`a burst of ${options.burst} every ${options.burstEvery}`, simulator, publisher, picked.slice(options.changes), options, options.burstEvery, log);

    const summary = {
      options,
      scenarios: [single, bursts],
      targets: { p95Ms: 2000, p95Met: single.latencyMs.p95 <= 2000 && bursts.latencyMs.p95 <= 2000 },
      environment: { node: process.version, cpus: cpus().length, loadAverage: [loadBefore, loadavg()[0] ?? 0] },
    };
    process.stdout.write(`${formatTable(options, summary.scenarios)}\n\n${JSON.stringify(summary)}\n`);
  } finally {
    await serve?.stop();
    await simulator.close();
    client.destroy();
    await topology.close();
  }
}

if (require.main === module) {
  let options: RepollBenchOptions | 'help';
  try {
    options = parseRepollBenchOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench:repoll: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
  } else {
    main(options).catch((error: unknown) => {
      process.stderr.write(`bench:repoll: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    });
  }
}
