import { DeleteItemCommand, ResourceNotFoundException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import { compareDecimalIds, type IdentityId } from '../core/identity-id';
import type { BrokenRegistration, Registration } from '../core/model';
import type { IdentityRegistry, TableSetup } from '../core/ports';
import { TABLE_KEY } from '../env-names';
import { ATTR, decodeRegistration, keyOf } from './dynamodb-item-codec';
import { scanIdentities } from './dynamodb-scan';
import { ensureTable } from './dynamodb-table-setup';

export class TableMissingError extends Error {
  override readonly name = 'TableMissingError';
}

export interface DynamoDbIdentityRegistryOptions {
  /** @default the system clock */
  readonly now?: () => Date;
  /** Waits between attempts to turn on point-in-time recovery. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The registry half of the table: what the CLI's `init` and `identities` commands change. */
export class DynamoDbIdentityRegistry implements IdentityRegistry {
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbIdentityRegistryOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms) => delay(ms));
  }

  /**
   * Creates the table with the stack's key schema when it is missing; idempotent. `stack` (in
   * AWS) also gives it what the stack gives its table: deletion protection, KMS encryption under
   * the AWS managed key, point-in-time recovery. `plain` (a local run) gives the key schema only.
   * A table that exists is left as it is.
   */
  ensureReady(setup: TableSetup): Promise<'created' | 'exists'> {
    return ensureTable(
      this.client,
      {
        tableName: this.tableName,
        attributeDefinitions: [{ AttributeName: TABLE_KEY.partitionKey, AttributeType: 'S' }],
        keySchema: [{ AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' }],
      },
      setup,
      { sleep: this.sleep },
    );
  }

  /** Adds the identity, or updates its label; every other attribute is left as it is. */
  async register(id: IdentityId, label?: string): Promise<'added' | 'updated'> {
    const result = await this.guard(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(id),
          UpdateExpression: label === undefined ? 'SET #reg = if_not_exists(#reg, :now)' : 'SET #reg = if_not_exists(#reg, :now), #label = :label',
          ExpressionAttributeNames: { '#reg': ATTR.registeredAt, ...(label === undefined ? {} : { '#label': ATTR.label }) },
          ExpressionAttributeValues: { ':now': { S: this.now().toISOString() }, ...(label === undefined ? {} : { ':label': { S: label } }) },
          ReturnValues: 'UPDATED_OLD',
        }),
      ),
    );
    return result.Attributes?.[ATTR.registeredAt] ? 'updated' : 'added';
  }

  async unregister(id: IdentityId): Promise<boolean> {
    const result = await this.guard(() =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: keyOf(id), ReturnValues: 'ALL_OLD' })),
    );
    return result.Attributes !== undefined;
  }

  /** Every registration in id order; an item that cannot be decoded is listed as broken, not dropped. */
  async list(): Promise<Registration[]> {
    const broken: BrokenRegistration[] = [];
    const readable = await this.guard(() =>
      scanIdentities(this.client, this.tableName, {
        decode: decodeRegistration,
        onMalformed: (key, error) => broken.push({ id: key, broken: error.message }),
      }),
    );
    return [...readable, ...broken].sort((a, b) => compareDecimalIds(a.id, b.id));
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new TableMissingError(`table ${this.tableName} does not exist: run 'unread-notifier init' first`);
      }
      throw error;
    }
  }
}
