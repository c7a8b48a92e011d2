import { HOURS_PER_MONTH, type PriceList } from './prices';

/**
 * The monthly AWS bill of a deployment, modelled from what the benchmark measured per identity
 * and per invocation. Pure: numbers in, numbers out (the unit tests compute them by hand).
 *
 * How one shard (one schedule, one function, one scan segment) spends a cycle: it polls its
 * identities at the rate of its tightest bound, the upstream's latency with C requests in flight
 * (C / L), its CPU share (share / CPU per identity), or CommBox's rate limit (shared by all
 * shards); the function is billed for that wall time at its memory. A shard holds as many
 * identities as fit in `headroom` of the usable time and in its memory; shards are added until
 * every identity fits.
 */

/** Per identity and cycle unless named otherwise; measured by `npm run bench`. */
export interface Workload {
  /** CPU time of the poller per identity (ms): parse, diff, the Scan's decode, the writes of changes. */
  readonly cpuMsPerIdentity: number;
  /** Upstream requests per identity (retries included). */
  readonly upstreamRequestsPerIdentity: number;
  /** DynamoDB read units that grow with identities (the Scan: item bytes / 4 KB, halved for eventually consistent). */
  readonly readUnitsPerIdentity: number;
  /** DynamoDB read units per invocation that do not grow with identities (the resume point). */
  readonly readUnitsPerInvocation: number;
  /** DynamoDB write units (the changed identities' conditional updates, or every identity's put). */
  readonly writeUnitsPerIdentity: number;
  /** Billed SNS publishes: one per 64 KB of each event (a batch entry is billed like a publish). */
  readonly publishesPerIdentity: number;
  readonly logBytesPerIdentity: number;
  /** The summary line, the metrics (EMF) and Lambda's own START/END/REPORT lines. */
  readonly logBytesPerInvocation: number;
  /** Stored bytes of one identity's item. */
  readonly itemBytes: number;
  /** Resident memory of the poller with no identities, and what each identity of its shard adds. */
  readonly rssBaseMb: number;
  readonly rssMbPerIdentity: number;
  /**
   * Wall time each identity adds beside the upstream's latency, for its share of one request slot:
   * 0 for the poller (its writes overlap other identities' requests); the naive loop's own
   * DynamoDB and SNS round trips, in turn.
   */
  readonly extraWallMsPerIdentity: number;
}

export interface Deployment {
  readonly memoryMb: number;
  /** Upstream requests in flight per shard (POLL_CONCURRENCY). */
  readonly concurrency: number;
  readonly scheduleMinutes: number;
  /** Seconds of an invocation in which identities are started: the timeout minus the handler's margin. */
  readonly usableSeconds: number;
  /** Share of the usable time a shard is sized for, so a slow minute or a burst of retries still fits. */
  readonly headroom: number;
  /** Seconds of an invocation beside polling: the first Scan page, the resume point, the last publishes. */
  readonly invocationOverheadSeconds: number;
  /** CommBox's mean latency per request. */
  readonly upstreamLatencyMs: number;
  /** Requests per second CommBox allows the token, shared by all shards; none when undefined. */
  readonly rateLimit?: number;
  /** How long a read token is used before Secrets Manager is asked again (the token provider's cache). */
  readonly tokenCacheMinutes: number;
}

/** The stack's resources billed by the month whatever the number of identities. */
export interface FixedResources {
  readonly customMetrics: number;
  readonly alarms: number;
  readonly kmsKeys: number;
  readonly secrets: number;
  readonly dashboards: number;
}

export type Bound = 'latency' | 'cpu' | 'rate limit';

export interface Sizing {
  readonly shards: number;
  readonly identitiesPerShard: number;
  /** What sets the number of shards (above one): the usable time at the shard's rate, or its memory. */
  readonly shardsSetBy: 'time' | 'memory';
  /** Identities per second one shard polls, and what bounds it. */
  readonly identitiesPerSecond: number;
  readonly boundBy: Bound;
  /** Wall time of one shard's cycle. */
  readonly cycleSeconds: number;
  /** Upstream requests per second, all shards together, while they poll. */
  readonly upstreamRequestsPerSecond: number;
  /** False when no number of shards fits (a rate limit too low for the schedule): lengthen the interval. */
  readonly fits: boolean;
}

export interface MonthlyUsage {
  readonly invocations: number;
  readonly gbSeconds: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly publishes: number;
  readonly secretsCalls: number;
  readonly logGb: number;
  readonly storageGb: number;
}

export interface VariableCost {
  readonly lambda: number;
  readonly dynamodb: number;
  readonly sns: number;
  readonly scheduler: number;
  readonly secretsManager: number;
  readonly logs: number;
  readonly total: number;
}

export interface CostEstimate {
  readonly identities: number;
  readonly sizing: Sizing;
  readonly usage: MonthlyUsage;
  readonly variable: VariableCost;
  /** The variable part per 1,000 identities. */
  readonly variablePer1000: number;
}

export interface FixedCost {
  readonly customMetrics: number;
  readonly alarms: number;
  readonly kmsKeys: number;
  readonly secrets: number;
  readonly dashboards: number;
  readonly total: number;
}

/** More shards than this is not a deployment anyone runs; beyond it the model says "does not fit". */
const MAX_SHARDS = 10_000;
/** A shard is planned for this share of its memory: the rest is for garbage not yet collected and a bigger day. */
const MEMORY_USABLE_SHARE = 0.8;

export function cyclesPerMonth(scheduleMinutes: number): number {
  return (HOURS_PER_MONTH * 60) / scheduleMinutes;
}

/** The share of one vCPU a function of this memory gets (one thread uses at most one). */
export function cpuShare(memoryMb: number, prices: PriceList): number {
  return Math.min(1, memoryMb / prices.lambda.mbPerVcpu);
}

/** Identities per second one shard polls, and its bound, with `shards` sharing the rate limit. */
export function shardRate(workload: Workload, deployment: Deployment, shards: number, prices: PriceList): { rate: number; boundBy: Bound } {
  const perRequestSeconds = (deployment.upstreamLatencyMs + workload.extraWallMsPerIdentity) / 1000;
  const requests = Math.max(1e-9, workload.upstreamRequestsPerIdentity);
  const candidates: [number, Bound][] = [
    [deployment.concurrency / perRequestSeconds / requests, 'latency'],
    [workload.cpuMsPerIdentity > 0 ? cpuShare(deployment.memoryMb, prices) / (workload.cpuMsPerIdentity / 1000) : Infinity, 'cpu'],
    [deployment.rateLimit === undefined ? Infinity : deployment.rateLimit / shards / requests, 'rate limit'],
  ];
  const [rate, boundBy] = candidates.reduce((low, next) => (next[0] < low[0] ? next : low));
  return { rate, boundBy };
}

/** The fewest shards whose identities fit their usable time and their memory. */
export function sizeShards(identities: number, workload: Workload, deployment: Deployment, prices: PriceList): Sizing {
  const byMemory = Math.floor((deployment.memoryMb * MEMORY_USABLE_SHARE - workload.rssBaseMb) / Math.max(1e-9, workload.rssMbPerIdentity));
  let shards = Math.max(1, Math.ceil(identities / Math.max(1, byMemory)));
  for (; shards <= MAX_SHARDS; shards += 1) {
    const { rate, boundBy } = shardRate(workload, deployment, shards, prices);
    const perShard = Math.ceil(identities / shards);
    const byTime = Math.floor(deployment.headroom * deployment.usableSeconds * rate);
    if (perShard <= Math.min(byTime, byMemory)) return sizing(identities, shards, rate, boundBy, workload, deployment, true, shards > 1 && byMemory < byTime ? 'memory' : 'time');
    // A rate limit shared by every shard: more of them only slows each one down.
    if (boundBy === 'rate limit') break;
  }
  const worst = Math.min(shards, MAX_SHARDS);
  const { rate, boundBy } = shardRate(workload, deployment, worst, prices);
  return sizing(identities, worst, rate, boundBy, workload, deployment, false, 'time');
}

function sizing(
  identities: number,
  shards: number,
  rate: number,
  boundBy: Bound,
  workload: Workload,
  deployment: Deployment,
  fits: boolean,
  shardsSetBy: Sizing['shardsSetBy'],
): Sizing {
  const identitiesPerShard = Math.ceil(identities / shards);
  return {
    shards,
    identitiesPerShard,
    shardsSetBy,
    identitiesPerSecond: rate,
    boundBy,
    cycleSeconds: deployment.invocationOverheadSeconds + identitiesPerShard / rate,
    upstreamRequestsPerSecond: shards * rate * workload.upstreamRequestsPerIdentity,
    fits,
  };
}

/** The monthly usage and the variable part of the bill for `identities` at this deployment. */
export function estimateCost(identities: number, workload: Workload, deployment: Deployment, prices: PriceList): CostEstimate {
  const size = sizeShards(identities, workload, deployment, prices);
  const cycles = cyclesPerMonth(deployment.scheduleMinutes);
  const invocations = size.shards * cycles;
  const usage: MonthlyUsage = {
    invocations,
    gbSeconds: invocations * (deployment.memoryMb / 1024) * size.cycleSeconds,
    readUnits: cycles * (identities * workload.readUnitsPerIdentity + size.shards * workload.readUnitsPerInvocation),
    writeUnits: cycles * identities * workload.writeUnitsPerIdentity,
    publishes: cycles * identities * workload.publishesPerIdentity,
    // The token is read once per cache period by each shard's warm function (at least once an invocation).
    secretsCalls: size.shards * ((HOURS_PER_MONTH * 60) / Math.max(deployment.tokenCacheMinutes, deployment.scheduleMinutes)),
    logGb: (cycles * (identities * workload.logBytesPerIdentity + size.shards * workload.logBytesPerInvocation)) / 2 ** 30,
    storageGb: (identities * workload.itemBytes) / 2 ** 30,
  };
  const lambda = usage.gbSeconds * prices.lambda.perGbSecond + (usage.invocations / 1e6) * prices.lambda.perMillionRequests;
  const dynamodb =
    (usage.readUnits / 1e6) * prices.dynamodb.perMillionReadUnits +
    (usage.writeUnits / 1e6) * prices.dynamodb.perMillionWriteUnits +
    usage.storageGb * (prices.dynamodb.perGbMonthStorage + prices.dynamodb.perGbMonthPitr);
  const sns = (usage.publishes / 1e6) * prices.sns.perMillionPublishes;
  const scheduler = (usage.invocations / 1e6) * prices.scheduler.perMillionInvocations;
  const secretsManager = (usage.secretsCalls / 1e4) * prices.secretsManager.perTenThousandCalls;
  const logs = usage.logGb * prices.cloudWatch.perGbLogsIngested;
  const total = lambda + dynamodb + sns + scheduler + secretsManager + logs;
  return {
    identities,
    sizing: size,
    usage,
    variable: { lambda, dynamodb, sns, scheduler, secretsManager, logs, total },
    variablePer1000: identities === 0 ? 0 : (total / identities) * 1000,
  };
}

/** The part of the bill that does not depend on identities: the stack's own resources. */
export function fixedCost(resources: FixedResources, prices: PriceList): FixedCost {
  const parts = {
    customMetrics: resources.customMetrics * prices.cloudWatch.perCustomMetricMonth,
    alarms: resources.alarms * prices.cloudWatch.perAlarmMonth,
    kmsKeys: resources.kmsKeys * prices.kms.perKeyMonth,
    secrets: resources.secrets * prices.secretsManager.perSecretMonth,
    dashboards: resources.dashboards * prices.cloudWatch.perDashboardMonth,
  };
  return { ...parts, total: parts.customMetrics + parts.alarms + parts.kmsKeys + parts.secrets + parts.dashboards };
}

export interface DefaultsChoice {
  readonly memoryMb: number;
  readonly concurrency: number;
  readonly estimate: CostEstimate;
  /** The lowest variable cost of any candidate at the reference size. */
  readonly lowest: number;
  readonly candidates: readonly { readonly memoryMb: number; readonly concurrency: number; readonly estimate: CostEstimate }[];
}

/**
 * Memory and concurrency for the defaults: of the candidates whose shards fit their usable time,
 * those within `tolerance` of the lowest variable cost at `identities`; of these the fewest shards
 * (each is one more concurrent function and schedule), then the fewest requests in flight at
 * CommBox (it documents no rate), then the least memory. Pass the workload without its
 * change-driven writes and publishes: memory and concurrency cannot change those.
 */
export function chooseDefaults(
  identities: number,
  workload: Workload,
  base: Deployment,
  prices: PriceList,
  memories: readonly number[],
  concurrencies: readonly number[],
  tolerance = 0.05,
): DefaultsChoice {
  const candidates = memories.flatMap((memoryMb) =>
    concurrencies.map((concurrency) => ({ memoryMb, concurrency, estimate: estimateCost(identities, workload, { ...base, memoryMb, concurrency }, prices) })),
  );
  const fitting = candidates.filter((c) => c.estimate.sizing.fits);
  if (fitting.length === 0) throw new Error('no candidate fits its usable time: lengthen the schedule interval');
  const lowest = Math.min(...fitting.map((c) => c.estimate.variable.total));
  const [best] = fitting
    .filter((c) => c.estimate.variable.total <= lowest * (1 + tolerance))
    .sort((a, b) => a.estimate.sizing.shards - b.estimate.sizing.shards || a.concurrency - b.concurrency || a.memoryMb - b.memoryMb);
  if (!best) throw new Error('unreachable: the lowest candidate is within its own tolerance');
  return { memoryMb: best.memoryMb, concurrency: best.concurrency, estimate: best.estimate, lowest, candidates };
}
