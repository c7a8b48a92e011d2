/**
 * Model-checked soak: hundreds of real poll cycles on dynalite and the CommBox simulator while
 * the upstream changes, fails and times out, SNS refuses calls and entries, cycles are killed
 * between two of their steps, and cycles overlap. Every identity has an alert policy short
 * enough to send every kind of alert within the run. Afterwards `checkHistory` (soak-model.ts)
 * judges everything recorded against the guarantees of CONTRACT.md, for change events and alerts.
 *
 * Reproduce a run with its seed: SOAK_SEED=<seed> npx jest test/reliability/soak.test.ts
 * Its figures (faults injected, crashes, totals) print on a failure, or with SOAK_REPORT=1.
 * The seed fixes the schedule: every upstream change between cycles, the faults armed in each
 * round, the SNS fault profiles, the crash plans, the overlaps and the clock steps. It cannot
 * fix real I/O timing: which of 8 identities in flight reaches a crash point first, which of two
 * overlapping cycles wins, which request of an identity draws a random fault. A failure that
 * depends on such an interleaving may take a few runs of its seed to recur.
 */
import { CommBoxObjectsSource } from '../../lambda/adapters/commbox/commbox-objects-source';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { StaticTokenProvider } from '../../lambda/adapters/token-provider';
import { Secret } from '../../lambda/config';
import { BUILT_IN_ALERT_DEFAULTS, type AlertPolicy } from '../../lambda/core/alert-policy';
import { UpstreamError } from '../../lambda/core/errors';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { UnreadState } from '../../lambda/core/model';
import { runPollCycle, type CycleObserver, type CycleSummary } from '../../lambda/core/poll-cycle';
import { formatRunId } from '../../lambda/core/run-receipt';
import { startCommBoxSimulator, type CommBoxSimulator, type SimulatedFault } from '../../local/commbox-simulator';
import { hashSeed, mulberry32, pick, randomInt, type Random } from '../../local/seeded-random';
import { createTestTable } from '../support/dynalite';
import { CHECKS, checkHistory, type CheckName, type Verdict } from './soak-model';
import {
  CRASH_STEPS,
  CrashingPublisher,
  CrashingStore,
  CycleContext,
  FaultySnsPublisher,
  ObservingSource,
  RecordingStore,
  SimulatedCrash,
  SnsStandIn,
  SoakHistory,
  type CrashPlan,
  type CycleLog,
  type SnsFaultProfile,
  type TableView,
} from './soak-rig';

const DEFAULT_SEED = 20261126;
const SEED = readSeed(process.env.SOAK_SEED);
/**
 * Cycles of the faulty phase (each of two overlapping cycles counts); the drain comes on top.
 * SOAK_CYCLES raises it for a longer local soak.
 */
const CYCLES = readCycles(process.env.SOAK_CYCLES);
const IDENTITIES = 50;
/** Of the identities, these are never changed upstream: they must never get an event. */
const QUIET = 8;
const LEASE_MS = 60_000;
/** How long a soak cycle could still write after it started (the clock moves only between rounds): its run id says so. */
const RUN_BOUND_MS = 60_000;
const CONCURRENCY = 8;
const CLIENT_TIMEOUT_MS = 200;
const MAX_DRAIN_CYCLES = 12;
/**
 * Every identity's alert policy: short enough that the run (about two hours of its clock, from
 * 12:00 UTC) sees every kind of alert, and quiet hours it passes through.
 */
const ALERT_POLICY: AlertPolicy = {
  ...BUILT_IN_ALERT_DEFAULTS,
  minUnread: 2,
  cooldown: 2 * 60_000,
  quietHours: { start: 12 * 60 + 20, end: 12 * 60 + 40 },
  timeZone: 'UTC',
  remindAfter: 4 * 60_000,
  maxReminders: 2,
  notifyCleared: true,
};

const RANDOM_UPSTREAM_FAULTS: readonly SimulatedFault[] = [
  { status: 429, retryAfter: '1' },
  { status: 429 },
  { status: 500 },
  { status: 503 },
  'malformed',
  'bodyStatus500',
  'reset',
];
const SNS_FAULTS: SnsFaultProfile = { callFails: 0.25, entryRefused: 0.2, answerLost: 0.15 };

interface SoakFigures {
  seed: number;
  cycles: number;
  drainCycles: number;
  overlappingPairs: number;
  leaseExpiries: number;
  upstreamChanges: Record<string, number>;
  upstreamFaults: Record<string, number>;
  snsFaults: Record<string, number>;
  crashes: Record<string, number>;
  storeRequests: Record<string, number>;
  totals: Pick<
    CycleSummary,
    'polled' | 'changed' | 'published' | 'alertsSent' | 'alertsDeferred' | 'alertsDropped' | 'resent' | 'publishFailed' | 'conflicts' | 'failed' | 'notFound' | 'skipped'
  >;
  model?: Verdict['figures'];
  durationMs: number;
}

let verdict: Verdict;
let figures: SoakFigures;
/** Set by a failing test of this file: the figures are printed then (or with SOAK_REPORT=1). */
let failed = false;

/** A test whose failure also prints the soak's figures. */
function reporting(fn: () => void): () => void {
  return () => {
    try {
      fn();
    } catch (error) {
      failed = true;
      throw error;
    }
  };
}

beforeAll(async () => {
  try {
    ({ verdict, figures } = await runSoak(SEED));
  } catch (error) {
    throw new Error(`the soak with SOAK_SEED=${SEED} could not run to its end: ${String(error)}`, { cause: error });
  }
}, 240_000 + CYCLES * 500);

afterAll(() => {
  if (!figures || !(failed || process.env.SOAK_REPORT === '1')) return;
  // The figures of the run: on a failure, or when asked (SOAK_REPORT=1 npx jest test/reliability/soak.test.ts).
  process.stdout.write(`\nsoak figures (SOAK_SEED=${SEED}):\n${JSON.stringify(figures, null, 2)}\n`);
});

describe(`the soak: ${CYCLES} cycles over ${IDENTITIES} identities with upstream and SNS faults, crashes and overlapping cycles`, () => {
  for (const [name, description] of Object.entries(CHECKS) as [CheckName, string][]) {
    test(description, reporting(() => expectNoViolations(name)));
  }

  test(
    'it injected every kind of fault it claims to, and checked hundreds of transitions',
    reporting(() => {
      const u = figures.upstreamFaults;
      const injected = {
        '429': u['429'] ?? 0,
        '5xx': (u['500'] ?? 0) + (u['503'] ?? 0),
        timeout: u.timeout ?? 0,
        malformed: u.malformed ?? 0,
        bodyStatus500: u.bodyStatus500 ?? 0,
        snsCallFailed: figures.snsFaults.callFailed ?? 0,
        snsEntryRefused: figures.snsFaults.entryRefused ?? 0,
        crashAfterSnapshotWrite: figures.crashes['after-save-change'] ?? 0,
        crashAfterPublish: figures.crashes['after-publish'] ?? 0,
        // Before an entry is completed on its own, or before the run's receipt completes them all.
        crashBeforePendingCleared: (figures.crashes['before-complete'] ?? 0) + (figures.crashes['before-close-run'] ?? 0),
        crashAfterReceipt: figures.crashes['after-close-run'] ?? 0,
        overlappingPairs: figures.overlappingPairs,
        leaseExpiries: figures.leaseExpiries,
        crashAfterAlertStored: figures.crashes['after-save-alert'] ?? 0,
        alertsDeferred: figures.totals.alertsDeferred,
        alertsDropped: figures.totals.alertsDropped,
        alertRedelivered: verdict.figures.alertRedeliveries,
        ...Object.fromEntries(['new', 'digest', 'reminder', 'cleared'].map((kind) => [`alert ${kind}`, verdict.figures.alertsByKind[kind] ?? 0])),
      };
      const missing = Object.entries(injected).filter(([, count]) => count === 0).map(([kind]) => kind);

      expect({ seed: SEED, missing }).toEqual({ seed: SEED, missing: [] });
      expect(figures.cycles).toBeGreaterThanOrEqual(300);
      expect(verdict.figures.transitionsChecked).toBeGreaterThanOrEqual(200);
      expect(verdict.figures.alertsDelivered).toBeGreaterThanOrEqual(100);
    }),
  );
});

function expectNoViolations(name: CheckName): void {
  const found = verdict.violations[name];
  if (found.length === 0) return;
  const shown = found.slice(0, 15).map((line) => `  - ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`).join('\n');
  throw new Error(
    `${found.length} violation(s) of "${CHECKS[name]}" in the soak with SOAK_SEED=${SEED}\n` +
      `reproduce: SOAK_SEED=${SEED} npx jest test/reliability/soak.test.ts\n${shown}` +
      (found.length > 15 ? `\n  … and ${found.length - 15} more` : ''),
  );
}

function readSeed(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_SEED;
  if (!/^\d{1,10}$/.test(raw.trim())) throw new Error(`SOAK_SEED must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw.trim()) >>> 0;
}

function readCycles(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 300;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 300) throw new Error(`SOAK_CYCLES must be an integer of at least 300, got ${JSON.stringify(raw)}`);
  return n;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the whole soak and judges it; everything random comes from `seed`. */
async function runSoak(seed: number): Promise<{ verdict: Verdict; figures: SoakFigures }> {
  const started = Date.now();
  const rnd = mulberry32(hashSeed(seed, 'schedule'));
  const table = await createTestTable();
  const simulator = await startCommBoxSimulator({ seed, timeoutHoldMs: CLIENT_TIMEOUT_MS + 150 });
  const history = new SoakHistory();
  // Two pollers, as two Lambda containers: each keeps its connections and token between its cycles.
  const pollers = [0, 1].map(
    (n) =>
      new CommBoxObjectsSource({
        baseUrl: new URL(simulator.baseUrl),
        tokens: new StaticTokenProvider(new Secret(simulator.token)),
        timeoutMs: CLIENT_TIMEOUT_MS,
        maxAttempts: 3,
        maxConcurrency: CONCURRENCY,
        baseDelayMs: 1,
        maxDelayMs: 5,
        maxRetryAfterMs: 20,
        random: mulberry32(hashSeed(seed, 'jitter', n)),
      }),
  );
  const sns = new SnsStandIn(history);
  const world = new UpstreamWorld(simulator, rnd, seed);
  const figures: SoakFigures = {
    seed,
    cycles: 0,
    drainCycles: 0,
    overlappingPairs: 0,
    leaseExpiries: 0,
    upstreamChanges: world.counts,
    upstreamFaults: {},
    snsFaults: {},
    crashes: {},
    storeRequests: {},
    totals: {
      polled: 0, changed: 0, published: 0, alertsSent: 0, alertsDeferred: 0, alertsDropped: 0, resent: 0, publishFailed: 0, conflicts: 0, failed: 0, notFound: 0, skipped: 0,
    },
    durationMs: 0,
  };
  let now = Date.parse('2026-11-26T12:00:00Z');
  const clock = (): number => now;

  try {
    const ids = simulator.world.populate(IDENTITIES, { firstId: 7_000_001, maxConversations: 3 });
    for (const id of ids) await table.registry.register(parseIdentityId(id));
    world.setActive(ids.slice(QUIET));

    const runCycle = async (cycle: number, round: number, poller: 0 | 1, crashPlan?: CrashPlan, snsFaults?: SnsFaultProfile): Promise<CycleSummary | undefined> => {
      const ctx = new CycleContext(cycle, round, seed, clock, crashPlan, snsFaults);
      const dynamo = new DynamoDbSnapshotStore(table.client, table.tableName);
      const store = new CrashingStore(new RecordingStore(dynamo, history, ctx), ctx);
      const publisher = new CrashingPublisher(new FaultySnsPublisher(sns, ctx), ctx);
      const source = new ObservingSource(pollers[poller] as CommBoxObjectsSource, history, ctx);
      const unexpected: string[] = [];
      const observer: CycleObserver = {
        identityFailed: (id, error) => {
          if (!(error instanceof UpstreamError) && !(error instanceof SimulatedCrash)) unexpected.push(`identity ${id}: ${String(error)}`);
        },
        outboxUpdateFailed: (id, error) => {
          if (!(error instanceof SimulatedCrash)) unexpected.push(`outbox of ${id}: ${String(error)}`);
        },
      };
      let summary: CycleSummary | undefined;
      try {
        // Two cycles in three confirm their publications by receipt, the third entry by entry: both paths, overlapping.
        const receipt = cycle % 3 === 0 ? {} : { receipt: { run: formatRunId(clock() + RUN_BOUND_MS + LEASE_MS, `c${cycle}`), lastWriteBy: clock() + RUN_BOUND_MS } };
        summary = await runPollCycle(
          { source, store, publisher, clock, observer },
          { concurrency: CONCURRENCY, claimLeaseMs: LEASE_MS, alertDefaults: ALERT_POLICY, ...receipt },
        );
      } catch (error) {
        if (!ctx.crashed) unexpected.push(`cycle threw: ${String(error)}`);
      }
      const log: CycleLog = history.cycles.get(cycle) ?? { cycle, round, now: clock(), loaded: new Map() };
      history.cycles.set(cycle, log);
      if (ctx.crashed) {
        log.crashed = ctx.crashed;
        figures.crashes[ctx.crashed.step] = (figures.crashes[ctx.crashed.step] ?? 0) + 1;
      }
      for (const [op, n] of Object.entries(dynamo.requests)) figures.storeRequests[op] = (figures.storeRequests[op] ?? 0) + n;
      if (unexpected.length > 0) log.unexpectedError = unexpected.join('; ');
      if (summary) for (const key of Object.keys(figures.totals) as (keyof SoakFigures['totals'])[]) figures.totals[key] += summary[key];
      return summary;
    };

    /** The whole table, as the model's final facts. */
    const readTable = async (afterCycle: number): Promise<TableView> => {
      const { identities } = await new DynamoDbSnapshotStore(table.client, table.tableName).loadCycle();
      return {
        afterCycle,
        identities: new Map(
          identities.map((w) => [
            w.id,
            {
              ...(w.snapshot ? { version: w.snapshot.version, state: w.snapshot.state } : {}),
              ...(w.outbox ? { pending: w.outbox.map((e) => ({ eventId: e.eventId, claimUntil: e.claimUntil })) } : {}),
              failureStreak: w.failureStreak,
              notFound: w.notFound,
              alertOwed: w.alert !== undefined && (w.alert.state.deferred || w.alert.state.clearedOwed),
            },
          ]),
        ),
      };
    };

    /** A cycle makes about one publish batch and one claim, and a few writes of each other kind. */
    const crashPlan = (): CrashPlan | undefined => {
      if (rnd() >= 0.3) return undefined;
      const step = pick(rnd, CRASH_STEPS);
      return { step, nth: /publish|claim/.test(step) ? 1 : randomInt(rnd, 1, 2) };
    };
    /** A crash before a release needs a refused publication to happen at all. */
    const snsFor = (plan: CrashPlan | undefined): SnsFaultProfile | undefined =>
      plan?.step === 'before-release' ? { callFails: 0, entryRefused: 0.6, answerLost: 0 } : rnd() < 0.35 ? SNS_FAULTS : undefined;

    let cycle = 0;
    let round = 0;
    while (cycle < CYCLES) {
      round += 1;
      world.changeBetweenCycles(randomInt(rnd, 0, 5));
      simulator.faults.setRandom(upstreamFaultsFor(rnd, seed, cycle));
      if (rnd() < 0.05) simulator.faults.forIdentity(pick(rnd, ids), 'timeout');
      if (rnd() < 0.04) simulator.faults.forIdentity(pick(rnd, world.active), { status: 404 });
      if (rnd() < 0.3) {
        now += LEASE_MS + 1;
        figures.leaseExpiries += 1;
      } else {
        now += 15_000;
      }
      const midCycleChange = rnd() < 0.15 ? randomInt(rnd, 0, 15) : undefined;
      const overlap = rnd() < 0.2 && cycle + 2 <= CYCLES;
      // Baselines are only written in the first round: that is where a crash after one can happen.
      const plans = [round === 1 ? { step: 'after-baseline' as const, nth: randomInt(rnd, 1, IDENTITIES) } : crashPlan(), overlap ? crashPlan() : undefined];
      const runs: Promise<unknown>[] = [];
      if (midCycleChange !== undefined) runs.push(sleep(midCycleChange).then(() => world.changeBetweenCycles(1, 'mid-cycle')));
      cycle += 1;
      runs.push(runCycle(cycle, round, 0, plans[0], snsFor(plans[0])));
      if (overlap) {
        figures.overlappingPairs += 1;
        await sleep(randomInt(rnd, 0, 20));
        cycle += 1;
        runs.push(runCycle(cycle, round, 1, plans[1], snsFor(plans[1])));
      }
      await Promise.all(runs);
    }
    figures.cycles = cycle;

    // The drain: no more faults or changes; claims expire; cycles run until nothing is left to do.
    simulator.faults.clear();
    let final: TableView | undefined;
    for (let drain = 0; drain < MAX_DRAIN_CYCLES; drain += 1) {
      now += LEASE_MS + 1;
      cycle += 1;
      round += 1;
      figures.drainCycles += 1;
      const summary = await runCycle(cycle, round, 0);
      final = await readTable(cycle);
      const settled =
        summary !== undefined && summary.changed === 0 && summary.resent === 0 && summary.failed === 0 &&
        [...final.identities.values()].every((row) => (row.pending?.length ?? 0) === 0 && row.failureStreak === 0 && !row.notFound && !row.alertOwed);
      if (settled) break;
    }

    figures.upstreamFaults = simulator.stats.faultsInjected;
    figures.snsFaults = { ...sns.counts };
    const upstream = new Map<string, UnreadState>(ids.map((id) => [id, simulator.world.snapshot(id)]));
    const verdict = checkHistory(history, { final: final as TableView, upstream, quiet: new Set(ids.slice(0, QUIET)), alertPolicy: ALERT_POLICY });
    figures.model = verdict.figures;
    figures.durationMs = Date.now() - started;
    return { verdict, figures };
  } finally {
    await simulator.close();
  }
}

/** Mostly a light sprinkle of transient faults; sometimes none; sometimes a storm that defeats the retries. */
function upstreamFaultsFor(rnd: Random, seed: number, cycle: number): { probability: number; kinds: readonly SimulatedFault[]; seed: number } | undefined {
  const roll = rnd();
  if (roll < 0.35) return undefined;
  return { probability: roll < 0.43 ? 0.6 : 0.12, kinds: RANDOM_UPSTREAM_FAULTS, seed: hashSeed(seed, 'upstream', cycle) };
}

/** Seeded changes of the simulated upstream, on the active identities only. */
class UpstreamWorld {
  readonly counts: Record<string, number> = {};
  active: string[] = [];
  private nextObjectId = 800_001;

  constructor(
    private readonly simulator: CommBoxSimulator,
    private readonly rnd: Random,
    seed: number,
  ) {
    this.nextObjectId += seed % 1000;
  }

  setActive(ids: readonly string[]): void {
    this.active = [...ids];
  }

  changeBetweenCycles(n: number, tag = ''): void {
    for (let i = 0; i < n; i += 1) this.changeOne(tag);
  }

  private changeOne(tag: string): void {
    const world = this.simulator.world;
    const id = pick(this.rnd, this.active);
    const conversations = [...(world.get(id)?.conversations.values() ?? [])];
    const unread = conversations.filter((c) => c.unread > 0);
    const roll = this.rnd();
    let kind: string;
    if (roll < 0.35 && conversations.length > 0) {
      const c = pick(this.rnd, conversations);
      world.setUnread(id, c.objectId, c.unread + randomInt(this.rnd, 1, 3));
      kind = 'more unread';
    } else if (roll < 0.5 && unread.length > 0) {
      world.setUnread(id, pick(this.rnd, unread).objectId, 0);
      kind = 'read';
    } else if (roll < 0.6 && unread.length > 0) {
      world.removeConversation(id, pick(this.rnd, unread).objectId);
      kind = 'conversation gone';
    } else if (roll < 0.8 && conversations.length < 5) {
      world.setUnread(id, this.nextObjectId++, randomInt(this.rnd, 1, 4), 19155);
      kind = 'new conversation';
    } else if (roll < 0.92 && conversations.length > 0) {
      // Up and back down before anyone looks: not observable, must not produce an event.
      const c = pick(this.rnd, conversations);
      const before = c.unread;
      world.setUnread(id, c.objectId, before + 5);
      world.setUnread(id, c.objectId, before);
      kind = 'flicker';
    } else {
      kind = 'none';
    }
    const key = tag ? `${kind} (${tag})` : kind;
    this.counts[key] = (this.counts[key] ?? 0) + 1;
  }
}

