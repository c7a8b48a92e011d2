import 'aws-cdk-lib/testhelpers/jest-autoclean';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
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
});

test('the bundle stays within its budget of 600 KB (minified, the SDK clients bundled in, names kept)', () => {
  expect(statSync(bundle).size).toBeLessThan(600 * 1024);
});

/** Runs an ES module script in a fresh Node with the bundle's path as its first argument and the function's environment. */
function runWithBundle(script: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script, bundle, ...args], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      TABLE_NAME: SAMPLE_REFERENCE_VALUES.table,
      TOPIC_ARN: SAMPLE_REFERENCE_VALUES.topicArn,
      API_TOKEN_SECRET_ID: SAMPLE_REFERENCE_VALUES.secretArn,
      ...env,
    },
    encoding: 'utf8',
    // stderr is kept with the error if the script fails, and out of the test output if it does not.
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
}

test('Node imports the bundle and finds the handler the stack names', () => {
  const output = runWithBundle(`const m = await import(process.argv[1]); process.stdout.write(typeof m[process.argv[2]]);`, [exportName]);
  expect(output).toBe('function');
});

/** A loopback port nothing listens on: a client sent there is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('errors keep their class names in the bundle, as the Lambda runtime logs them (errorType)', async () => {
  // Two failing invocations of the real bundle: a payload the handler refuses, and a cycle that
  // aborts because the registry is unreachable (a closed loopback port; no AWS is called).
  const script = `
    const { handler } = await import(process.argv[1]);
    const context = { functionName: 'poller', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:poller',
      memoryLimitInMB: '256', awsRequestId: 'request', getRemainingTimeInMillis: () => 30000 };
    const errorTypes = [];
    for (const event of [{ segment: 5, totalSegments: 1 }, { segment: 0, totalSegments: 1 }]) {
      try { await handler(event, context); errorTypes.push('none'); } catch (error) { errorTypes.push(error.constructor.name); }
    }
    process.stdout.write('\\n' + JSON.stringify(errorTypes));`;
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const output = runWithBundle(script, [], {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ENDPOINT_URL_SNS: endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const [refused, aborted] = JSON.parse(output.trim().split('\n').at(-1)!) as [string, string];
  expect(refused).toBe('InvalidInvocationError');
  expect(['CycleAbortedError', 'CycleAbortedWithSummary']).toContain(aborted);
});

describe('the webhook dispatcher bundle', () => {
  type Described = FunctionResource & { Properties: { Description?: string } };
  const dispatcher = Object.values(template.Resources as Record<string, Described>).find(
    (resource) => resource.Type === 'AWS::Lambda::Function' && (resource.Properties.Description ?? '').includes('signed webhooks'),
  )!;
  const dispatcherBundle = path.join(assembly.directory, `asset.${dispatcher.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');

  test('is a module of its own within the same budget, and Node finds its handler', () => {
    expect(dispatcherBundle).not.toBe(bundle);
    expect(statSync(dispatcherBundle).size).toBeLessThan(600 * 1024);
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', 'const m = await import(process.argv[1]); process.stdout.write(typeof m.handler);', dispatcherBundle], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        TABLE_NAME: SAMPLE_REFERENCE_VALUES.table,
        WEBHOOK_DELIVERY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Bundled-WebhooksDeliveryQueue-1AB',
        WEBHOOK_DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Bundled-WebhooksDeadLetters-2CD',
      },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    expect(output).toBe('function');
  });
});
