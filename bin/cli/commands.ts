import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdentityRegistry } from '../../lambda/adapters/dynamodb-identity-registry';
import { DynamoDbSnapshotStore } from '../../lambda/adapters/dynamodb-snapshot-store';
import { ensureWebhooksTable } from '../../lambda/adapters/dynamodb-webhook-table';
import { createPublisher, createSource, createTokenProvider } from '../../lambda/composition';
import { isLocalRun, requireToken, type Config } from '../../lambda/config';
import { CycleAbortedWithSummary, UnregisteredIdentitiesError } from '../../lambda/core/errors';
import type { IdentityId } from '../../lambda/core/identity-id';
import { noIdentityCouldBePolled, runPollCycle, type CycleSummary } from '../../lambda/core/poll-cycle';
import type { ScanSegment } from '../../lambda/core/ports';
import { webhooksTableNameOf } from '../../lambda/env-names';
import { lastWriteOfBoundedRun, newRunReceipt, parseSegment } from '../../lambda/invocation';
import { notRegistered, parseId } from './identities-commands';
import { UsageError, type CliIo } from './io';
import { createPollWebhooks, reportLocalDeliveries } from './webhooks-commands';

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
  const client = dynamo();
  // Named after the registry; checked before anything is created.
  let webhooksTable: string;
  try {
    webhooksTable = webhooksTableNameOf(config.tableName);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  for (const [tableName, ensure] of [
    [config.tableName, () => new DynamoDbIdentityRegistry(client, config.tableName).ensureReady(setup)],
    [webhooksTable, () => ensureWebhooksTable(client, webhooksTable, setup)],
  ] as const) {
    const outcome = await ensure();
    if (outcome === 'exists') io.stdout.write(`table ${tableName} already exists\n`);
    else if (setup === 'plain') io.stdout.write(`created table ${tableName}\n`);
    else io.stdout.write(`created table ${tableName} with deletion protection, point-in-time recovery and KMS encryption (AWS managed key), as the stack makes it\n`);
  }
}

export interface PollFlags {
  readonly segment?: string;
  readonly segments?: string;
  /** `--identity`, repeatable: a targeted poll of just these registered ids. */
  readonly identity?: readonly string[];
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

/** The ids of `--identity`, each checked; none when the flag is not given. */
export function parsePollIdentities(flags: PollFlags): IdentityId[] | undefined {
  if (!flags.identity?.length) return undefined;
  if (flags.segment !== undefined || flags.segments !== undefined) throw new UsageError('--identity polls the given ids: it does not go with --segment');
  return [...new Set(flags.identity.map(parseId))];
}

/**
 * One cycle (or a targeted poll of `--identity` ids); events go to SNS, or to stdout as JSON
 * lines without TOPIC_ARN; the summary goes last. Fails (exit 1) when identities were there to
 * poll and not one poll succeeded: that is a wrong API_BASE_URL or CommBox down, not success.
 */
export async function pollCommand(config: Config, io: CliIo, flags: PollFlags): Promise<CycleSummary> {
  const segment = parsePollSegment(flags);
  const only = parsePollIdentities(flags);
  requireToken(config);
  const source = createSource(config, createTokenProvider(config));
  const store = new DynamoDbSnapshotStore(dynamo(), config.tableName, {
    onMalformedItem: (key) => io.stderr.write(`warning: skipping unreadable item ${JSON.stringify(key)}\n`),
  });
  // Without TOPIC_ARN the registered webhooks are delivered from here, what earlier polls left first.
  const webhooks = createPollWebhooks(config, io);
  await webhooks?.start();
  const publisher = createPublisher(config, undefined, io.stdout);
  const startedAt = Date.now();
  let lastProgress = startedAt;
  let firstFailure: string | undefined;
  const cycle = runPollCycle(
    {
      source,
      store,
      publisher: webhooks ? webhooks.publisher(publisher) : publisher,
      clock: Date.now,
      observer: {
        identityFailed: (id, error, streak) => {
          firstFailure ??= (error as Error).message;
          io.stderr.write(`warning: identity ${id} failed (${(error as Error).message}); ${streak} cycle(s) in a row\n`);
        },
        identityNotFound: (id) => io.stderr.write(`warning: identity ${id} not found upstream\n`),
        publishFailed: (event, reason) =>
          io.stderr.write(`warning: ${event.type === 'unread.alert' ? 'alert' : 'event'} ${event.eventId} not published (${reason}); it stays pending\n`),
        resumePointFailed: (error) => io.stderr.write(`warning: could not store where the cycle stopped (${(error as Error).message})\n`),
        cycleEndFailed: (error) => io.stderr.write(`warning: could not store when the cycle ended (${(error as Error).message})\n`),
        receiptFailed: (stage, detail) =>
          io.stderr.write(
            stage === 'backlog'
              ? `warning: ${String(detail)} runs left open by polls that died; events are completed one by one until they are pruned\n`
              : `warning: could not ${stage} this poll's run (${(detail as Error).message}); ${stage === 'close' ? 'its events are sent again once their claims expire' : 'nothing is lost'}\n`,
          ),
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
      ...(only ? { only: { ids: only, unregistered: 'refuse' as const } } : {}),
      // Events are stored with a claim of CLAIM_LEASE_SECONDS: stop starting identities at half
      // of it, so every claim is still held when its batch goes out; the next poll resumes here.
      shouldStartMore: () => Date.now() - startedAt < config.claimLeaseMs / 2,
      receipt: newRunReceipt(lastWriteOfBoundedRun(startedAt, config.claimLeaseMs / 2, config), config),
    },
  );
  let summary: CycleSummary;
  try {
    summary = await cycle;
  } catch (error) {
    if (error instanceof UnregisteredIdentitiesError) {
      webhooks?.abandon();
      throw new UsageError(`--identity: ${notRegistered(error.ids, config.tableName)}; nothing was polled`);
    }
    // What was published still goes out; receivers never change the exit code.
    if (webhooks) reportLocalDeliveries(await webhooks.finish(), io);
    // Scripts read the last line as the summary, also when the cycle was aborted.
    if (flags.json && error instanceof CycleAbortedWithSummary) io.stdout.write(`${JSON.stringify(summaryLine(error.summary))}\n`);
    throw error;
  }
  if (webhooks) reportLocalDeliveries(await webhooks.finish(), io);
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
  if (flags.json) io.stdout.write(`${JSON.stringify(summaryLine(summary))}\n`);
  if (noIdentityCouldBePolled(summary)) {
    throw new Error(`none of the ${summary.pollFailed} identities could be polled (first error: ${firstFailure ?? 'unknown'}); check API_BASE_URL and the network`);
  }
  return summary;
}

/** The summary line: the fields of CONTRACT.md first, in its order, then the cycle's other counters. */
export function summaryLine(s: CycleSummary): Record<string, number> {
  return {
    identities: s.identities, polled: s.polled, changed: s.changed, published: s.published, failed: s.failed, notFound: s.notFound, durationMs: s.durationMs,
    baselines: s.baselines, resent: s.resent, pollFailed: s.pollFailed, publishFailed: s.publishFailed, conflicts: s.conflicts, skipped: s.skipped,
    publishRequests: s.publishRequests, alertsSent: s.alertsSent, alertsDeferred: s.alertsDeferred, alertsDropped: s.alertsDropped,
  };
}
