import type { Context } from 'aws-lambda';
import { parseIdentityId } from '../../lambda/core/identity-id';
import type { CycleSummary } from '../../lambda/core/poll-cycle';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from './dynalite';

export type Handler = (event: unknown, context: Context) => Promise<CycleSummary>;

export const LAMBDA_CONTEXT = {
  getRemainingTimeInMillis: () => 50_000,
  functionName: 'unread-notifier-poller',
  awsRequestId: 'req-security',
} as unknown as Context;

export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:unread-notifier';
export const SECRET_ID = 'unread-notifier/commbox-token';

/** What the handler reads, pointed at the test dynalite (dummy credentials) and a local CommBox. */
export function handlerEnvironment(tableName: string, apiBaseUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    TABLE_NAME: tableName,
    API_TOKEN_SECRET_ID: SECRET_ID,
    API_BASE_URL: apiBaseUrl,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNALITE_ENDPOINT ?? '',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    ...overrides,
  };
}

/**
 * Loads the Lambda handler with `env` set first: it reads its configuration once, at module
 * load. Call once per test file (each file has its own module registry, and so its own
 * SDK classes for aws-sdk-client-mock to stub).
 */
export function loadHandler(env: Record<string, string>): Handler {
  Object.assign(process.env, env);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../lambda/handler') as { handler: Handler }).handler;
}

export interface HandlerWorld {
  readonly simulator: CommBoxSimulator;
  readonly handler: Handler;
  /** The registered identities, in id order. */
  readonly ids: readonly string[];
  /** Closes the simulator and gives back the environment as it was before. */
  close(): Promise<void>;
}

/**
 * A CommBox simulator that accepts `token`, a fresh table with `identities` of its identities
 * registered from `firstId` on, and the handler loaded against both (with `env` on top).
 * Call once per test file, after `mockClient(…)`.
 */
export async function handlerWorld(options: {
  readonly seed: number;
  readonly token: string;
  readonly identities: number;
  readonly firstId: number;
  readonly env?: Record<string, string>;
}): Promise<HandlerWorld> {
  const savedEnv = { ...process.env };
  const simulator = await startCommBoxSimulator({ seed: options.seed, token: options.token });
  const table = await createTestTable();
  const ids = simulator.world.populate(options.identities, { firstId: options.firstId });
  for (const id of ids) await table.registry.register(parseIdentityId(id));
  const handler = loadHandler(handlerEnvironment(table.tableName, simulator.baseUrl, { TOPIC_ARN, ...options.env }));
  return {
    simulator,
    handler,
    ids,
    close: async () => {
      await simulator.close();
      process.env = savedEnv;
    },
  };
}

/** Everything written to stdout and stderr while `run` runs (Powertools writes there, not to console). */
export async function captureOutput<T>(run: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; output: string }> {
  const chunks: string[] = [];
  const record = (chunk: unknown): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(record);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(record);
  try {
    const [result] = await Promise.allSettled([run()]);
    return { result: result as PromiseSettledResult<T>, output: chunks.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The JSON lines of captured output (Powertools logs and EMF metrics are one JSON object per line). */
export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The value of an EMF metric in the captured output, summed over the metric blobs. */
export function emfMetric(output: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of jsonLines(output)) {
    const aws = line._aws as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } | undefined;
    const declared = aws?.CloudWatchMetrics?.some((m) => m.Metrics?.some((metric) => metric.Name === name));
    const value = line[name];
    if (declared && typeof value === 'number') total = (total ?? 0) + value;
  }
  return total;
}
