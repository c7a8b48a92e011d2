import { Readable } from 'node:stream';
import { runCli } from '../../bin/cli/program';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliTerminal {
  /** What the command reads from stdin (`identities import -`). */
  readonly stdin?: string;
  /** Whether stdout and stderr are a terminal (headers, progress bars); a pipe by default. */
  readonly tty?: boolean;
}

/** Runs the CLI in-process with captured output; the SDK reads AWS_* from process.env as usual. */
export async function cli(args: string[], env: Record<string, string | undefined> = {}, terminal: CliTerminal = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (chunk: string) => (stdout += chunk), isTTY: terminal.tty === true },
    stderr: { write: (chunk: string) => (stderr += chunk), isTTY: terminal.tty === true },
    env: { ...process.env, ...env },
    stdin: Readable.from(terminal.stdin === undefined ? [] : [terminal.stdin]),
  });
  return { code, stdout, stderr };
}

/** Points the SDK at the test dynalite with dummy credentials, for the whole test file. */
export function useDynaliteEnvironment(): void {
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = process.env.DYNALITE_ENDPOINT;
    process.env.AWS_REGION = 'local';
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    delete process.env.AWS_PROFILE;
  });
  afterAll(() => {
    process.env = saved;
  });
}
