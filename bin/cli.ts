import { describeFailure } from './cli/failure';
import { settleRegion } from './cli/local-run';
import { runCli } from './cli/program';

// A reader that stops early (`unread-notifier identities list | head -1`) closes the pipe: that
// is the reader's choice, not a failure, so the CLI stops quietly with exit code 0, as `head`'s
// writer would. Any other error of the standard streams leaves nothing to report it on: exit 1.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    process.exit(error.code === 'EPIPE' ? 0 : 1);
  });
}

settleRegion(process.env)
  .then(() => runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`unread-notifier: error: ${describeFailure(error).message}\n`);
      process.exitCode = 1;
    },
  );
