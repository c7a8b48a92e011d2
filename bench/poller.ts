import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { CommBoxObjectsSource, type SourceStatsSnapshot } from '../lambda/adapters/commbox/commbox-objects-source';
import { DynamoDbIdentityRegistry } from '../lambda/adapters/dynamodb-identity-registry';
import { DynamoDbSnapshotStore, type OperationCounts } from '../lambda/adapters/dynamodb-snapshot-store';
import { ATTR } from '../lambda/adapters/dynamodb-item-codec';
import { StaticTokenProvider } from '../lambda/adapters/token-provider';
import { DEFAULTS, Secret } from '../lambda/config';
import { BUILT_IN_ALERT_DEFAULTS } from '../lambda/core/alert-policy';
import { parseIdentityId } from '../lambda/core/identity-id';
import { runPollCycle, type CycleSummary } from '../lambda/core/poll-cycle';
import { CountingPublisher } from './counting-publisher';

/** Where the poller under test finds its table and its upstream, and how hard it may pull. */
export interface PollerConfig {
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly baseUrl: string;
  readonly token: string;
  /** Identities worked on at once, and the upstream's in-flight ceiling (as the Lambda wires it). */
  readonly concurrency: number;
  /** The source's HTTP client: Node's fetch (the default, as in the Lambda) or node:http (UPSTREAM_HTTP_CLIENT=node). */
  readonly http?: 'node' | 'fetch';
}

/** What one cycle cost, read from the adapters' own counters. */
export interface CycleMeasurement {
  readonly summary: CycleSummary;
  /** DynamoDB requests of the cycle, by operation. */
  readonly dynamodb: OperationCounts;
  /** Upstream attempts of the cycle (retries included), 429s, timeouts… */
  readonly upstream: SourceStatsSnapshot;
  readonly limiter: { readonly limitAtEnd: number; readonly maxInFlight: number; readonly decreases: number; readonly increases: number };
  /** SNS requests and the events they carried. */
  readonly sns: { readonly calls: number; readonly entries: number };
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
  readonly rssMb: number;
  readonly heapUsedMb: number;
}

const WRITES = new Set(['UpdateItemCommand', 'PutItemCommand', 'DeleteItemCommand']);

/** A DynamoDB client for a local endpoint, with dummy credentials. */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/**
 * The poller as the Lambda wires it (snapshot store, CommBox source with its adaptive limiter,
 * the poll cycle), with a counting publisher in place of SNS and a recorder of written keys.
 */
export class BenchPoller {
  readonly store: DynamoDbSnapshotStore;
  readonly source: CommBoxObjectsSource;
  readonly publisher = new CountingPublisher();
  private readonly written = new Set<string>();

  constructor(private readonly config: PollerConfig) {
    const client = localDynamoDbClient(config.dynamoEndpoint);
    client.middlewareStack.add(
      (next, context) => (args) => {
        const key = (args.input as { Key?: Record<string, { S?: string }> }).Key?.[ATTR.id]?.S;
        if (context.commandName !== undefined && WRITES.has(context.commandName) && key !== undefined) this.written.add(key);
        return next(args);
      },
      { step: 'initialize', name: 'benchWriteRecorder' },
    );
    this.store = new DynamoDbSnapshotStore(client, config.tableName);
    this.source = new CommBoxObjectsSource({
      baseUrl: new URL(config.baseUrl),
      tokens: new StaticTokenProvider(new Secret(config.token)),
      timeoutMs: DEFAULTS.requestTimeoutMs,
      maxAttempts: DEFAULTS.maxAttempts,
      maxConcurrency: config.concurrency,
      httpClient: config.http ?? 'fetch',
    });
  }

  /** One poll cycle; `changedUpstream` are the identities the simulator changed since the last one. */
  async cycle(changedUpstream: readonly string[] = []): Promise<CycleMeasurement> {
    const storeBefore = { ...this.store.requests };
    const sourceBefore = this.source.stats.snapshot();
    const limiterBefore = this.source.limiter.snapshot();
    this.publisher.reset();
    this.written.clear();
    const cpuBefore = process.cpuUsage();
    const delay = eventLoopDelay();

    const summary = await runPollCycle(
      { source: this.source, store: this.store, publisher: this.publisher, clock: Date.now },
      { concurrency: this.config.concurrency, claimLeaseMs: DEFAULTS.claimLeaseSeconds * 1000, alertDefaults: BUILT_IN_ALERT_DEFAULTS },
    );

    const cpu = process.cpuUsage(cpuBefore);
    const loopDelay = delay();
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
      sns: { calls: this.publisher.calls, entries: this.publisher.entries },
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
  return { maxRssMb: mb(process.resourceUsage().maxRSS * 1024), rssMb: mb(memory.rss), heapUsedMb: mb(memory.heapUsed) };
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
