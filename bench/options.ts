import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly identities: number;
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly concurrency: number;
  /** Upstream rate limit of the main scenario (requests/s); none by default. */
  readonly rateLimit?: number;
  readonly cycles: number;
  readonly changeFraction: number;
  readonly seed: number;
  /** Identities for the naive sequential reference; 0 skips it. */
  readonly naiveIdentities: number;
  /** Identities for the rate-limited scenario; 0 skips it. */
  readonly rateLimitedIdentities: number;
  readonly rateLimitedRate: number;
  readonly bundle: boolean;
  /** Requests per HTTP client in the comparison of clients; 0 skips it. */
  readonly clientRequests: number;
  /** CommBox's mean latency in the cost model (not in the measurement). */
  readonly costLatencyMs: number;
  /** Write a CPU profile of the poller during the measured cycles of the main scenario. */
  readonly profile: boolean;
  readonly quick: boolean;
  /** Print the table as Markdown (for the README). */
  readonly markdown: boolean;
}

export const DEFAULTS: BenchOptions = {
  identities: 10_000,
  latencyMs: 20,
  jitterMs: 10,
  concurrency: 64,
  cycles: 3,
  changeFraction: 0.05,
  seed: 1,
  naiveIdentities: 300,
  rateLimitedIdentities: 1_500,
  rateLimitedRate: 100,
  bundle: true,
  clientRequests: 5_000,
  costLatencyMs: 200,
  profile: false,
  quick: false,
  markdown: false,
};

/** `--quick`: the same scenarios, smaller, for a check in well under a minute. */
const QUICK: Partial<BenchOptions> = { identities: 2_000, cycles: 2, naiveIdentities: 100, rateLimitedIdentities: 500, clientRequests: 1_000 };

export const USAGE = `npm run bench -- [options]           (environment variables in brackets)

  --identities N         identities of the main scenario          [BENCH_IDENTITIES] 10000
  --latency MS           mean upstream latency                    [BENCH_LATENCY_MS] 20
  --jitter MS            latency jitter, uniform ±                [BENCH_JITTER_MS] 10
  --concurrency C        poller concurrency (POLL_CONCURRENCY)    [BENCH_CONCURRENCY] 64
  --rate-limit R         upstream requests/s, main scenario       [BENCH_RATE_LIMIT] none
  --cycles K             measured cycles after the baseline       [BENCH_CYCLES] 3
  --change-fraction F    share of identities changed per cycle    [BENCH_CHANGE_FRACTION] 0.05
  --naive-identities N   identities of the naive loop, 0 = skip               300
  --rate-limited-identities N   identities of the R-limited scenario, 0 = skip   1500
  --rate-limited-rate R  its upstream rate limit, requests/s                  100
  --clients N            requests per HTTP client compared, 0 = skip          5000
  --cost-latency MS      CommBox latency in the cost model                    200
  --seed S               simulator seed                                       1
  --skip-bundle          do not build and import the Lambda bundle
  --profile              CPU-profile the poller's measured cycles: top functions, .cpuprofile
  --quick                2,000 identities, 2 cycles, smaller side scenarios
  --markdown             print the tables as Markdown (as in docs/performance.md)
  --help

Exit code: 0 every target met, 1 a target missed (the verdict names it), 2 bad flags, a failed run.`;

function number(name: string, raw: string | undefined, fallback: number, min: number, max: number, integer = true): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Flags win over environment variables, which win over `--quick`, which wins over the defaults. */
export function parseBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      identities: { type: 'string' },
      latency: { type: 'string' },
      jitter: { type: 'string' },
      concurrency: { type: 'string' },
      'rate-limit': { type: 'string' },
      cycles: { type: 'string' },
      'change-fraction': { type: 'string' },
      'naive-identities': { type: 'string' },
      'rate-limited-identities': { type: 'string' },
      'rate-limited-rate': { type: 'string' },
      seed: { type: 'string' },
      clients: { type: 'string' },
      'cost-latency': { type: 'string' },
      'skip-bundle': { type: 'boolean' },
      profile: { type: 'boolean' },
      quick: { type: 'boolean' },
      markdown: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const base: BenchOptions = values.quick ? { ...DEFAULTS, ...QUICK, quick: true } : DEFAULTS;
  const rateLimit = values['rate-limit'] ?? env.BENCH_RATE_LIMIT;
  return {
    identities: number('--identities', values.identities ?? env.BENCH_IDENTITIES, base.identities, 1, 1_000_000),
    latencyMs: number('--latency', values.latency ?? env.BENCH_LATENCY_MS, base.latencyMs, 0, 10_000),
    jitterMs: number('--jitter', values.jitter ?? env.BENCH_JITTER_MS, base.jitterMs, 0, 10_000),
    concurrency: number('--concurrency', values.concurrency ?? env.BENCH_CONCURRENCY, base.concurrency, 1, 1000),
    ...(rateLimit ? { rateLimit: number('--rate-limit', rateLimit, 0, 1, 1_000_000) } : {}),
    cycles: number('--cycles', values.cycles ?? env.BENCH_CYCLES, base.cycles, 1, 100),
    changeFraction: number('--change-fraction', values['change-fraction'] ?? env.BENCH_CHANGE_FRACTION, base.changeFraction, 0, 1, false),
    seed: number('--seed', values.seed, base.seed, 1, 2 ** 31),
    naiveIdentities: number('--naive-identities', values['naive-identities'], base.naiveIdentities, 0, 100_000),
    rateLimitedIdentities: number('--rate-limited-identities', values['rate-limited-identities'], base.rateLimitedIdentities, 0, 1_000_000),
    rateLimitedRate: number('--rate-limited-rate', values['rate-limited-rate'], base.rateLimitedRate, 1, 1_000_000),
    bundle: !values['skip-bundle'],
    clientRequests: number('--clients', values.clients, base.clientRequests, 0, 100_000),
    costLatencyMs: number('--cost-latency', values['cost-latency'], base.costLatencyMs, 1, 60_000),
    profile: values.profile ?? false,
    quick: base.quick,
    markdown: values.markdown ?? false,
  };
}
