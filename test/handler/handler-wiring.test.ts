import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { parseIdentityId } from '../../lambda/core/identity-id';
import { startCommBoxSimulator, type CommBoxSimulator } from '../../local/commbox-simulator';
import { createTestTable } from '../support/dynalite';

const sns = mockClient(SNSClient);
const secrets = mockClient(SecretsManagerClient);
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:unread-notifier';
const savedEnv = { ...process.env };

let simulator: CommBoxSimulator;
let handler: (event: unknown, context: Context) => Promise<{ polled: number; changed: number; published: number; identities: number }>;
let registry: Awaited<ReturnType<typeof createTestTable>>['registry'];

const context = { getRemainingTimeInMillis: () => 50_000, functionName: 'poller', awsRequestId: 'req-1' } as unknown as Context;

beforeAll(async () => {
  simulator = await startCommBoxSimulator({ seed: 3 });
  const table = await createTestTable();
  registry = table.registry;
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    TOPIC_ARN,
    API_TOKEN_SECRET_ID: 'unread-notifier/commbox-token',
    API_BASE_URL: simulator.baseUrl,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNALITE_ENDPOINT,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  // Imported only now: the handler reads its configuration once, at module load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  handler = (require('../../lambda/handler') as { handler: typeof handler }).handler;
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
  test('polls the registry with the token from Secrets Manager and publishes changes to the topic', async () => {
    simulator.world.addIdentity('558355', [{ objectId: 396001, streamId: 19155, unread: 1 }]);
    await registry.register(parseIdentityId('558355'), 'Support');
    await handler({}, context);
    simulator.world.setUnread('558355', 396001, 3);

    const summary = await handler({}, context);

    expect(summary).toMatchObject({ polled: 1, changed: 1, published: 1 });
    expect(sns).toHaveReceivedCommandWith(PublishBatchCommand, {
      TopicArn: TOPIC_ARN,
      PublishBatchRequestEntries: [
        expect.objectContaining({
          MessageStructure: 'json',
          MessageAttributes: expect.objectContaining({ identityId: { DataType: 'String', StringValue: '558355' } }),
        }),
      ],
    });
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'unread-notifier/commbox-token' });
  });

  test('a {segment, totalSegments} payload polls only that slice of the registry', async () => {
    const ids = simulator.world.populate(40, { firstId: 7000 });
    for (const id of ids) await registry.register(parseIdentityId(id));
    const total = (await registry.list()).length;

    const slices = [];
    for (const segment of [0, 1, 2]) slices.push(await handler({ segment, totalSegments: 3 }, context));

    expect(slices.reduce((n, s) => n + s.identities, 0)).toBe(total);
    expect(slices.every((s) => s.identities < total)).toBe(true);
  });

  test('an invalid segment payload is refused before anything is polled', async () => {
    const before = simulator.stats.requests;

    await expect(handler({ segment: 3, totalSegments: 3 }, context)).rejects.toThrow(/segment must be an integer from 0 to 2/);
    expect(simulator.stats.requests).toBe(before);
  });
});
