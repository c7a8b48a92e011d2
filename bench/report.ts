import type { OperationCounts } from '../lambda/adapters/dynamodb-snapshot-store';
import { DEFAULTS } from '../lambda/config';
import { deadlineMarginMs } from '../lambda/invocation';
import type { BundleMeasurement } from './bundle';
import { chooseDefaults, cpuShare, estimateCost, fixedCost, type CostEstimate, type Deployment, type Workload } from './cost-model';
import { PRICES } from './prices';
import type { CycleRecord, ScenarioResult } from './scenario';
import type { StackInventory } from './stack-inventory';

/** The targets of the issues (13 for CPU and cost), on this 2-core machine. */
export const TARGETS = {
  durationOverFloor: 1.3,
  cpuMsPerIdentity: 0.3,
  readsPerIdentity: 0.01,
  snsRequestsPerEvent: 0.11,
  throughputOverRate: 0.9,
  throttledShare: 0.05,
  peakRssMb: 256,
  bundleBytes: 600_000,
  importMs: 150,
  speedup: 30,
  /** Dollars a month per 1,000 identities for polling them (what grows with identities, not with their changes). */
  pollingCostPer1000: 1,
  /** The naive loop's bill over ours, on the same model. */
  naiveCostRatio: 20,
} as const;

/** Identities the cost table prices. */
export const COST_SIZES = [1_000, 10_000, 100_000] as const;
/** The size the defaults are chosen at. */
const REFERENCE_SIZE = 10_000;
/** Candidates for the defaults: memory sizes, and powers of two for the requests in flight. */
const CANDIDATE_MEMORY_MB = [128, 192, 256, 384, 512, 1024] as const;
const CANDIDATE_CONCURRENCY = [8, 16, 32, 64, 128, 256] as const;
/** Candidates whose polling cost is within this share of the lowest count as equally cheap. */
const CHOICE_TOLERANCE = 0.1;

/**
 * Assumptions of the cost model that the benchmark cannot measure locally, each a documented
 * choice (docs/performance.md).
 */
export const MODEL_ASSUMPTIONS = {
  /** Lambda's own JSON lines per invocation (platform.start, platform.report; X-Ray fields included). */
  lambdaPlatformLogBytes: 600,
  /** The handler stops starting identities when less than its deadline margin is left (lambda/invocation.ts). */
  deadlineMarginSeconds: deadlineMarginMs(DEFAULTS) / 1000,
  /** A shard is planned for this share of its usable time (the README's sizing rule). */
  headroom: 0.8,
  /** The registry's Scan and resume point, and the last publishes: three round trips of 50–100 ms on AWS, rounded up. */
  invocationOverheadSeconds: 0.25,
  /** The Secrets Manager token provider's cache (SecretsManagerTokenProvider's maxAgeMs). */
  tokenCacheMinutes: 5,
} as const;

export interface Target {
  readonly value: number | null;
  readonly target: string;
  readonly met: boolean | null;
}

export interface Environment {
  readonly node: string;
  readonly cpus: number;
  /** One-minute load average before and after the run: others' work on the machine skews timings. */
  readonly loadAverage: readonly [number, number];
}

/** What the cost model needs besides the measurement: the stack's defaults and CommBox's latency. */
export interface CostContext {
  readonly stack: StackInventory;
  readonly latencyMs: number;
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

function measured(result: ScenarioResult): CycleRecord[] {
  return result.cycles.filter((cycle) => cycle.kind === 'measured');
}

/** The measured cycle of median duration: the one whose figures the summary quotes. */
function medianCycle(result: ScenarioResult): CycleRecord {
  const cycles = [...measured(result)].sort((a, b) => a.durationMs - b.durationMs);
  return cycles[(cycles.length - 1) >> 1] as CycleRecord;
}

function sum(cycles: readonly CycleRecord[], pick: (cycle: CycleRecord) => number): number {
  return cycles.reduce((total, cycle) => total + pick(cycle), 0);
}

/** The poller's peak RSS over the measured cycles (sampled), or its lifetime peak for a run without a warm-up. */
function steadyPeakMb(main: ScenarioResult): number {
  return main.memory.sampledPeakMb > 0 ? Math.min(main.memory.maxRssMb, main.memory.sampledPeakMb) : main.memory.maxRssMb;
}

/** The model's inputs, per identity and cycle, from the measured cycles (averaged) and the median cycle's CPU. */
export function measuredWorkload(main: ScenarioResult): Workload {
  const cycles = measured(main);
  const typical = medianCycle(main);
  const perIdentity = (pick: (cycle: CycleRecord) => number): number => sum(cycles, pick) / (main.spec.identities * cycles.length);
  const perCycle = (pick: (cycle: CycleRecord) => number): number => sum(cycles, pick) / cycles.length;
  // The warm-up left every item holding its last published event: these are steady-state sizes.
  const scanned = sum(cycles, (c) => c.measurement.capacity.scannedItems);
  const rssBase = main.memoryAtStart.rssMb;
  return {
    cpuMsPerIdentity: typical.measurement.cpuMs / main.spec.identities,
    upstreamRequestsPerIdentity: perIdentity((c) => c.measurement.upstream.requests),
    readUnitsPerIdentity: perIdentity((c) => c.measurement.capacity.scanRead),
    readUnitsPerInvocation: perCycle((c) => c.measurement.capacity.read - c.measurement.capacity.scanRead),
    writeUnitsPerIdentity: perIdentity((c) => c.measurement.capacity.write),
    publishesPerIdentity: perIdentity((c) => c.measurement.sns.billed),
    logBytesPerIdentity: perIdentity((c) => c.measurement.logBytes.cycle),
    logBytesPerInvocation: perCycle((c) => c.measurement.logBytes.invocation) + MODEL_ASSUMPTIONS.lambdaPlatformLogBytes,
    itemBytes: scanned === 0 ? 0 : sum(cycles, (c) => c.measurement.capacity.scannedBytes) / scanned,
    rssBaseMb: rssBase,
    // What a cycle of the measured mix adds; the warm-up, when every identity changed at once, is the
    // RSS target's (a shard is planned at 80 % of its memory, room for such a minute).
    rssMbPerIdentity: Math.max(0, steadyPeakMb(main) - rssBase) / main.spec.identities,
    extraWallMsPerIdentity: 0,
  };
}

/** The naive loop on the same model: its own requests per identity, its sequential round trips, one slot. */
export function naiveWorkload(main: ScenarioResult, ours: Workload): Workload | undefined {
  const naive = main.naive;
  if (!naive || naive.identities === 0) return undefined;
  const n = naive.identities;
  return {
    ...ours,
    cpuMsPerIdentity: naive.cpuMs / n,
    upstreamRequestsPerIdentity: naive.upstreamRequests / n,
    readUnitsPerIdentity: naive.capacity.read / n,
    readUnitsPerInvocation: 0,
    writeUnitsPerIdentity: naive.capacity.write / n,
    publishesPerIdentity: naive.snsBilledPublishes / n,
    logBytesPerIdentity: 0,
    extraWallMsPerIdentity: Math.max(0, naive.durationMs / n - main.spec.latencyMs),
  };
}

export interface CostRow {
  readonly identities: number;
  readonly ours: CostEstimate;
  /** Our bill without the change-driven writes and publishes: what polling the identities costs. */
  readonly pollingPer1000: number;
  readonly changesPer1000: number;
  readonly naive: CostEstimate | null;
  readonly naiveRatio: number | null;
}

function costSection(main: ScenarioResult, context: CostContext) {
  const workload = measuredWorkload(main);
  const naive = naiveWorkload(main, workload);
  const { stack } = context;
  const deployment: Deployment = {
    memoryMb: stack.memoryMb,
    concurrency: stack.pollConcurrency,
    scheduleMinutes: stack.scheduleMinutes,
    usableSeconds: stack.timeoutSeconds - MODEL_ASSUMPTIONS.deadlineMarginSeconds,
    headroom: MODEL_ASSUMPTIONS.headroom,
    invocationOverheadSeconds: MODEL_ASSUMPTIONS.invocationOverheadSeconds,
    upstreamLatencyMs: context.latencyMs,
    tokenCacheMinutes: MODEL_ASSUMPTIONS.tokenCacheMinutes,
  };
  const polling: Workload = { ...workload, writeUnitsPerIdentity: 0, publishesPerIdentity: 0 };
  const rows: CostRow[] = COST_SIZES.map((identities) => {
    const ours = estimateCost(identities, workload, deployment, PRICES);
    const pollingOnly = estimateCost(identities, polling, deployment, PRICES);
    const naiveEstimate = naive ? estimateCost(identities, naive, { ...deployment, concurrency: 1 }, PRICES) : null;
    return {
      identities,
      ours,
      pollingPer1000: pollingOnly.variablePer1000,
      changesPer1000: ours.variablePer1000 - pollingOnly.variablePer1000,
      naive: naiveEstimate,
      naiveRatio: naiveEstimate ? naiveEstimate.variable.total / ours.variable.total : null,
    };
  });
  const choice = chooseDefaults(REFERENCE_SIZE, polling, deployment, PRICES, CANDIDATE_MEMORY_MB, CANDIDATE_CONCURRENCY, CHOICE_TOLERANCE);
  const typical = medianCycle(main);
  const option = (c: (typeof choice.candidates)[number]) => ({
    memoryMb: c.memoryMb,
    concurrency: c.concurrency,
    shards: c.estimate.sizing.shards,
    fits: c.estimate.sizing.fits,
    boundBy: c.estimate.sizing.boundBy,
    cycleSeconds: round(c.estimate.sizing.cycleSeconds, 1),
    pollingPer1000: round(c.estimate.variablePer1000, 4),
    upstreamRequestsPerSecond: round(c.estimate.sizing.upstreamRequestsPerSecond, 0),
  });
  return {
    region: PRICES.region,
    pricesAsOf: PRICES.asOf,
    workload,
    naiveWorkload: naive ?? null,
    deployment,
    cpuShare: round(cpuShare(deployment.memoryMb, PRICES), 3),
    changesPerIdentityHour: round((typical.changedUpstream / main.spec.identities) * (60 / deployment.scheduleMinutes), 2),
    fixed: fixedCost({ ...stack, customMetrics: typical.measurement.customMetrics }, PRICES),
    fixedResources: { ...stack, customMetrics: typical.measurement.customMetrics },
    rows,
    choice: {
      memoryMb: choice.memoryMb,
      concurrency: choice.concurrency,
      per1000: choice.estimate.variablePer1000,
      lowestPer1000: (choice.lowest / REFERENCE_SIZE) * 1000,
      shards: choice.estimate.sizing.shards,
      upstreamRequestsPerSecond: choice.estimate.sizing.upstreamRequestsPerSecond,
      referenceIdentities: REFERENCE_SIZE,
      /** The candidates at the stack's memory, by concurrency, and at its concurrency, by memory. */
      byConcurrency: choice.candidates.filter((c) => c.memoryMb === deployment.memoryMb).map(option),
      byMemory: choice.candidates.filter((c) => c.concurrency === deployment.concurrency).map(option),
    },
  };
}

/** The one JSON line: figures of the main scenario's median measured cycle, the side scenarios, the bundle and the cost model. */
export function summarize(
  main: ScenarioResult,
  rateLimited: ScenarioResult | undefined,
  bundle: BundleMeasurement | undefined,
  environment: Environment,
  costContext?: CostContext,
) {
  const cycles = measured(main);
  const typical = medianCycle(main);
  const n = main.spec.identities;
  const perIdentity = {} as OperationCounts;
  for (const op of ['Scan', 'GetItem', 'UpdateItem', 'PutItem', 'DeleteItem'] as const) {
    perIdentity[op] = round(sum(cycles, (c) => c.measurement.dynamodb[op]) / (n * cycles.length), 5);
  }
  const reads = sum(cycles, (c) => c.measurement.dynamodb.Scan + c.measurement.dynamodb.GetItem);
  const writes = sum(cycles, (c) => c.measurement.dynamodb.UpdateItem + c.measurement.dynamodb.PutItem + c.measurement.dynamodb.DeleteItem);
  const changed = sum(cycles, (c) => c.measurement.summary.changed);
  const events = sum(cycles, (c) => c.measurement.sns.entries);
  const snsCalls = sum(cycles, (c) => c.measurement.sns.calls);
  const requests = sum(cycles, (c) => c.measurement.upstream.requests);
  const throttled = sum(cycles, (c) => c.measurement.upstream.throttled);
  const unchangedWritten = sum(cycles, (c) => c.measurement.unchangedIdentitiesWritten);

  const naive = main.naive;
  const speedup = naive ? typical.identitiesPerSecond / naive.identitiesPerSecond : undefined;

  const limited = rateLimited ? medianCycle(rateLimited) : undefined;
  const rate = rateLimited?.spec.rateLimit;
  const limitedSummary =
    rateLimited && limited && rate
      ? {
          rate,
          identities: rateLimited.spec.identities,
          concurrency: rateLimited.spec.concurrency,
          cycleMs: limited.durationMs,
          floorMs: round(rateLimited.floorMs, 0),
          throughput: round(limited.measurement.summary.polled / (limited.durationMs / 1000), 1),
          throughputOverRate: round(limited.measurement.summary.polled / (limited.durationMs / 1000) / rate, 3),
          requests: limited.measurement.upstream.requests,
          throttled: limited.measurement.upstream.throttled,
          throttledShare: round(limited.measurement.upstream.throttled / Math.max(1, limited.measurement.upstream.requests), 4),
          failed: limited.measurement.summary.failed,
          limitAtEnd: limited.measurement.limiter.limitAtEnd,
          limitDecreases: limited.measurement.limiter.decreases,
          upstreamMaxInFlight: limited.simulator.maxInFlight,
        }
      : undefined;

  const target = (value: number | undefined | null, bound: number, at: 'max' | 'min', show = `${at === 'max' ? '<=' : '>='} ${bound}`): Target => ({
    value: value === undefined || value === null ? null : value,
    target: show,
    met: value === undefined || value === null ? null : at === 'max' ? value <= bound : value >= bound,
  });
  const durationOverFloor = round(typical.durationMs / main.floorMs, 3);
  const readsPerIdentity = round(reads / (n * cycles.length), 5);
  const snsRequestsPerEvent = events === 0 ? undefined : round(snsCalls / events, 4);
  const cpuMsPerIdentity = round(typical.measurement.cpuMs / n, 4);
  const cost = costContext ? costSection(main, costContext) : null;
  const worstPolling = cost ? round(Math.max(...cost.rows.map((r) => r.pollingPer1000)), 3) : undefined;
  const ratios = cost?.rows.map((r) => r.naiveRatio).filter((r): r is number => r !== null) ?? [];
  const worstRatio = ratios.length === COST_SIZES.length ? round(Math.min(...ratios), 1) : undefined;

  return {
    bench: 'unread-notifier',
    at: new Date().toISOString(),
    node: environment.node,
    cpus: environment.cpus,
    loadAverage: environment.loadAverage.map((l) => round(l)),
    topology: main.topology,
    identities: n,
    latencyMs: main.spec.latencyMs,
    jitterMs: main.spec.jitterMs,
    concurrency: main.spec.concurrency,
    httpClient: 'node:http',
    rateLimit: main.spec.rateLimit ?? null,
    changeFraction: main.spec.changeFraction,
    measuredCycles: cycles.length,
    cycleMs: typical.durationMs,
    cycleMsRuns: cycles.map((c) => c.durationMs),
    baselineCycleMs: main.cycles[0]?.durationMs ?? null,
    /** Reading the registry (Scan and resume point) before the first identity starts, in the median cycle. */
    loadMs: round(typical.measurement.loadMs, 0),
    floorMs: round(main.floorMs, 0),
    durationOverFloor,
    /** The poller's CPU time for the cycle (N × CPU per identity): one event loop cannot finish sooner. */
    cpuFloorMs: round(typical.measurement.cpuMs, 0),
    identitiesPerSecond: round(typical.identitiesPerSecond, 0),
    changedPerCycle: round(changed / cycles.length, 1),
    dynamodbRequestsPerIdentity: perIdentity,
    dynamodbReadsPerIdentity: readsPerIdentity,
    dynamodbWritesPerChangedIdentity: changed === 0 ? null : round(writes / changed, 3),
    unchangedIdentitiesWritten: unchangedWritten,
    eventsPerCycle: round(events / cycles.length, 1),
    snsRequestsPerEvent: snsRequestsPerEvent ?? null,
    upstreamRequestsPerIdentity: round(requests / (n * cycles.length), 4),
    throttledShare: round(throttled / Math.max(1, requests), 4),
    upstreamMaxInFlight: Math.max(...cycles.map((c) => c.simulator.maxInFlight)),
    pollerCpuMsPerIdentity: cpuMsPerIdentity,
    simulatorCpuMsPerRequest: round(typical.simulatorCpuMs / Math.max(1, typical.simulator.requests), 4),
    dynamoDbCpuMs: round(typical.dynamoDbCpuMs, 0),
    /** Share of the cycle the poller's process was on a CPU: near 1, it is CPU-bound rather than waiting on the upstream. */
    pollerCpuShare: round(typical.measurement.cpuMs / typical.durationMs, 2),
    pollerEventLoopDelayMs: typical.measurement.eventLoopDelayMs,
    simulatorEventLoopDelayMs: typical.simulatorEventLoopDelayMs,
    peakRssMb: main.memory.maxRssMb,
    measuredPeakRssMb: steadyPeakMb(main),
    startRssMb: main.memoryAtStart.rssMb,
    clients: main.clients ?? null,
    bundleBytes: bundle?.bytes ?? null,
    bundleOptions: bundle?.options ?? null,
    importMs: bundle ? round(bundle.importMs, 1) : null,
    importMsWithoutSourceMaps: bundle ? round(bundle.importMsWithoutSourceMaps, 1) : null,
    naive: naive
      ? { identities: naive.identities, durationMs: round(naive.durationMs, 0), identitiesPerSecond: round(naive.identitiesPerSecond, 1), cpuMs: round(naive.cpuMs, 0) }
      : null,
    speedup: speedup === undefined ? null : round(speedup, 1),
    rateLimited: limitedSummary ?? null,
    cost,
    targets: {
      durationOverFloor: target(durationOverFloor, TARGETS.durationOverFloor, 'max'),
      pollerCpuMsPerIdentity: target(cpuMsPerIdentity, TARGETS.cpuMsPerIdentity, 'max', `<= ${TARGETS.cpuMsPerIdentity} ms`),
      unchangedIdentitiesWritten: target(unchangedWritten, 0, 'max', '0'),
      dynamodbReadsPerIdentity: target(readsPerIdentity, TARGETS.readsPerIdentity, 'max'),
      snsRequestsPerEvent: target(snsRequestsPerEvent, TARGETS.snsRequestsPerEvent, 'max'),
      upstreamMaxInFlight: target(
        Math.max(...cycles.map((c) => c.simulator.maxInFlight), limited?.simulator.maxInFlight ?? 0),
        main.spec.concurrency,
        'max',
        `<= C (${main.spec.concurrency})`,
      ),
      rateLimitedThroughput: target(limitedSummary?.throughputOverRate, TARGETS.throughputOverRate, 'min', '>= 0.9 R'),
      rateLimitedThrottledShare: target(limitedSummary?.throttledShare, TARGETS.throttledShare, 'max'),
      peakRssMb: target(n >= 10_000 ? main.memory.maxRssMb : undefined, TARGETS.peakRssMb, 'max', `<= ${TARGETS.peakRssMb} MB`),
      bundleBytes: target(bundle?.bytes, TARGETS.bundleBytes, 'max', '<= 600 KB'),
      importMs: target(bundle ? round(bundle.importMs, 1) : undefined, TARGETS.importMs, 'max', `<= ${TARGETS.importMs} ms`),
      speedup: target(speedup === undefined ? undefined : round(speedup, 1), TARGETS.speedup, 'min', `>= ${TARGETS.speedup}×`),
      pollingCostPer1000: target(worstPolling, TARGETS.pollingCostPer1000, 'max', '<= $1.00'),
      naiveCostRatio: target(worstRatio, TARGETS.naiveCostRatio, 'min', `>= ${TARGETS.naiveCostRatio}×`),
    },
  };
}

export type Summary = ReturnType<typeof summarize>;

export interface Verdict {
  readonly met: readonly string[];
  readonly missed: readonly string[];
  /** Targets with nothing to judge (a part skipped, or N below the target's scale). */
  readonly unjudged: readonly string[];
}

export function verdict(summary: Summary): Verdict {
  const entries: [string, Target][] = Object.entries(summary.targets);
  return {
    met: entries.filter(([, t]) => t.met === true).map(([name]) => name),
    missed: entries.filter(([, t]) => t.met === false).map(([name]) => name),
    unjudged: entries.filter(([, t]) => t.met === null).map(([name]) => name),
  };
}

/** The line printed last before the JSON: what the exit code says. */
export function verdictLine(v: Verdict): string {
  if (v.missed.length > 0) return `verdict: MISSED ${v.missed.length} of ${v.met.length + v.missed.length} targets: ${v.missed.join(', ')} (exit 1)`;
  return `verdict: all ${v.met.length} targets met${v.unjudged.length ? ` (${v.unjudged.length} not judged: ${v.unjudged.join(', ')})` : ''}`;
}

/** The width every plain-text table of the report fits in. */
export const REPORT_WIDTH = 100;

const thousands = (value: number): string => Math.round(value).toLocaleString('en-US');

export function dollars(value: number): string {
  if (value >= 100) return `$${thousands(value)}`;
  if (value >= 1) return `$${value.toFixed(2)}`;
  return `$${value.toFixed(3)}`;
}

/** Breaks `text` into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    const at = cut > width / 3 ? cut : width;
    lines.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  lines.push(rest);
  return lines;
}

/**
 * Rows as a plain table no wider than REPORT_WIDTH: every column but `flex` keeps its width, and
 * `flex`'s cells wrap onto continuation lines; right-aligned columns pad on the left.
 */
export function plainTable(header: readonly string[], rows: readonly (readonly string[])[], flex: number, rightAligned: readonly number[] = []): string {
  const all = [header, ...rows];
  const natural = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const others = natural.reduce((total, w, i) => (i === flex ? total : total + w), 0) + 2 * (header.length - 1);
  const widths = natural.map((w, i) => (i === flex ? Math.max(8, Math.min(w, REPORT_WIDTH - others)) : w));
  const pad = (cell: string, i: number): string => (rightAligned.includes(i) ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number));
  const render = (row: readonly string[]): string[] => {
    const flexLines = wrap(row[flex] ?? '', widths[flex] as number);
    return flexLines.map((part, k) => row.map((cell, i) => (i === flex ? pad(part, i) : pad(k === 0 ? cell : '', i))).join('  ').trimEnd());
  };
  return [...render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.flatMap(render)].join('\n');
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');
}

function table(header: readonly string[], rows: readonly (readonly string[])[], markdown: boolean, flex: number, rightAligned: readonly number[] = []): string {
  return markdown ? markdownTable(header, rows) : plainTable(header, rows, flex, rightAligned);
}

/** The measurement's table: metric, measured, target, met. */
export function formatMeasurements(summary: Summary, markdown = false): string {
  const rows: string[][] = [];
  const t = summary.targets;
  const mark = (target: Target): string => (target.met === null ? '' : target.met ? 'met' : 'MISSED');
  const add = (label: string, value: string, target?: Target): void => void rows.push([label, value, target?.target ?? '', target ? mark(target) : '']);
  add('identities × cycles', `${thousands(summary.identities)} × ${summary.measuredCycles} measured, after a baseline cycle of ${thousands(summary.baselineCycleMs ?? 0)} ms and a warm-up cycle that changed every identity`);
  add('upstream (simulated)', `L = ${summary.latencyMs} ± ${summary.jitterMs} ms, C = ${summary.concurrency}${summary.rateLimit ? `, R = ${summary.rateLimit}/s` : ''}, ${summary.changeFraction * 100} % of identities changed per cycle`);
  add('cycle duration, median', `${thousands(summary.cycleMs)} ms [${summary.cycleMsRuns.map(thousands).join(', ')}], registry read ${thousands(summary.loadMs)} ms`);
  add('floor max(N·L/C, N/R)', `${thousands(summary.floorMs)} ms`);
  add('duration / floor', `${summary.durationOverFloor}`, t.durationOverFloor);
  add('poller CPU / identity', `${summary.pollerCpuMsPerIdentity} ms (${summary.pollerCpuShare} of the cycle on a CPU)`, t.pollerCpuMsPerIdentity);
  add('identities per second', thousands(summary.identitiesPerSecond));
  const ddb = summary.dynamodbRequestsPerIdentity;
  add('DynamoDB requests / identity', `Scan ${ddb.Scan}, GetItem ${ddb.GetItem}, UpdateItem ${ddb.UpdateItem}, PutItem ${ddb.PutItem}, DeleteItem ${ddb.DeleteItem}`);
  add('DynamoDB reads / identity', `${summary.dynamodbReadsPerIdentity}`, t.dynamodbReadsPerIdentity);
  add('unchanged identities written', `${summary.unchangedIdentitiesWritten} (writes per changed identity: ${summary.dynamodbWritesPerChangedIdentity})`, t.unchangedIdentitiesWritten);
  add('SNS requests / event', `${summary.snsRequestsPerEvent} (${summary.eventsPerCycle} events per cycle)`, t.snsRequestsPerEvent);
  add('429 share (main)', `${summary.throttledShare}`);
  add('upstream in flight, most', `${summary.targets.upstreamMaxInFlight.value}`, t.upstreamMaxInFlight);
  add('other processes', `simulator ${summary.simulatorCpuMsPerRequest} ms CPU/request, dynalite ${thousands(summary.dynamoDbCpuMs)} ms CPU/cycle`);
  add('event-loop delay mean/p99', `poller ${summary.pollerEventLoopDelayMs.mean}/${summary.pollerEventLoopDelayMs.p99} ms, simulator ${summary.simulatorEventLoopDelayMs.mean}/${summary.simulatorEventLoopDelayMs.p99} ms`);
  add(
    'poller RSS',
    `${summary.peakRssMb} MB at most, when every identity changed at once; ${summary.measuredPeakRssMb} MB in the measured cycles, ${summary.startRssMb} MB before the first cycle`,
    t.peakRssMb,
  );
  add('bundle, minified', summary.bundleBytes === null ? 'skipped' : `${thousands(summary.bundleBytes / 1000)} KB (${summary.bundleOptions})`, t.bundleBytes);
  add('bundle import', summary.importMs === null ? 'skipped' : `${summary.importMs} ms (${summary.importMsWithoutSourceMaps} ms without --enable-source-maps)`, t.importMs);
  add('naive sequential loop', summary.naive ? `${summary.naive.identitiesPerSecond} identities/s on ${summary.naive.identities} identities` : 'skipped');
  add('speedup over naive', summary.speedup === null ? 'skipped' : `${summary.speedup}×`, t.speedup);
  const rl = summary.rateLimited;
  if (rl) {
    add(`rate-limited, R = ${rl.rate}/s`, `${thousands(rl.identities)} identities in ${thousands(rl.cycleMs)} ms (floor ${thousands(rl.floorMs)} ms), ${rl.failed} failed, limit ends at ${rl.limitAtEnd}`);
    add('  throughput', `${rl.throughput}/s = ${rl.throughputOverRate} R`, t.rateLimitedThroughput);
    add('  429s', `${rl.throttled} of ${rl.requests} requests = ${rl.throttledShare}`, t.rateLimitedThrottledShare);
  } else {
    add('rate-limited scenario', 'skipped');
  }
  // Three processes of the run already share the CPUs; anyone else's work slows all of them.
  const busy = (summary.loadAverage[0] ?? 0) >= 1 ? ': other work was running, timings are pessimistic' : '';
  add('machine', `${summary.node}, ${summary.cpus} CPUs, load average ${summary.loadAverage.join(' → ')}${busy}`);
  return table(['metric', 'measured', 'target', ''], rows, markdown, 1);
}

/** CPU per request of each HTTP client, measured in the same run on the same upstream. */
export function formatClients(summary: Summary, markdown = false): string | undefined {
  const clients = summary.clients;
  if (!clients || clients.length === 0) return undefined;
  const base = clients.find((c) => c.client === 'node:http')?.cpuUsPerRequest ?? 1;
  const rows = clients.map((c) => [
    c.client === 'node:http' ? 'node:http (the poller)' : `${c.client} (reference)`,
    `${c.cpuUsPerRequest} µs`,
    `${round(c.cpuUsPerRequest / base, 2)}×`,
    `${thousands(c.wallMs)} ms for ${thousands(c.requests)}`,
  ]);
  return table(['HTTP client', 'CPU / request', 'vs node:http', 'wall time'], rows, markdown, 0, [1, 2]);
}

/** The modelled monthly bill, the fixed part, the inputs and the defaults' choice. */
export function formatCost(summary: Summary, markdown = false): string | undefined {
  const cost = summary.cost;
  if (!cost) return undefined;
  const d = cost.deployment;
  const w = cost.workload;
  const bill = table(
    ['identities', 'shards', 'bound', 'cycle', 'Lambda', 'DynamoDB', 'SNS', 'other', 'a month'],
    cost.rows.map((r) => {
      const v = r.ours.variable;
      return [
        thousands(r.identities),
        `${r.ours.sizing.shards}${r.ours.sizing.fits ? '' : ' (!)'}${r.ours.sizing.shardsSetBy === 'memory' ? ' (memory)' : ''}`,
        r.ours.sizing.boundBy,
        `${round(r.ours.sizing.cycleSeconds, 1)} s`,
        dollars(v.lambda),
        dollars(v.dynamodb),
        dollars(v.sns),
        dollars(v.scheduler + v.secretsManager + v.logs),
        dollars(v.total),
      ];
    }),
    markdown,
    2,
    [0, 1, 3, 4, 5, 6, 7, 8],
  );
  const per1000 = table(
    ['identities', 'per 1,000', 'polling', 'changes', 'naive loop per 1,000', 'naive ÷ ours'],
    cost.rows.map((r) => [
      thousands(r.identities),
      dollars(r.ours.variablePer1000),
      dollars(r.pollingPer1000),
      dollars(r.changesPer1000),
      r.naive ? dollars(r.naive.variablePer1000) : 'skipped',
      r.naiveRatio === null ? '' : `${round(r.naiveRatio, 1)}×`,
    ]),
    markdown,
    4,
    [0, 1, 2, 3, 4, 5],
  );
  const options = [...cost.choice.byConcurrency, ...cost.choice.byMemory.filter((o) => o.memoryMb !== d.memoryMb)];
  const alternatives = table(
    [`${thousands(cost.choice.referenceIdentities)} identities`, 'shards', 'bound', 'cycle', 'polling per 1,000', 'CommBox requests/s'],
    options.map((o) => [
      `${o.memoryMb} MB, C = ${o.concurrency}${o.memoryMb === d.memoryMb && o.concurrency === d.concurrency ? ' (defaults)' : ''}`,
      ...(o.fits ? [String(o.shards), o.boundBy, `${o.cycleSeconds} s`, dollars(o.pollingPer1000), thousands(o.upstreamRequestsPerSecond)] : ['-', 'does not fit', '', '', '']),
    ]),
    markdown,
    0,
    [1, 3, 4, 5],
  );
  const f = cost.fixed;
  const r = cost.fixedResources;
  const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;
  const notes = [
    `Modelled monthly AWS bill, variable part: ${cost.region}, ARM64, on-demand list prices of ${cost.pricesAsOf}, no free tiers (bench/prices.ts). "bound": what sets a shard's pace; "(memory)": its memory, not its time, sets the number of shards; (!): does not fit; "other": Scheduler, Secrets Manager, logs.`,
    `Deployment: the stack's defaults, synthesized: ${d.memoryMb} MB (${cost.cpuShare} vCPU), POLL_CONCURRENCY ${d.concurrency}, every ${plural(d.scheduleMinutes, 'minute')}, ${d.usableSeconds} s usable per run, shards planned at ${d.headroom * 100} % of it; CommBox at L = ${d.upstreamLatencyMs} ms with no rate limit.`,
    `Inputs, measured above, per identity and cycle: CPU ${round(w.cpuMsPerIdentity, 3)} ms, upstream requests ${round(w.upstreamRequestsPerIdentity, 3)}, read units ${round(w.readUnitsPerIdentity, 4)} (items of ${thousands(w.itemBytes)} B, each holding its last published event after the warm-up), write units ${round(w.writeUnitsPerIdentity, 3)}, SNS publishes ${round(w.publishesPerIdentity, 3)}, log bytes ${round(w.logBytesPerIdentity, 1)}; per run: log bytes ${thousands(w.logBytesPerInvocation)}; RSS ${round(w.rssBaseMb, 0)} MB + ${round(w.rssMbPerIdentity * 1024, 1)} KB per identity. Changes, as simulated: ${cost.changesPerIdentityHour} per identity and hour.`,
    `Fixed part: ${dollars(f.total)} a month: ${plural(r.customMetrics, 'custom metric')} ${dollars(f.customMetrics)}, ${plural(r.alarms, 'alarm')} ${dollars(f.alarms)}, ${plural(r.kmsKeys, 'KMS key')} ${dollars(f.kmsKeys)}, ${plural(r.secrets, 'secret')} ${dollars(f.secrets)}, ${plural(r.dashboards, 'dashboard')} ${dollars(f.dashboards)}.`,
    `The model's choice for ${thousands(cost.choice.referenceIdentities)} identities (polling cost within ${CHOICE_TOLERANCE * 100} % of the lowest, then fewest shards, then fewest requests in flight): ${cost.choice.memoryMb} MB, POLL_CONCURRENCY ${cost.choice.concurrency}, ${plural(cost.choice.shards, 'shard')}: polling ${dollars(cost.choice.per1000)} per 1,000 (lowest ${dollars(cost.choice.lowestPer1000)}); CommBox gets ${thousands(cost.choice.upstreamRequestsPerSecond)} requests/s while a cycle runs.`,
  ];
  return [bill, '', per1000, '', alternatives, '', markdown ? notes.join('\n\n') : notes.flatMap((n) => wrap(n, REPORT_WIDTH)).join('\n')].join('\n');
}

/** Everything for people, in order; the JSON line follows it. */
export function formatReport(summary: Summary, markdown = false): string {
  const v = verdict(summary);
  const line = verdictLine(v);
  return [formatMeasurements(summary, markdown), formatClients(summary, markdown), formatCost(summary, markdown), markdown ? line : wrap(line, REPORT_WIDTH).join('\n')]
    .filter((part): part is string => part !== undefined)
    .join('\n\n');
}
