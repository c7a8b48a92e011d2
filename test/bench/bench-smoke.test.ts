import { measureBundle } from '../../bench/bundle';
import { parseBenchOptions } from '../../bench/options';
import { formatTable, summarize } from '../../bench/report';
import { runScenario } from '../../bench/scenario';
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
    });

    const summary = summarize(main, undefined, undefined, environment);

    expect(main.cycles.map((c) => c.kind)).toEqual(['baseline', 'measured', 'measured']);
    expect(main.cycles[0]?.measurement.summary).toMatchObject({ identities: 200, polled: 200, baselines: 200, failed: 0 });
    expect(summary).toMatchObject({
      identities: 200,
      measuredCycles: 2,
      changedPerCycle: 10,
      eventsPerCycle: 10,
      snsRequestsPerEvent: 0.1,
      unchangedIdentitiesWritten: 0,
      // Two per change (the change with its event, then the outbox cleared), plus the cycle's one cycle-end put spread over 10 changes.
      dynamodbWritesPerChangedIdentity: 2.1,
      upstreamRequestsPerIdentity: 1,
      throttledShare: 0,
      naive: expect.objectContaining({ identities: 10 }),
    });
    expect(summary.dynamodbRequestsPerIdentity).toEqual({ Scan: 0.005, GetItem: 0.005, UpdateItem: 0.1, PutItem: 0.005, DeleteItem: 0 });
    expect(summary.floorMs).toBe(25);
    expect(summary.targets.unchangedIdentitiesWritten.met).toBe(true);
    expect(summary.targets.snsRequestsPerEvent.met).toBe(true);
    expect(summary.peakRssMb).toBeGreaterThan(0);
    // Every figure survives the JSON line as it is: no NaN or Infinity (null in JSON), no function, no undefined.
    expect(JSON.parse(JSON.stringify(summary))).toStrictEqual(summary);
    expect(formatTable(summary)).toContain('duration / floor');
    expect(formatTable(summary, true)).toContain('| duration / floor | ');
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

  test('flags, environment and --quick combine as documented', () => {
    expect(parseBenchOptions([], {})).toMatchObject({ identities: 10_000, latencyMs: 20, concurrency: 64, cycles: 3, changeFraction: 0.05 });
    expect(parseBenchOptions(['--quick'], {})).toMatchObject({ identities: 2_000, cycles: 2, quick: true });
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
