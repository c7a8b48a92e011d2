import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
/** The Lambda's entry (lib/poller.ts points the function at it). */
const ENTRY = path.join(ROOT, 'lambda', 'handler.ts');
/** The function's runtime, Node.js 24 (lib/house-nodejs-function.ts); CDK passes it as esbuild's target. */
const TARGET = 'node24';

/** The subset of the CDK's `BundlingOptions` that shapes the bundle. */
interface HouseBundling {
  readonly format?: string;
  readonly mainFields?: string[];
  readonly banner?: string;
  readonly minify?: boolean;
  readonly sourceMap?: boolean;
  readonly sourcesContent?: boolean;
  readonly externalModules?: string[];
}

/** What the house function uses if lib/ cannot be loaded (kept equal to HOUSE_BUNDLING). */
const MIRROR: HouseBundling = {
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: [],
};

export interface BundleMeasurement {
  /** Bytes of the minified index.mjs, from esbuild's metafile. */
  readonly bytes: number;
  readonly sourceMapBytes: number;
  /** Where the options came from: lib/'s HOUSE_BUNDLING, or the mirror above. */
  readonly options: 'HOUSE_BUNDLING' | 'mirror';
  /** Median time to import the bundle in a fresh `node --enable-source-maps` (as the function runs). */
  readonly importMs: number;
  readonly importMsRuns: readonly number[];
  /** The same without source maps enabled. */
  readonly importMsWithoutSourceMaps: number;
  /** The largest inputs, bytes in the output. */
  readonly largestInputs: readonly { readonly path: string; readonly bytes: number }[];
}

async function houseBundling(): Promise<{ options: HouseBundling; from: BundleMeasurement['options'] }> {
  try {
    const lib = (await import('../lib/house-nodejs-function.js')) as { HOUSE_BUNDLING?: HouseBundling };
    if (lib.HOUSE_BUNDLING) return { options: lib.HOUSE_BUNDLING, from: 'HOUSE_BUNDLING' };
  } catch {
    // lib/ mid-edit or aws-cdk-lib absent: the mirror is the same options.
  }
  return { options: MIRROR, from: 'mirror' };
}

/** esbuild's options as the CDK's NodejsFunction builds them from `BundlingOptions`. */
function esbuildOptions(house: HouseBundling, outfile: string): BuildOptions {
  return {
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    target: TARGET,
    format: house.format === 'esm' ? 'esm' : 'cjs',
    outfile,
    minify: house.minify ?? false,
    sourcemap: house.sourceMap ?? false,
    sourcesContent: house.sourcesContent ?? true,
    external: house.externalModules ?? ['@aws-sdk/*'],
    ...(house.mainFields ? { mainFields: house.mainFields } : {}),
    ...(house.banner ? { banner: { js: house.banner } } : {}),
    metafile: true,
    logLevel: 'silent',
  };
}

/** The module-scope configuration of the handler needs these to load (no AWS call is made). */
const HANDLER_ENV = {
  TABLE_NAME: 'unread-notifier-bench',
  TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:unread-notifier-bench',
  API_TOKEN_SECRET_ID: 'unread-notifier-bench-token',
  AWS_REGION: 'eu-west-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

async function importTime(file: string, nodeOptions: readonly string[]): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const { stdout } = await run(process.execPath, [...nodeOptions, '--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...HANDLER_ENV },
  });
  return Number(stdout);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Bundles the Lambda as the stack does, then imports it in fresh processes (one warm-up, then `runs`). */
export async function measureBundle(runs = 5): Promise<BundleMeasurement> {
  const { options, from } = await houseBundling();
  const dir = await mkdtemp(path.join(tmpdir(), 'unread-notifier-bundle-'));
  try {
    const outfile = path.join(dir, options.format === 'esm' ? 'index.mjs' : 'index.js');
    const result = await build(esbuildOptions(options, outfile));
    const outputs = result.metafile?.outputs ?? {};
    const entry = Object.entries(outputs).find(([name]) => !name.endsWith('.map'));
    const map = Object.entries(outputs).find(([name]) => name.endsWith('.map'));
    if (!entry) throw new Error('esbuild wrote no bundle');
    const largestInputs = Object.entries(entry[1].inputs)
      .map(([input, { bytesInOutput }]) => ({ path: input.replace(/^.*node_modules\//, ''), bytes: bytesInOutput }))
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 8);
    await importTime(outfile, ['--enable-source-maps']);
    const withMaps: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      withMaps.push(await importTime(outfile, ['--enable-source-maps']));
      without.push(await importTime(outfile, []));
    }
    return {
      bytes: entry[1].bytes,
      sourceMapBytes: map?.[1].bytes ?? 0,
      options: from,
      importMs: median(withMaps),
      importMsRuns: withMaps.map((ms) => Math.round(ms * 10) / 10),
      importMsWithoutSourceMaps: median(without),
      largestInputs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
