import { runCli } from '../../bin/cli/program';
import type { HostResolver } from '../../lambda/adapters/http-webhook-sender';
import type { CliRun } from './cli-harness';
import { LoopbackOnlyGuard } from './loopback-guard';

/** Names never go to the real DNS in tests. */
export const noDns: HostResolver = (hostname) => Promise.reject(Object.assign(new Error(`no DNS in tests (${hostname})`), { code: 'ENOTFOUND' }));

/**
 * The CLI in-process, its webhook deliveries through the loopback-only guard (a socket to any
 * other address is stopped and recorded) and a resolver that never asks DNS.
 */
export function guardedCli(guard: LoopbackOnlyGuard = new LoopbackOnlyGuard()) {
  return async (args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, {
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: (chunk: string) => (stderr += chunk) },
      env: { ...process.env, ...env },
      webhookTransport: { agents: guard, resolve: noDns },
    });
    return { code, stdout, stderr };
  };
}
