// Builds the CLI into one plain JavaScript file that Node 20 runs, so `npx unread-notifier`
// works right after `npm ci` without a TypeScript toolchain at run time.
import { build } from 'esbuild';

await build({
  entryPoints: ['bin/cli.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
