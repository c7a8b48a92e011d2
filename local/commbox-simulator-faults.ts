import { hashSeed, mulberry32, pick } from './seeded-random';

/**
 * One scripted misbehaviour of the upstream, used instead of the normal answer:
 * - `{ status, retryAfter? }`: that HTTP status with the reference's error body;
 * - `'timeout'`: no answer until long after any client timeout;
 * - `'malformed'`: HTTP 200 with a cut-off, non-JSON body;
 * - `'bodyStatus500'`: HTTP 200 whose body says status 500;
 * - `'redirect'` / `{ redirectTo }`: a 302 elsewhere;
 * - `'wrongShape'`: HTTP 200, valid JSON, wrong types (with customer data where a count belongs);
 * - `'reset'`: the connection is destroyed without an answer.
 */
export type SimulatedFault =
  | { readonly status: number; readonly retryAfter?: string }
  | { readonly redirectTo: string }
  | 'timeout'
  | 'malformed'
  | 'bodyStatus500'
  | 'redirect'
  | 'wrongShape'
  | 'reset';

export interface RandomFaultOptions {
  /** Chance in [0, 1] that a request gets a fault. */
  readonly probability: number;
  /** Drawn uniformly. @default 429, 500, 503, timeout, malformed, bodyStatus500 */
  readonly kinds?: readonly SimulatedFault[];
  /** @default the simulator's seed */
  readonly seed?: number;
}

export const DEFAULT_RANDOM_FAULTS: readonly SimulatedFault[] = [
  { status: 429, retryAfter: '1' },
  { status: 500 },
  { status: 503 },
  'timeout',
  'malformed',
  'bodyStatus500',
];

/** A short name per fault, for counters: '429', '503', 'timeout', 'redirect', … */
export function faultName(fault: SimulatedFault): string {
  if (typeof fault === 'string') return fault;
  return 'status' in fault ? String(fault.status) : 'redirect';
}

/**
 * Scripted faults, per identity or for any request, taken in order (an identity's own queue
 * first), then random ones. A random draw depends on the seed, the identity and how many
 * requests that identity has made, not on arrival order, so concurrent runs stay reproducible.
 */
export class SimulatorFaults {
  private readonly perIdentity = new Map<string, SimulatedFault[]>();
  private readonly global: SimulatedFault[] = [];
  private random: Required<RandomFaultOptions> | undefined;
  private readonly injectedCounts = new Map<string, number>();

  constructor(private readonly defaultSeed: number) {}

  /** The next requests for this identity get these faults, in order. */
  forIdentity(id: string | number | bigint, ...faults: readonly SimulatedFault[]): void {
    const key = String(id);
    const queue = this.perIdentity.get(key) ?? [];
    queue.push(...faults);
    this.perIdentity.set(key, queue);
  }

  /** The next requests, whatever their identity, get these faults, in order. */
  forAny(...faults: readonly SimulatedFault[]): void {
    this.global.push(...faults);
  }

  /** Random faults from now on; undefined turns them off. */
  setRandom(options: RandomFaultOptions | undefined): void {
    if (options && !(options.probability >= 0 && options.probability <= 1)) {
      throw new RangeError(`fault probability must be in [0, 1], got ${options.probability}`);
    }
    this.random = options && {
      probability: options.probability,
      kinds: options.kinds ?? DEFAULT_RANDOM_FAULTS,
      seed: options.seed ?? this.defaultSeed,
    };
  }

  /** Drops every queued fault and turns random faults off. */
  clear(): void {
    this.perIdentity.clear();
    this.global.length = 0;
    this.random = undefined;
  }

  get pending(): number {
    let count = this.global.length;
    for (const queue of this.perIdentity.values()) count += queue.length;
    return count;
  }

  /** Faults served so far, by name. */
  injected(): Record<string, number> {
    return Object.fromEntries(this.injectedCounts);
  }

  resetCounts(): void {
    this.injectedCounts.clear();
  }

  /** The fault for this request, if any; `requestNumber` counts this identity's requests from 1. */
  take(identityId: string, requestNumber: number): SimulatedFault | undefined {
    const fault = this.scripted(identityId) ?? this.drawn(identityId, requestNumber);
    if (fault !== undefined) {
      const name = faultName(fault);
      this.injectedCounts.set(name, (this.injectedCounts.get(name) ?? 0) + 1);
    }
    return fault;
  }

  private scripted(identityId: string): SimulatedFault | undefined {
    const own = this.perIdentity.get(identityId);
    if (own && own.length > 0) {
      const fault = own.shift();
      if (own.length === 0) this.perIdentity.delete(identityId);
      return fault;
    }
    return this.global.shift();
  }

  private drawn(identityId: string, requestNumber: number): SimulatedFault | undefined {
    const random = this.random;
    if (!random || random.probability === 0 || random.kinds.length === 0) return undefined;
    const draw = mulberry32(hashSeed(random.seed, 'fault', identityId, requestNumber));
    return draw() < random.probability ? pick(draw, random.kinds) : undefined;
  }
}
