import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SimulatorFaults, type SimulatedFault } from './commbox-simulator-faults';
import { bodyStatus500, errorBody, malformedBody, ObjectsBodyCache, wrongShapeBody } from './commbox-simulator-payload';
import { SimulatorWorld } from './commbox-simulator-world';
import { hashSeed, mulberry32 } from './seeded-random';

export type { SimulatedFault, RandomFaultOptions } from './commbox-simulator-faults';
export type { ConversationSeed, CustomerData, PopulateOptions } from './commbox-simulator-world';
export { SimulatorFaults, SimulatorWorld };

export interface CommBoxSimulatorOptions {
  /** The bearer token the simulator accepts. @default a random one */
  readonly token?: string;
  /** @default 0 (any free port), always on 127.0.0.1 */
  readonly port?: number;
  /** Mean answer delay. @default 0 */
  readonly latencyMs?: number;
  /** Each delay is uniform in latencyMs ± jitterMs (so the mean stays latencyMs). @default 0 */
  readonly jitterMs?: number;
  /** Token bucket; above it a 429 with Retry-After. @default unlimited */
  readonly rateLimitPerSecond?: number;
  /** Bucket size; one second's worth, since Retry-After has a one-second granularity. @default rateLimitPerSecond */
  readonly rateLimitBurst?: number;
  /** Seeds the world, the latency jitter and random faults. @default 1 */
  readonly seed?: number;
  /** false: an unknown identity is answered as one without conversations. @default true */
  readonly unknownIdentitiesReturn404?: boolean;
  /**
   * An unknown canonical id is made up on its first request (seeded conversations) and joins
   * the activity, so every id is served; wins over unknownIdentitiesReturn404. @default false
   */
  readonly generateUnknownIdentities?: boolean;
  /** How long a `'timeout'` fault holds its answer (close() ends it at once). @default 30000 */
  readonly timeoutHoldMs?: number;
  /** Where a `'redirect'` fault points. @default http://127.0.0.1:9/elsewhere */
  readonly redirectLocation?: string;
}

export interface ActivityOptions {
  readonly intervalMs: number;
  /** Share of the identities changed per tick. @default 0.05 */
  readonly changeFraction?: number;
  /** Re-seeds the activity, so the same seed replays the same changes. */
  readonly seed?: number;
  readonly onTick?: (changed: readonly string[]) => void;
}

export interface SimulatorStats {
  readonly requests: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly throttled: number;
  readonly unauthorized: number;
  readonly faultsInjected: Readonly<Record<string, number>>;
}

export interface CommBoxSimulator {
  /** http://127.0.0.1:PORT, an origin for API_BASE_URL. */
  readonly baseUrl: string;
  /** The token currently accepted. */
  readonly token: string;
  readonly world: SimulatorWorld;
  readonly faults: SimulatorFaults;
  readonly stats: SimulatorStats;
  resetStats(): void;
  /** Requests made for one identity so far. */
  requestCount(id: string | number | bigint): number;
  /** From now on only `newToken` is accepted. */
  rotateToken(newToken: string): void;
  /** Changes a share of the identities now; returns their ids. */
  tick(changeFraction?: number): string[];
  startActivity(options: ActivityOptions): void;
  stopActivity(): void;
  close(): Promise<void>;
}

const ROUTE = /^\/v2\/users\/identities\/([^/?#]*)\/objects\/?(?:\?.*)?$/;
const INT64_MAX = 9223372036854775807n;

/** Starts a CommBox stand-in serving `GET /v2/users/identities/{id}/objects` as the reference shapes it. */
export async function startCommBoxSimulator(options: CommBoxSimulatorOptions = {}): Promise<CommBoxSimulator> {
  const seed = options.seed ?? 1;
  let token = options.token ?? `sim-${randomBytes(16).toString('hex')}`;
  const world = new SimulatorWorld(seed);
  const faults = new SimulatorFaults(seed);
  const latency = mulberry32(hashSeed(seed, 'latency'));
  const bucket = options.rateLimitPerSecond ? new TokenBucket(options.rateLimitPerSecond, options.rateLimitBurst ?? options.rateLimitPerSecond) : undefined;
  const holdMs = options.timeoutHoldMs ?? 30_000;
  const redirectLocation = options.redirectLocation ?? 'http://127.0.0.1:9/elsewhere';
  const unknown404 = options.unknownIdentitiesReturn404 ?? true;
  const timers = new Set<NodeJS.Timeout>();
  const requestCounts = new Map<string, number>();
  const bodies = new ObjectsBodyCache();
  let counters = newCounters();
  let activity: NodeJS.Timeout | undefined;

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
    if (status === 429) counters.throttled += 1;
    if (status === 401) counters.unauthorized += 1;
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };

  /** Runs `fn` after `ms`, unless the client went away first; close() cancels it. */
  const later = (res: ServerResponse, ms: number, fn: () => void): void => {
    if (ms <= 0) return fn();
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  };

  const delay = (): number => {
    const mean = options.latencyMs ?? 0;
    const jitter = options.jitterMs ?? 0;
    return Math.max(0, mean + (latency() * 2 - 1) * jitter);
  };

  const applyFault = (res: ServerResponse, id: string, fault: SimulatedFault): void => {
    if (fault === 'reset') return void res.socket?.destroy();
    if (fault === 'timeout') return later(res, holdMs, () => answer(res, id));
    later(res, delay(), () => {
      if (fault === 'malformed') return send(res, 200, malformedBody());
      if (fault === 'bodyStatus500') return send(res, 200, bodyStatus500());
      if (fault === 'wrongShape') return send(res, 200, wrongShapeBody(world.customerData(id)));
      if (fault === 'redirect') return send(res, 302, '', { location: redirectLocation });
      if ('redirectTo' in fault) return send(res, 302, '', { location: fault.redirectTo });
      send(res, fault.status, errorBody(fault.status), fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter });
    });
  };

  /** The normal answer, built from the world as it is now. */
  const answer = (res: ServerResponse, id: string): void => {
    let identity = world.get(id);
    if (!identity && options.generateUnknownIdentities) {
      world.populate(1, { firstId: id, maxConversations: 4 });
      identity = world.get(id);
    }
    if (!identity && unknown404) return send(res, 404, errorBody(404));
    send(res, 200, bodies.body(identity, () => world.customerData(id)));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    counters.requests += 1;
    counters.inFlight += 1;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    const counted = counters;
    res.once('close', () => {
      counted.inFlight -= 1;
    });

    const route = ROUTE.exec(req.url ?? '');
    if (!route) return later(res, delay(), () => send(res, 404, errorBody(404)));
    if (req.method !== 'GET') return later(res, delay(), () => send(res, 405, errorBody(405), { allow: 'GET' }));
    const id = route[1] ?? '';
    if (!/^[1-9][0-9]{0,18}$/.test(id) || BigInt(id) > INT64_MAX) return later(res, delay(), () => send(res, 400, errorBody(400)));
    if (req.headers.authorization !== `Bearer ${token}`) return later(res, delay(), () => send(res, 401, errorBody(401)));

    const requestNumber = (requestCounts.get(id) ?? 0) + 1;
    requestCounts.set(id, requestNumber);
    const fault = faults.take(id, requestNumber);
    if (fault !== undefined) return applyFault(res, id, fault);
    const wait = bucket?.take();
    if (wait !== undefined) return later(res, delay(), () => send(res, 429, errorBody(429), { 'retry-after': String(wait) }));
    later(res, delay(), () => answer(res, id));
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const stopActivity = (): void => {
    if (activity) clearInterval(activity);
    activity = undefined;
  };

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    get token() {
      return token;
    },
    world,
    faults,
    get stats(): SimulatorStats {
      return { ...counters, byStatus: { ...counters.byStatus }, faultsInjected: faults.injected() };
    },
    resetStats() {
      const inFlight = counters.inFlight;
      counters = newCounters();
      counters.inFlight = inFlight;
      faults.resetCounts();
    },
    requestCount: (id) => requestCounts.get(String(id)) ?? 0,
    rotateToken(newToken: string) {
      token = newToken;
    },
    tick: (changeFraction) => world.tick(changeFraction),
    startActivity(activityOptions: ActivityOptions) {
      stopActivity();
      if (activityOptions.seed !== undefined) world.reseedActivity(activityOptions.seed);
      activity = setInterval(() => {
        const changed = world.tick(activityOptions.changeFraction);
        activityOptions.onTick?.(changed);
      }, activityOptions.intervalMs);
      // The server keeps a process alive while it listens; the activity timer need not.
      activity.unref();
    },
    stopActivity,
    close() {
      stopActivity();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Held ('timeout') and keep-alive connections would otherwise keep close() waiting.
        server.closeAllConnections();
      });
    },
  };
}

function newCounters(): { requests: number; byStatus: Record<string, number>; inFlight: number; maxInFlight: number; throttled: number; unauthorized: number } {
  return { requests: 0, byStatus: {}, inFlight: 0, maxInFlight: 0, throttled: 0, unauthorized: 0 };
}

/** A token bucket on the monotonic clock; `take` answers undefined (allowed) or the Retry-After seconds. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): number | undefined {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }
}
