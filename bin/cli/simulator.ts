import type { Command } from 'commander';
import { ENV } from '../../lambda/env-names';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { UsageError, type CliIo } from './io';

/** The simulator's port unless --port says otherwise (dynalite's usual one is 8000). */
export const DEFAULT_SIMULATOR_PORT = 8001;
const DEFAULT_IDENTITIES = 5;
const MAX_IDENTITIES = 100_000;
const FIRST_ID = 558355n;
/** How often the simulated unread counts change, and what share of the identities each time. */
const ACTIVITY = { intervalMs: 3000, changeFraction: 0.2 } as const;

export interface SimulatorFlags {
  readonly port?: string;
  readonly token?: string;
  readonly identities?: string;
}

export function registerSimulatorCommand(program: Command, io: CliIo): void {
  program
    .command('simulator')
    .description('run the bundled CommBox simulator on 127.0.0.1 until Ctrl-C, to try poll without CommBox')
    .option('--port <n>', `port on 127.0.0.1, 0 for any free one (default ${DEFAULT_SIMULATOR_PORT})`)
    .option('--token <token>', 'the bearer token it accepts (default: a random one)')
    .option('--identities <n>', `identities with conversations from ${FIRST_ID} on; any other id is made up when first asked for (default ${DEFAULT_IDENTITIES})`)
    .action((flags: SimulatorFlags) => runSimulator(io, flags));
}

interface SimulatorSettings {
  readonly port: number;
  readonly token?: string;
  readonly identities: number;
}

export function parseSimulatorFlags(flags: SimulatorFlags): SimulatorSettings {
  const port = flags.port === undefined ? DEFAULT_SIMULATOR_PORT : integerIn('--port', flags.port, 0, 65_535);
  const identities = flags.identities === undefined ? DEFAULT_IDENTITIES : integerIn('--identities', flags.identities, 0, MAX_IDENTITIES);
  const token = flags.token?.trim();
  // Printed in an `export` line: characters a shell takes literally, and what API_TOKEN accepts.
  if (token !== undefined && !/^[A-Za-z0-9._~+/=-]{1,256}$/.test(token)) {
    throw new UsageError('--token must be 1-256 characters of letters, digits and . _ ~ + / = -');
  }
  return { port, identities, ...(token ? { token } : {}) };
}

/** Starts the simulator, prints how to point the CLI at it, and stops it on SIGINT or SIGTERM. */
export async function runSimulator(io: CliIo, flags: SimulatorFlags): Promise<void> {
  const settings = parseSimulatorFlags(flags);
  let simulator: CommBoxSimulator;
  try {
    simulator = await startCommBoxSimulator({
      port: settings.port,
      ...(settings.token ? { token: settings.token } : {}),
      seed: 7,
      latencyMs: 20,
      jitterMs: 15,
      generateUnknownIdentities: true,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${settings.port} on 127.0.0.1 is in use; pick another with --port (0 for any free one)`);
    }
    throw error;
  }
  const untilStopped = (io.untilStopped ?? processSignal)();
  const ids = simulator.world.populate(settings.identities, { firstId: FIRST_ID, maxConversations: 4 });
  simulator.startActivity({ ...ACTIVITY, seed: 7 });

  io.stdout.write(`export ${ENV.apiBaseUrl}=${simulator.baseUrl} ${ENV.apiToken}=${simulator.token}\n`);
  const range = ids.length === 0 ? '' : ids.length === 1 ? `identity ${ids[0]} has` : `identities ${ids[0]}-${ids[ids.length - 1]} have`;
  io.stderr.write(
    `CommBox simulator on ${simulator.baseUrl}, token ${simulator.token}\n` +
      `${range ? `${range} conversations; ` : ''}any other id is made up when first polled; ` +
      `unread counts change every ${ACTIVITY.intervalMs / 1000} s. Ctrl-C to stop.\n`,
  );
  const reason = await untilStopped;
  await simulator.close();
  io.stderr.write(`simulator stopped (${reason})\n`);
}

/** The first SIGINT or SIGTERM; the handlers are removed once it came. */
function processSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function integerIn(flag: string, raw: string, min: number, max: number): number {
  const text = raw.trim();
  if (!/^\d{1,6}$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return Number(text);
}
