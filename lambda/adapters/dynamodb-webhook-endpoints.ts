import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import type { DisabledReason, WebhookEndpoint, WebhookEndpointId } from '../core/webhook-endpoint';
import { MAX_IN_FLIGHT_PER_ENDPOINT } from '../core/webhook-job';
import type { AttemptRecorded, DeliverySlots, NewWebhookEndpoint, WebhookEndpointStore } from '../core/webhook-ports';
import { failureLimitReached, type AttemptVerdict } from '../core/webhook-retry-schedule';
import { WEBHOOKS_TABLE } from '../env-names';
import { conditionalWrite, readPartition, decodeEndpoint, decodeHealth, ENDPOINT_ATTR as A, ENDPOINT_EXISTS, endpointKey, guardTable, type Item } from './dynamodb-webhook-table';

export interface DynamoDbWebhookEndpointsOptions {
  /** Deliveries in flight to one endpoint at most. @default MAX_IN_FLIGHT_PER_ENDPOINT */
  readonly maxInFlight?: number;
  /** An endpoint item that cannot be decoded: left out of `list` (and reported here), never fatal for the others. */
  readonly onMalformed?: (id: string, error: Error) => void;
  /** Slot tokens. @default 8 random bytes in hex */
  readonly newToken?: () => string;
}

/**
 * The endpoints registry in the webhooks table: one item per endpoint in one partition (read
 * with a Query, never a Scan). Counters change with ADD and conditional updates, never by
 * read-modify-write, so concurrent deliveries to one endpoint count every attempt; every write
 * requires the item to exist.
 *
 * The in-flight cap is a map of leases on the endpoint item: taking a slot adds a token with its
 * lease end, on condition that fewer than the maximum are there; expired leases (a dispatcher
 * that crashed mid-attempt) are swept when the map is full. One write per attempt in the usual case.
 */
export class DynamoDbWebhookEndpoints implements WebhookEndpointStore, DeliverySlots {
  private readonly maxInFlight: number;
  private readonly newToken: () => string;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoDbWebhookEndpointsOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT_PER_ENDPOINT;
    this.newToken = options.newToken ?? (() => randomBytes(8).toString('hex'));
  }

  async list(): Promise<WebhookEndpoint[]> {
    const endpoints: WebhookEndpoint[] = [];
    for (const item of await readPartition(this.client, this.tableName, WEBHOOKS_TABLE.endpointPartition)) {
      try {
        endpoints.push(decodeEndpoint(item));
      } catch (error) {
        this.options.onMalformed?.(item[WEBHOOKS_TABLE.sortKey]?.S ?? '', error as Error);
      }
    }
    return endpoints;
  }

  async get(id: WebhookEndpointId): Promise<WebhookEndpoint | undefined> {
    const { Item: item } = await this.guard(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: endpointKey(id), ConsistentRead: true })),
    );
    return item === undefined ? undefined : decodeEndpoint(item);
  }

  async create(endpoint: NewWebhookEndpoint): Promise<void> {
    const item: Item = {
      ...endpointKey(endpoint.id),
      [A.url]: { S: endpoint.url },
      [A.events]: { L: endpoint.events.map((type) => ({ S: type })) },
      [A.createdAt]: { N: String(endpoint.createdAtMs) },
      [A.status]: { S: 'active' },
      [A.consecutiveFailures]: { N: '0' },
      [A.deadLetters]: { N: '0' },
      [A.leases]: { M: {} },
      [A.logCount]: { N: '0' },
    };
    if (endpoint.identityIds !== undefined && endpoint.identityIds.length > 0) item[A.identityIds] = { L: endpoint.identityIds.map((id) => ({ S: id })) };
    await this.guard(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: `attribute_not_exists(${WEBHOOKS_TABLE.sortKey})`,
        }),
      ),
    );
  }

  async remove(id: WebhookEndpointId): Promise<boolean> {
    const result = await this.guard(() =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: endpointKey(id), ReturnValues: 'ALL_OLD' })),
    );
    return result.Attributes !== undefined;
  }

  async enable(id: WebhookEndpointId, nowMs: number): Promise<boolean> {
    return this.conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: endpointKey(id),
          UpdateExpression: 'SET #status = :active, #fails = :zero, #dead = :zero, #enabledAt = :now REMOVE #reason, #disabledAt, #since',
          ConditionExpression: ENDPOINT_EXISTS,
          ExpressionAttributeNames: {
            '#status': A.status,
            '#fails': A.consecutiveFailures,
            '#dead': A.deadLetters,
            '#enabledAt': 'enabledAt',
            '#reason': A.disabledReason,
            '#disabledAt': A.disabledAt,
            '#since': A.failingSince,
          },
          ExpressionAttributeValues: { ':active': { S: 'active' }, ':zero': { N: '0' }, ':now': { N: String(nowMs) } },
        }),
      ),
    );
  }

  async recordAttempt(id: WebhookEndpointId, verdict: AttemptVerdict, nowMs: number): Promise<AttemptRecorded | undefined> {
    const update: Pick<UpdateItemCommandInput, 'UpdateExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> =
      verdict === 'delivered'
        ? {
            UpdateExpression: 'SET #fails = :zero, #dead = :zero, #last = :now REMOVE #since',
            ExpressionAttributeNames: { '#fails': A.consecutiveFailures, '#dead': A.deadLetters, '#last': A.lastSuccess, '#since': A.failingSince },
            ExpressionAttributeValues: { ':zero': { N: '0' }, ':now': { N: String(nowMs) } },
          }
        : {
            UpdateExpression: 'ADD #fails :one SET #since = if_not_exists(#since, :now)',
            ExpressionAttributeNames: { '#fails': A.consecutiveFailures, '#since': A.failingSince },
            ExpressionAttributeValues: { ':one': { N: '1' }, ':now': { N: String(nowMs) } },
          };
    let attributes: Item | undefined;
    try {
      ({ Attributes: attributes } = await this.guard(() =>
        this.client.send(
          new UpdateItemCommand({ TableName: this.tableName, Key: endpointKey(id), ConditionExpression: ENDPOINT_EXISTS, ReturnValues: 'ALL_NEW', ...update }),
        ),
      ));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
    const health = decodeHealth(attributes ?? {});
    const reason: DisabledReason | undefined = verdict === 'gone' ? 'gone' : verdict === 'failed' && failureLimitReached(health, nowMs) ? 'failing' : undefined;
    if (reason === undefined) return { health };
    return (await this.disable(id, reason, nowMs)) ? { health, disabled: reason } : { health };
  }

  /** Active → disabled, once: true only for the call that made the change (so it is counted and alarmed once). */
  private disable(id: WebhookEndpointId, reason: DisabledReason, nowMs: number): Promise<boolean> {
    return this.conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: endpointKey(id),
          UpdateExpression: 'SET #status = :disabled, #reason = :reason, #at = :now',
          ConditionExpression: `${ENDPOINT_EXISTS} AND #status = :active`,
          ExpressionAttributeNames: { '#status': A.status, '#reason': A.disabledReason, '#at': A.disabledAt },
          ExpressionAttributeValues: { ':disabled': { S: 'disabled' }, ':active': { S: 'active' }, ':reason': { S: reason }, ':now': { N: String(nowMs) } },
        }),
      ),
    );
  }

  async recordDeadLetter(id: WebhookEndpointId): Promise<void> {
    await this.conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: endpointKey(id),
          UpdateExpression: 'ADD #dead :one',
          ConditionExpression: ENDPOINT_EXISTS,
          ExpressionAttributeNames: { '#dead': A.deadLetters },
          ExpressionAttributeValues: { ':one': { N: '1' } },
        }),
      ),
    );
  }

  async acquire(id: WebhookEndpointId, nowMs: number, leaseMs: number): Promise<string | undefined> {
    const token = this.newToken();
    for (let round = 0; round < 2; round += 1) {
      const taken = await this.conditional(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: endpointKey(id),
            UpdateExpression: 'SET #leases.#token = :until',
            ConditionExpression: `${ENDPOINT_EXISTS} AND size(#leases) < :max`,
            ExpressionAttributeNames: { '#leases': A.leases, '#token': token },
            ExpressionAttributeValues: { ':until': { N: String(nowMs + leaseMs) }, ':max': { N: String(this.maxInFlight) } },
          }),
        ),
      );
      if (taken) return token;
      if (round === 0 && !(await this.sweepExpired(id, nowMs))) return undefined;
    }
    return undefined;
  }

  /** Removes leases that have ended (each only if unchanged); true when one was removed. */
  private async sweepExpired(id: WebhookEndpointId, nowMs: number): Promise<boolean> {
    const { Item: item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: endpointKey(id),
        ConsistentRead: true,
        ProjectionExpression: '#leases',
        ExpressionAttributeNames: { '#leases': A.leases },
      }),
    );
    const leases = Object.entries(item?.[A.leases]?.M ?? {}).filter(([, until]) => Number(until.N) <= nowMs);
    if (leases.length === 0) return false;
    const names: Record<string, string> = { '#leases': A.leases };
    const values: Item = {};
    leases.forEach(([token, until], i) => {
      names[`#t${i}`] = token;
      values[`:v${i}`] = until;
    });
    return this.conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: endpointKey(id),
          UpdateExpression: `REMOVE ${leases.map((_, i) => `#leases.#t${i}`).join(', ')}`,
          ConditionExpression: leases.map((_, i) => `#leases.#t${i} = :v${i}`).join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async release(id: WebhookEndpointId, slot: string): Promise<void> {
    await this.conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: endpointKey(id),
          UpdateExpression: 'REMOVE #leases.#token',
          ConditionExpression: ENDPOINT_EXISTS,
          ExpressionAttributeNames: { '#leases': A.leases, '#token': slot },
        }),
      ),
    );
  }

  private conditional(write: () => Promise<unknown>): Promise<boolean> {
    return conditionalWrite(this.tableName, write);
  }

  private guard<T>(call: () => Promise<T>): Promise<T> {
    return guardTable(this.tableName, call);
  }
}
