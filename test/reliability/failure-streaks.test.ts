/**
 * Upstream failure streaks: an identity that fails N cycles in a row (N =
 * FAILURE_STREAK_THRESHOLD) is marked in the table, shown as failing by `identities list`,
 * counted in the FailingIdentities metric the stack alarms on, and recovers by itself.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ConfigError, loadConfig } from '../../lambda/config';
import type { CycleSummary } from '../../lambda/core/poll-cycle';
import { CycleTelemetry } from '../../lambda/cycle-telemetry';
import { METRICS } from '../../lambda/env-names';
import { cli, useDynaliteEnvironment } from '../support/cli-harness';
import { cycleHarness, type CycleHarness } from '../support/cycle-harness';
import { captureOutput, emfMetric } from '../support/handler-harness';

/** FAILURE_STREAK_THRESHOLD in this file: every expectation below is written for 3. */
const N = 3;
const FAILING = '13';
const HEALTHY = '14';
/** Every attempt of one cycle fails (the harness's source makes 3). */
const FAIL_ONE_CYCLE = [{ status: 500 }, { status: 503 }, { status: 500 }] as const;

interface Observation {
  readonly streak: number;
  readonly healthyStreak: number;
  readonly failingMetric: number | undefined;
  readonly listText: string;
  readonly listJson: string;
}

useDynaliteEnvironment();

let h: CycleHarness;
const failing: Observation[] = [];
let recovered: Observation;
let failedAgain: Observation;

async function observedCycle(): Promise<Observation> {
  const telemetry = new CycleTelemetry(new Logger({ serviceName: METRICS.service, logLevel: 'SILENT' }), N);
  const { result, output } = await captureOutput(async () => {
    const summary: CycleSummary = await h.cycle({}, { observer: telemetry });
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
    telemetry.emit(metrics, summary, { throttled: 0, unauthorized: 0 });
    metrics.publishStoredMetrics();
    return summary;
  });
  if (result.status === 'rejected') throw result.reason;
  const streakOf = async (id: string): Promise<number> => {
    const registration = (await h.registry.list()).find((r) => r.id === id);
    return registration?.broken === undefined ? (registration?.failureStreak ?? -1) : -1;
  };
  return {
    streak: await streakOf(FAILING),
    healthyStreak: await streakOf(HEALTHY),
    failingMetric: emfMetric(output, METRICS.failingIdentities),
    listText: (await cli(['identities', 'list', '--table', h.tableName], { FAILURE_STREAK_THRESHOLD: '3' })).stdout,
    listJson: (await cli(['identities', 'list', '--json', '--table', h.tableName], { FAILURE_STREAK_THRESHOLD: '3' })).stdout,
  };
}

beforeAll(async () => {
  h = await cycleHarness();
  h.simulator.world.addIdentity(FAILING, [{ objectId: 1, streamId: 1, unread: 1 }]);
  h.simulator.world.addIdentity(HEALTHY);
  await h.register(FAILING, HEALTHY);
  // A baseline first: recovery is then a poll that finds nothing changed, which writes nothing else.
  await h.cycle();
  for (let cycle = 1; cycle <= 3; cycle += 1) {
    h.simulator.faults.forIdentity(FAILING, ...FAIL_ONE_CYCLE);
    failing.push(await observedCycle());
  }
  recovered = await observedCycle();
  h.simulator.faults.forIdentity(FAILING, ...FAIL_ONE_CYCLE);
  failedAgain = await observedCycle();
});

afterAll(async () => {
  await h.close();
});

describe('an identity whose upstream fails 3 cycles in a row (FAILURE_STREAK_THRESHOLD=3)', () => {
  test('has its streak stored in the table, one more per failing cycle', () => {
    expect(failing.map((o) => o.streak)).toEqual([1, 2, 3]);
  });

  test('is counted in the FailingIdentities metric from the third failing cycle, not before', () => {
    expect(failing.map((o) => o.failingMetric)).toEqual([0, 0, 1]);
  });

  test('is shown as failing by identities list, in text and in JSON', () => {
    expect(failing[2]?.listText).toContain('13\t\t1 unread, failing 3 cycle(s)\n');
    expect(JSON.parse(failing[2]?.listJson ?? '[]')).toContainEqual(expect.objectContaining({ identityId: 13, failureStreak: 3, failing: true }));
    expect(failing[1]?.listText).toContain('13\t\t1 unread, failed 2 cycle(s) in a row\n');
    expect(failing[1]?.listText).not.toContain('failing');
  });

  test('does not drag the other identities with it', () => {
    expect(failing.map((o) => o.healthyStreak)).toEqual([0, 0, 0]);
  });

  test('recovers by itself: one good poll with nothing changed resets the streak, the metric and the list', () => {
    expect(recovered).toMatchObject({ streak: 0, failingMetric: 0 });
    expect(recovered.listText).toContain('13\t\t1 unread\n');
  });

  test('counts a new streak from 1 after recovering', () => {
    expect(failedAgain).toMatchObject({ streak: 1, failingMetric: 0 });
  });
});

describe('FAILURE_STREAK_THRESHOLD', () => {
  test('sets N', () => {
    expect(loadConfig({ FAILURE_STREAK_THRESHOLD: '3' }).failureStreakThreshold).toBe(3);
  });

  test('defaults to 5', () => {
    expect(loadConfig({}).failureStreakThreshold).toBe(5);
  });

  test.each(['0', '-1', 'five', '2.5'])('refuses %j, naming the variable', (raw) => {
    expect(() => loadConfig({ FAILURE_STREAK_THRESHOLD: raw })).toThrow(ConfigError);
    expect(() => loadConfig({ FAILURE_STREAK_THRESHOLD: raw })).toThrow(/FAILURE_STREAK_THRESHOLD/);
  });
});
