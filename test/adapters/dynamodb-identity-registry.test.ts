import {
  ContinuousBackupsUnavailableException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbIdentityRegistry } from '../../lambda/adapters/dynamodb-identity-registry';
import { createTestTable, dynaliteClient } from '../support/dynalite';

const TABLE = 'unread-notifier';
const notFound = () => new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} });
const backupsUnavailable = () => new ContinuousBackupsUnavailableException({ message: 'Backups are being enabled for the table', $metadata: {} });

describe("ensureReady('stack'): a table for AWS, made as the stack makes its table", () => {
  const ddb = mockClient(DynamoDBClient);
  const sleeps: number[] = [];
  const registry = () => new DynamoDbIdentityRegistry(new DynamoDBClient({ region: 'eu-west-1' }), TABLE, { sleep: (ms) => Promise.resolve(void sleeps.push(ms)) });

  beforeEach(() => {
    ddb.reset();
    sleeps.length = 0;
    ddb.on(DescribeTableCommand).rejectsOnce(notFound()).resolves({ Table: { TableName: TABLE, TableStatus: 'ACTIVE' } });
    ddb.on(CreateTableCommand).resolves({});
    ddb.on(UpdateContinuousBackupsCommand).resolves({});
  });

  afterAll(() => ddb.restore());

  test('creates it on demand, with deletion protection and KMS encryption under the AWS managed key', async () => {
    expect(await registry().ensureReady('stack')).toBe('created');

    expect(ddb).toHaveReceivedCommandTimes(CreateTableCommand, 1);
    expect(ddb.commandCalls(CreateTableCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'identityId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'identityId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      DeletionProtectionEnabled: true,
      SSESpecification: { Enabled: true, SSEType: 'KMS' },
    });
  });

  test('turns on point-in-time recovery once the table is ACTIVE', async () => {
    await registry().ensureReady('stack');

    expect(ddb).toHaveReceivedCommandWith(UpdateContinuousBackupsCommand, {
      TableName: TABLE,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    const order = ddb.calls().map((call) => call.args[0].constructor.name);
    expect(order).toEqual(['DescribeTableCommand', 'CreateTableCommand', 'DescribeTableCommand', 'UpdateContinuousBackupsCommand']);
  });

  test('asks again while continuous backups are still being set up for the new table', async () => {
    ddb.on(UpdateContinuousBackupsCommand).rejectsOnce(backupsUnavailable()).rejectsOnce(backupsUnavailable()).resolves({});

    expect(await registry().ensureReady('stack')).toBe('created');

    expect(ddb).toHaveReceivedCommandTimes(UpdateContinuousBackupsCommand, 3);
    expect(sleeps).toEqual([5_000, 5_000]);
  });

  test('says how to finish the job when point-in-time recovery cannot be turned on', async () => {
    ddb.on(UpdateContinuousBackupsCommand).rejects(backupsUnavailable());

    await expect(registry().ensureReady('stack')).rejects.toThrow(
      /table unread-notifier was created, but point-in-time recovery is not on yet.*aws dynamodb update-continuous-backups --table-name unread-notifier/,
    );
  });

  test('leaves a table that exists as it is', async () => {
    ddb.on(DescribeTableCommand).resolves({ Table: { TableName: TABLE, TableStatus: 'ACTIVE' } });

    expect(await registry().ensureReady('stack')).toBe('exists');

    expect(ddb).not.toHaveReceivedCommand(CreateTableCommand);
    expect(ddb).not.toHaveReceivedCommand(UpdateContinuousBackupsCommand);
  });
});

describe("ensureReady('plain'): a table for a local run", () => {
  test('is made on dynalite with the key schema only', async () => {
    const { client, tableName } = await createTestTable(dynaliteClient());

    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));

    expect(Table).toMatchObject({ TableStatus: 'ACTIVE', KeySchema: [{ AttributeName: 'identityId', KeyType: 'HASH' }] });
    expect(Table?.SSEDescription).toBeUndefined();
    expect(Table?.DeletionProtectionEnabled).not.toBe(true);
  });
});
