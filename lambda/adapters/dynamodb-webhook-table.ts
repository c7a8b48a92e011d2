import { ConditionalCheckFailedException, QueryCommand, ResourceNotFoundException, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableSetup } from '../core/ports';
import {
  isWebhookEventType,
  parseWebhookEndpointId,
  type WebhookEndpoint,
  type WebhookEndpointHealth,
  type WebhookEndpointId,
  type WebhookEndpointStatus,
} from '../core/webhook-endpoint';
import { WEBHOOKS_TABLE } from '../env-names';
import { ensureTable, type EnsureTableOptions } from './dynamodb-table-setup';

export type Item = Record<string, AttributeValue>;

/** Attribute names of an endpoint item. Readers ignore any other attribute; writers change attribute by attribute. */
export const ENDPOINT_ATTR = {
  url: 'url',
  events: 'events',
  identityIds: 'identityIds',
  createdAt: 'createdAt',
  status: 'status',
  disabledReason: 'disabledReason',
  disabledAt: 'disabledAt',
  consecutiveFailures: 'consecutiveFailures',
  failingSince: 'failingSince',
  deadLetters: 'deadLetters',
  lastSuccess: 'lastSuccess',
  /** In-flight leases: a map of slot token → lease end (epoch ms). */
  leases: 'leases',
  /** How many delivery log entries the endpoint has (the log is capped by it). */
  logCount: 'logCount',
} as const;

export class WebhooksTableMissingError extends Error {
  override readonly name = 'WebhooksTableMissingError';
}

export class MalformedWebhookItemError extends Error {
  override readonly name = 'MalformedWebhookItemError';
}

export function key(pk: string, sk: string): Item {
  return { [WEBHOOKS_TABLE.partitionKey]: { S: pk }, [WEBHOOKS_TABLE.sortKey]: { S: sk } };
}

export function endpointKey(id: WebhookEndpointId): Item {
  return key(WEBHOOKS_TABLE.endpointPartition, id);
}

/** The condition every write to an endpoint carries: it exists (a removed endpoint is never brought back). */
export const ENDPOINT_EXISTS = `attribute_exists(${WEBHOOKS_TABLE.sortKey})`;

/**
 * Creates the webhooks table when it is missing (`init`), as the stack makes it in AWS
 * (`stack`: deletion protection, KMS, point-in-time recovery) or plain in a local run.
 */
export function ensureWebhooksTable(client: DynamoDBClient, tableName: string, setup: TableSetup, options: EnsureTableOptions = {}): Promise<'created' | 'exists'> {
  return ensureTable(
    client,
    {
      tableName,
      attributeDefinitions: [
        { AttributeName: WEBHOOKS_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: WEBHOOKS_TABLE.sortKey, AttributeType: 'S' },
      ],
      keySchema: [
        { AttributeName: WEBHOOKS_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: WEBHOOKS_TABLE.sortKey, KeyType: 'RANGE' },
      ],
    },
    setup,
    options,
  );
}

/** Runs a call, naming the missing table and the fix when it does not exist. */
export async function guardTable<T>(tableName: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ResourceNotFoundException) {
      throw new WebhooksTableMissingError(`table ${tableName} does not exist: run 'unread-notifier init' first`, { cause: error });
    }
    throw error;
  }
}

/** Every item of one partition of the webhooks table (strongly consistent), page by page; with `keysOnly` just their keys. */
export async function readPartition(client: DynamoDBClient, tableName: string, partition: string, options: { keysOnly?: boolean } = {}): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await guardTable(tableName, () =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': WEBHOOKS_TABLE.partitionKey, ...(options.keysOnly ? { '#sk': WEBHOOKS_TABLE.sortKey } : {}) },
          ExpressionAttributeValues: { ':pk': { S: partition } },
          ConsistentRead: true,
          ...(options.keysOnly ? { ProjectionExpression: '#pk, #sk' } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      ),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** A conditional write on the webhooks table: true when it happened, false when its condition failed. */
export async function conditionalWrite(tableName: string, write: () => Promise<unknown>): Promise<boolean> {
  try {
    await guardTable(tableName, write);
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

function number(item: Item, name: string): number | undefined {
  const raw = item[name]?.N;
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new MalformedWebhookItemError(`attribute ${name} is not a number`);
  return value;
}

function strings(item: Item, name: string): string[] | undefined {
  const list = item[name]?.L;
  if (list === undefined) return undefined;
  return list.map((value) => {
    if (value.S === undefined) throw new MalformedWebhookItemError(`attribute ${name} holds a non-string`);
    return value.S;
  });
}

/** An endpoint item as the model; throws MalformedWebhookItemError naming the attribute, never its value. */
export function decodeEndpoint(item: Item): WebhookEndpoint {
  const rawId = item[WEBHOOKS_TABLE.sortKey]?.S ?? '';
  let id: WebhookEndpointId;
  try {
    id = parseWebhookEndpointId(rawId);
  } catch {
    throw new MalformedWebhookItemError('the endpoint id is malformed');
  }
  const url = item[ENDPOINT_ATTR.url]?.S;
  if (url === undefined) throw new MalformedWebhookItemError(`endpoint ${id}: attribute ${ENDPOINT_ATTR.url} is missing`);
  const events = (strings(item, ENDPOINT_ATTR.events) ?? []).filter(isWebhookEventType);
  if (events.length === 0) throw new MalformedWebhookItemError(`endpoint ${id}: attribute ${ENDPOINT_ATTR.events} names no known event type`);
  const identityIds = strings(item, ENDPOINT_ATTR.identityIds);
  const reason = item[ENDPOINT_ATTR.disabledReason]?.S;
  const status: WebhookEndpointStatus =
    item[ENDPOINT_ATTR.status]?.S === 'disabled'
      ? { state: 'disabled', reason: reason === 'gone' ? 'gone' : 'failing', sinceMs: number(item, ENDPOINT_ATTR.disabledAt) ?? 0 }
      : { state: 'active' };
  return {
    id,
    url,
    events,
    ...(identityIds !== undefined && identityIds.length > 0 ? { identityIds } : {}),
    status,
    health: decodeHealth(item),
  };
}

export function decodeHealth(item: Item): WebhookEndpointHealth {
  const failingSinceMs = number(item, ENDPOINT_ATTR.failingSince);
  const lastSuccessMs = number(item, ENDPOINT_ATTR.lastSuccess);
  return {
    consecutiveFailures: number(item, ENDPOINT_ATTR.consecutiveFailures) ?? 0,
    deadLetters: number(item, ENDPOINT_ATTR.deadLetters) ?? 0,
    ...(failingSinceMs === undefined ? {} : { failingSinceMs }),
    ...(lastSuccessMs === undefined ? {} : { lastSuccessMs }),
  };
}
