import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { DeliveryAttemptOutcome } from '../core/webhook-delivery';
import { parseWebhookEndpointId, type WebhookEndpointId } from '../core/webhook-endpoint';
import {
  DELIVERY_LOG_LIMIT,
  MAX_LOGGED_ATTEMPTS,
  type DeliveryJob,
  type DeliveryKind,
  type DeliveryState,
  type LoggedAttempt,
  type LoggedDelivery,
} from '../core/webhook-job';
import type { DeliveryLog, DeliveryRecord, LocalDeliveryBacklog } from '../core/webhook-ports';
import { WEBHOOKS_TABLE } from '../env-names';
import { conditionalWrite, readPartition, ENDPOINT_ATTR, ENDPOINT_EXISTS, endpointKey, guardTable, key, type Item } from './dynamodb-webhook-table';

const LOG_ATTR = {
  eventId: 'eventId',
  eventType: 'eventType',
  body: 'body',
  state: 'state',
  attempts: 'attempts',
  updatedAt: 'updatedAt',
  nextAttemptAt: 'nextAttemptAt',
  deliveredAt: 'deliveredAt',
} as const;

const STATES: readonly DeliveryState[] = ['retrying', 'delivered', 'gone', 'dead-letter', 'kept', 'dropped', 'failed'];
const KINDS: readonly DeliveryKind[] = ['event', 'replay', 'test'];

function logPartition(id: WebhookEndpointId): string {
  return `${WEBHOOKS_TABLE.logPartitionPrefix}${id}`;
}

export interface DynamoDbDeliveryLogOptions {
  /** Entries kept per endpoint. @default DELIVERY_LOG_LIMIT */
  readonly limit?: number;
}

/**
 * The delivery log: one item per (endpoint, event) under `log#<endpoint id>`, sorted by the
 * event's `observedAt`, holding the body (for replay), the state and the last attempts. The
 * endpoint item counts the entries (ADD on creation, and on each deletion that happened), and
 * each new entry past the limit deletes the oldest: bounded without TTL, which dynalite lacks.
 */
export class DynamoDbDeliveryLog implements DeliveryLog {
  private readonly limit: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbDeliveryLogOptions = {},
  ) {
    this.limit = options.limit ?? DELIVERY_LOG_LIMIT;
  }

  async wasDelivered(job: DeliveryJob): Promise<boolean> {
    const { Item: item } = await this.guard(() =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: key(logPartition(job.endpointId), job.logKey),
          ConsistentRead: true,
          ProjectionExpression: '#d',
          ExpressionAttributeNames: { '#d': LOG_ATTR.deliveredAt },
        }),
      ),
    );
    return item?.[LOG_ATTR.deliveredAt] !== undefined;
  }

  async record(record: DeliveryRecord): Promise<void> {
    const { job, attempt, state } = record;
    const itemKey = key(logPartition(job.endpointId), job.logKey);
    const set = ['#state = :state', '#updated = :now', '#attempts = list_append(if_not_exists(#attempts, :none), :attempt)'];
    const names: Record<string, string> = { '#state': LOG_ATTR.state, '#updated': LOG_ATTR.updatedAt, '#attempts': LOG_ATTR.attempts, '#next': LOG_ATTR.nextAttemptAt };
    const values: Item = {
      ':state': { S: state },
      ':now': { N: String(attempt.atMs) },
      ':none': { L: [] },
      ':attempt': { L: [{ M: encodeAttempt(attempt) }] },
    };
    if (record.nextAttemptAtMs !== undefined) {
      set.push('#next = :next');
      values[':next'] = { N: String(record.nextAttemptAtMs) };
    }
    if (state === 'delivered' && job.kind !== 'test') {
      set.push('#delivered = if_not_exists(#delivered, :now)');
      names['#delivered'] = LOG_ATTR.deliveredAt;
    }
    const update = `SET ${set.join(', ')}${record.nextAttemptAtMs === undefined ? ' REMOVE #next' : ''}`;
    // Most attempts add to an entry that exists; the first makes it, with the body.
    const updated = await this.conditionalUpdate(itemKey, update, names, values);
    if (updated !== undefined) {
      await this.trimAttempts(itemKey, updated);
      return;
    }
    const created = await this.conditional(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...itemKey,
            [LOG_ATTR.eventId]: { S: job.eventId },
            [LOG_ATTR.eventType]: { S: job.eventType },
            [LOG_ATTR.body]: { S: job.body },
            [LOG_ATTR.state]: { S: state },
            [LOG_ATTR.updatedAt]: { N: String(attempt.atMs) },
            [LOG_ATTR.attempts]: { L: [{ M: encodeAttempt(attempt) }] },
            ...(record.nextAttemptAtMs === undefined ? {} : { [LOG_ATTR.nextAttemptAt]: { N: String(record.nextAttemptAtMs) } }),
            ...(state === 'delivered' && job.kind !== 'test' ? { [LOG_ATTR.deliveredAt]: { N: String(attempt.atMs) } } : {}),
          },
          ConditionExpression: `attribute_not_exists(${WEBHOOKS_TABLE.sortKey})`,
        }),
      ),
    );
    if (created) {
      await this.countAndCap(job.endpointId);
      return;
    }
    // Another attempt made the entry in between: add to it.
    await this.conditionalUpdate(itemKey, update, names, values);
  }

  /** The attempt list keeps the last MAX_LOGGED_ATTEMPTS. */
  private async trimAttempts(itemKey: Item, attempts: number): Promise<void> {
    const excess = attempts - MAX_LOGGED_ATTEMPTS;
    if (excess <= 0) return;
    await this.conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: itemKey,
          UpdateExpression: `REMOVE ${Array.from({ length: excess }, (_, i) => `#attempts[${i}]`).join(', ')}`,
          ConditionExpression: `size(#attempts) > :max`,
          ExpressionAttributeNames: { '#attempts': LOG_ATTR.attempts },
          ExpressionAttributeValues: { ':max': { N: String(MAX_LOGGED_ATTEMPTS) } },
        }),
      ),
    );
  }

  /** Counts a new entry on the endpoint and deletes the oldest past the limit. */
  private async countAndCap(id: WebhookEndpointId): Promise<void> {
    let count: number;
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: endpointKey(id),
          UpdateExpression: 'ADD #count :one',
          ConditionExpression: ENDPOINT_EXISTS,
          ExpressionAttributeNames: { '#count': ENDPOINT_ATTR.logCount },
          ExpressionAttributeValues: { ':one': { N: '1' } },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      count = Number(Attributes?.[ENDPOINT_ATTR.logCount]?.N ?? '0');
    } catch (error) {
      // The endpoint was removed meanwhile: nothing to count against.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
    if (count <= this.limit) return;
    const { Items: oldest = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': WEBHOOKS_TABLE.partitionKey, '#sk': WEBHOOKS_TABLE.sortKey },
        ExpressionAttributeValues: { ':pk': { S: logPartition(id) } },
        ProjectionExpression: '#pk, #sk',
        ScanIndexForward: true,
        Limit: count - this.limit,
      }),
    );
    let deleted = 0;
    for (const item of oldest) {
      const removed = await this.conditional(() =>
        this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: item, ConditionExpression: `attribute_exists(${WEBHOOKS_TABLE.sortKey})` })),
      );
      if (removed) deleted += 1;
    }
    if (deleted === 0) return;
    await this.conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: endpointKey(id),
          UpdateExpression: 'ADD #count :minus',
          ConditionExpression: ENDPOINT_EXISTS,
          ExpressionAttributeNames: { '#count': ENDPOINT_ATTR.logCount },
          ExpressionAttributeValues: { ':minus': { N: String(-deleted) } },
        }),
      ),
    );
  }

  async markDropped(job: DeliveryJob, nowMs: number): Promise<void> {
    await this.conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(logPartition(job.endpointId), job.logKey),
          UpdateExpression: 'SET #state = :dropped, #updated = :now REMOVE #next',
          ConditionExpression: `attribute_exists(${WEBHOOKS_TABLE.sortKey}) AND #state <> :delivered`,
          ExpressionAttributeNames: { '#state': LOG_ATTR.state, '#updated': LOG_ATTR.updatedAt, '#next': LOG_ATTR.nextAttemptAt },
          ExpressionAttributeValues: { ':dropped': { S: 'dropped' }, ':delivered': { S: 'delivered' }, ':now': { N: String(nowMs) } },
        }),
      ),
    );
  }

  async list(id: WebhookEndpointId, options: { readonly limit?: number; readonly sinceLogKey?: string }): Promise<LoggedDelivery[]> {
    const since = options.sinceLogKey;
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    const found: LoggedDelivery[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.guard(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: since === undefined ? '#pk = :pk' : '#pk = :pk AND #sk >= :since',
            ExpressionAttributeNames: { '#pk': WEBHOOKS_TABLE.partitionKey, ...(since === undefined ? {} : { '#sk': WEBHOOKS_TABLE.sortKey }) },
            ExpressionAttributeValues: { ':pk': { S: logPartition(id) }, ...(since === undefined ? {} : { ':since': { S: since } }) },
            ScanIndexForward: since !== undefined,
            Limit: Math.min(limit - found.length, 100),
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const entry = decodeLogged(id, item);
        if (entry !== undefined) found.push(entry);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < limit);
    return found;
  }

  async removeAll(id: WebhookEndpointId): Promise<void> {
    await deletePartition(this.client, this.tableName, logPartition(id));
  }

  /** The number of attempts after the update, or undefined when the entry does not exist. */
  private async conditionalUpdate(itemKey: Item, update: string, names: Record<string, string>, values: Item): Promise<number | undefined> {
    try {
      const { Attributes } = await this.guard(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: itemKey,
            UpdateExpression: update,
            ConditionExpression: `attribute_exists(${WEBHOOKS_TABLE.sortKey})`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      );
      return Attributes?.[LOG_ATTR.attempts]?.L?.length ?? 0;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  private conditional(write: () => Promise<unknown>): Promise<boolean> {
    return conditionalWrite(this.tableName, write);
  }

  private guard<T>(call: () => Promise<T>): Promise<T> {
    return guardTable(this.tableName, call);
  }
}

function encodeAttempt(attempt: LoggedAttempt): Record<string, AttributeValue> {
  const { outcome } = attempt;
  const encoded: Record<string, AttributeValue> = {
    n: { N: String(attempt.attempt) },
    kind: { S: attempt.kind },
    at: { N: String(attempt.atMs) },
    outcome: { S: outcome.kind },
    ms: { N: String(outcome.durationMs) },
  };
  if (outcome.kind === 'response') {
    encoded.status = { N: String(outcome.status) };
    if (outcome.retryAfter !== undefined) encoded.retryAfter = { S: outcome.retryAfter.slice(0, 64) };
  }
  if (outcome.kind === 'network') encoded.code = { S: outcome.code };
  if (outcome.kind === 'refused') encoded.reason = { S: outcome.reason.slice(0, 300) };
  return encoded;
}

function decodeAttempt(value: AttributeValue): LoggedAttempt | undefined {
  const m = value.M;
  if (m === undefined) return undefined;
  const durationMs = Number(m.ms?.N ?? '0');
  const kind = KINDS.find((k) => k === m.kind?.S) ?? 'event';
  const base = { attempt: Number(m.n?.N ?? '0'), kind, atMs: Number(m.at?.N ?? '0') };
  let outcome: DeliveryAttemptOutcome;
  switch (m.outcome?.S) {
    case 'response':
      outcome = { kind: 'response', status: Number(m.status?.N ?? '0'), durationMs, ...(m.retryAfter?.S === undefined ? {} : { retryAfter: m.retryAfter.S }) };
      break;
    case 'timeout':
      outcome = { kind: 'timeout', durationMs };
      break;
    case 'network':
      outcome = { kind: 'network', code: m.code?.S ?? 'ERROR', durationMs };
      break;
    case 'refused':
      outcome = { kind: 'refused', reason: m.reason?.S ?? '', durationMs };
      break;
    default:
      return undefined;
  }
  return { ...base, outcome };
}

function decodeLogged(id: WebhookEndpointId, item: Item): LoggedDelivery | undefined {
  const logKey = item[WEBHOOKS_TABLE.sortKey]?.S;
  const eventId = item[LOG_ATTR.eventId]?.S;
  const body = item[LOG_ATTR.body]?.S;
  if (logKey === undefined || eventId === undefined || body === undefined) return undefined;
  const next = item[LOG_ATTR.nextAttemptAt]?.N;
  return {
    endpointId: id,
    logKey,
    eventId,
    eventType: item[LOG_ATTR.eventType]?.S ?? '',
    body,
    state: STATES.find((s) => s === item[LOG_ATTR.state]?.S) ?? 'failed',
    attempts: (item[LOG_ATTR.attempts]?.L ?? []).flatMap((value) => decodeAttempt(value) ?? []),
    updatedAtMs: Number(item[LOG_ATTR.updatedAt]?.N ?? '0'),
    ...(next === undefined ? {} : { nextAttemptAtMs: Number(next) }),
  };
}

/** Deletes every item of one partition, 25 keys per BatchWriteItem, retrying what is left unprocessed. */
export async function deletePartition(client: DynamoDBClient, tableName: string, partition: string): Promise<number> {
  const keys = await readPartition(client, tableName, partition, { keysOnly: true });
  for (let i = 0; i < keys.length; i += 25) {
    let requests: WriteRequest[] = keys.slice(i, i + 25).map((k) => ({ DeleteRequest: { Key: k } }));
    for (let round = 0; requests.length > 0 && round < 5; round += 1) {
      const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
      requests = UnprocessedItems?.[tableName] ?? [];
    }
    if (requests.length > 0) throw new Error(`table ${tableName}: ${requests.length} log entries could not be deleted; run the command again`);
  }
  return keys.length;
}

const BACKLOG_ATTR = { job: 'job', queuedAt: 'queuedAt' } as const;

/**
 * A local run's undelivered backlog, in the webhooks table: one item per (endpoint, event) with
 * the job as JSON. Only local runs use it (in AWS the delivery queue is SQS).
 */
export class DynamoDbDeliveryBacklog implements LocalDeliveryBacklog {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async put(jobs: readonly DeliveryJob[]): Promise<void> {
    await Promise.all(
      jobs.map((job) =>
        guardTable(this.tableName, () =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: backlogKey(job),
              // The first enqueue time stays: the oldest deliveries go first.
              UpdateExpression: 'SET #job = :job, #queued = if_not_exists(#queued, :now)',
              ExpressionAttributeNames: { '#job': BACKLOG_ATTR.job, '#queued': BACKLOG_ATTR.queuedAt },
              ExpressionAttributeValues: { ':job': { S: JSON.stringify(job) }, ':now': { N: String(this.now()) } },
            }),
          ),
        ),
      ),
    );
  }

  async list(): Promise<DeliveryJob[]> {
    const entries: { job: DeliveryJob; queuedAt: number }[] = [];
    for (const item of await readPartition(this.client, this.tableName, WEBHOOKS_TABLE.backlogPartition)) {
      const job = decodeJob(item[BACKLOG_ATTR.job]?.S);
      if (job !== undefined) entries.push({ job, queuedAt: Number(item[BACKLOG_ATTR.queuedAt]?.N ?? '0') });
    }
    return entries.sort((a, b) => a.queuedAt - b.queuedAt || a.job.logKey.localeCompare(b.job.logKey)).map((e) => e.job);
  }

  async remove(job: DeliveryJob): Promise<void> {
    await guardTable(this.tableName, () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: backlogKey(job) })));
  }
}

function backlogKey(job: DeliveryJob): Item {
  return key(WEBHOOKS_TABLE.backlogPartition, `${job.endpointId}#${job.logKey}`);
}

function decodeJob(raw: string | undefined): DeliveryJob | undefined {
  if (raw === undefined) return undefined;
  try {
    const job = JSON.parse(raw) as DeliveryJob;
    parseWebhookEndpointId(job.endpointId);
    if (typeof job.body !== 'string' || typeof job.eventId !== 'string' || typeof job.logKey !== 'string' || !Number.isInteger(job.attempt)) return undefined;
    return job;
  } catch {
    return undefined;
  }
}
