import type { OperationCounts } from '../lambda/adapters/dynamodb-snapshot-store';
import type { BundleMeasurement } from './bundle';
import type { CycleRecord, ScenarioResult } from './scenario';

/** The issue's targets. */
export const TARGETS = {
  durationOverFloor: 1.2,
  readsPerIdentity: 0.01,
  snsRequestsPerEvent: 0.11,
  throughputOverRate: 0.9,
  throttledShare: 0.05,
  peakRssMb: 256,
  bundleBytes: 600_000,
  importMs: 150,
  speedup: 30,
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

/** The one JSON line: figures of the main scenario's median measured cycle, the side scenarios and the bundle. */
export function summarize(main: ScenarioResult, rateLimited: ScenarioResult | undefined, bundle: BundleMeasurement | undefined, environment: Environment) {
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

  const target = (value: number | undefined, bound: number, at: 'max' | 'min', show = `${at === 'max' ? '<=' : '>='} ${bound}`): Target => ({
    value: value === undefined ? null : value,
    target: show,
    met: value === undefined ? null : at === 'max' ? value <= bound : value >= bound,
  });
  const durationOverFloor = round(typical.durationMs / main.floorMs, 3);
  const readsPerIdentity = round(reads / (n * cycles.length), 5);
  const snsRequestsPerEvent = events === 0 ? undefined : round(snsCalls / events, 4);

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
    http: main.spec.http ?? 'node',
    rateLimit: main.spec.rateLimit ?? null,
    changeFraction: main.spec.changeFraction,
    measuredCycles: cycles.length,
    cycleMs: typical.durationMs,
    cycleMsRuns: cycles.map((c) => c.durationMs),
    baselineCycleMs: main.cycles[0]?.durationMs ?? null,
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
    pollerCpuMsPerIdentity: round(typical.measurement.cpuMs / n, 4),
    simulatorCpuMsPerRequest: round(typical.simulatorCpuMs / Math.max(1, typical.simulator.requests), 4),
    dynamoDbCpuMs: round(typical.dynamoDbCpuMs, 0),
    /** Share of the cycle the poller's process was on a CPU: near 1, it is CPU-bound rather than waiting on the upstream. */
    pollerCpuShare: round(typical.measurement.cpuMs / typical.durationMs, 2),
    pollerEventLoopDelayMs: typical.measurement.eventLoopDelayMs,
    simulatorEventLoopDelayMs: typical.simulatorEventLoopDelayMs,
    peakRssMb: main.memory.maxRssMb,
    bundleBytes: bundle?.bytes ?? null,
    bundleOptions: bundle?.options ?? null,
    importMs: bundle ? round(bundle.importMs, 1) : null,
    importMsWithoutSourceMaps: bundle ? round(bundle.importMsWithoutSourceMaps, 1) : null,
    naive: naive
      ? { identities: naive.identities, durationMs: round(naive.durationMs, 0), identitiesPerSecond: round(naive.identitiesPerSecond, 1) }
      : null,
    speedup: speedup === undefined ? null : round(speedup, 1),
    rateLimited: limitedSummary ?? null,
    targets: {
      durationOverFloor: target(durationOverFloor, TARGETS.durationOverFloor, 'max'),
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
      peakRssMb: target(main.memory.maxRssMb, TARGETS.peakRssMb, 'max', `<= ${TARGETS.peakRssMb} (at N = 10000)`),
      bundleBytes: target(bundle?.bytes, TARGETS.bundleBytes, 'max'),
      importMs: target(bundle ? round(bundle.importMs, 1) : undefined, TARGETS.importMs, 'max'),
      speedup: target(speedup === undefined ? undefined : round(speedup, 1), TARGETS.speedup, 'min'),
    },
  };
}

export type Summary = ReturnType<typeof summarize>;

/** A table of the summary for people (`markdown`: as the README shows it); the JSON line follows it. */
export function formatTable(summary: Summary, markdown = false): string {
  const rows: [string, string, string][] = [];
  const t = summary.targets;
  const mark = (target: Target): string => (target.met === null ? '' : target.met ? 'met' : 'MISSED');
  const add = (label: string, value: string, target?: Target): void => void rows.push([label, value, target ? `${target.target}  ${mark(target)}` : '']);
  add('identities × cycles', `${summary.identities} × ${summary.measuredCycles} measured (+1 baseline: ${summary.baselineCycleMs} ms)`);
  add('upstream', `L = ${summary.latencyMs} ± ${summary.jitterMs} ms, C = ${summary.concurrency}${summary.rateLimit ? `, R = ${summary.rateLimit}/s` : ''}; poller HTTP client ${summary.http}`);
  add('cycle duration (median)', `${summary.cycleMs} ms  [${summary.cycleMsRuns.join(', ')}]`);
  add('floor max(N·L/C, N/R)', `${summary.floorMs} ms`);
  add('duration / floor', `${summary.durationOverFloor}`, t.durationOverFloor);
  add('poller CPU time (N × CPU/identity)', `${summary.cpuFloorMs} ms: a single event loop's own floor`);
  add('identities per second', `${summary.identitiesPerSecond}`);
  const ddb = summary.dynamodbRequestsPerIdentity;
  add('DynamoDB requests / identity', `Scan ${ddb.Scan}, GetItem ${ddb.GetItem}, UpdateItem ${ddb.UpdateItem}, PutItem ${ddb.PutItem}, DeleteItem ${ddb.DeleteItem}`);
  add('DynamoDB reads / identity', `${summary.dynamodbReadsPerIdentity}`, t.dynamodbReadsPerIdentity);
  add('unchanged identities written', `${summary.unchangedIdentitiesWritten} (writes per changed identity: ${summary.dynamodbWritesPerChangedIdentity})`, t.unchangedIdentitiesWritten);
  add('SNS requests / event', `${summary.snsRequestsPerEvent} (${summary.eventsPerCycle} events per cycle)`, t.snsRequestsPerEvent);
  add('429 share (main)', `${summary.throttledShare}`);
  add('upstream requests in flight, most', `${summary.targets.upstreamMaxInFlight.value}`, t.upstreamMaxInFlight);
  add('poller CPU / identity', `${summary.pollerCpuMsPerIdentity} ms, ${summary.pollerCpuShare} of the cycle (simulator ${summary.simulatorCpuMsPerRequest} ms/request, dynalite ${summary.dynamoDbCpuMs} ms/cycle)`);
  add('event-loop delay mean/p99', `poller ${summary.pollerEventLoopDelayMs.mean}/${summary.pollerEventLoopDelayMs.p99} ms, simulator ${summary.simulatorEventLoopDelayMs.mean}/${summary.simulatorEventLoopDelayMs.p99} ms`);
  add('poller peak RSS', `${summary.peakRssMb} MB`, t.peakRssMb);
  add('bundle (minified)', summary.bundleBytes === null ? 'skipped' : `${summary.bundleBytes} bytes (${summary.bundleOptions})`, t.bundleBytes);
  add('bundle import', summary.importMs === null ? 'skipped' : `${summary.importMs} ms (${summary.importMsWithoutSourceMaps} ms without --enable-source-maps)`, t.importMs);
  add('naive sequential reference', summary.naive ? `${summary.naive.identitiesPerSecond} identities/s on ${summary.naive.identities} identities` : 'skipped');
  add('speedup over naive', summary.speedup === null ? 'skipped' : `${summary.speedup}×`, t.speedup);
  const rl = summary.rateLimited;
  if (rl) {
    add(`rate-limited R = ${rl.rate}/s`, `${rl.identities} identities in ${rl.cycleMs} ms (floor ${rl.floorMs} ms), ${rl.failed} failed, limit ends at ${rl.limitAtEnd}`);
    add('  throughput', `${rl.throughput}/s = ${rl.throughputOverRate} R`, t.rateLimitedThroughput);
    add('  429s', `${rl.throttled} of ${rl.requests} requests = ${rl.throttledShare}`, t.rateLimitedThrottledShare);
  } else {
    add('rate-limited scenario', 'skipped');
  }
  // Three processes of the run already share the CPUs; anyone else's work slows all of them.
  const busy = (summary.loadAverage[0] ?? 0) >= 1 ? ' (other work was running: timings are pessimistic)' : '';
  add('machine', `${summary.node}, ${summary.cpus} CPUs, load average ${summary.loadAverage.join(' → ')}${busy}`);
  if (markdown) {
    const cell = (text: string): string => text.replace(/\|/g, '\\|');
    return ['| metric | measured | target |', '|---|---|---|', ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i as 0 | 1 | 2].length)));
  const line = (row: readonly string[]): string => row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(['metric', 'measured', 'target']), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
