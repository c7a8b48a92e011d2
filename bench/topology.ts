import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWorker, type Service } from './rpc';
import { dynamoDbService, pollerService, upstreamService, type DynamoDbService, type PollerService, type UpstreamService } from './services';

export interface Part<S> {
  readonly service: S;
  stop(): Promise<void>;
}

/** Where the parts of a run live: each in a child process (the benchmark) or all in this one (the smoke test). */
export interface Topology {
  readonly kind: 'processes' | 'in-process';
  readonly dynamoEndpoint: string;
  readonly dynamoDb: DynamoDbService;
  startUpstream(): Promise<Part<UpstreamService>>;
  startPoller(): Promise<Part<PollerService>>;
  close(): Promise<void>;
}

export const DEFAULT_PROFILE_DIR = path.join(tmpdir(), 'unread-notifier-bench-profiles');

async function forked<S extends Service>(entry: string): Promise<Part<S>> {
  const worker = await startWorker<S>(path.join(__dirname, entry));
  return { service: worker.call, stop: () => worker.stop() };
}

/** dynalite, the simulator and the poller each in a process of their own. */
export async function forkedTopology(): Promise<Topology> {
  const dynamo = await forked<DynamoDbService>('dynamodb-process.ts');
  const dynamoEndpoint = await dynamo.service.start();
  return {
    kind: 'processes',
    dynamoEndpoint,
    dynamoDb: dynamo.service,
    startUpstream: () => forked<UpstreamService>('upstream-process.ts'),
    startPoller: () => forked<PollerService>('poller-process.ts'),
    async close() {
      await dynamo.service.close();
      await dynamo.stop();
    },
  };
}

/** Everything in this process; with `dynamoEndpoint`, an already running DynamoDB (jest's dynalite). */
export async function inProcessTopology(dynamoEndpoint?: string): Promise<Topology> {
  const dynamoDb = dynamoDbService();
  const endpoint = dynamoEndpoint ?? (await dynamoDb.start());
  return {
    kind: 'in-process',
    dynamoEndpoint: endpoint,
    dynamoDb,
    startUpstream: () => Promise.resolve({ service: upstreamService(), stop: () => Promise.resolve() }),
    startPoller: () => Promise.resolve({ service: pollerService(), stop: () => Promise.resolve() }),
    close: () => (dynamoEndpoint === undefined ? dynamoDb.close() : Promise.resolve()),
  };
}
