import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';

/** One dynalite for the whole run; each test file makes its own uniquely named table. */
export default async function globalSetup(): Promise<void> {
  const db = await startEmbeddedDynamoDb();
  process.env.DYNALITE_ENDPOINT = db.endpoint;
  (globalThis as { __dynalite?: typeof db }).__dynalite = db;
}
