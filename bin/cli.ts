import { runCli } from './cli/program';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`unread-notifier: error: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
