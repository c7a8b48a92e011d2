import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdentityRegistry } from '../../lambda/adapters/dynamodb-identity-registry';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { createPublisher, createSource, createTokenProvider } from '../../lambda/composition';
import { isLocalRun, requireToken, type Config } from '../../lambda/config';
import { CycleAbortedWithSummary } from '../../lambda/core/errors';
import { parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import { stringifyWithNumericIds } from '../../lambda/core/json-with-ids';
import { runPollCycle, type CycleSummary } from '../../lambda/core/poll-cycle';
import type { ScanSegment } from '../../lambda/core/ports';
import { parseSegment } from '../../lambda/invocation';
import { UsageError, type CliIo } from './io';

const MAX_LABEL_LENGTH = 100;
const PROGRESS_EVERY_MS = 5_000;

function dynamo(): DynamoDBClient {
  return new DynamoDBClient({});
}

/**
 * In a local run the table is plain; in AWS it is made as the stack makes its own (a table
 * worth creating there is worth protecting), so the CLI can also run without the stack.
 */
export async function initCommand(config: Config, io: CliIo): Promise<void> {
  const setup = isLocalRun(io.env) ? 'plain' : 'stack';
  const outcome = await new DynamoDbIdentityRegistry(dynamo(), config.tableName).ensureReady(setup);
  if (outcome === 'exists') io.stdout.write(`table ${config.tableName} already exists\n`);
  else if (setup === 'plain') io.stdout.write(`created table ${config.tableName}\n`);
  else io.stdout.write(`created table ${config.tableName} with deletion protection, point-in-time recovery and KMS encryption (AWS managed key), as the stack makes it\n`);
}

/** Ids and labels are checked before any request, so a refused command changes nothing. */
export function parseId(raw: string): IdentityId {
  try {
    return parseIdentityId(raw);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function parseLabel(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const label = raw.trim();
  if (label === '' || label.length > MAX_LABEL_LENGTH || /\p{Cc}/u.test(label)) {
    throw new UsageError(`invalid label: expected 1-${MAX_LABEL_LENGTH} printable characters`);
  }
  return label;
}

export async function addCommand(config: Config, io: CliIo, rawId: string, rawLabel: string | undefined): Promise<void> {
  const id = parseId(rawId);
  const label = parseLabel(rawLabel);
  const outcome = await new DynamoDbIdentityRegistry(dynamo(), config.tableName).register(id, label);
  io.stdout.write(`${outcome} identity ${id}${label ? ` (${label})` : ''}\n`);
}

export async function removeCommand(config: Config, io: CliIo, rawId: string): Promise<void> {
  const id = parseId(rawId);
  const removed = await new DynamoDbIdentityRegistry(dynamo(), config.tableName).unregister(id);
  if (!removed) throw new UsageError(`identity ${id} is not registered in ${config.tableName}`);
  io.stdout.write(`removed identity ${id}\n`);
}

export async function listCommand(config: Config, io: CliIo, json: boolean): Promise<void> {
  const registrations = await new DynamoDbIdentityRegistry(dynamo(), config.tableName).list();
  if (json) {
    const rows = registrations.map((r) =>
      r.broken !== undefined
        ? { identityId: r.id, broken: r.broken }
        : {
            identityId: r.id,
            ...(r.label ? { label: r.label } : {}),
            registeredAt: r.registeredAt,
            total: r.total ?? null,
            failureStreak: r.failureStreak,
            failing: r.failureStreak >= config.failureStreakThreshold,
            notFound: r.notFound,
          },
    );
    io.stdout.write(`${stringifyWithNumericIds(rows, new Set(['identityId']))}\n`);
    return;
  }
  if (registrations.length === 0) {
    io.stdout.write(`no identities registered in ${config.tableName}\n`);
    return;
  }
  for (const r of registrations) {
    if (r.broken !== undefined) {
      io.stdout.write(`${r.id}\t\tbroken: ${r.broken}\n`);
      continue;
    }
    const state = r.notFound ? 'not found upstream' : r.total === undefined ? 'no baseline yet' : `${r.total} unread`;
    // `failing` from FAILURE_STREAK_THRESHOLD on, as the FailingIdentities metric counts it.
    const streak =
      r.failureStreak >= config.failureStreakThreshold
        ? `, failing ${r.failureStreak} cycle(s)`
        : r.failureStreak > 0
          ? `, failed ${r.failureStreak} cycle(s) in a row`
          : '';
    io.stdout.write(`${r.id}\t${r.label ?? ''}\t${state}${streak}\n`);
  }
}

export interface PollFlags {
  readonly segment?: string;
  readonly segments?: string;
  readonly json?: boolean;
}

export function parsePollSegment(flags: PollFlags): ScanSegment | undefined {
  if (flags.segment === undefined && flags.segments === undefined) return undefined;
  if (flags.segment === undefined || flags.segments === undefined) throw new UsageError('--segment and --segments go together');
  if (!/^\d+$/.test(flags.segment) || !/^\d+$/.test(flags.segments)) throw new UsageError('--segment and --segments must be non-negative integers');
  try {
    return parseSegment(Number(flags.segment), Number(flags.segments));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** One cycle; events go to SNS, or to stdout as JSON lines without TOPIC_ARN; the summary goes last. */
export async function pollCommand(config: Config, io: CliIo, flags: PollFlags): Promise<CycleSummary> {
  const segment = parsePollSegment(flags);
  requireToken(config);
  const source = createSource(config, createTokenProvider(config));
  const store = new DynamoDbSnapshotStore(dynamo(), config.tableName, {
    onMalformedItem: (key) => io.stderr.write(`warning: skipping unreadable item ${JSON.stringify(key)}\n`),
  });
  const startedAt = Date.now();
  let lastProgress = startedAt;
  const cycle = runPollCycle(
    {
      source,
      store,
      publisher: createPublisher(config, undefined, io.stdout),
      clock: Date.now,
      observer: {
        identityFailed: (id, error, streak) => io.stderr.write(`warning: identity ${id} failed (${(error as Error).message}); ${streak} cycle(s) in a row\n`),
        identityNotFound: (id) => io.stderr.write(`warning: identity ${id} not found upstream\n`),
        publishFailed: (event, reason) =>
          io.stderr.write(`warning: ${event.type === 'unread.alert' ? 'alert' : 'event'} ${event.eventId} not published (${reason}); it stays pending\n`),
        progress: (done, total) => {
          if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
          lastProgress = Date.now();
          io.stderr.write(`progress: ${done}/${total} identities\n`);
        },
      },
    },
    {
      concurrency: config.pollConcurrency,
      claimLeaseMs: config.claimLeaseMs,
      alertDefaults: config.alertDefaults,
      ...(segment ? { segment } : {}),
      // Events are stored with a claim of CLAIM_LEASE_SECONDS: stop starting identities at half
      // of it, so every claim is still held when its batch goes out; the next poll resumes here.
      shouldStartMore: () => Date.now() - startedAt < config.claimLeaseMs / 2,
    },
  );
  let summary: CycleSummary;
  try {
    summary = await cycle;
  } catch (error) {
    // Scripts read the last line as the summary, also when the cycle was aborted.
    if (flags.json && error instanceof CycleAbortedWithSummary) io.stdout.write(`${JSON.stringify(contractSummary(error.summary))}\n`);
    throw error;
  }
  if (!config.topicArn && summary.published + summary.alertsSent > 0) {
    io.stderr.write('note: no TOPIC_ARN: the events and alerts above went to stdout only, and count as published and sent\n');
  }
  if (summary.resumeFrom !== undefined) {
    io.stderr.write(`stopped at half the claim lease; ${summary.skipped} identities left for the next poll, which starts at ${summary.resumeFrom}\n`);
  }
  io.stderr.write(
    `polled ${summary.polled}/${summary.identities} identities: ${summary.changed} changed, ${summary.published} published` +
      `, ${summary.baselines} baselines, ${summary.failed} failed, ${summary.notFound} not found` +
      `; alerts: ${summary.alertsSent} sent, ${summary.alertsDeferred} deferred, ${summary.alertsDropped} dropped` +
      (summary.publishFailed ? `, ${summary.publishFailed} publish failures` : '') +
      (summary.skipped ? `, ${summary.skipped} skipped` : '') +
      ` in ${summary.durationMs} ms\n`,
  );
  if (flags.json) io.stdout.write(`${JSON.stringify(contractSummary(summary))}\n`);
  return summary;
}

/** The summary line of CONTRACT.md, in its order, then the alert counts. */
export function contractSummary(s: CycleSummary): Record<string, number> {
  return {
    identities: s.identities, polled: s.polled, changed: s.changed, published: s.published, failed: s.failed, notFound: s.notFound, durationMs: s.durationMs,
    alertsSent: s.alertsSent, alertsDeferred: s.alertsDeferred, alertsDropped: s.alertsDropped,
  };
}
