import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WebhookEndpointId } from '../core/webhook-endpoint';
import { WebhookSecretMissingError, type WebhookSecretVault } from '../core/webhook-ports';
import type { EndpointSecrets } from '../core/webhook-signature';
import { WEBHOOKS_TABLE } from '../env-names';
import { guardTable, key } from './dynamodb-webhook-table';
import { decodeStoredSecrets, encodeStoredSecrets } from './webhook-secret-codec';

/**
 * Local runs only (CONTRACT: on dynalite the secrets may be kept in the table): one item per
 * endpoint under the `secret` partition, apart from the endpoint items, so listings never read
 * it. In AWS the composition uses Secrets Manager instead, and the dispatcher's IAM grant does
 * not reach this partition.
 */
export class DynamoDbWebhookSecretVault implements WebhookSecretVault {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async store(id: WebhookEndpointId, secrets: EndpointSecrets): Promise<void> {
    await guardTable(this.tableName, () =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: { ...secretKey(id), secrets: { S: encodeStoredSecrets(secrets) } } })),
    );
  }

  async load(id: WebhookEndpointId): Promise<EndpointSecrets> {
    const { Item: item } = await guardTable(this.tableName, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: secretKey(id), ConsistentRead: true })),
    );
    const stored = item?.secrets?.S;
    if (stored === undefined) throw new WebhookSecretMissingError(`webhook ${id} has no signing secret`);
    return decodeStoredSecrets(stored, id);
  }

  async remove(id: WebhookEndpointId): Promise<void> {
    await guardTable(this.tableName, () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: secretKey(id) })));
  }
}

function secretKey(id: WebhookEndpointId): ReturnType<typeof key> {
  return key(WEBHOOKS_TABLE.secretPartition, id);
}
