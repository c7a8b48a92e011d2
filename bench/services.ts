import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import path from 'node:path';
import { startCommBoxSimulator, type CommBoxSimulator, type CommBoxSimulatorOptions, type SimulatorStats } from '../local/commbox-simulator';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../local/embedded-dynamodb';
import { compareClients, type ClientMeasurement, type CompareClientsOptions } from './http-clients';
import { BenchPoller, eventLoopDelay, memoryUsage, resetSampledPeak, type EventLoopDelay, type CycleMeasurement, type MemoryUsage, type PollerConfig } from './poller';

/**
 * The three parts of a benchmark run, each as a service with async methods only, so the same
 * object serves calls in a child process (`bench/*-process.ts`) or is called directly (the smoke
 * test). In the benchmark each runs in a process of its own: the simulator's and dynalite's CPU
 * is then not charged to the poller, whose duration, CPU and peak RSS are its own.
 */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** The CommBox simulator. */
export function upstreamService() {
  let simulator: CommBoxSimulator | undefined;
  let delay: (() => EventLoopDelay) | undefined;
  const running = (): CommBoxSimulator => {
    if (!simulator) throw new Error('simulator not started');
    return simulator;
  };
  return {
    async start(options: CommBoxSimulatorOptions): Promise<{ baseUrl: string; token: string }> {
      simulator = await startCommBoxSimulator(options);
      return { baseUrl: simulator.baseUrl, token: simulator.token };
    },
    populate(count: number, firstId: string): Promise<string[]> {
      return Promise.resolve(running().world.populate(count, { firstId }));
    },
    tick(fraction: number): Promise<string[]> {
      return Promise.resolve(running().tick(fraction));
    },
    stats(): Promise<SimulatorStats> {
      return Promise.resolve(running().stats);
    },
    /** Resets the counters and starts sampling the simulator's event-loop delay. */
    resetStats(): Promise<void> {
      running().resetStats();
      delay?.();
      delay = eventLoopDelay();
      return Promise.resolve();
    },
    /** The simulator's event-loop delay since `resetStats`: a busy simulator answers late. */
    eventLoopDelay(): Promise<EventLoopDelay> {
      return Promise.resolve(delay ? delay() : { mean: 0, p99: 0 });
    },
    cpuMs(): Promise<number> {
      return Promise.resolve(cpuMs());
    },
    async close(): Promise<void> {
      await simulator?.close();
      simulator = undefined;
    },
  };
}

/** dynalite, the embedded DynamoDB. */
export function dynamoDbService() {
  let db: EmbeddedDynamoDb | undefined;
  return {
    async start(): Promise<string> {
      db = await startEmbeddedDynamoDb();
      return db.endpoint;
    },
    cpuMs(): Promise<number> {
      return Promise.resolve(cpuMs());
    },
    async close(): Promise<void> {
      await db?.close();
      db = undefined;
    },
  };
}

/** The poller under test. */
export function pollerService() {
  let poller: BenchPoller | undefined;
  let profiler: Session | undefined;
  const post = <T>(method: string): Promise<T> =>
    new Promise<T>((resolve, reject) => profiler?.post(method, (error, result) => (error ? reject(error) : resolve(result as T))));
  return {
    /** Starts a V8 CPU profile of this process (measured cycles only, not the setup or the baseline). */
    async startProfile(): Promise<void> {
      profiler = new Session();
      profiler.connect();
      await post('Profiler.enable');
      await post('Profiler.start');
    },
    /** Stops the profile and writes it as a .cpuprofile file (Chrome DevTools, speedscope). */
    async stopProfile(file: string): Promise<void> {
      if (!profiler) return;
      const { profile } = await post<{ profile: object }>('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(profile));
    },
    start(config: PollerConfig): Promise<MemoryUsage> {
      poller = new BenchPoller(config);
      return Promise.resolve(memoryUsage());
    },
    async cycle(changedUpstream: string[]): Promise<CycleMeasurement> {
      if (!poller) throw new Error('poller not started');
      return poller.cycle(changedUpstream);
    },
    memory(): Promise<MemoryUsage> {
      return Promise.resolve(memoryUsage());
    },
    /** From now on `sampledPeakMb` is the peak of what follows (the measured cycles). */
    resetPeak(): Promise<void> {
      resetSampledPeak();
      return Promise.resolve();
    },
    /** CPU per request of the HTTP clients, on the same upstream (see http-clients.ts). */
    compareClients(options: CompareClientsOptions): Promise<ClientMeasurement[]> {
      return compareClients(options);
    },
    close(): Promise<void> {
      poller = undefined;
      return Promise.resolve();
    },
  };
}

export type UpstreamService = ReturnType<typeof upstreamService>;
export type DynamoDbService = ReturnType<typeof dynamoDbService>;
export type PollerService = ReturnType<typeof pollerService>;
