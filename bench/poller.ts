import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchWriteItemCommand, DynamoDBClient, type AttributeValue, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { CommBoxObjectsSource, type SourceStatsSnapshot } from '../lambda/adapters/commbox/commbox-objects-source';
import { DynamoDbIdentityRegistry } from '../lambda/adapters/dynamodb-identity-registry';
import { DynamoDbSnapshotStore, type OperationCounts } from '../lambda/adapters/dynamodb-snapshot-store';
import { ATTR, isBookkeepingKey } from '../lambda/adapters/dynamodb-item-codec';
import { StaticTokenProvider } from '../lambda/adapters/token-provider';
import { DEFAULTS, Secret } from '../lambda/config';
import { newRunReceipt } from '../lambda/invocation';
import { BUILT_IN_ALERT_DEFAULTS, type AlertPolicy } from '../lambda/core/alert-policy';

const CLAIM_LEASE_MS = DEFAULTS.claimLeaseSeconds * 1000;
/** A measured cycle ends within this (the Lambda's 50 s timeout, with room). */
const BENCH_RUN_BOUND_MS = 120_000;
/**
 * The benchmark measures the change pipeline: under a policy no identity reaches, no alert is
 * decided or sent. (With the built-in policy most rises also send an alert: one more publish and
 * one more outbox write each; docs/alerts.md has the measured figures.)
 */
const NO_ALERTS: AlertPolicy = { ...BUILT_IN_ALERT_DEFAULTS, minUnread: 1_000_000 };
import { parseIdentityId } from '../lambda/core/identity-id';
import { runPollCycle, type CycleSummary } from '../lambda/core/poll-cycle';
import type { SnapshotStore } from '../lambda/core/ports';
import { CycleTelemetry } from '../lambda/cycle-telemetry';
import { METRICS } from '../lambda/env-names';
import { CountingPublisher } from './counting-publisher';

/** Where the poller under test finds its table and its upstream, and how hard it may pull. */
export interface PollerConfig {
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly baseUrl: string;
  readonly token: string;
  /** Identities worked on at once, and the upstream's in-flight ceiling (as the Lambda wires it). */
  readonly concurrency: number;
}

/** DynamoDB capacity units a cycle consumed (as DynamoDB reports them: dynalite applies its rules). */
export interface CapacityUnits {
  readonly read: number;
  /** The part of `read` the Scan consumed (it grows with identities; the resume point's GetItem does not). */
  readonly scanRead: number;
  readonly write: number;
  /** Items the Scan returned, and their bytes as DynamoDB sizes items (names plus values). */
  readonly scannedItems: number;
  readonly scannedBytes: number;
}

/** Log bytes the Lambda's logger and metrics would have written: during the cycle, and after it (once per invocation). */
export interface LogBytes {
  readonly cycle: number;
  readonly invocation: number;
}

/** What one cycle cost, read from the adapters' own counters. */
export interface CycleMeasurement {
  readonly summary: CycleSummary;
  /** DynamoDB requests of the cycle, by operation. */
  readonly dynamodb: OperationCounts;
  /** Upstream attempts of the cycle (retries included), 429s, timeouts… */
  readonly upstream: SourceStatsSnapshot;
  readonly limiter: { readonly limitAtEnd: number; readonly maxInFlight: number; readonly decreases: number; readonly increases: number };
  /** SNS requests, the events they carried, their bytes and the publishes SNS bills (one per 64 KB of each). */
  readonly sns: { readonly calls: number; readonly entries: number; readonly bytes: number; readonly billed: number };
  readonly capacity: CapacityUnits;
  readonly logBytes: LogBytes;
  /** Metrics the handler's EMF output defines (name × dimension set): CloudWatch bills each by the month. */
  readonly customMetrics: number;
  /** Time to read the registry (the Scan and the resume point) before the first identity starts. */
  readonly loadMs: number;
  /** Distinct identities the cycle wrote to, and how many of them had not changed upstream. */
  readonly identitiesWritten: number;
  readonly unchangedIdentitiesWritten: number;
  /** CPU time of this process during the cycle (user + system). */
  readonly cpuMs: number;
  /** How late this process's event loop ran callbacks during the cycle: a busy poller answers late. */
  readonly eventLoopDelayMs: EventLoopDelay;
}

export interface EventLoopDelay {
  readonly mean: number;
  readonly p99: number;
}

/** Samples event-loop delay from `start()` until the returned function is called. */
export function eventLoopDelay(): () => EventLoopDelay {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  return () => {
    histogram.disable();
    // The histogram counts nanoseconds, and its own resolution as delay.
    const ms = (ns: number): number => Math.round(Math.max(0, ns / 1e6 - 5) * 100) / 100;
    return { mean: ms(histogram.mean), p99: ms(histogram.percentile(99)) };
  };
}

export interface MemoryUsage {
  /** Peak resident set size of this process so far. */
  readonly maxRssMb: number;
  /** The largest resident set size sampled since `resetSampledPeak` (every 50 ms). */
  readonly sampledPeakMb: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
}

const WRITES = new Set(['UpdateItemCommand', 'PutItemCommand', 'DeleteItemCommand']);

/** A DynamoDB client for a local endpoint, with dummy credentials. */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** An item's size as DynamoDB bills it: attribute names plus values (a number: 1 byte per 2 digits, plus 1). */
export function itemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M !== undefined) return 3 + Object.keys(value.M).length + itemBytes(value.M);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  if (value.B !== undefined) return value.B.byteLength;
  return 0;
}

export interface CapacityRecorder {
  units(): CapacityUnits;
  reset(): void;
}

/**
 * Asks DynamoDB for the capacity each request of `client` consumes and adds it up (dynalite
 * applies DynamoDB's rules: 4 KB per read unit, halved for eventually consistent reads, 1 KB per
 * write unit, the larger of the item before and after); `onWrite` hears each written key.
 */
export function recordCapacity(client: DynamoDBClient, onWrite: (key: string) => void = () => {}): CapacityRecorder {
  let units = { read: 0, scanRead: 0, write: 0, scannedItems: 0, scannedBytes: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: Record<string, { S?: string }>; ReturnConsumedCapacity?: string };
      const key = input.Key?.identityId?.S;
      const write = context.commandName !== undefined && WRITES.has(context.commandName);
      // Identity items only: the run's receipt and the cycle end are bookkeeping, counted in `units`.
      if (write && key !== undefined && !isBookkeepingKey(key)) onWrite(key);
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as { ConsumedCapacity?: { CapacityUnits?: number }; Items?: Record<string, AttributeValue>[] };
      const consumed = output.ConsumedCapacity?.CapacityUnits ?? 0;
      if (write) units.write += consumed;
      else units.read += consumed;
      if (context.commandName === 'ScanCommand') {
        units.scanRead += consumed;
        for (const item of output.Items ?? []) {
          units.scannedItems += 1;
          units.scannedBytes += itemBytes(item);
        }
      }
      return result;
    },
    { step: 'initialize', name: 'benchRecorder' },
  );
  return {
    units: () => ({ ...units }),
    reset: () => {
      units = { read: 0, scanRead: 0, write: 0, scannedItems: 0, scannedBytes: 0 };
    },
  };
}

/** Counts what is written to stdout and stderr (keeping the text if asked), and drops it, until the returned function is called. */
function captureOutput(keepText = false): () => { bytes: number; text: string } {
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  let bytes = 0;
  let text = '';
  for (const stream of streams) {
    const write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      if (keepText) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
      callback?.();
      return true;
    };
    stream.write = write;
  }
  return () => {
    streams.forEach((stream, i) => {
      stream.write = originals[i] as typeof stream.write;
    });
    return { bytes, text };
  };
}

/** Metrics CloudWatch bills in these EMF lines: each name once per dimension set. */
export function customMetricsIn(emfLines: string): number {
  const metrics = new Set<string>();
  for (const line of emfLines.split('\n')) {
    if (!line.includes('"_aws"')) continue;
    try {
      const record = JSON.parse(line) as { _aws?: { CloudWatchMetrics?: { Namespace: string; Dimensions?: string[][]; Metrics?: { Name: string }[] }[] } };
      for (const directive of record._aws?.CloudWatchMetrics ?? []) {
        const dimensionSets = directive.Dimensions?.length ? directive.Dimensions : [[]];
        for (const metric of directive.Metrics ?? []) {
          for (const set of dimensionSets) metrics.add(`${directive.Namespace}/${metric.Name}/${set.map((d) => `${d}=${String((record as Record<string, unknown>)[d])}`).join(',')}`);
        }
      }
    } catch {
      // not a metrics line
    }
  }
  return metrics.size;
}

/**
 * The poller as the Lambda wires it (snapshot store, CommBox source with its adaptive limiter,
 * the poll cycle with the handler's telemetry), with a counting publisher in place of SNS and
 * recorders of written keys and consumed capacity.
 */
export class BenchPoller {
  readonly store: DynamoDbSnapshotStore;
  readonly source: CommBoxObjectsSource;
  readonly publisher = new CountingPublisher();
  private readonly written = new Set<string>();
  private readonly capacity: CapacityRecorder;
  private loadMs = 0;

  constructor(private readonly config: PollerConfig) {
    const client = localDynamoDbClient(config.dynamoEndpoint);
    this.capacity = recordCapacity(client, (key) => this.written.add(key));
    this.store = new DynamoDbSnapshotStore(client, config.tableName);
    this.source = new CommBoxObjectsSource({
      baseUrl: new URL(config.baseUrl),
      tokens: new StaticTokenProvider(new Secret(config.token)),
      timeoutMs: DEFAULTS.requestTimeoutMs,
      maxAttempts: DEFAULTS.maxAttempts,
      maxConcurrency: config.concurrency,
    });
  }

  /** The store, with the time its `loadCycle` takes recorded. */
  private timedStore(): SnapshotStore {
    const store = this.store;
    const load = async (...args: Parameters<SnapshotStore['loadCycle']>): ReturnType<SnapshotStore['loadCycle']> => {
      const started = performance.now();
      try {
        return await store.loadCycle(...args);
      } finally {
        this.loadMs = performance.now() - started;
      }
    };
    return new Proxy(store, {
      get: (target, property, receiver) => {
        if (property === 'loadCycle') return load;
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** One poll cycle; `changedUpstream` are the identities the simulator changed since the last one. */
  async cycle(changedUpstream: readonly string[] = []): Promise<CycleMeasurement> {
    const sourceBefore = this.source.stats.snapshot();
    const storeBefore = { ...this.store.requests };
    const limiterBefore = this.source.limiter.snapshot();
    this.publisher.reset();
    this.written.clear();
    this.capacity.reset();
    // The handler's logger and metrics, writing where the Lambda's would: only their bytes are kept.
    const logger = new Logger({ serviceName: METRICS.service });
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
    const telemetry = new CycleTelemetry(logger, DEFAULTS.failureStreakThreshold);
    const stopCapture = captureOutput();
    const cpuBefore = process.cpuUsage();
    const delay = eventLoopDelay();

    let summary: CycleSummary;
    let cycleLogBytes: number;
    let cpu: NodeJS.CpuUsage;
    let loopDelay: EventLoopDelay;
    try {
      summary = await runPollCycle(
        { source: this.source, store: this.timedStore(), publisher: this.publisher, clock: Date.now, observer: telemetry },
        {
          concurrency: this.config.concurrency,
          claimLeaseMs: CLAIM_LEASE_MS,
          alertDefaults: NO_ALERTS,
          // As the handler does: the run's publications are confirmed by its receipt.
          receipt: newRunReceipt(Date.now() + BENCH_RUN_BOUND_MS, { claimLeaseMs: CLAIM_LEASE_MS }),
        },
      );
      cpu = process.cpuUsage(cpuBefore);
      loopDelay = delay();
    } finally {
      cycleLogBytes = stopCapture().bytes;
    }
    // What the handler writes once per invocation after the cycle: its summary line and the metrics.
    const stopAfter = captureOutput(true);
    let afterCycle: { bytes: number; text: string };
    try {
      logger.info('cycle finished', { ...summary });
      telemetry.emit(metrics, summary, { throttled: this.source.stats.throttled - sourceBefore.throttled, unauthorized: 0 });
      metrics.publishStoredMetrics();
    } finally {
      afterCycle = stopAfter();
    }

    const changed = new Set(changedUpstream);
    const limiter = this.source.limiter.snapshot();
    return {
      summary,
      dynamodb: difference(this.store.requests, storeBefore),
      upstream: difference(this.source.stats.snapshot(), sourceBefore),
      limiter: {
        limitAtEnd: limiter.limit,
        maxInFlight: limiter.maxInFlight,
        decreases: limiter.decreases - limiterBefore.decreases,
        increases: limiter.increases - limiterBefore.increases,
      },
      sns: { calls: this.publisher.calls, entries: this.publisher.entries, bytes: this.publisher.bytes, billed: this.publisher.billedPublishes },
      capacity: this.capacity.units(),
      logBytes: { cycle: cycleLogBytes, invocation: afterCycle.bytes },
      customMetrics: customMetricsIn(afterCycle.text),
      loadMs: this.loadMs,
      identitiesWritten: this.written.size,
      unchangedIdentitiesWritten: [...this.written].filter((id) => !changed.has(id)).length,
      cpuMs: (cpu.user + cpu.system) / 1000,
      eventLoopDelayMs: loopDelay,
    };
  }
}

export function memoryUsage(): MemoryUsage {
  const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
  const memory = process.memoryUsage();
  sampledPeak = Math.max(sampledPeak, memory.rss);
  return { maxRssMb: mb(process.resourceUsage().maxRSS * 1024), sampledPeakMb: mb(sampledPeak), rssMb: mb(memory.rss), heapUsedMb: mb(memory.heapUsed) };
}

/**
 * The process's own peak (maxRSS) cannot be reset, and the warm-up cycle, in which every
 * identity changes at once, sets it: the measured cycles' peak is sampled instead.
 */
let sampledPeak = 0;
let sampler: NodeJS.Timeout | undefined;

export function resetSampledPeak(): void {
  // What the warm-up left for the collector is not the measured cycles' (the bench forks with --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  sampledPeak = process.memoryUsage.rss();
  sampler ??= setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  }, 50).unref();
}

/**
 * Creates the table as `unread-notifier init` does, and registers `count` consecutive ids from
 * `firstId`: the item `identities add` writes (key and registration time), 25 per BatchWriteItem
 * so that 10,000 registrations take seconds on dynalite instead of half a minute.
 */
export async function registerIdentities(endpoint: string, tableName: string, firstId: bigint, count: number): Promise<void> {
  const client = localDynamoDbClient(endpoint);
  await new DynamoDbIdentityRegistry(client, tableName).ensureReady('plain');
  const registeredAt = new Date().toISOString();
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < count; i += 25) {
    batches.push(
      Array.from({ length: Math.min(25, count - i) }, (_, k) => ({
        PutRequest: { Item: { [ATTR.id]: { S: parseIdentityId(String(firstId + BigInt(i + k))) }, [ATTR.registeredAt]: { S: registeredAt } } },
      })),
    );
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      let requests = batches[next++] as WriteRequest[];
      while (requests.length > 0) {
        const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
        requests = UnprocessedItems?.[tableName] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  client.destroy();
}

function difference<T extends object>(after: T, before: T): T {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) out[key] = (value as number) - ((before as Record<string, number>)[key] ?? 0);
  return out as T;
}
