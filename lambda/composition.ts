import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { CommBoxObjectsSource } from './adapters/commbox/commbox-objects-source';
import { ConsolePublisher } from './adapters/console-publisher';
import { SecretsManagerTokenProvider } from './adapters/secrets-manager-token';
import { SnsPublisher } from './adapters/sns-publisher';
import { StaticTokenProvider, type TokenProvider } from './adapters/token-provider';
import { requireToken, type Config } from './config';
import { ENV } from './env-names';
import type { EventPublisher } from './core/ports';

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
