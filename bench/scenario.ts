import type { SimulatorStats } from '../local/commbox-simulator';
import type { ClientMeasurement } from './http-clients';
import { runNaiveReference, type NaiveMeasurement } from './naive-reference';
import { registerIdentities, type CycleMeasurement, type EventLoopDelay, type MemoryUsage } from './poller';
import type { Topology } from './topology';

export interface UpstreamShape {
  /** Mean answer delay. */
  readonly latencyMs: number;
  /** Each delay is uniform in latency ± jitter. */
  readonly jitterMs: number;
  /** Requests per second before the simulator answers 429 with Retry-After; none when undefined. */
  readonly rateLimit?: number;
  readonly seed: number;
}

export interface ScenarioSpec extends UpstreamShape {
  readonly name: string;
  readonly identities: number;
  readonly concurrency: number;
  /** Measured cycles after the baseline cycle. */
  readonly cycles: number;
  /** Share of the identities the simulator changes before each measured cycle. */
  readonly changeFraction: number;
  /** Also run the naive sequential reference on this many other identities (same upstream, same dynalite). */
  readonly naiveIdentities?: number;
  /** Compare the HTTP clients' CPU per request on this many identities of the same upstream (after the cycles). */
  readonly compareClients?: { readonly identities: number; readonly rounds: number };
  /** Write a CPU profile of the poller's measured cycles to this file. */
  readonly profileFile?: string;
}

export interface CycleRecord {
  /**
   * `warmup`: every identity changes once after the baseline, so each item holds its last
   * published event (a closed run's, kept until its next change), as in the steady state.
   */
  readonly kind: 'baseline' | 'warmup' | 'measured';
  /** Identities the simulator changed before this cycle. */
  readonly changedUpstream: number;
  readonly measurement: CycleMeasurement;
  readonly durationMs: number;
  readonly identitiesPerSecond: number;
  readonly durationOverFloor: number;
  /** What the simulator saw: its requests, 429s and the most requests it held at once. */
  readonly simulator: Pick<SimulatorStats, 'requests' | 'throttled' | 'maxInFlight'>;
  /** CPU spent during the cycle by the simulator's and dynalite's processes (0 in-process). */
  readonly simulatorCpuMs: number;
  readonly dynamoDbCpuMs: number;
  readonly simulatorEventLoopDelayMs: EventLoopDelay;
}

export interface ScenarioResult {
  readonly spec: ScenarioSpec;
  readonly topology: Topology['kind'];
  /** max(N·L/C, N/R): no cycle can be faster. */
  readonly floorMs: number;
  readonly setupMs: number;
  readonly cycles: readonly CycleRecord[];
  /** The poller process after every cycle (peak RSS included), and before the first. */
  readonly memory: MemoryUsage;
  readonly memoryAtStart: MemoryUsage;
  readonly naive?: NaiveMeasurement;
  readonly clients?: readonly ClientMeasurement[];
}

export function floorMs(identities: number, shape: { latencyMs: number; concurrency: number; rateLimit?: number }): number {
  const byLatency = (identities * shape.latencyMs) / shape.concurrency;
  const byRate = shape.rateLimit ? (identities / shape.rateLimit) * 1000 : 0;
  return Math.max(byLatency, byRate);
}

const FIRST_ID = 1_000_001n;
const NAIVE_FIRST_ID = 5_000_001n;

/**
 * One scenario: a simulator with `identities`, a table with them registered, the poller in its
 * process; a baseline cycle, a warm-up cycle after every identity changed once (the steady state:
 * each item holds its last published event), then `cycles` measured ones, each after the simulator
 * changed `changeFraction` of the identities; then, if asked, the naive reference on the same upstream.
 */
export async function runScenario(topology: Topology, spec: ScenarioSpec, log: (line: string) => void = () => {}): Promise<ScenarioResult> {
  const setupStarted = performance.now();
  const floor = floorMs(spec.identities, spec);
  const upstream = await topology.startUpstream();
  const poller = await topology.startPoller();
  try {
    const { baseUrl, token } = await upstream.service.start({
      seed: spec.seed,
      latencyMs: spec.latencyMs,
      jitterMs: spec.jitterMs,
      ...(spec.rateLimit ? { rateLimitPerSecond: spec.rateLimit } : {}),
    });
    await upstream.service.populate(spec.identities, String(FIRST_ID));
    const tableName = `bench-${spec.name}-${Date.now()}`;
    log(`${spec.name}: registering ${spec.identities} identities`);
    await registerIdentities(topology.dynamoEndpoint, tableName, FIRST_ID, spec.identities);
    const memoryAtStart = await poller.service.start({ dynamoEndpoint: topology.dynamoEndpoint, tableName, baseUrl, token, concurrency: spec.concurrency });
    const setupMs = performance.now() - setupStarted;

    const cycles: CycleRecord[] = [];
    const kinds: CycleRecord['kind'][] = ['baseline', ...(spec.changeFraction > 0 ? ['warmup' as const] : []), ...Array<'measured'>(spec.cycles).fill('measured')];
    for (const [i, kind] of kinds.entries()) {
      const changed = kind === 'baseline' ? [] : await upstream.service.tick(kind === 'warmup' ? 1 : spec.changeFraction);
      await upstream.service.resetStats();
      const [simCpu, dbCpu] = [await upstream.service.cpuMs(), await topology.dynamoDb.cpuMs()];
      if (kind === 'measured' && cycles.at(-1)?.kind !== 'measured') {
        await poller.service.resetPeak();
        if (spec.profileFile) await poller.service.startProfile();
      }
      const measurement = await poller.service.cycle(changed);
      const simulatorCpuMs = topology.kind === 'processes' ? (await upstream.service.cpuMs()) - simCpu : 0;
      const dynamoDbCpuMs = topology.kind === 'processes' ? (await topology.dynamoDb.cpuMs()) - dbCpu : 0;
      const stats = await upstream.service.stats();
      const simulatorEventLoopDelayMs = await upstream.service.eventLoopDelay();
      const durationMs = measurement.summary.durationMs;
      const record: CycleRecord = {
        kind,
        changedUpstream: changed.length,
        measurement,
        durationMs,
        identitiesPerSecond: spec.identities / (durationMs / 1000),
        durationOverFloor: durationMs / floor,
        simulator: { requests: stats.requests, throttled: stats.throttled, maxInFlight: stats.maxInFlight },
        simulatorCpuMs,
        dynamoDbCpuMs,
        simulatorEventLoopDelayMs,
      };
      cycles.push(record);
      log(`${spec.name}: ${kind} cycle ${i}: ${durationMs} ms (${record.durationOverFloor.toFixed(2)}× floor), ${measurement.summary.changed} changed`);
    }
    if (spec.profileFile) {
      await poller.service.stopProfile(spec.profileFile);
      log(`${spec.name}: CPU profile of the measured cycles in ${spec.profileFile}`);
    }
    const memory = await poller.service.memory();

    let clients: ClientMeasurement[] | undefined;
    if (spec.compareClients) {
      const ids = Array.from({ length: Math.min(spec.identities, spec.compareClients.identities) }, (_, i) => String(FIRST_ID + BigInt(i)));
      log(`${spec.name}: HTTP clients compared on ${ids.length} requests each, ${spec.compareClients.rounds} rounds`);
      clients = await poller.service.compareClients({ baseUrl, token, ids, concurrency: spec.concurrency, rounds: spec.compareClients.rounds });
    }

    let naive: NaiveMeasurement | undefined;
    if (spec.naiveIdentities) {
      const ids = await upstream.service.populate(spec.naiveIdentities, String(NAIVE_FIRST_ID));
      log(`${spec.name}: naive sequential reference on ${ids.length} identities`);
      naive = await runNaiveReference({ dynamoEndpoint: topology.dynamoEndpoint, tableName: `${tableName}-naive`, baseUrl, token, ids });
    }
    return { spec, topology: topology.kind, floorMs: floor, setupMs, cycles, memory, memoryAtStart, ...(naive ? { naive } : {}), ...(clients ? { clients } : {}) };
  } finally {
    await poller.service.close().catch(() => undefined);
    await poller.stop();
    await upstream.service.close().catch(() => undefined);
    await upstream.stop();
  }
}
