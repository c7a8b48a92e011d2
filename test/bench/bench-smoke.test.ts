import { measureBundle } from '../../bench/bundle';
import { parseBenchOptions } from '../../bench/options';
import { formatProfile, summarizeProfile, type CpuProfile } from '../../bench/profile-summary';
import { formatReport, REPORT_WIDTH, summarize, verdict, verdictLine, type Summary } from '../../bench/report';
import { runScenario } from '../../bench/scenario';
import { inventoryOf, stackInventory, type StackInventory } from '../../bench/stack-inventory';
import { inProcessTopology, type Topology } from '../../bench/topology';
import { ObjectsBodyCache, objectsBody } from '../../local/commbox-simulator-payload';
import { SimulatorWorld } from '../../local/commbox-simulator-world';

/**
 * The benchmark's code path on a small world, all in this process, so it cannot rot between
 * runs of `npm run bench`. No timing is asserted: only what the figures are made of.
 */
let topology: Topology;

beforeAll(async () => {
  topology = await inProcessTopology(process.env.DYNALITE_ENDPOINT);
});

afterAll(() => topology.close());

const environment = { node: process.version, cpus: 2, loadAverage: [0, 0] as const };

/** The default stack as the cost model reads it, without a synth (that has a test of its own). */
const stack: StackInventory = { memoryMb: 256, timeoutSeconds: 50, pollConcurrency: 128, scheduleMinutes: 1, schedules: 1, alarms: 8, kmsKeys: 2, secrets: 1, dashboards: 1 };

const widest = (text: string): number => Math.max(...text.split('\n').map((line) => line.length));

describe('npm run bench, small', () => {
  test('a main scenario with the naive reference yields every figure of the JSON line', async () => {
    const main = await runScenario(topology, {
      name: 'smoke',
      identities: 200,
      latencyMs: 2,
      jitterMs: 1,
      concurrency: 16,
      seed: 3,
      cycles: 2,
      changeFraction: 0.05,
      naiveIdentities: 10,
      compareClients: { identities: 40, rounds: 1 },
    });

    const summary = summarize(main, undefined, undefined, environment, { stack, latencyMs: 200 });

    expect(main.cycles.map((c) => c.kind)).toEqual(['baseline', 'warmup', 'measured', 'measured']);
    expect(main.cycles[0]?.measurement.summary).toMatchObject({ identities: 200, polled: 200, baselines: 200, failed: 0 });
    expect(summary).toMatchObject({
      identities: 200,
      measuredCycles: 2,
      changedPerCycle: 10,
      eventsPerCycle: 10,
      snsRequestsPerEvent: 0.1,
      unchangedIdentitiesWritten: 0,
      // One per change (the change with its event), plus three per cycle spread over its 10 changes:
      // the run opened and closed (its receipt publishes the 10 at once) and the cycle end.
      dynamodbWritesPerChangedIdentity: 1.3,
      upstreamRequestsPerIdentity: 1,
      throttledShare: 0,
      naive: expect.objectContaining({ identities: 10 }),
    });
    // Per cycle of 200: one Scan page; three GetItem: the resume point, and the open runs before the
    // scan (what closed runs published is then counted, not decoded) and after it (for the entries
    // of the last minute, whose claims still run); 10 changes and 3 bookkeeping updates.
    expect(summary.dynamodbRequestsPerIdentity).toEqual({ Scan: 0.005, GetItem: 0.015, UpdateItem: 0.065, PutItem: 0, DeleteItem: 0 });
    expect(summary.floorMs).toBe(25);
    expect(summary.targets.unchangedIdentitiesWritten.met).toBe(true);
    expect(summary.targets.snsRequestsPerEvent.met).toBe(true);
    expect(summary.peakRssMb).toBeGreaterThan(0);
    // Every figure survives the JSON line as it is: no NaN or Infinity (null in JSON), no function, no undefined.
    expect(JSON.parse(JSON.stringify(summary))).toStrictEqual(summary);
    expect(formatReport(summary)).toContain('duration / floor');
    expect(formatReport(summary, true)).toContain('| duration / floor | ');
  });

  test('the cost model reads what the cycles measured: capacity units, publishes, log bytes, metrics', async () => {
    const main = await runScenario(topology, { name: 'smoke-cost', identities: 100, latencyMs: 1, jitterMs: 0, concurrency: 8, seed: 6, cycles: 1, changeFraction: 0.1, naiveIdentities: 5 });

    const cost = summarize(main, undefined, undefined, environment, { stack, latencyMs: 200 }).cost;

    // 10 changed identities of 100, each one conditional update of an item under 1 KB (0.1 WRU per
    // identity), plus three bookkeeping writes of the cycle (0.03): the run opened, closed, the cycle end.
    // Reads per run: the resume point and the open runs before and after the scan, one strongly consistent unit each.
    expect(cost?.workload).toMatchObject({ upstreamRequestsPerIdentity: 1, writeUnitsPerIdentity: 0.13, publishesPerIdentity: 0.1, readUnitsPerInvocation: 3 });
    expect(cost?.workload.readUnitsPerIdentity).toBeGreaterThan(0);
    expect(cost?.workload.logBytesPerInvocation).toBeGreaterThan(600);
    // The naive loop: one eventually consistent GetItem (0.5), one PutItem (1) and one publish per identity.
    expect(cost?.naiveWorkload).toMatchObject({ readUnitsPerIdentity: 0.5, writeUnitsPerIdentity: 1, publishesPerIdentity: 1 });
    expect(cost?.fixedResources.customMetrics).toBeGreaterThanOrEqual(11);
    expect(cost?.rows.map((r) => r.identities)).toEqual([1_000, 10_000, 100_000]);
  });

  test('every table of the report fits 100 columns', async () => {
    const main = await runScenario(topology, { name: 'smoke-width', identities: 50, latencyMs: 1, jitterMs: 0, concurrency: 4, seed: 7, cycles: 1, changeFraction: 0.1, naiveIdentities: 5, compareClients: { identities: 20, rounds: 1 } });

    const report = formatReport(summarize(main, undefined, undefined, environment, { stack, latencyMs: 200 }));

    expect(widest(report)).toBeLessThanOrEqual(REPORT_WIDTH);
    expect(report).toContain('node:http (the poller)');
    expect(report).toContain('naive loop per 1,000');
  });

  test('a rate-limited scenario meets 429s and adapts without failing identities', async () => {
    const limited = await runScenario(topology, {
      name: 'smoke-limited',
      identities: 60,
      latencyMs: 0,
      jitterMs: 0,
      concurrency: 16,
      rateLimit: 20,
      seed: 4,
      cycles: 1,
      changeFraction: 0.05,
    });
    const main = await runScenario(topology, { name: 'smoke-2', identities: 20, latencyMs: 0, jitterMs: 0, concurrency: 4, seed: 5, cycles: 1, changeFraction: 0.1 });

    const summary = summarize(main, limited, undefined, environment);

    // The bucket holds one second's worth (20): the rest of the 60 meet 429s and the limit drops.
    expect(limited.cycles[0]?.measurement.upstream.throttled).toBeGreaterThan(0);
    expect(limited.cycles[0]?.measurement.limiter.decreases).toBeGreaterThan(0);
    expect(limited.cycles.every((c) => c.measurement.summary.failed === 0)).toBe(true);
    expect(summary.rateLimited).toMatchObject({ rate: 20, identities: 60, failed: 0 });
    expect(summary.targets.rateLimitedThroughput.value).toEqual(expect.any(Number));
  });

  test('the Lambda bundle is built as the stack builds it and imports in a fresh process', async () => {
    const bundle = await measureBundle(1);

    expect(bundle.bytes).toBeGreaterThan(10_000);
    expect(bundle.importMs).toBeGreaterThan(0);
    expect(bundle.largestInputs.length).toBeGreaterThan(0);
  }, 60_000);

  test('the verdict names each missed target, and only then is the run a failure', () => {
    const summary = { targets: { a: { value: 1, target: '<= 2', met: true }, b: { value: 3, target: '<= 2', met: false }, c: { value: null, target: '<= 2', met: null } } } as unknown as Summary;

    expect(verdict(summary)).toEqual({ met: ['a'], missed: ['b'], unjudged: ['c'] });
    expect(verdictLine(verdict(summary))).toBe('verdict: MISSED 1 of 2 targets: b (exit 1)');
    expect(verdictLine({ met: ['a'], missed: [], unjudged: [] })).toBe('verdict: all 1 targets met');
  });

  test('the default stack is read from its synthesized template', () => {
    const inventory = stackInventory();

    // Two secrets: the CommBox token and the re-poll endpoint's.
    expect(inventory).toMatchObject({ scheduleMinutes: 1, schedules: 1, secrets: 2, dashboards: 1 });
    expect(inventory.memoryMb).toBeGreaterThanOrEqual(128);
    expect(inventory.alarms).toBeGreaterThan(0);
    expect(inventory.kmsKeys).toBeGreaterThan(0);
  }, 60_000);

  test('a template without one poller function is refused', () => {
    expect(() => inventoryOf({})).toThrow('expected one poller function');
  });

  test('a profile is summed by function, self time only, idle left out', () => {
    const frame = (functionName: string, url = 'file:///work/lambda/adapters/x.ts') => ({ functionName, url, lineNumber: 0 });
    const profile: CpuProfile = {
      startTime: 0,
      endTime: 4000,
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
        { id: 2, callFrame: frame('parse'), children: [] },
        { id: 3, callFrame: frame('(idle)', '') },
        { id: 4, callFrame: frame('write', 'node:internal/stream_base_commons') },
      ],
      samples: [2, 2, 3, 4, 2],
      timeDeltas: [0, 1000, 1000, 1000, 1000, 1000],
    };

    const summary = summarizeProfile(profile);

    expect(summary.busyMs).toBe(4);
    expect(summary.top.map((e) => [e.name, e.selfMs])).toEqual([
      ['parse (lambda/adapters/x.ts:1)', 3],
      ['write (node:internal/stream_base_commons:1)', 1],
    ]);
    expect(widest(formatProfile(summary))).toBeLessThanOrEqual(100);
  });

  test('flags, environment and --quick combine as documented', () => {
    expect(parseBenchOptions([], {})).toMatchObject({ identities: 10_000, latencyMs: 20, concurrency: 64, cycles: 3, changeFraction: 0.05 });
    expect(parseBenchOptions(['--quick'], {})).toMatchObject({ identities: 2_000, cycles: 2, quick: true, clientRequests: 1_000 });
    expect(parseBenchOptions(['--clients', '0', '--cost-latency', '300'], {})).toMatchObject({ clientRequests: 0, costLatencyMs: 300 });
    expect(parseBenchOptions(['--identities', '500'], { BENCH_IDENTITIES: '900', BENCH_LATENCY_MS: '50' })).toMatchObject({ identities: 500, latencyMs: 50 });
    expect(parseBenchOptions(['--help'], {})).toBe('help');
    expect(() => parseBenchOptions(['--concurrency', '0'], {})).toThrow('--concurrency must be an integer from 1 to 1000');
    expect(() => parseBenchOptions(['--bogus'], {})).toThrow();
  });
});

describe("the simulator's body cache", () => {
  test('serves what objectsBody builds, also after the world changed', () => {
    const world = new SimulatorWorld(9);
    const ids = world.populate(300, { maxConversations: 5 });
    world.addIdentity('9223372036854775807', [{ objectId: '9223372036854775806', streamId: '9007199254740993', unread: 2 }]);
    const cache = new ObjectsBodyCache();
    const withoutTime = (body: string): string => body.replace(/"response_time":"[^"]*"/, '');

    for (let round = 0; round < 3; round += 1) {
      for (const id of [...ids, '9223372036854775807']) {
        const identity = world.get(id);
        expect(withoutTime(cache.body(identity, () => world.customerData(id)))).toBe(withoutTime(objectsBody(identity, world.customerData(id))));
      }
      world.tick(0.4);
    }
  });
});
