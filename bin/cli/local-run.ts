import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

type Env = Record<string, string | undefined>;

/** CONTRACT.md "Local runs": AWS_ENDPOINT_URL_DYNAMODB points to this machine. */
export function isLocalRun(env: Readonly<Env>): boolean {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB?.trim();
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  } catch {
    return false;
  }
}

/**
 * The region the AWS SDK will use, settled before any client is made. AWS_DEFAULT_REGION counts
 * as the AWS CLI counts it (the SDK reads only AWS_REGION). A local run needs no real region
 * (dynalite ignores it): when neither the environment nor the AWS profile names one, `local` is
 * used, so the local recipe works without AWS settings. Any other run keeps the SDK's refusal,
 * which the CLI turns into a hint and exit code 2.
 */
export async function settleRegion(env: Env = process.env): Promise<void> {
  if (env.AWS_REGION?.trim()) return;
  const fallback = env.AWS_DEFAULT_REGION?.trim();
  if (fallback) {
    env.AWS_REGION = fallback;
    return;
  }
  if (!isLocalRun(env)) return;
  // The SDK's own lookup (environment, then the shared config file's profile), and nothing else.
  const client = new DynamoDBClient({});
  try {
    await client.config.region();
  } catch {
    env.AWS_REGION = 'local';
  } finally {
    client.destroy();
  }
}
