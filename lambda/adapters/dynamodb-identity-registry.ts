import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  UpdateItemCommand,
  waitUntilTableExists,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { compareDecimalIds, type IdentityId } from '../core/identity-id';
import type { Registration } from '../core/model';
import type { IdentityRegistry } from '../core/ports';
import { TABLE_KEY } from '../env-names';
import { ATTR, decodeRegistration, readIdentityId } from './dynamodb-item-codec';

export class TableMissingError extends Error {
  override readonly name = 'TableMissingError';
}

/** The registry half of the table: what the CLI's `init` and `identities` commands change. */
export class DynamoDbIdentityRegistry implements IdentityRegistry {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Creates the table with the stack's key schema when it is missing; idempotent. */
  async ensureReady(): Promise<'created' | 'exists'> {
    try {
      await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
      return 'exists';
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.tableName,
          AttributeDefinitions: [{ AttributeName: TABLE_KEY.partitionKey, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      if (error instanceof ResourceInUseException) return 'exists';
      throw error;
    }
    await waitUntilTableExists({ client: this.client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: this.tableName });
    return 'created';
  }

  /** Adds the identity, or updates its label; its snapshot and outbox are left as they are. */
  async register(id: IdentityId, label?: string): Promise<'added' | 'updated'> {
    const result = await this.guard(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [ATTR.id]: { S: id } },
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
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { [ATTR.id]: { S: id } }, ReturnValues: 'ALL_OLD' })),
    );
    return result.Attributes !== undefined;
  }

  async list(): Promise<Registration[]> {
    const registrations: Registration[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.guard(() => this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey })));
      for (const item of page.Items ?? []) {
        if ((readIdentityId(item) ?? '#').startsWith('#')) continue;
        registrations.push(decodeRegistration(item));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return registrations.sort((a, b) => compareDecimalIds(a.id, b.id));
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
