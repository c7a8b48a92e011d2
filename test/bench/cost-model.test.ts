/**
 * The benchmark's cost model, on round prices and a round workload so every figure below can be
 * followed by hand: 730 hours × 60 = 43,800 one-minute cycles a month.
 */
import { chooseDefaults, cyclesPerMonth, estimateCost, fixedCost, sizeShards, type Deployment, type Workload } from '../../bench/cost-model';
import type { PriceList } from '../../bench/prices';
import { PRICES } from '../../bench/prices';

const prices: PriceList = {
  ...PRICES,
  lambda: { perGbSecond: 0.00001, perMillionRequests: 0.2, mbPerVcpu: 2048 },
  dynamodb: { perMillionWriteUnits: 1, perMillionReadUnits: 0.1, perGbMonthStorage: 0, perGbMonthPitr: 0 },
  sns: { perMillionPublishes: 0.5 },
  scheduler: { perMillionInvocations: 1 },
  secretsManager: { perSecretMonth: 0.4, perTenThousandCalls: 0.05 },
  cloudWatch: { perGbLogsIngested: 0.5, perCustomMetricMonth: 0.3, perAlarmMonth: 0.1, perDashboardMonth: 3 },
  kms: { perKeyMonth: 1, perTenThousandRequests: 0.03 },
};

/** 0.2 ms of CPU, one request, 2 writes per change at 5 % changed, 2 KB of logs per run, 64 MB + 8 KB per identity. */
const workload: Workload = {
  cpuMsPerIdentity: 0.2,
  upstreamRequestsPerIdentity: 1,
  readUnitsPerIdentity: 0.015,
  readUnitsPerInvocation: 1,
  writeUnitsPerIdentity: 0.1,
  publishesPerIdentity: 0.05,
  logBytesPerIdentity: 0,
  logBytesPerInvocation: 2048,
  itemBytes: 128,
  rssBaseMb: 64,
  rssMbPerIdentity: 1 / 128,
  extraWallMsPerIdentity: 0,
};

/** 256 MB is 1/8 of a vCPU at these prices: 625 identities/s of CPU; C / L = 64 / 0.2 s = 320/s. */
const deployment: Deployment = {
  memoryMb: 256,
  concurrency: 64,
  scheduleMinutes: 1,
  usableSeconds: 40,
  headroom: 0.8,
  invocationOverheadSeconds: 0.5,
  upstreamLatencyMs: 200,
  tokenCacheMinutes: 5,
};

describe('the cost model', () => {
  test('a month of one-minute cycles is 43,800 cycles', () => {
    expect(cyclesPerMonth(1)).toBe(43_800);
    expect(cyclesPerMonth(5)).toBe(8_760);
  });

  test('a latency-bound shard: 10,000 identities at 320/s fit one shard (0.8 × 40 s × 320 = 10,240)', () => {
    expect(sizeShards(10_000, workload, deployment, prices)).toEqual({
      shards: 1,
      identitiesPerShard: 10_000,
      shardsSetBy: 'time',
      identitiesPerSecond: 320,
      boundBy: 'latency',
      cycleSeconds: 0.5 + 10_000 / 320,
      upstreamRequestsPerSecond: 320,
      fits: true,
    });
  });

  test('each service is priced from the monthly usage: 43,800 runs of 31.75 s at 0.25 GB', () => {
    const estimate = estimateCost(10_000, workload, deployment, prices);

    const gbSeconds = 43_800 * 0.25 * 31.75; // 347,662.5
    expect(estimate.usage).toEqual({
      invocations: 43_800,
      gbSeconds,
      readUnits: 43_800 * (10_000 * 0.015 + 1), // 6,613,800
      writeUnits: 43_800 * 10_000 * 0.1, // 43,800,000
      publishes: 43_800 * 10_000 * 0.05, // 21,900,000
      secretsCalls: 43_800 / 5, // 8,760
      logGb: (43_800 * 2048) / 2 ** 30,
      storageGb: (10_000 * 128) / 2 ** 30,
    });
    expect(estimate.variable.lambda).toBeCloseTo(3.476625 + 0.00876, 9);
    expect(estimate.variable.dynamodb).toBeCloseTo(0.66138 + 43.8, 9);
    expect(estimate.variable.sns).toBeCloseTo(10.95, 9);
    expect(estimate.variable.scheduler).toBeCloseTo(0.0438, 9);
    expect(estimate.variable.secretsManager).toBeCloseTo(0.0438, 9);
    expect(estimate.variable.logs).toBeCloseTo(((43_800 * 2048) / 2 ** 30) * 0.5, 9);
    const total = 3.485385 + 44.46138 + 10.95 + 0.0438 + 0.0438 + ((43_800 * 2048) / 2 ** 30) * 0.5;
    expect(estimate.variable.total).toBeCloseTo(total, 9);
    expect(estimate.variablePer1000).toBeCloseTo(total / 10, 9);
  });

  test('a CPU-bound shard: at C = 256 the latency allows 1,280/s but an eighth of a vCPU parses 625/s', () => {
    const size = sizeShards(10_000, workload, { ...deployment, concurrency: 256 }, prices);

    expect(size).toMatchObject({ shards: 1, identitiesPerSecond: 625, boundBy: 'cpu', cycleSeconds: 0.5 + 16 });
  });

  test('memory bounds a shard: at 16 KB per identity (256 × 0.8 − 64) MB holds 9,011, so 20,000 need 3 shards', () => {
    const size = sizeShards(20_000, { ...workload, rssMbPerIdentity: 1 / 64 }, deployment, prices);

    // Time alone would need two shards of 10,000 (the next test).
    expect(size).toMatchObject({ shards: 3, identitiesPerShard: 6_667, shardsSetBy: 'memory', boundBy: 'latency', fits: true });
  });

  test('time bounds a shard: 20,000 identities at 320/s need two shards of 10,000', () => {
    const size = sizeShards(20_000, { ...workload, rssMbPerIdentity: 0.001 }, deployment, prices);

    expect(size).toMatchObject({ shards: 2, identitiesPerShard: 10_000, shardsSetBy: 'time', upstreamRequestsPerSecond: 640 });
  });

  test('a rate limit shared by all shards cannot be outgrown: 10,000 identities at 100/s do not fit 0.8 × 40 s', () => {
    const size = sizeShards(10_000, workload, { ...deployment, rateLimit: 100 }, prices);

    expect(size).toMatchObject({ boundBy: 'rate limit', fits: false });
  });

  test('within a rate limit a shard runs at it: 3,000 identities at 100/s take 30.5 s', () => {
    const size = sizeShards(3_000, workload, { ...deployment, rateLimit: 100 }, prices);

    expect(size).toMatchObject({ shards: 1, identitiesPerSecond: 100, boundBy: 'rate limit', cycleSeconds: 30.5, fits: true });
  });

  test('the naive loop holds one request at a time: 1 / (0.2 s + 0.05 s) = 4 identities/s', () => {
    const naive: Workload = { ...workload, extraWallMsPerIdentity: 50 };

    const size = sizeShards(1_000, naive, { ...deployment, concurrency: 1 }, prices);

    // 0.8 × 40 s × 4/s = 128 identities per shard: 1,000 need 8 shards of 125.
    expect(size).toMatchObject({ shards: 8, identitiesPerShard: 125, identitiesPerSecond: 4, boundBy: 'latency' });
  });

  test('the fixed part: 13 metrics, 8 alarms, 2 keys, 1 secret, 1 dashboard', () => {
    expect(fixedCost({ customMetrics: 13, alarms: 8, kmsKeys: 2, secrets: 1, dashboards: 1 }, prices)).toEqual({
      customMetrics: 13 * 0.3,
      alarms: 8 * 0.1,
      kmsKeys: 2,
      secrets: 0.4,
      dashboards: 3,
      total: 13 * 0.3 + 8 * 0.1 + 2 + 0.4 + 3,
    });
  });

  test('the defaults: the cheapest in one shard, then the fewest requests in flight, then the least memory', () => {
    const polling: Workload = { ...workload, writeUnitsPerIdentity: 0, publishesPerIdentity: 0 };

    const choice = chooseDefaults(10_000, polling, deployment, prices, [128, 256, 512], [32, 64, 128, 256], 0.05);

    // 256 MB: C = 128 (640/s) and 256 (1,280/s) are both CPU-bound at 625/s, one shard, the same bill;
    // 128 MB is as cheap per identity but holds too few identities for one shard; 512 MB pays for idle CPU.
    expect(choice).toMatchObject({ memoryMb: 256, concurrency: 128 });
    expect(choice.estimate.sizing).toMatchObject({ shards: 1, boundBy: 'cpu' });
  });
});
