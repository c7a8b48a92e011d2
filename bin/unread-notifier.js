#!/usr/bin/env node
'use strict';
// Node 20 is this project's supported floor; the SDK's multi-line notice about Node 22 would
// otherwise precede every command's output. Set the variable to 'false' to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// A plain JavaScript shim so `npx unread-notifier` runs on Node 20 without TypeScript at run time.
// `npm ci` builds dist/cli.js through the `prepare` script (`npm run build` does it by hand).
try {
  require.resolve('../dist/cli.js');
} catch {
  process.stderr.write("unread-notifier: error: dist/cli.js is missing; run 'npm run build' (npm ci does it)\n");
  process.exit(1);
}
require('../dist/cli.js');
