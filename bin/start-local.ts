/**
 * `npm start`: the poller end to end on embedded defaults. dynalite in this process, the CommBox
 * simulator on a loopback port with scripted unread activity, and the real store, source, cycle
 * and publisher, polling on an interval. People read stderr (a line per baseline, event and
 * cycle, and a closing summary); stdout carries only the events' JSON, with --json, so
 * `npm start -- --json | jq` works. With --topic-arn the events go to that SNS topic instead
 * (deliberately a flag: an exported TOPIC_ARN must not send made-up events to real subscribers).
 * Without it, a demo receiver on 127.0.0.1 is registered as a signed webhook: every change is
 * delivered to it by the same code as `poll`, and it verifies each signature with the
 * `standardwebhooks` package.
 * The alerts people would get have lines of their own (✉), under a demo policy with a 20-second
 * cooldown, so a digest folding several changes shows within a minute; ALERT_* variables in the
 * environment override it. --json prints the alerts' JSON too.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { Command } from 'commander';
import { ConsolePublisher } from '../lambda/adapters/console-publisher';
import { DynamoDbIdentityRegistry } from '../lambda/adapters/dynamodb-identity-registry';
import { DynamoDbSnapshotStore } from '../lambda/adapters/dynamodb-snapshot-store';
import { ensureWebhooksTable } from '../lambda/adapters/dynamodb-webhook-table';
import { describeOutcome } from '../lambda/adapters/sqs-webhook-queue';
import { createPublisher, createSource, createTokenProvider, createWebhookSender, createWebhookStores } from '../lambda/composition';
import { ConfigError, loadConfig, parseTopicArn } from '../lambda/config';
import { lastWriteOfBoundedRun, newRunReceipt } from '../lambda/invocation';
import type { AlertNotice } from '../lambda/core/alert-event';
import { describeAlertPolicy, resolveAlertPolicy, type AlertPolicy } from '../lambda/core/alert-policy';
import { alertHeadline } from '../lambda/core/alert-text';
import { parseIdentityId } from '../lambda/core/identity-id';
import type { UnreadChangedEvent, UnreadState } from '../lambda/core/model';
import type { EventPublisher } from '../lambda/core/ports';
import { runPollCycle, type AlertsHeld, type CycleSummary } from '../lambda/core/poll-cycle';
import { parseArn } from '../lambda/core/subscriptions';
import type { DispatchObserver } from '../lambda/core/webhook-dispatcher';
import { newWebhookEndpointId } from '../lambda/core/webhook-endpoint';
import { newWebhookSecret } from '../lambda/core/webhook-signature';
import { ALERT_ENV, ENV, webhooksTableNameOf } from '../lambda/env-names';
import { LocalWebhookDelivery, type LocalDeliverySummary } from '../lambda/local-webhooks';
import { fixedRepollSecrets } from '../lambda/repoll-endpoint';
import { startCommBoxSimulator } from '../local/commbox-simulator';
import { startDemoWebhookReceiver, type DemoWebhookReceiver } from '../local/demo-webhook-receiver';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';
import { startServe, type ServeRun } from './cli/serve';

/** How long the demo's cycle owns the events it stored. */
const DEMO_CLAIM_LEASE_MS = 60_000;
const LABELS = ['Support', 'Sales', 'Billing', 'VIP desk', 'Night shift', 'Returns', 'Partners', 'Onboarding'];
/** Every line for people fits a terminal this wide. */
export const COLUMNS = 100;

interface Options {
  interval: string;
  identities: string;
  cycles?: string;
  seed: string;
  json?: boolean;
  topicArn?: string;
}

class UsageError extends Error {}

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

function time(): string {
  return new Date().toISOString().slice(11, 19);
}

function who(id: string, label: string | undefined): string {
  return label ? `${id} (${label})` : id;
}

/** Cuts a line to COLUMNS characters (code points: the arrows are one column each). */
function fit(line: string): string {
  const chars = [...line];
  return chars.length <= COLUMNS ? line : `${chars.slice(0, COLUMNS - 1).join('')}…`;
}

/** `suffix`: how long after the simulated message the event went out, e.g. `  +0.8 s after the message`. */
function describeEvent(event: UnreadChangedEvent, suffix = ''): string {
  const arrow = event.direction === 'increased' ? '▲' : '▼';
  const delta = event.delta > 0 ? `+${event.delta}` : String(event.delta);
  const head = `${time()}  ${arrow} identity ${who(event.identityId, event.label)}: ${event.previousTotal} → ${event.total} unread (${delta})`;
  // The time since the simulated message, when known, takes the place of the eventId (--json shows it).
  const tail = suffix === '' ? `  ${event.eventId.slice(0, 8)}` : suffix;
  // As many conversations as fit, then how many more changed.
  const parts = event.conversations.map((c) => `#${c.objectId} ${c.previous}→${c.current}`);
  for (let shown = parts.length; shown >= 0; shown -= 1) {
    const more = parts.length - shown;
    const list = [...parts.slice(0, shown), ...(more > 0 ? [`+${more} more`] : [])].join(', ');
    const line = `${head}  [${list}]${tail}`;
    if ([...line].length <= COLUMNS) return line;
  }
  return fit(`${head}${tail}`);
}

/**
 * The demo's alert policy: a cooldown short enough to watch rises fold into a digest within a
 * minute. Any ALERT_* variable set in the environment wins over it.
 */
const DEMO_ALERT_ENV: Readonly<Record<string, string>> = { [ALERT_ENV.cooldown]: '20s' };

function demoAlertEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const own = Object.values(ALERT_ENV).flatMap((name) => (env[name] !== undefined ? [[name, env[name]] as const] : []));
  return { ...DEMO_ALERT_ENV, ...Object.fromEntries(own) };
}

/** The policy as lines of at most COLUMNS characters: `alert policy: minUnread 1, cooldown 20s, …`. */
function describePolicy(policy: AlertPolicy): string[] {
  const fields = describeAlertPolicy(resolveAlertPolicy({}, policy)).map((field) => `${field.field} ${String(field.value)}`);
  const lines: string[] = [];
  let line = 'alert policy:';
  for (const field of fields) {
    if ([...`${line} ${field},`].length > COLUMNS) {
      lines.push(line);
      line = '             ';
    }
    line = `${line} ${field},`;
  }
  lines.push(`${line.slice(0, -1)} (demo; ALERT_* override)`);
  return lines.map(fit);
}

/** An alert, set apart from the change lines (✉): who, and what people read. */
function describeAlert(notice: AlertNotice): string {
  const { event } = notice;
  const folded = event.kind === 'digest' ? `, ${event.changes} folded` : '';
  return fit(`${time()}  ✉ ${event.kind.padEnd(8)} ${who(event.identityId, event.label)}: ${alertHeadline(notice)}${folded}`);
}

/** What a decision held back (…): alerts waiting for the cooldown, quiet hours or a snooze, or given up. */
function describeHeld(id: string, label: string | undefined, held: AlertsHeld): string {
  const parts = [
    ...(held.deferred.length > 0 ? [`${held.deferred.join(', ')} held back`] : []),
    ...(held.dropped.length > 0 ? [`${held.dropped.join(', ')} dropped (read back down)`] : []),
  ];
  const due = held.dueAt !== undefined ? `, due ${new Date(held.dueAt).toISOString().slice(11, 19)}` : '';
  return fit(`${time()}  … held     ${who(id, label)}: ${parts.join('; ')}${due}`);
}

function describeBaseline(id: string, label: string | undefined, state: UnreadState): string {
  return fit(`${time()}  ● baseline  identity ${who(id, label)}: ${state.total} unread in ${state.conversations.length} conversation(s)`);
}

function describeCycle(cycle: number, summary: CycleSummary, webhooks: LocalDeliverySummary | undefined): string {
  const delivered = webhooks ? `; webhooks: ${webhooks.delivered} delivered${webhooks.kept > 0 ? `, ${webhooks.kept} kept` : ''}` : '';
  return fit(
    `${time()}  cycle ${cycle}: polled ${summary.polled}/${summary.identities}, ${summary.changed} changed, ` +
      `${summary.published} published, ${summary.alertsSent} alerts, ${summary.failed} failed in ${summary.durationMs} ms${delivered}`,
  );
}

async function main(): Promise<void> {
  // Node 20 is this project's floor; keep the SDK's multi-line Node 22 notice out of the demo.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // `npm start -- --json | head -1`: the reader stopped, so does the demo, quietly.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));
  const err = process.stderr;
  const say = (line: string): void => void err.write(`${line}\n`);

  const options = new Command('npm start')
    .usage('-- [options]')
    .description('Run the poller locally on an embedded DynamoDB and the CommBox simulator')
    .option('--interval <seconds>', 'seconds between poll cycles', '5')
    .option('--identities <n>', 'identities to register (at most 1000)', '5')
    .option('--cycles <n>', 'stop after this many cycles (default: until Ctrl-C)')
    .option('--seed <n>', 'seed of the simulated activity', '7')
    .option('--json', "print each event's and alert's JSON on stdout, as subscribers get it; the rest goes to stderr")
    .option('--topic-arn <arn>', 'publish the events to this SNS topic (AWS credentials needed); TOPIC_ARN is not read')
    .addHelpText('after', '\nExample: npm start -- --interval 2 --cycles 5 --json | jq .total')
    .parse()
    .opts<Options>();
  const intervalMs = positive('interval', options.interval) * 1000;
  const count = Math.min(1000, Math.floor(positive('identities', options.identities)));
  const maxCycles = options.cycles === undefined ? Infinity : Math.floor(positive('cycles', options.cycles));
  const seed = Math.floor(positive('seed', options.seed));
  const topicArn = options.topicArn === undefined ? undefined : parseTopicArn(options.topicArn.trim(), '--topic-arn');

  const db = await startEmbeddedDynamoDb();
  const simulator = await startCommBoxSimulator({ seed, latencyMs: 40, jitterMs: 30 });
  const client = new DynamoDBClient({ endpoint: db.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const tableName = 'unread-notifier';
  const registry = new DynamoDbIdentityRegistry(client, tableName);
  await registry.ensureReady('plain');
  const ids = simulator.world.populate(count, { firstId: 558355, maxConversations: 4 });
  const labels = new Map<string, string>();
  for (const [index, raw] of ids.entries()) {
    const label = LABELS[index % LABELS.length];
    if (label) labels.set(raw, label);
    await registry.register(parseIdentityId(raw), label ? { label } : {});
  }

  // Wired as the CLI and the Lambda wire it (lambda/composition.ts), on the simulator's settings.
  const config = loadConfig({
    [ENV.apiBaseUrl]: simulator.baseUrl,
    [ENV.apiToken]: simulator.token,
    [ENV.pollConcurrency]: '8',
    [ENV.requestTimeoutMs]: '2000',
    [ENV.maxAttempts]: '3',
    ...(topicArn ? { [ENV.topicArn]: topicArn } : {}),
    ...demoAlertEnv(process.env),
  });
  const source = createSource(config, createTokenProvider(config));
  const store = new DynamoDbSnapshotStore(client, tableName);
  const publisher: EventPublisher = topicArn
    ? createPublisher(config, () => new SNSClient({ region: parseArn(topicArn)?.region ?? '' }))
    : new ConsolePublisher(options.json ? process.stdout : { write: () => true });
  const destination = topicArn
    ? `events are published to the SNS topic ${topicArn}`
    : options.json
      ? 'events and alerts are printed as JSON lines on stdout and sent nowhere else (no --topic-arn)'
      : 'events and alerts are described here and sent nowhere (--json prints their JSON on stdout)';

  // Without a topic, a signed webhook to a demo receiver, registered as `webhooks add` would (the secret stays in this process).
  let receiver: DemoWebhookReceiver | undefined;
  let webhookStores: ReturnType<typeof createWebhookStores> | undefined;
  if (!topicArn) {
    receiver = await startDemoWebhookReceiver({
      verified: ({ webhookId, event }) =>
        say(fit(`${time()}  ✓ webhook verified (standardwebhooks): ${String(event.type)} identity ${String(event.identityId)}, webhook-id ${webhookId.slice(0, 8)}`)),
      refused: (reason) => say(fit(`${time()}  ! webhook refused by the receiver: ${reason}`)),
    });
    await ensureWebhooksTable(client, webhooksTableNameOf(tableName), 'plain');
    webhookStores = createWebhookStores(config, client, true);
    const endpointId = newWebhookEndpointId(randomBytes);
    const secret = newWebhookSecret(randomBytes);
    await webhookStores.secrets.store(endpointId, { current: secret });
    await webhookStores.endpoints.create({ id: endpointId, url: receiver.url, events: ['unread.changed', 'unread.alert'], createdAtMs: Date.now() });
    receiver.useSecret(secret);
  }
  const sender = createWebhookSender(true);
  const webhookObserver: DispatchObserver = {
    attemptFailed: (job, outcome) => say(fit(`${time()}  ! webhook attempt ${job.attempt} of ${job.eventId.slice(0, 8)} failed (${describeOutcome(outcome)})`)),
    deadLettered: (job) => say(fit(`${time()}  ! webhook delivery of ${job.eventId.slice(0, 8)} kept for the next cycle`)),
  };

  const totals = { cycles: 0, polled: 0, baselines: 0, published: 0, alerts: 0, failed: 0 };
  // Re-poll now (docs/repoll.md): the endpoint as `unread-notifier serve` runs it, and the simulator
  // announcing every change to it as a CommBox webhook would (OnNewActivity, the secret in the path).
  const lastReported = new Map<string, number>();
  const repolled = { events: 0, delays: [] as number[] };
  /** How long after the simulated message the event went out (timed once per message). */
  const sinceMessage = (id: string, delays?: number[]): string => {
    const changedAt = simulator.lastChange(id);
    if (changedAt === undefined || changedAt <= (lastReported.get(id) ?? 0)) return '';
    lastReported.set(id, changedAt);
    const seconds = (Date.now() - changedAt) / 1000;
    delays?.push(seconds);
    return `  +${seconds.toFixed(1)} s after the message`;
  };
  const repollSecret = randomBytes(24).toString('base64url');
  const repoll = await startServe({
    config,
    dynamo: client,
    secrets: fixedRepollSecrets(repollSecret),
    publisher,
    port: 0,
    repollObserver: {
      eventPublished: (event) => {
        totals.published += 1;
        repolled.events += 1;
        say(describeEvent(event, sinceMessage(event.identityId, repolled.delays)));
      },
      alertPublished: (notice) => {
        totals.alerts += 1;
        say(describeAlert(notice));
      },
      identityFailed: (id, error) => say(fit(`${time()}  ! identity ${id} failed its re-poll: ${(error as Error).message}`)),
    },
    // Re-polled events reach the signed webhook too (the cycles take what was left undelivered).
    run: (): Promise<ServeRun | undefined> => {
      if (!webhookStores) return Promise.resolve(undefined);
      const webhooks = new LocalWebhookDelivery({ stores: webhookStores, sender, observer: webhookObserver });
      return Promise.resolve({ publisher: (inner) => webhooks.publisher(inner), done: async () => void (await webhooks.finish()) });
    },
  });
  simulator.setWebhook({ url: `${repoll.baseUrl}/repoll/${repollSecret}` });

  say(`unread-notifier, locally: dynalite at ${db.endpoint}`);
  say(`CommBox simulator at ${simulator.baseUrl}`);
  say(`re-poll endpoint at ${repoll.baseUrl}/repoll; the simulator calls it on each change`);
  if (receiver) say(fit(`signed webhooks go to a demo receiver at ${receiver.url}`));
  say(`watching ${ids.length} identities, polling every ${intervalMs / 1000} s while the simulator changes counts`);
  say(fit(`${destination}.`));
  for (const line of describePolicy(config.alertDefaults)) say(line);
  say(maxCycles === Infinity ? 'Ctrl-C to stop.' : `stopping after ${maxCycles} cycle(s); Ctrl-C stops sooner.`);

  const startedAt = Date.now();
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    simulator.stopActivity();
    await repoll.stop();
    await simulator.close();
    await receiver?.close();
    await db.close();
    client.destroy();
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    const median = [...repolled.delays].sort((a, b) => a - b)[Math.floor(repolled.delays.length / 2)];
    say(
      fit(
        `re-poll: ${repolled.events} of the events went out on the simulator's webhooks` +
          (median === undefined ? '' : `, a median ${median.toFixed(1)} s after the message`),
      ),
    );
    say(
      fit(
        `done: ${totals.cycles} cycle(s) in ${seconds} s, ${totals.polled} polls, ${totals.baselines} baselines, ` +
          `${totals.published} events and ${totals.alerts} alerts${topicArn ? ' to the topic' : options.json ? ' to stdout' : ' published'}, ` +
          `${totals.failed} failed`,
      ),
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say('');
      say('stopping');
      void stop();
    });
  }

  const runOnce = async (): Promise<void> => {
    totals.cycles += 1;
    const heldLines: string[] = [];
    // Each cycle delivers its events to the webhook as `poll` does, waiting for its in-run retries.
    const webhooks = webhookStores
      ? new LocalWebhookDelivery({
          stores: webhookStores,
          sender,
          observer: webhookObserver,
        })
      : undefined;
    await webhooks?.start();
    const cycleStartedAt = Date.now();
    const summary = await runPollCycle(
      {
        source,
        store,
        publisher: webhooks ? webhooks.publisher(publisher) : publisher,
        clock: Date.now,
        observer: {
          baselineRecorded: (id, state) => {
            totals.baselines += 1;
            say(describeBaseline(id, labels.get(id), state));
          },
          eventPublished: (event) => say(describeEvent(event, sinceMessage(event.identityId))),
          alertPublished: (notice) => say(describeAlert(notice)),
          // Said after the cycle's events: a decision is made before its change goes out.
          alertsHeld: (id, held) => heldLines.push(describeHeld(id, labels.get(id), held)),
          identityFailed: (id, error) => say(fit(`${time()}  ! identity ${id} failed this cycle: ${(error as Error).message}`)),
          publishFailed: (event, reason) =>
            say(fit(`${time()}  ! ${event.type === 'unread.alert' ? 'alert' : 'event'} ${event.eventId.slice(0, 8)} not published (${reason}); it stays pending`)),
        },
      },
      {
        concurrency: 8,
        claimLeaseMs: DEMO_CLAIM_LEASE_MS,
        alertDefaults: config.alertDefaults,
        // As `poll` does: no identity starts after half the lease, so the run's receipt can say when its claims end.
        shouldStartMore: () => Date.now() - cycleStartedAt < DEMO_CLAIM_LEASE_MS / 2,
        receipt: newRunReceipt(lastWriteOfBoundedRun(cycleStartedAt, DEMO_CLAIM_LEASE_MS / 2, config), { claimLeaseMs: DEMO_CLAIM_LEASE_MS }),
      },
    );
    for (const line of heldLines) say(line);
    const delivered = await webhooks?.finish();
    totals.polled += summary.polled;
    // Events of the cycle (those of re-polls are counted as they go out).
    totals.published += summary.published;
    totals.alerts += summary.alertsSent;
    totals.failed += summary.failed;
    say(describeCycle(totals.cycles, summary, delivered));
  };

  const loop = async (): Promise<void> => {
    if (stopping) return;
    try {
      await runOnce();
    } catch (error) {
      say(fit(`${time()}  ! cycle failed: ${(error as Error).message}`));
    }
    if (totals.cycles >= maxCycles) {
      await stop();
      return;
    }
    if (totals.cycles === 1) simulator.startActivity({ intervalMs: Math.max(500, intervalMs * 0.8), changeFraction: 0.4, seed });
    if (!stopping) timer = setTimeout(() => void loop(), intervalMs);
  };
  await loop();
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
});
