/**
 * `npm start`: the poller end to end on embedded defaults. dynalite in this process, the CommBox
 * simulator on a loopback port with scripted unread activity, and the real store, source, cycle
 * and publisher, polling on an interval and printing one line per baseline and per event, and
 * the alerts people would get on lines of their own (under a demo policy with a 20-second
 * cooldown, so a digest folding several changes shows within a minute; ALERT_* variables in the
 * environment override it).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { ConsolePublisher } from '../lambda/adapters/console-publisher';
import { DynamoDbIdentityRegistry } from '../lambda/adapters/dynamodb-identity-registry';
import { DynamoDbSnapshotStore } from '../lambda/adapters/dynamodb-snapshot-store';
import { createSource, createTokenProvider } from '../lambda/composition';
import { loadConfig } from '../lambda/config';
import type { AlertNotice } from '../lambda/core/alert-event';
import { describeAlertPolicy, resolveAlertPolicy } from '../lambda/core/alert-policy';
import { alertSmsText } from '../lambda/core/alert-text';
import { parseIdentityId } from '../lambda/core/identity-id';
import type { UnreadChangedEvent, UnreadState } from '../lambda/core/model';
import { runPollCycle, type AlertsHeld } from '../lambda/core/poll-cycle';
import { ALERT_ENV, ENV } from '../lambda/env-names';
import { startCommBoxSimulator } from '../local/commbox-simulator';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';

const LABELS = ['Support', 'Sales', 'Billing', 'VIP desk', 'Night shift', 'Returns', 'Partners', 'Onboarding'];

interface Options {
  interval: string;
  identities: string;
  cycles?: string;
  seed: string;
  json?: boolean;
}

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

function time(): string {
  return new Date().toISOString().slice(11, 19);
}

function who(id: string, label: string | undefined): string {
  return label ? `${id} (${label})` : id;
}

function describeEvent(event: UnreadChangedEvent): string {
  const arrow = event.direction === 'increased' ? '▲' : '▼';
  const delta = event.delta > 0 ? `+${event.delta}` : String(event.delta);
  const conversations = event.conversations.map((c) => `#${c.objectId} ${c.previous}→${c.current}`).join(', ');
  return `${time()}  ${arrow} ${event.direction.padEnd(9)} identity ${who(event.identityId, event.label)}: ${event.previousTotal} → ${event.total} unread (${delta})  [${conversations}]  eventId ${event.eventId.slice(0, 8)}`;
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

/** An alert, set apart from the change lines: what the SMS would say. */
function describeAlert(notice: AlertNotice): string {
  const { event } = notice;
  const folded = event.kind === 'digest' ? `  (${event.changes} change${event.changes === 1 ? '' : 's'} folded)` : '';
  return `${time()}      ✉ alert ${event.kind.padEnd(8)} ${alertSmsText(notice)}${folded}  eventId ${event.eventId.slice(0, 8)}`;
}

function describeHeld(id: string, label: string | undefined, held: AlertsHeld): string {
  const parts = [
    ...(held.deferred.length > 0 ? [`${held.deferred.join(', ')} held back`] : []),
    ...(held.dropped.length > 0 ? [`${held.dropped.join(', ')} dropped (read back down before it was due)`] : []),
  ];
  const due = held.dueAt !== undefined ? `; next alert due ${new Date(held.dueAt).toISOString().slice(11, 19)}` : '';
  return `${time()}      … alert   identity ${who(id, label)}: ${parts.join('; ')}${due}`;
}

function describeBaseline(id: string, label: string | undefined, state: UnreadState): string {
  return `${time()}  ● baseline  identity ${who(id, label)}: ${state.total} unread in ${state.conversations.length} conversation(s); nothing published`;
}

async function main(): Promise<void> {
  // Node 20 is this project's floor; keep the SDK's multi-line Node 22 notice out of the demo.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const options = new Command('npm start')
    .description('Run the poller locally on an embedded DynamoDB and the CommBox simulator')
    .option('--interval <seconds>', 'seconds between poll cycles', '5')
    .option('--identities <n>', 'identities to register', '5')
    .option('--cycles <n>', 'stop after this many cycles (default: until Ctrl-C)')
    .option('--seed <n>', 'seed of the simulated activity', '7')
    .option('--json', 'also print each event and alert as subscribers receive it (JSON)')
    .parse()
    .opts<Options>();
  const intervalMs = positive('interval', options.interval) * 1000;
  const count = Math.min(1000, Math.floor(positive('identities', options.identities)));
  const maxCycles = options.cycles === undefined ? Infinity : Math.floor(positive('cycles', options.cycles));
  const seed = Math.floor(positive('seed', options.seed));

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
    ...demoAlertEnv(process.env),
  });
  const source = createSource(config, createTokenProvider(config));
  const store = new DynamoDbSnapshotStore(client, tableName);
  const out = process.stdout;
  const publisher = new ConsolePublisher(options.json ? out : { write: () => true });

  out.write(
    `unread-notifier, locally: dynalite at ${db.endpoint}, CommBox simulator at ${simulator.baseUrl}\n` +
      `watching ${ids.length} identities, polling every ${intervalMs / 1000} s; the simulator changes unread counts as it goes. Ctrl-C to stop.\n` +
      `alert policy: ${describeAlertPolicy(resolveAlertPolicy({}, config.alertDefaults))
        .map((field) => `${field.field} ${String(field.value)}`)
        .join(', ')} (✉ lines: what people get; … lines: alerts held back)\n`,
  );

  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    simulator.stopActivity();
    await simulator.close();
    await db.close();
    client.destroy();
  };
  process.once('SIGINT', () => {
    out.write('\nstopping\n');
    void stop();
  });

  let cycle = 0;
  const runOnce = async (): Promise<void> => {
    cycle += 1;
    const heldLines: string[] = [];
    const summary = await runPollCycle(
      {
        source,
        store,
        publisher,
        clock: Date.now,
        observer: {
          baselineRecorded: (id, state) => out.write(`${describeBaseline(id, labels.get(id), state)}\n`),
          eventPublished: (event) => out.write(`${describeEvent(event)}\n`),
          alertPublished: (notice) => out.write(`${describeAlert(notice)}\n`),
          // Said after the cycle's events: a decision is made before its change goes out.
          alertsHeld: (id, held) => heldLines.push(describeHeld(id, labels.get(id), held)),
          identityFailed: (id, error) => out.write(`${time()}  ! identity ${id} failed this cycle: ${(error as Error).message}\n`),
          publishFailed: (event, reason) => out.write(`${time()}  ! event ${event.eventId} not published (${reason}); it stays pending\n`),
        },
      },
      { concurrency: 8, claimLeaseMs: 60_000, alertDefaults: config.alertDefaults },
    );
    for (const line of heldLines) out.write(`${line}\n`);
    out.write(
      `${time()}  cycle ${cycle}: polled ${summary.polled}/${summary.identities}, ${summary.changed} changed, ${summary.published} published, ${summary.alertsSent} alerts sent, ${summary.failed} failed in ${summary.durationMs} ms\n`,
    );
  };

  const loop = async (): Promise<void> => {
    if (stopping) return;
    try {
      await runOnce();
    } catch (error) {
      out.write(`${time()}  ! cycle failed: ${(error as Error).message}\n`);
    }
    if (cycle >= maxCycles) {
      await stop();
      return;
    }
    if (cycle === 1) simulator.startActivity({ intervalMs: Math.max(500, intervalMs * 0.8), changeFraction: 0.4, seed });
    if (!stopping) timer = setTimeout(() => void loop(), intervalMs);
  };
  await loop();
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
