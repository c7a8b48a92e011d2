import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';

/** One dynalite for the whole run; each test file makes its own uniquely named table. */
export default async function globalSetup(): Promise<void> {
  // Node 20 is this project's floor; the SDK's multi-line notice about Node 22 is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const db = await startEmbeddedDynamoDb();
  process.env.DYNALITE_ENDPOINT = db.endpoint;
  (globalThis as { __dynalite?: typeof db }).__dynalite = db;
}
