import { BatchGetItemCommand, type BatchGetItemCommandOutput, type DynamoDBClient, type KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import { runPool } from '../core/worker-pool';
import { ATTR, itemKey, keyOf, type Item } from './dynamodb-item-codec';

/** BatchGetItem's limit of keys per request. */
export const BATCH_GET_MAX_KEYS = 100;
/** Rounds for keys DynamoDB left unprocessed (throttling, the 16 MB answer limit) before giving up. */
const UNPROCESSED_ROUNDS = 8;
const FIRST_BACKOFF_MS = 50;
/** Requests in flight at once. */
const CONCURRENT_REQUESTS = 8;

export interface BatchGetOptions {
  /** Only these attributes of each item (the key is always included). @default the whole item */
  readonly attributes?: readonly string[];
  /** Called once per BatchGetItem request, for request counters. */
  readonly onRequest?: () => void;
  /** Waits between rounds of unprocessed keys. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Reads items by key, strongly consistent, in requests of at most 100 keys; keys DynamoDB leaves
 * unprocessed are asked again with backoff. Answers the items found, by key; a key that is not
 * there is simply absent. Duplicate keys are read once.
 */
export async function batchGetItems(client: DynamoDBClient, tableName: string, keys: readonly string[], options: BatchGetOptions = {}): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  const unique = [...new Set(keys)];
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const projection = projectionOf(options.attributes);
  await runPool(
    chunks(unique, BATCH_GET_MAX_KEYS),
    CONCURRENT_REQUESTS,
    async (chunk) => {
      let request: KeysAndAttributes | undefined = { Keys: chunk.map(keyOf), ConsistentRead: true, ...projection };
      for (let round = 0; request?.Keys?.length; round += 1) {
        if (round === UNPROCESSED_ROUNDS) throw new Error(`DynamoDB left ${request.Keys.length} keys unprocessed after ${round} attempts`);
        if (round > 0) await sleep(FIRST_BACKOFF_MS * 2 ** (round - 1));
        options.onRequest?.();
        const answer: BatchGetItemCommandOutput = await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: request } }));
        for (const item of answer.Responses?.[tableName] ?? []) found.set(itemKey(item), item);
        request = answer.UnprocessedKeys?.[tableName];
      }
    },
    () => true,
  );
  return found;
}

function projectionOf(attributes: readonly string[] | undefined): Pick<KeysAndAttributes, 'ProjectionExpression' | 'ExpressionAttributeNames'> {
  if (!attributes) return {};
  const names = Object.fromEntries([...new Set([ATTR.id, ...attributes])].map((name, i) => [`#a${i}`, name]));
  return { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
