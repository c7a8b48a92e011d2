import { readFile } from 'node:fs/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { DynamoDbIdentityRegistry } from '../../lambda/adapters/dynamodb-identity-registry';
import { MalformedItemError } from '../../lambda/adapters/dynamodb-item-codec';
import type { Config } from '../../lambda/config';
import { parseIdentityId, type IdentityId } from '../../lambda/core/identity-id';
import { stringifyWithNumericIds } from '../../lambda/core/json-with-ids';
import { formatAlertPolicyOverrides } from '../../lambda/core/alert-policy';
import type { CycleEnd, IdentityRecord, ReadableRegistration, Registration, RegistrationFields } from '../../lambda/core/model';
import { runPool } from '../../lambda/core/worker-pool';
import { UsageError, type CliIo } from './io';
import { ProgressBar } from './progress';
import { alertDetails, alertRows } from './alert-commands';
import { fieldsFromFlags, withRegistrationFlags, type RegistrationFlags } from './registration-fields';
import { formatRegistryFile, parseRegistryFile, type RegistryFormat } from './registry-file';

/**
 * Conditional writes in flight at once. Each is one small request, so a big import is bound by
 * the store's latency: enough in flight to hide it, not so many that a local dynalite (one
 * process) spends its time juggling them. The figures are in docs/operations.md.
 */
export const WRITES_IN_FLIGHT = 32;
/** Ids a message names before it says how many more there are. */
const IDS_SHOWN = 10;
/** JSON keys whose values are ids, written as JSON numbers with every digit. */
const ID_KEYS = new Set(['identityId', 'objectId', 'streamId']);

/** `identities add|remove|import|export|set|show|list`, on the program's global flags. */
export function addIdentitiesCommands(program: Command, config: () => Config, io: CliIo): void {
  const identities = program.command('identities').description('manage the identities to watch');
  withRegistrationFlags(
    identities
      .command('add <id...>')
      .description('register identities; one already registered is left as it is'),
  ).action((ids: string[], flags: RegistrationFlags) => addCommand(config(), io, ids, flags));
  identities
    .command('remove <id...>')
    .description('stop watching identities (and drop what is stored for them)')
    .option('--if-exists', 'skip ids that are not registered instead of refusing the command')
    .action((ids: string[], opts: { ifExists?: boolean }) => removeCommand(config(), io, ids, opts.ifExists === true));
  identities
    .command('import <file>')
    .description("register the identities of a CSV (id[,label]) or JSON-lines file ('-': stdin); those already registered are left as they are")
    .action((file: string) => importCommand(config(), io, file));
  identities
    .command('export')
    .description('write the registry as CSV (or JSON lines), as import reads it')
    .option('--json', 'JSON lines instead of CSV')
    .action((opts: { json?: boolean }) => exportCommand(config(), io, opts.json === true ? 'jsonl' : 'csv'));
  withRegistrationFlags(
    identities
      .command('set <id>')
      .description('change the given fields of a registered identity; the others stay as they are'),
    { allowDefault: true },
  ).action((id: string, flags: RegistrationFlags) => setCommand(config(), io, id, flags));
  identities
    .command('show <id>')
    .description('everything stored for one identity, and when the last cycle ended')
    .option('--json', 'print one JSON object')
    .action((id: string, opts: { json?: boolean }) => showCommand(config(), io, id, opts.json === true));
  identities
    .command('list')
    .description('list the registered identities')
    .option('--json', 'print one JSON array')
    .action((opts: { json?: boolean }) => listCommand(config(), io, opts.json === true));
}

function registryOf(config: Config): DynamoDbIdentityRegistry {
  return new DynamoDbIdentityRegistry(new DynamoDBClient({}), config.tableName);
}

/** Ids are checked before any request, so a refused command changes nothing. */
export function parseId(raw: string): IdentityId {
  try {
    return parseIdentityId(raw);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Every id checked, the first bad one refused; each id once, in the order given. */
function parseIds(raws: readonly string[]): IdentityId[] {
  return [...new Set(raws.map(parseId))];
}

export function notRegistered(ids: readonly string[], table: string): string {
  const shown = ids.slice(0, IDS_SHOWN).join(', ') + (ids.length > IDS_SHOWN ? `, … (${ids.length} in all)` : '');
  return ids.length === 1 ? `identity ${shown} is not registered in ${table}` : `identities ${shown} are not registered in ${table}`;
}

interface WriteRun<R> {
  /** Per item, in order; undefined for an item not written (the run stopped first). */
  readonly results: readonly (R | undefined)[];
  /** The first error, after which no more writes started. */
  readonly error?: unknown;
}

/**
 * One conditional write per item, WRITES_IN_FLIGHT at once, with a progress bar on a terminal.
 * The first error (an unreachable store, a missing table) stops new writes; those in flight end.
 */
async function writeAll<T, R>(io: CliIo, items: readonly T[], write: (item: T) => Promise<R>): Promise<WriteRun<R>> {
  const results: (R | undefined)[] = new Array<R | undefined>(items.length).fill(undefined);
  const progress = new ProgressBar(io.stderr, items.length, 'ids');
  const indexed = items.map((item, index) => ({ item, index }));
  let done = 0;
  let failure: { error: unknown } | undefined;
  await runPool(
    indexed,
    WRITES_IN_FLIGHT,
    async ({ item, index }) => {
      try {
        results[index] = await write(item);
      } catch (error) {
        failure ??= { error };
      }
      done += 1;
      progress.update(done);
    },
    () => failure === undefined,
  );
  progress.clear();
  return { results, ...(failure ? { error: failure.error } : {}) };
}

/** Says how much was left undone, then fails with the error that stopped the run. */
function stopIfFailed(io: CliIo, run: WriteRun<unknown>, noun: string): void {
  if (!('error' in run)) return;
  const undone = run.results.filter((r) => r === undefined).length;
  if (undone < run.results.length) io.stderr.write(`stopped: ${undone} of ${run.results.length} ${noun} were not written\n`);
  throw run.error;
}

export async function addCommand(config: Config, io: CliIo, rawIds: readonly string[], flags: RegistrationFlags): Promise<void> {
  const ids = parseIds(rawIds);
  const fields = fieldsFromFlags(flags);
  const registry = registryOf(config);
  const run = await writeAll(io, ids, (id) => registry.register(id, fields));
  const policy = fields.alertPolicy ? describeFields({ alertPolicy: fields.alertPolicy }) : '';
  const suffix = (fields.label ? ` (${fields.label})` : '') + (policy ? `, alert policy: ${policy}` : '');
  let added = 0;
  let there = 0;
  const lines = ids.flatMap((id, i) => {
    const outcome = run.results[i];
    if (outcome === 'added') added += 1;
    if (outcome === 'already-there') there += 1;
    if (outcome === undefined) return [];
    return outcome === 'added' ? [`added identity ${id}${suffix}\n`] : [`identity ${id} already there, left unchanged\n`];
  });
  io.stdout.write(lines.join(''));
  if (ids.length > 1) io.stdout.write(`${added} added, ${there} already there\n`);
  stopIfFailed(io, run, 'ids');
}

export async function removeCommand(config: Config, io: CliIo, rawIds: readonly string[], ifExists: boolean): Promise<void> {
  const ids = parseIds(rawIds);
  const registry = registryOf(config);
  if (!ifExists) {
    const registered = await registry.registeredAmong(ids);
    const missing = ids.filter((id) => !registered.has(id));
    if (missing.length > 0) throw new UsageError(`${notRegistered(missing, config.tableName)}; nothing removed (--if-exists skips ids that are not registered)`);
  }
  const run = await writeAll(io, ids, (id) => registry.unregister(id));
  const lines = ids.flatMap((id, i) => {
    const removed = run.results[i];
    if (removed === undefined) return [];
    return removed ? [`removed identity ${id}\n`] : [`identity ${id} was not registered\n`];
  });
  io.stdout.write(lines.join(''));
  if (ids.length > 1) {
    const removed = run.results.filter((r) => r === true).length;
    io.stdout.write(`${removed} removed, ${run.results.filter((r) => r === false).length} were not registered\n`);
  }
  stopIfFailed(io, run, 'ids');
}

/**
 * Every line is checked first; the refused ones are named and the others written, each by a
 * conditional put that leaves an identity already registered as it is.
 */
export async function importCommand(config: Config, io: CliIo, file: string): Promise<void> {
  const parsed = parseRegistryFile(await readInput(io, file));
  for (const { line, reason } of parsed.refused) io.stderr.write(`line ${line}: ${reason}\n`);
  const registry = registryOf(config);
  const run = await writeAll(io, parsed.records, (record) => registry.register(record.id, record.fields));
  const added = run.results.filter((r) => r === 'added').length;
  const there = run.results.filter((r) => r === 'already-there').length;
  const refusedLines = parsed.refused.map((r) => r.line);
  io.stdout.write(
    `${added} added, ${there} already there, ${refusedLines.length} refused` + (refusedLines.length ? ` (${listLines(refusedLines)})` : '') + '\n',
  );
  stopIfFailed(io, run, 'ids');
  if (refusedLines.length > 0) {
    throw new Error(`${refusedLines.length} line(s) refused (${listLines(refusedLines)}); the other lines were written`);
  }
}

function listLines(lines: readonly number[]): string {
  const shown = lines.slice(0, IDS_SHOWN).join(', ');
  return `line${lines.length > 1 ? 's' : ''} ${shown}${lines.length > IDS_SHOWN ? `, … (${lines.length} in all)` : ''}`;
}

async function readInput(io: CliIo, file: string): Promise<string> {
  if (file === '-') {
    const decoder = new TextDecoder();
    let text = '';
    const input: AsyncIterable<string | Uint8Array> = io.stdin ?? (process.stdin as AsyncIterable<Uint8Array>);
    for await (const chunk of input) text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    return text + decoder.decode();
  }
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (error as Error).message}`);
  }
}

/** The registry in import's own format; an item that cannot be read is named and fails the export (exit 1) after the others. */
export async function exportCommand(config: Config, io: CliIo, format: RegistryFormat): Promise<void> {
  const registrations = await registryOf(config).list();
  const readable = registrations.filter((r): r is ReadableRegistration => r.broken === undefined);
  io.stdout.write(
    formatRegistryFile(
      format,
      readable.map((r) => ({ id: r.id, fields: { ...(r.label !== undefined ? { label: r.label } : {}), ...(r.alertPolicy ? { alertPolicy: r.alertPolicy } : {}) } })),
    ),
  );
  const broken = registrations.filter((r) => r.broken !== undefined);
  for (const r of broken) io.stderr.write(`not exported: item ${JSON.stringify(r.id)} cannot be read (${r.broken})\n`);
  if (broken.length > 0) throw new Error(`${broken.length} item(s) could not be read and are not in the export`);
}

export async function setCommand(config: Config, io: CliIo, rawId: string, flags: RegistrationFlags): Promise<void> {
  const id = parseId(rawId);
  const fields = fieldsFromFlags(flags, { allowDefault: true });
  if (Object.keys(fields).length === 0) throw new UsageError('nothing to set: give --label or an alert policy flag (see identities set --help)');
  if (!(await registryOf(config).update(id, fields))) throw new UsageError(`${notRegistered([id], config.tableName)}; nothing changed`);
  io.stdout.write(`updated identity ${id}: ${describeFields(fields)}\n`);
}

/** `label "Support", cooldown 5m, quietHours default`: the fields as the flags write them. */
function describeFields(fields: RegistrationFields): string {
  return [
    ...(fields.label !== undefined ? [`label ${JSON.stringify(fields.label)}`] : []),
    ...Object.entries(fields.alertPolicy ? formatAlertPolicyOverrides(fields.alertPolicy) : {}).map(([key, value]) => `${key} ${String(value)}`),
    ...(fields.alertPolicyToDefault ?? []).map((key) => `${key} default`),
  ].join(', ');
}

export async function showCommand(config: Config, io: CliIo, rawId: string, json: boolean): Promise<void> {
  const id = parseId(rawId);
  const registry = registryOf(config);
  const [record, cycleEnds] = await Promise.all([
    registry.get(id).catch((error: unknown) => {
      if (error instanceof MalformedItemError) throw new Error(`identity ${id} is registered but its item cannot be read: ${error.message}`);
      throw error;
    }),
    registry.cycleEnds(),
  ]);
  if (!record) throw new UsageError(notRegistered([id], config.tableName));
  const now = Date.now();
  const details = { ...identityDetails(record, cycleEnds, config.failureStreakThreshold), ...alertDetails(record, config.alertDefaults, now) };
  io.stdout.write(json ? `${stringifyWithNumericIds(details, ID_KEYS)}\n` : showText(details) + alertRows(details, now).map(showRow).join(''));
}

/** What `show` prints, as one JSON-ready object. */
function identityDetails(record: IdentityRecord, cycleEnds: readonly CycleEnd[], failingFrom: number) {
  return {
    identityId: record.id,
    label: record.label ?? null,
    registeredAt: record.registeredAt,
    snapshot: record.snapshot
      ? {
          total: record.snapshot.state.total,
          conversations: record.snapshot.state.conversations.map((c) => ({ objectId: c.objectId, streamId: c.streamId, unread: c.unread })),
          version: record.snapshot.version,
        }
      : null,
    lastChangedAt: record.snapshot?.changedAt ?? null,
    lastCycleEndedAt: cycleEnds[0]?.endedAt ?? null,
    cycleEnds: cycleEnds.map((end) => ({ segment: segmentName(end), endedAt: end.endedAt })),
    pendingEvents: (record.outbox ?? []).map((entry) => {
      // 0: a refused publish released it, and the next cycle sends it first.
      const claimedUntil = entry.claimUntil > 0 ? new Date(entry.claimUntil).toISOString() : null;
      if (entry.kind === 'change') {
        const e = entry.event;
        return { eventId: e.eventId, type: e.type, previousTotal: e.previousTotal, total: e.total, observedAt: e.observedAt, claimedUntil };
      }
      const e = entry.notice.event;
      return { eventId: e.eventId, type: e.type, kind: e.kind, previousTotal: e.lastAlertTotal, total: e.total, observedAt: e.observedAt, claimedUntil };
    }),
    failureStreak: record.failureStreak,
    failing: record.failureStreak >= failingFrom,
    notFound: record.notFound,
  };
}

type IdentityDetails = ReturnType<typeof identityDetails>;

function segmentName(end: CycleEnd): string {
  return end.segment ? `${end.segment.segment}/${end.segment.totalSegments}` : 'all';
}

function showText(d: IdentityDetails): string {
  const rows: [string, string][] = [
    ['identity', d.identityId],
    ['label', d.label ?? '(none)'],
    ['registered', d.registeredAt],
  ];
  if (d.snapshot) {
    const s = d.snapshot;
    rows.push(['snapshot', `${s.total} unread in ${s.conversations.length} conversation(s) (version ${s.version})`]);
    for (const c of s.conversations) rows.push(['', `conversation ${c.objectId} (stream ${c.streamId}): ${c.unread} unread`]);
    rows.push(['last changed', d.lastChangedAt ?? 'not recorded (stored by an older version)']);
  } else {
    rows.push(['snapshot', 'none yet: the next poll records a baseline'], ['last changed', 'never']);
  }
  const [latest, ...others] = d.cycleEnds;
  rows.push([
    'last cycle',
    latest
      ? `ended ${latest.endedAt} (${latest.segment === 'all' ? 'whole table' : `segment ${latest.segment}`})` +
        (others.length ? `; ${others.length} other segment(s), the oldest ended ${others.at(-1)?.endedAt}` : '')
      : 'none has ended yet',
  ]);
  if (d.pendingEvents.length === 0) rows.push(['pending', 'none']);
  for (const e of d.pendingEvents) {
    rows.push([
      'pending',
      `${'kind' in e ? `${e.kind} alert` : 'event'} ${e.eventId} (${e.previousTotal} → ${e.total} unread, observed ${e.observedAt}), ` +
        (e.claimedUntil ? `claimed until ${e.claimedUntil}` : 'sent again first by the next cycle'),
    ]);
  }
  rows.push([
    'failures',
    d.failureStreak === 0 ? 'none' : `${d.failureStreak} cycle(s) in a row${d.failing ? ' (failing: counted in FailingIdentities)' : ''}`,
  ]);
  rows.push(['not found', d.notFound ? 'yes: CommBox answered 404; it is still polled each cycle' : 'no']);
  return rows.map(showRow).join('');
}

function showRow([name, value]: [string, string]): string {
  return `${name.padEnd(14)}${value}\n`;
}

export async function listCommand(config: Config, io: CliIo, json: boolean): Promise<void> {
  const { registrations, cycleEnds } = await registryOf(config).listing();
  const lastCycleEndedAt = cycleEnds[0]?.endedAt ?? null;
  if (json) {
    const rows = registrations.map((r) => listRow(r, lastCycleEndedAt, config.failureStreakThreshold));
    io.stdout.write(`${stringifyWithNumericIds(rows, ID_KEYS)}\n`);
    return;
  }
  if (registrations.length === 0) {
    io.stdout.write(`no identities registered in ${config.tableName}\n`);
    return;
  }
  const lines: string[] = [];
  if (io.stdout.isTTY) lines.push('id\tlabel\tstate\n');
  for (const r of registrations) {
    if (r.broken !== undefined) {
      lines.push(`${r.id}\t\tbroken: ${r.broken}\n`);
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
    lines.push(`${r.id}\t${r.label ?? ''}\t${state}${streak}\n`);
  }
  io.stdout.write(lines.join(''));
}

function listRow(r: Registration, lastCycleEndedAt: string | null, failingFrom: number) {
  if (r.broken !== undefined) return { identityId: r.id, broken: r.broken };
  return {
    identityId: r.id,
    ...(r.label ? { label: r.label } : {}),
    registeredAt: r.registeredAt,
    total: r.total ?? null,
    lastChangedAt: r.lastChangedAt ?? null,
    lastCycleEndedAt,
    failureStreak: r.failureStreak,
    failing: r.failureStreak >= failingFrom,
    notFound: r.notFound,
  };
}
