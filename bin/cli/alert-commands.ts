import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { DynamoDbIdentityRegistry } from '../../lambda/adapters/dynamodb-identity-registry';
import { MalformedItemError } from '../../lambda/adapters/dynamodb-item-codec';
import type { Config } from '../../lambda/config';
import { buildAlertNotice } from '../../lambda/core/alert-event';
import { describeAlertPolicy, resolveAlertPolicy, type AlertPolicy } from '../../lambda/core/alert-policy';
import { nextAlert, previewAlert } from '../../lambda/core/alert-preview';
import { alertEventToJson, fitAlert } from '../../lambda/core/alert-publication';
import { alertEmailText, alertSmsText, alertSubject } from '../../lambda/core/alert-text';
import { parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import type { IdentityRecord } from '../../lambda/core/model';
import { UsageError, type CliIo } from './io';

/**
 * The alert parts of the command line: `preview <id>`, and what `identities show` says of an
 * identity's alerts. Both read the identity's item only; nothing is written or sent.
 *
 * The defaults they apply are this process's (its ALERT_* variables, or the built-in ones), as
 * the cycle applies its own process's: run them with the function's ALERT_* values to see what
 * the deployed poller decides.
 */
export function addAlertCommands(program: Command, config: () => Config, io: CliIo, clock: () => number = Date.now): void {
  program
    .command('preview <id>')
    .description('print the Subject, SMS and email that the next alert for this identity would carry (nothing is sent)')
    .option('--json', 'print one JSON object: subject, sms, email, the event, and when it is due')
    .action((id: string, opts: { json?: boolean }) => previewCommand(config(), io, id, opts.json === true, clock()));
}

function parseId(raw: string): IdentityId {
  try {
    return parseIdentityId(raw);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** One identity's stored record; an unregistered id is refused (exit 2). */
async function recordOf(config: Config, id: IdentityId): Promise<IdentityRecord> {
  const registry = new DynamoDbIdentityRegistry(new DynamoDBClient({}), config.tableName);
  let record: IdentityRecord | undefined;
  try {
    record = await registry.get(id);
  } catch (error) {
    if (error instanceof MalformedItemError) throw new Error(`identity ${id} is registered but its item cannot be read: ${error.message}`);
    throw error;
  }
  if (!record) throw new UsageError(`identity ${id} is not registered in ${config.tableName}; nothing to preview`);
  return record;
}

export async function previewCommand(config: Config, io: CliIo, rawId: string, json: boolean, now: number): Promise<void> {
  const id = parseId(rawId);
  const record = await recordOf(config, id);
  const { policy } = resolveAlertPolicy(record.alertPolicy ?? {}, config.alertDefaults);
  if (!record.snapshot) {
    io.stdout.write(`identity ${id} has no snapshot yet: its first poll records a baseline, which never alerts; preview it after that\n`);
    return;
  }
  const preview = previewAlert({ policy, ...(record.alert ? { state: record.alert.state } : {}), current: record.snapshot.state, now });
  const { notice } = fitAlert(buildAlertNotice({ identityId: id, ...(record.label ? { label: record.label } : {}), alert: preview.alert, timeZone: policy.timeZone }));
  const texts = { subject: alertSubject(notice), sms: alertSmsText(notice), email: alertEmailText(notice) };
  const due = preview.sample ? undefined : nextAlert({ policy, ...(record.alert ? { state: record.alert.state } : {}), current: record.snapshot.state, now });
  if (json) {
    const event = JSON.parse(alertEventToJson(notice.event)) as unknown;
    io.stdout.write(`${JSON.stringify({ ...texts, sample: preview.sample, dueAt: due ? new Date(due.dueAt).toISOString() : null, event })}\n`);
    return;
  }
  const heading = preview.sample
    ? `No alert is owed or scheduled for identity ${id}; this is what a \`new\` alert for its stored snapshot would say:`
    : `The next alert for identity ${id} (${preview.alert.kind}), due ${describeDue(due?.dueAt, now)}:`;
  io.stdout.write(
    `${heading}\n\nSubject: ${texts.subject}\n\nSMS (${texts.sms.length} characters):\n${texts.sms}\n\nEmail:\n${texts.email}\n`,
  );
}

function describeDue(dueAt: number | undefined, now: number): string {
  if (dueAt === undefined || dueAt <= now) return 'now (at the next poll)';
  return `${new Date(dueAt).toISOString()} (the first poll at or after it)`;
}

/** The effective policy (which values are defaults) and the next due alert, for `identities show`. */
export function alertDetails(record: IdentityRecord, defaults: AlertPolicy, now: number) {
  const effective = resolveAlertPolicy(record.alertPolicy ?? {}, defaults);
  const next = record.snapshot
    ? nextAlert({ policy: effective.policy, ...(record.alert ? { state: record.alert.state } : {}), current: record.snapshot.state, now })
    : undefined;
  return {
    alertPolicy: Object.fromEntries(describeAlertPolicy(effective).map((field) => [field.field, { value: field.value, default: field.isDefault }])),
    nextAlert: next
      ? { kind: next.kind, dueAt: new Date(next.dueAt).toISOString(), total: next.alert.total, lastAlertTotal: next.alert.lastAlertTotal }
      : null,
  };
}

export type AlertDetails = ReturnType<typeof alertDetails>;

/** The rows `identities show` prints for `alertDetails`. */
export function alertRows(details: AlertDetails, now: number): [string, string][] {
  const fields = Object.entries(details.alertPolicy).map(([field, { value, default: isDefault }]) => `${field} ${String(value)}${isDefault ? ' (default)' : ''}`);
  const next = details.nextAlert;
  return [
    ['alert policy', fields.slice(0, 4).join(', ')],
    ['', fields.slice(4).join(', ')],
    [
      'next alert',
      next
        ? `${next.kind} (${next.lastAlertTotal} → ${next.total} unread), due ${Date.parse(next.dueAt) <= now ? 'at the next poll' : next.dueAt}`
        : 'none owed or scheduled',
    ],
  ];
}
