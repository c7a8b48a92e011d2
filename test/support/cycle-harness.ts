import { CommBoxObjectsSource } from '../../lambda/adapters/commbox/commbox-objects-source';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { StaticTokenProvider } from '../../lambda/adapters/token-provider';
import { Secret } from '../../lambda/config';
import { BUILT_IN_ALERT_DEFAULTS } from '../../lambda/core/alert-policy';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { runPollCycle, type CycleObserver, type PollCycleOptions } from '../../lambda/core/poll-cycle';
import type { EventPublisher } from '../../lambda/core/ports';
import { startCommBoxSimulator, type CommBoxSimulator, type CommBoxSimulatorOptions } from '../../local/commbox-simulator';
import { createTestTable } from './dynalite';
import { RecordingPublisher } from './recording-publisher';

/** The real cycle on dynalite and the CommBox simulator, with a recording publisher. */
export async function cycleHarness(simulatorOptions: CommBoxSimulatorOptions = {}) {
  const table = await createTestTable();
  const simulator: CommBoxSimulator = await startCommBoxSimulator(simulatorOptions);
  const publisher = new RecordingPublisher();
  const newStore = () => new DynamoDbSnapshotStore(table.client, table.tableName);
  const store = newStore();
  const source = new CommBoxObjectsSource({
    baseUrl: new URL(simulator.baseUrl),
    tokens: new StaticTokenProvider(new Secret(simulator.token)),
    timeoutMs: 1000,
    maxAttempts: 3,
    maxConcurrency: 8,
    baseDelayMs: 1,
    maxDelayMs: 5,
  });
  let now = Date.parse('2026-11-26T12:00:00Z');
  const harness = {
    ...table,
    simulator,
    publisher,
    store,
    source,
    newStore,
    advance: (ms: number) => (now += ms),
    clock: () => now,
    register: async (...ids: string[]) => {
      for (const id of ids) {
        if (!simulator.world.has(id)) simulator.world.addIdentity(id);
        await table.registry.register(parseIdentityId(id));
      }
    },
    cycle: (options: Partial<PollCycleOptions> = {}, deps: { publisher?: EventPublisher; store?: DynamoDbSnapshotStore; observer?: CycleObserver } = {}) =>
      runPollCycle(
        { source, store: deps.store ?? store, publisher: deps.publisher ?? publisher, clock: () => now, ...(deps.observer ? { observer: deps.observer } : {}) },
        { concurrency: 4, claimLeaseMs: 60_000, alertDefaults: BUILT_IN_ALERT_DEFAULTS, ...options },
      ),
    close: async () => {
      await simulator.close();
    },
  };
  return harness;
}

export type CycleHarness = Awaited<ReturnType<typeof cycleHarness>>;
