import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULTS } from '../../lambda/config';
import { TABLE_KEY } from '../../lambda/env-names';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { deadlineMarginMs } from '../../lambda/invocation';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from '../support/dynalite';
import { handlerEnvironment, LAMBDA_CONTEXT, loadHandler, SECRET_ID, TOPIC_ARN, type Handler } from '../support/handler-harness';

const sns = mockClient(SNSClient);
const secrets = mockClient(SecretsManagerClient);
const savedEnv = { ...process.env };

let simulator: CommBoxSimulator;
let handler: Handler;
let registry: Awaited<ReturnType<typeof createTestTable>>['registry'];
let table: Awaited<ReturnType<typeof createTestTable>>;


beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 3 });
  table = await createTestTable();
  registry = table.registry;
  handler = loadHandler(
    handlerEnvironment(table.tableName, simulator.baseUrl, { TOPIC_ARN, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' }),
  );
});

afterAll(async () => {
  await simulator.close();
  process.env = savedEnv;
});

beforeEach(() => {
  sns.reset();
  secrets.reset();
  secrets.on(GetSecretValueCommand).resolves({ SecretString: simulator.token });
  sns.on(PublishBatchCommand).callsFake((input: { PublishBatchRequestEntries: { Id: string }[] }) => ({
    Successful: input.PublishBatchRequestEntries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
    Failed: [],
  }));
});

describe('the Lambda handler wiring', () => {
  test('polls the registry with the token from Secrets Manager and publishes changes and alerts to the topic', async () => {
    simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 1 }]);
    await registry.register(parseIdentityId('558355'), { label: 'Support' });
    await handler({}, LAMBDA_CONTEXT);
    simulator.world.setUnread('558355', 396001, 3);

    const summary = await handler({}, LAMBDA_CONTEXT);

    // Waiting at its baseline (1 unread), the first rise also alerts (the defaults: minUnread 1).
    expect(summary).toMatchObject({ polled: 1, changed: 1, published: 1, alertsSent: 1 });
    expect(sns).toHaveReceivedCommandWith(PublishBatchCommand, {
      TopicArn: TOPIC_ARN,
      PublishBatchRequestEntries: [
        expect.objectContaining({
          MessageStructure: 'json',
          MessageAttributes: expect.objectContaining({
            eventType: { DataType: 'String', StringValue: 'unread.changed' },
            identityId: { DataType: 'String', StringValue: '558355' },
          }),
        }),
        expect.objectContaining({
          MessageStructure: 'json',
          Subject: 'CommBox: 3 unread waiting for Support',
          MessageAttributes: expect.objectContaining({
            eventType: { DataType: 'String', StringValue: 'unread.alert' },
            alertKind: { DataType: 'String', StringValue: 'new' },
            identityId: { DataType: 'String', StringValue: '558355' },
          }),
        }),
      ],
    });
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ID });
  });

  test('the {segment, totalSegments} payloads of one shard set each poll a disjoint slice, together every identity', async () => {
    const ids = simulator.world.populate(40, { firstId: 7000 });
    for (const id of ids) await registry.register(parseIdentityId(id));

    const slices: Set<string>[] = [];
    for (const segment of [0, 1, 2]) {
      const before = new Map(ids.map((id) => [id, simulator.requestCount(id)]));
      await handler({ segment, totalSegments: 3 }, LAMBDA_CONTEXT);
      slices.push(new Set(ids.filter((id) => simulator.requestCount(id) > (before.get(id) ?? 0))));
    }

    const union = new Set(slices.flatMap((slice) => [...slice]));
    const inMoreThanOne = ids.filter((id) => slices.filter((slice) => slice.has(id)).length > 1);
    expect(union).toEqual(new Set(ids));
    expect(inMoreThanOne).toEqual([]);
    expect(slices.map((slice) => slice.size > 0)).toEqual([true, true, true]);
  });

  test('an invalid segment payload is refused before anything is polled', async () => {
    const before = simulator.stats.requests;

    await expect(handler({ segment: 3, totalSegments: 3 }, LAMBDA_CONTEXT)).rejects.toThrow(/segment must be an integer from 0 to 2/);
    expect(simulator.stats.requests).toBe(before);
  });

  test('starts no identity with no more than the deadline margin left; with a millisecond more it polls', async () => {
    const margin = deadlineMarginMs({ maxAttempts: DEFAULTS.maxAttempts, requestTimeoutMs: DEFAULTS.requestTimeoutMs });
    simulator.world.addIdentity('7100');
    await registry.register(parseIdentityId('7100'));

    const atTheMargin = await handler({}, { ...LAMBDA_CONTEXT, getRemainingTimeInMillis: () => margin });
    const justAbove = await handler({}, { ...LAMBDA_CONTEXT, getRemainingTimeInMillis: () => margin + 1 });

    expect(atTheMargin).toMatchObject({ polled: 0, skipped: atTheMargin.identities });
    expect(justAbove).toMatchObject({ polled: justAbove.identities, skipped: 0 });
  });

  test('publishes by run receipt: a change costs its one item write, and the run is closed when the handler returns', async () => {
    simulator.world.addIdentity('7200', [{ objectId: 396201, streamId: 19155, unread: 1 }]);
    await registry.register(parseIdentityId('7200'));
    await handler({}, LAMBDA_CONTEXT);
    simulator.world.setUnread('7200', 396201, 4);

    const summary = await handler({}, LAMBDA_CONTEXT);
    const runs = await table.client.send(new GetItemCommand({ TableName: table.tableName, Key: { identityId: { S: TABLE_KEY.runsKey } }, ConsistentRead: true }));
    const item = await table.client.send(new GetItemCommand({ TableName: table.tableName, Key: { identityId: { S: '7200' } }, ConsistentRead: true }));

    expect(summary.changed).toBeGreaterThanOrEqual(1);
    expect(summary.receipted).toBe(summary.published + summary.alertsSent);
    expect(runs.Item?.open).toBeUndefined();
    expect(Object.values(item.Item?.outbox?.M ?? {}).every((entry) => entry.M?.run?.S !== undefined)).toBe(true);
  });
});
