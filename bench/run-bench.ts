/**
 * `npm run bench`: the poller against the bundled CommBox simulator and dynalite, each in a
 * process of its own. Prints the tables, the cost model and a verdict, then one JSON line (the
 * last line of stdout); exits 1 when a target is missed. See `npm run bench -- --help` and
 * docs/performance.md.
 */
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { measureBundle, type BundleMeasurement } from './bundle';
import { parseBenchOptions, USAGE, type BenchOptions } from './options';
import { formatProfile, summarizeProfile, type CpuProfile } from './profile-summary';
import { formatReport, summarize, verdict } from './report';
import { runScenario, type ScenarioResult } from './scenario';
import { stackInventory } from './stack-inventory';
import { DEFAULT_PROFILE_DIR, forkedTopology } from './topology';

// Node 20 is this project's floor; keep the SDK's multi-line Node 22 notice out of the report.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

async function main(options: BenchOptions): Promise<number> {
  const loadBefore = loadavg()[0] ?? 0;
  const profileFile = options.profile ? path.join(DEFAULT_PROFILE_DIR, `main-${Date.now()}.cpuprofile`) : undefined;
  const topology = await forkedTopology();
  let main: ScenarioResult;
  let rateLimited: ScenarioResult | undefined;
  try {
    main = await runScenario(
      topology,
      {
        name: 'main',
        identities: options.identities,
        latencyMs: options.latencyMs,
        jitterMs: options.jitterMs,
        concurrency: options.concurrency,
        ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
        seed: options.seed,
        cycles: options.cycles,
        changeFraction: options.changeFraction,
        naiveIdentities: options.naiveIdentities,
        ...(options.clientRequests > 0 ? { compareClients: { identities: options.clientRequests, rounds: 3 } } : {}),
        ...(profileFile ? { profileFile } : {}),
      },
      log,
    );
    if (options.rateLimitedIdentities > 0) {
      rateLimited = await runScenario(
        topology,
        {
          name: 'rate-limited',
          identities: options.rateLimitedIdentities,
          latencyMs: options.latencyMs,
          jitterMs: options.jitterMs,
          concurrency: options.concurrency,
          rateLimit: options.rateLimitedRate,
          seed: options.seed,
          cycles: 1,
          changeFraction: options.changeFraction,
        },
        log,
      );
    }
  } finally {
    await topology.close();
  }
  let bundle: BundleMeasurement | undefined;
  if (options.bundle) {
    log('bundling lambda/handler.ts as the stack does, and importing it');
    bundle = await measureBundle(options.quick ? 3 : 7);
  }
  log('synthesizing the default stack for the cost model');
  const stack = stackInventory();
  const summary = summarize(
    main,
    rateLimited,
    bundle,
    { node: process.version, cpus: cpus().length, loadAverage: [loadBefore, loadavg()[0] ?? 0] },
    { stack, latencyMs: options.costLatencyMs },
  );
  if (profileFile) {
    const profile = JSON.parse(await readFile(profileFile, 'utf8')) as CpuProfile;
    process.stdout.write(`${formatProfile(summarizeProfile(profile))}\n(${profileFile})\n\n`);
  }
  process.stdout.write(`${formatReport(summary, options.markdown)}\n\n${JSON.stringify(summary)}\n`);
  return verdict(summary).missed.length > 0 ? 1 : 0;
}

let options: BenchOptions | 'help';
try {
  options = parseBenchOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
  process.exit(2);
}
if (options === 'help') {
  process.stdout.write(`${USAGE}\n`);
} else {
  main(options).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
