import type { EmbeddedDynamoDb } from '../../local/embedded-dynamodb';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __dynalite?: EmbeddedDynamoDb }).__dynalite?.close();
}
