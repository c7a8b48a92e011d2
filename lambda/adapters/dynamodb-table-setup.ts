import {
  ContinuousBackupsUnavailableException,
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateContinuousBackupsCommand,
  waitUntilTableExists,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import type { TableSetup } from '../core/ports';

export interface TableShape {
  readonly tableName: string;
  readonly keySchema: readonly KeySchemaElement[];
  readonly attributeDefinitions: readonly AttributeDefinition[];
}

export interface EnsureTableOptions {
  /** Waits between attempts to turn on point-in-time recovery. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A new table's continuous backups take a moment to be available, and point-in-time recovery
 * cannot be turned on before (ContinuousBackupsUnavailableException): ask again for two minutes.
 */
const PITR_RETRY_MS = 5_000;
const PITR_ATTEMPTS = 25;

/**
 * Creates the table when it is missing; idempotent. `stack` (in AWS) also gives it what the
 * stack gives its tables: deletion protection, KMS encryption under the AWS managed key,
 * point-in-time recovery. `plain` (a local run) gives the key schema only. A table that exists
 * is left as it is. Shared by `init`'s tables (the registry and the webhooks table).
 */
export async function ensureTable(client: DynamoDBClient, shape: TableShape, setup: TableSetup, options: EnsureTableOptions = {}): Promise<'created' | 'exists'> {
  try {
    await client.send(new DescribeTableCommand({ TableName: shape.tableName }));
    return 'exists';
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const table: CreateTableCommandInput = {
    TableName: shape.tableName,
    AttributeDefinitions: [...shape.attributeDefinitions],
    KeySchema: [...shape.keySchema],
    BillingMode: 'PAY_PER_REQUEST',
    ...(setup === 'stack' ? { DeletionProtectionEnabled: true, SSESpecification: { Enabled: true, SSEType: 'KMS' } } : {}),
  };
  try {
    await client.send(new CreateTableCommand(table));
  } catch (error) {
    if (error instanceof ResourceInUseException) return 'exists';
    throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: shape.tableName });
  if (setup === 'stack') await enablePointInTimeRecovery(client, shape.tableName, options.sleep ?? ((ms) => delay(ms)));
  return 'created';
}

async function enablePointInTimeRecovery(client: DynamoDBClient, tableName: string, sleep: (ms: number) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.send(new UpdateContinuousBackupsCommand({ TableName: tableName, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }));
      return;
    } catch (error) {
      if (error instanceof ContinuousBackupsUnavailableException && attempt < PITR_ATTEMPTS) {
        await sleep(PITR_RETRY_MS);
        continue;
      }
      // `init` again would find the table and leave it as it is: say how to finish the job.
      throw new Error(
        `table ${tableName} was created, but point-in-time recovery is not on yet (${(error as Error).message}): ` +
          `aws dynamodb update-continuous-backups --table-name ${tableName} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true`,
        { cause: error },
      );
    }
  }
}
