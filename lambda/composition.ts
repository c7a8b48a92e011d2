import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { CommBoxObjectsSource } from './adapters/commbox/commbox-objects-source';
import { ConsolePublisher } from './adapters/console-publisher';
import { DynamoDbDeliveryBacklog, DynamoDbDeliveryLog } from './adapters/dynamodb-webhook-deliveries';
import { DynamoDbWebhookEndpoints } from './adapters/dynamodb-webhook-endpoints';
import { DynamoDbWebhookSecretVault } from './adapters/dynamodb-webhook-secrets';
import { HttpWebhookSender, type HttpWebhookSenderOptions } from './adapters/http-webhook-sender';
import { SecretsManagerWebhookSecrets } from './adapters/secrets-manager-webhook-secrets';
import { SecretsManagerTokenProvider } from './adapters/secrets-manager-token';
import { SnsPublisher } from './adapters/sns-publisher';
import { StaticTokenProvider, type TokenProvider } from './adapters/token-provider';
import { requireToken, type Config } from './config';
import { ENV } from './env-names';
import type { EventPublisher } from './core/ports';
import { webhooksTableNameOf } from './env-names';
import type { LocalWebhookStores } from './local-webhooks';

/** Adapter construction shared by the Lambda handler and the CLI, so both wire the same way. */
export function createTokenProvider(config: Config, secrets: () => SecretsManagerClient = () => new SecretsManagerClient({})): TokenProvider {
  const source = requireToken(config);
  return source.kind === 'value' ? new StaticTokenProvider(source.token, ENV.apiToken) : new SecretsManagerTokenProvider(secrets(), source.secretId);
}

export function createSource(config: Config, tokens: TokenProvider): CommBoxObjectsSource {
  return new CommBoxObjectsSource({
    baseUrl: config.apiBaseUrl,
    tokens,
    timeoutMs: config.requestTimeoutMs,
    maxAttempts: config.maxAttempts,
    maxConcurrency: config.pollConcurrency,
  });
}

/** SNS when TOPIC_ARN is set; otherwise the events go to `out` as JSON lines. */
export function createPublisher(
  config: Config,
  sns: () => SNSClient = () => new SNSClient({}),
  out: { write(chunk: string): unknown } = process.stdout,
): EventPublisher {
  return config.topicArn ? new SnsPublisher(sns(), config.topicArn) : new ConsolePublisher(out);
}

export interface WebhookStores extends LocalWebhookStores {
  /** `<TABLE_NAME>-webhooks`. */
  readonly tableName: string;
}

/**
 * The webhooks table's adapters for the CLI and local runs. The secrets are kept in the table
 * only in a local run (dynalite on loopback); otherwise in Secrets Manager, as the stack's
 * dispatcher reads them.
 */
export function createWebhookStores(
  config: Config,
  dynamo: DynamoDBClient,
  localRun: boolean,
  secrets: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): WebhookStores {
  const tableName = webhooksTableNameOf(config.tableName);
  return {
    tableName,
    endpoints: new DynamoDbWebhookEndpoints(dynamo, tableName),
    log: new DynamoDbDeliveryLog(dynamo, tableName),
    backlog: new DynamoDbDeliveryBacklog(dynamo, tableName),
    secrets: localRun ? new DynamoDbWebhookSecretVault(dynamo, tableName) : new SecretsManagerWebhookSecrets(secrets(), tableName),
  };
}

/** How webhook deliveries connect, for tests (the loopback-only guard, a resolver that never asks DNS). */
export type WebhookTransport = Pick<HttpWebhookSenderOptions, 'agents' | 'resolve'>;

/** The sender of the CLI and local runs: plain http and loopback only in a local run; 15 s per attempt. */
export function createWebhookSender(localRun: boolean, transport: WebhookTransport = {}): HttpWebhookSender {
  return new HttpWebhookSender({ localRun, timeoutMs: 15_000, ...transport });
}
