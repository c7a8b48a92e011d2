import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdentityRegistry } from '../lambda/adapters/dynamodb-identity-registry';
import { CountingPublisher } from './counting-publisher';
import { localDynamoDbClient, recordCapacity, type CapacityUnits } from './poller';

export interface NaiveOptions {
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly baseUrl: string;
  readonly token: string;
  readonly ids: readonly string[];
}

export interface NaiveMeasurement {
  readonly identities: number;
  readonly durationMs: number;
  readonly identitiesPerSecond: number;
  readonly dynamodb: { readonly GetItem: number; readonly PutItem: number };
  readonly capacity: CapacityUnits;
  readonly upstreamRequests: number;
  readonly snsRequests: number;
  readonly snsBilledPublishes: number;
  /** CPU time of this process during the run (the loop runs alone in it). */
  readonly cpuMs: number;
}

/**
 * The naive sequential reference the benchmark compares against, kept here and nowhere else:
 * for each identity in turn one GetItem (its stored counts), one `fetch` of the CommBox objects,
 * one PutItem (the new counts) and one SNS Publish (one message per identity) — no concurrency,
 * no batching, no skipping of unchanged identities. Same simulator, same dynalite, same run.
 */
export async function runNaiveReference(options: NaiveOptions): Promise<NaiveMeasurement> {
  const client = localDynamoDbClient(options.dynamoEndpoint);
  await new DynamoDbIdentityRegistry(client, options.tableName).ensureReady('plain');
  const capacity = recordCapacity(client);
  const publisher = new CountingPublisher();
  const counts = { GetItem: 0, PutItem: 0, upstream: 0 };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (const id of options.ids) {
    counts.GetItem += 1;
    const stored = await client.send(new GetItemCommand({ TableName: options.tableName, Key: { identityId: { S: id } } }));
    counts.upstream += 1;
    const response = await fetch(`${options.baseUrl}/v2/users/identities/${id}/objects`, {
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
    });
    const body = (await response.json()) as { totalUnreadChatMessages?: number; data?: { objectId?: number; unreadMessages?: number }[] };
    const total = body.totalUnreadChatMessages ?? 0;
    const conversations = (body.data ?? []).map((object) => `${object.objectId}:${object.unreadMessages ?? 0}`).join(';');
    counts.PutItem += 1;
    await client.send(
      new PutItemCommand({
        TableName: options.tableName,
        Item: { identityId: { S: id }, total: { N: String(total) }, convs: { S: conversations } },
      }),
    );
    await publisher.publish(JSON.stringify({ identityId: id, previousTotal: Number(stored.Item?.total?.N ?? 0), total }));
  }
  const durationMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  client.destroy();
  return {
    identities: options.ids.length,
    durationMs,
    identitiesPerSecond: options.ids.length / (durationMs / 1000),
    dynamodb: { GetItem: counts.GetItem, PutItem: counts.PutItem },
    capacity: capacity.units(),
    upstreamRequests: counts.upstream,
    snsRequests: publisher.calls,
    snsBilledPublishes: publisher.billedPublishes,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}
