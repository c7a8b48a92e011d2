import { formatTable, parseRepollBenchOptions, percentile, type ScenarioFigures } from '../../bench/repoll-latency';

// `npm run bench:repoll` forks dynalite and takes minutes; its option parsing and figures are checked here.
describe('npm run bench:repoll', () => {
  test('defaults: 10,000 identities, 1,000 changes at 50/s, bursts of 50 every 100th change, plain ids', () => {
    expect(parseRepollBenchOptions([])).toEqual({
      identities: 10_000, changes: 1_000, rate: 50, burst: 50, burstEvery: 100, latencyMs: 20, jitterMs: 10, seed: 1, encodedIds: false,
    });
  });

  test('--quick is smaller; flags win over it', () => {
    expect(parseRepollBenchOptions(['--quick', '--changes', '100', '--encoded-ids'])).toMatchObject({ identities: 2_000, changes: 100, burstEvery: 20, encodedIds: true });
  });

  test('each change needs an identity of its own, in both scenarios', () => {
    expect(() => parseRepollBenchOptions(['--identities', '100', '--changes', '60'])).toThrow(/must not exceed --identities/);
  });

  test('percentiles are nearest-rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 0.5), percentile(sorted, 0.95), percentile(sorted, 0.99)]).toEqual([50, 95, 99]);
    expect(percentile([], 0.5)).toBeNaN();
  });

  test('the table shows each scenario with its percentiles in seconds and its polls per burst', () => {
    const figures: ScenarioFigures = {
      name: 'one webhook per change', changes: 10, events: 10, webhooks: 10, refused: 0,
      latencyMs: { p50: 40, p95: 210, p99: 310, max: 430 }, answerMs: { p50: 7, p95: 89 }, eventLoopDelayMs: { mean: 2, p99: 26 },
      polls: 10, bursts: 2, pollsPerBurst: { min: 2, max: 2, mean: 2 },
    };
    const table = formatTable(parseRepollBenchOptions(['--quick']) as never, [figures]);
    expect(table).toMatch(/one webhook per change\s+10\/10\s+10\s+0\.04 s\s+0\.21 s\s+0\.31 s\s+0\.43 s\s+10\s+2-2 \(2 bursts\)/);
  });
});
