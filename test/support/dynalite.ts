import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbIdentityRegistry } from '../../lambda/adapters/dynamodb-identity-registry';

/** A client for the dynalite that jest's globalSetup started; dummy credentials, no AWS. */
export function dynaliteClient(): DynamoDBClient {
  const endpoint = process.env.DYNALITE_ENDPOINT;
  if (!endpoint) throw new Error('DYNALITE_ENDPOINT is not set: run the tests through jest (globalSetup starts dynalite)');
  return new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** A fresh table with the production key schema, made by the same code as `unread-notifier init`. */
export async function createTestTable(client = dynaliteClient()): Promise<{ client: DynamoDBClient; tableName: string; registry: DynamoDbIdentityRegistry }> {
  const tableName = `test-${randomUUID()}`;
  const registry = new DynamoDbIdentityRegistry(client, tableName);
  await registry.ensureReady('plain');
  return { client, tableName, registry };
}
