import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { UnreadNotifierStack } from '../../lib/unread-notifier-stack';
import { SAMPLE_REFERENCE_VALUES, testApp } from './fixtures';

// The one synth with bundling on: the local esbuild in node_modules bundles lambda/handler.ts,
// offline. CDK_DOCKER points at nothing, so any attempt to bundle in Docker fails the test.
const previousDocker = process.env.CDK_DOCKER;
process.env.CDK_DOCKER = '/nonexistent/docker-must-not-be-used';
afterAll(() => {
  if (previousDocker === undefined) delete process.env.CDK_DOCKER;
  else process.env.CDK_DOCKER = previousDocker;
});

/** Runs `fn` without CDK's "Bundling asset …" line on stderr; esbuild itself logs warnings only (HOUSE_BUNDLING). */
function quietly<T>(fn: () => T): T {
  const write = process.stderr.write.bind(process.stderr);
  const filtered = (chunk: string | Uint8Array, ...rest: never[]): boolean => (String(chunk).startsWith('Bundling asset ') ? true : write(chunk, ...rest));
  process.stderr.write = filtered;
  try {
    return fn();
  } finally {
    process.stderr.write = write;
  }
}

type FunctionResource = { Type: string; Properties: { Handler: string; Code: { S3Key: string } } };

const app = testApp({ bundling: true, cloudFormationValidation: false });
// Assets are bundled while the stack is built.
const stack = quietly(() => new UnreadNotifierStack(app, 'Bundled'));
const assembly = app.synth();
const template = assembly.getStackArtifact(stack.artifactId).template as { Resources: Record<string, FunctionResource> };
const fn = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Lambda::Function')!;
const [moduleName, exportName] = fn.Properties.Handler.split('.') as [string, string];
const assetDir = path.join(assembly.directory, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
const bundle = path.join(assetDir, `${moduleName}.mjs`);

test('the asset is one ES module named after the handler, with its source map', () => {
  expect(existsSync(bundle)).toBe(true);
  expect(existsSync(`${bundle}.map`)).toBe(true);
  const code = readFileSync(bundle, 'utf8');
  // The banner that gives bundled CommonJS dependencies a require().
  expect(code.startsWith("import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);")).toBe(true);
  expect(code).toMatch(new RegExp(`export\\s*\\{[^}]*\\bas ${exportName}\\b[^}]*\\}|export\\s*\\{[^}]*\\b${exportName}\\b[^}]*\\}`));
  // Minified, with the SDK bundled in: large but bounded.
  expect(statSync(bundle).size).toBeLessThan(3 * 1024 * 1024);
});

test('Node imports the bundle and finds the handler the stack names', () => {
  const script = `const m = await import(process.argv[1]); process.stdout.write(typeof m[process.argv[2]]);`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script, bundle, exportName], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      TABLE_NAME: SAMPLE_REFERENCE_VALUES.table,
      TOPIC_ARN: SAMPLE_REFERENCE_VALUES.topicArn,
      API_TOKEN_SECRET_ID: SAMPLE_REFERENCE_VALUES.secretArn,
    },
    encoding: 'utf8',
    // stderr is kept with the error if the import fails, and out of the test output if it does not.
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
  expect(output).toBe('function');
});
