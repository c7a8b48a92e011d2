import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  ConfigError,
  loadConfig,
  parseApiBaseUrl,
  parsePollConcurrency,
  parseTableName,
  parseTopicArn,
  type Config,
  type SettingParser,
} from '../../lambda/config';
import { ENV } from '../../lambda/env-names';
import { version } from '../../package.json';
import { initCommand, pollCommand, type PollFlags } from './commands';
import { addAlertCommands } from './alert-commands';
import { describeFailure } from './failure';
import { addIdentitiesCommands } from './identities-commands';
import type { CliIo } from './io';
import { DEFAULT_SERVE_INTERVAL_SECONDS, DEFAULT_SERVE_PORT, serveCommand, type ServeFlags } from './serve';
import { registerSimulatorCommand } from './simulator';
import { registerSubscriptionCommands } from './subscriptions';
import { registerWebhookCommands } from './webhooks-commands';

/** The global flags, as their parsers leave them. */
interface GlobalFlags {
  readonly table?: string;
  readonly apiBaseUrl?: URL;
  readonly topicArn?: string;
  readonly concurrency?: number;
}

function buildProgram(io: CliIo): Command {
  // Commander words a refused value "option '--x <v>' argument '<value>' is invalid. <message>";
  // the message alone is shown: it already names the flag, and the value may hold credentials.
  let refusal: string | undefined;
  /**
   * A flag for a setting that also has an environment variable: its value is checked at parse
   * time by the parser that checks the variable, and a refusal names the flag. The variable is
   * read by `loadConfig` from the injected environment (`Option.env()` reads `process.env`).
   */
  const setting = <T>(flags: string, description: string, variable: string, parse: SettingParser<T>): Option => {
    const option = new Option(flags, `${description} (env: ${variable})`);
    return option.argParser((raw: string): T => {
      try {
        return parse(raw.trim(), option.long ?? flags);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        refusal = error.message;
        throw new InvalidArgumentError(error.message);
      }
    });
  };
  const program = new Command('unread-notifier')
    .description('Watch CommBox user identities and publish an event when their unread counts change.')
    .addOption(setting('--table <name>', 'DynamoDB table', ENV.tableName, parseTableName))
    .addOption(setting('--api-base-url <url>', 'CommBox base URL', ENV.apiBaseUrl, parseApiBaseUrl))
    .addOption(setting('--topic-arn <arn>', 'SNS topic; without it events print as JSON lines', ENV.topicArn, parseTopicArn))
    .addOption(setting('--concurrency <n>', 'upstream requests in flight', ENV.pollConcurrency, parsePollConcurrency))
    .version(version, '--version', 'print the version')
    .exitOverride()
    .showSuggestionAfterError(false)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`unread-notifier: ${refusal !== undefined ? `error: ${refusal}` : text.split('\n')[0]}\n`),
    });
  /** Flags override the environment variable of the same meaning (CONTRACT.md, Configuration). */
  const config = (): Config => {
    const flags = program.opts<GlobalFlags>();
    return loadConfig(io.env, { tableName: flags.table, apiBaseUrl: flags.apiBaseUrl, topicArn: flags.topicArn, pollConcurrency: flags.concurrency });
  };

  program
    .command('init')
    .description('create the table if it does not exist (idempotent)')
    .action(() => initCommand(config(), io));

  addIdentitiesCommands(program, config, io);
  addAlertCommands(program, config, io);

  program
    .command('poll')
    .description('run one poll cycle over the registered identities (or one scan segment, or the given ids)')
    .option('--segment <n>', 'parallel-scan segment to poll (with --segments)')
    .option('--segments <m>', 'total parallel-scan segments')
    .option('--identity <id>', 'poll only this registered id (repeatable); moves no resume point', (id: string, ids: string[]) => [...ids, id], [])
    .option('--json', 'print the JSON summary line last')
    .action(async (opts: PollFlags) => {
      await pollCommand(config(), io, opts);
    });

  registerSubscriptionCommands(program, io, () => config().topicArn);
  registerWebhookCommands(program, config, io);
  registerSimulatorCommand(program, io);
  program
    .command('serve')
    .description('poll now and every interval, and serve POST /repoll and GET /health on 127.0.0.1 (needs REPOLL_SECRET)')
    .option('--port <n>', `port on 127.0.0.1; 0 for any free one (default ${DEFAULT_SERVE_PORT})`)
    .option('--interval <seconds>', `seconds between poll cycles (default ${DEFAULT_SERVE_INTERVAL_SECONDS})`)
    .action((opts: ServeFlags) => serveCommand(config(), io, opts));
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
    const failure = describeFailure(error);
    io.stderr.write(`unread-notifier: error: ${failure.message}\n`);
    return failure.exitCode;
  }
}
