import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { WebhookEndpointId } from '../core/webhook-endpoint';
import { WebhookSecretMissingError, type WebhookSecretVault } from '../core/webhook-ports';
import type { EndpointSecrets } from '../core/webhook-signature';
import { webhookSecretNameOf } from '../env-names';
import { decodeStoredSecrets, encodeStoredSecrets } from './webhook-secret-codec';

export interface SecretsManagerWebhookSecretsOptions {
  /** How long secrets read are used before they are read again. @default 60_000 */
  readonly maxAgeMs?: number;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/**
 * Endpoint secrets in AWS: one Secrets Manager secret per endpoint, named
 * `<webhooks table>/<endpoint id>` (so the dispatcher's grant covers exactly this stack's
 * endpoints), encrypted with the account's `aws/secretsmanager` key, its value
 * `{"current":…,"previous":…,"previousSignsUntil":…}`. The dispatcher caches what it read for a
 * minute: after `rotate-secret` the old secret keeps signing for 24 hours anyway.
 */
export class SecretsManagerWebhookSecrets implements WebhookSecretVault {
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { readonly secrets: EndpointSecrets; readonly readAt: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly webhooksTableName: string,
    options: SecretsManagerWebhookSecretsOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  async store(id: WebhookEndpointId, secrets: EndpointSecrets): Promise<void> {
    const name = webhookSecretNameOf(this.webhooksTableName, id);
    const value = encodeStoredSecrets(secrets);
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: value,
          Description: `Signing secrets of unread-notifier webhook ${id} (Standard Webhooks); managed by 'unread-notifier webhooks'`,
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    }
    this.cache.delete(id);
  }

  async load(id: WebhookEndpointId): Promise<EndpointSecrets> {
    const cached = this.cache.get(id);
    if (cached !== undefined && this.now() - cached.readAt < this.maxAgeMs) return cached.secrets;
    let stored: string | undefined;
    try {
      ({ SecretString: stored } = await this.client.send(new GetSecretValueCommand({ SecretId: webhookSecretNameOf(this.webhooksTableName, id) })));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) throw new WebhookSecretMissingError(`webhook ${id} has no signing secret in Secrets Manager`, { cause: error });
      throw error;
    }
    if (stored === undefined) throw new WebhookSecretMissingError(`webhook ${id} has an empty signing secret`);
    const secrets = decodeStoredSecrets(stored, id);
    this.cache.set(id, { secrets, readAt: this.now() });
    return secrets;
  }

  /** At once, without a recovery window: the endpoint is gone, and its id is never used again. */
  async remove(id: WebhookEndpointId): Promise<void> {
    this.cache.delete(id);
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: webhookSecretNameOf(this.webhooksTableName, id), ForceDeleteWithoutRecovery: true }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
