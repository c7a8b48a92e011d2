import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../../lambda/config';
import { CycleAbortedError } from '../../lambda/core/errors';
import { ENV } from '../../lambda/env-names';
import { addCommand, initCommand, listCommand, pollCommand, removeCommand } from './commands';
import { UsageError, type CliIo } from './io';

interface GlobalFlags {
  table?: string;
  apiBaseUrl?: string;
  topicArn?: string;
  concurrency?: string;
}

const FLAG_OF: Readonly<Record<keyof GlobalFlags, string>> = {
  table: ENV.tableName,
  apiBaseUrl: ENV.apiBaseUrl,
  topicArn: ENV.topicArn,
  concurrency: ENV.pollConcurrency,
};

/** Flags override the environment variable of the same meaning (CONTRACT.md, Configuration). */
function configFrom(io: CliIo, flags: GlobalFlags): Config {
  try {
    return loadFlagsAndEnv(io, flags);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Name what the user typed: a value given as a flag is reported under the flag's name.
    let message = error.message;
    for (const [flag, variable] of Object.entries(FLAG_OF)) {
      if (flags[flag as keyof GlobalFlags] !== undefined && message.startsWith(variable)) {
        message = `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}${message.slice(variable.length)}`;
      }
    }
    throw new ConfigError(message);
  }
}

function loadFlagsAndEnv(io: CliIo, flags: GlobalFlags): Config {
  return loadConfig({
    ...io.env,
    ...(flags.table !== undefined ? { [ENV.tableName]: flags.table } : {}),
    ...(flags.apiBaseUrl !== undefined ? { [ENV.apiBaseUrl]: flags.apiBaseUrl } : {}),
    ...(flags.topicArn !== undefined ? { [ENV.topicArn]: flags.topicArn } : {}),
    ...(flags.concurrency !== undefined ? { [ENV.pollConcurrency]: flags.concurrency } : {}),
  });
}

function buildProgram(io: CliIo): Command {
  const program = new Command('unread-notifier')
    .description('Watch CommBox user identities and publish an event when their unread counts change.')
    .option('--table <name>', `DynamoDB table (env ${ENV.tableName})`)
    .option('--api-base-url <url>', `CommBox base URL (env ${ENV.apiBaseUrl})`)
    .option('--topic-arn <arn>', `SNS topic; without it events print as JSON lines (env ${ENV.topicArn})`)
    .option('--concurrency <n>', `upstream requests in flight (env ${ENV.pollConcurrency})`)
    .exitOverride()
    .showSuggestionAfterError(false)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`unread-notifier: ${text.split('\n')[0]}\n`),
    });
  const config = (): Config => configFrom(io, program.opts<GlobalFlags>());

  program
    .command('init')
    .description('create the table if it does not exist (idempotent)')
    .action(() => initCommand(config(), io));

  const identities = program.command('identities').description('manage the identities to watch');
  identities
    .command('add <id>')
    .description('register an identity (or update its label)')
    .option('--label <text>', 'a readable name carried in its events')
    .action((id: string, opts: { label?: string }) => addCommand(config(), io, id, opts.label));
  identities
    .command('remove <id>')
    .description('stop watching an identity')
    .action((id: string) => removeCommand(config(), io, id));
  identities
    .command('list')
    .description('list the registered identities')
    .option('--json', 'print one JSON array')
    .action((opts: { json?: boolean }) => listCommand(config(), io, opts.json === true));

  program
    .command('poll')
    .description('run one poll cycle over the registered identities (or one scan segment)')
    .option('--segment <n>', 'parallel-scan segment to poll (with --segments)')
    .option('--segments <m>', 'total parallel-scan segments')
    .option('--json', 'print the JSON summary line last')
    .action(async (opts: { segment?: string; segments?: string; json?: boolean }) => {
      await pollCommand(config(), io, opts);
    });
  return program;
}

/** Runs the CLI and answers its exit code: 0 done, 1 failed or aborted, 2 refused input. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    io.stderr.write(`unread-notifier: error: ${oneLine(error)}\n`);
    return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof CycleAbortedError || error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').trim();
}
