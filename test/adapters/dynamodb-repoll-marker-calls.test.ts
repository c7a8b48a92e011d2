import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbRepollMarker } from '../../lambda/adapters/dynamodb-repoll-marker';
import { parseIdentityId } from '../../lambda/core/identity-id';

const dynamo = mockClient(DynamoDBClient);
const TABLE = 'unread-notifier-table';
const T0 = 1_770_000_000_000;
const W = 2_000;
const ID = parseIdentityId('558355');

function conditionFailed(item?: Record<string, AttributeValue>): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, ...(item ? { Item: item } : {}) });
}

const registeredWith = (rpAt: number): Record<string, AttributeValue> => ({ identityId: { S: '558355' }, v: { N: '3' }, rpAt: { N: String(rpAt) } });

describe('DynamoDbRepollMarker: the requests it sends', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  it('polls now with one conditional UpdateItem that sets only rpAt and asks for the old item on failure', async () => {
    dynamo.on(UpdateItemCommand).resolves({});

    const decision = await new DynamoDbRepollMarker(new DynamoDBClient({}), TABLE).mark(ID, T0, W);

    expect(decision).toEqual({ decision: 'poll-now' });
    expect(dynamo).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: TABLE,
      Key: { identityId: { S: '558355' } },
      UpdateExpression: 'SET #rpAt = :pollAt',
      ConditionExpression: 'attribute_exists(#id) AND (attribute_not_exists(#rpAt) OR #rpAt <= :threshold)',
      ExpressionAttributeNames: { '#id': 'identityId', '#rpAt': 'rpAt' },
      ExpressionAttributeValues: { ':pollAt': { N: String(T0) }, ':threshold': { N: String(T0 - W) } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('a failed condition carrying the item grants the trailing poll with a second write conditioned on the rpAt seen, and no read', async () => {
    dynamo.on(UpdateItemCommand).rejectsOnce(conditionFailed(registeredWith(T0))).resolves({});

    const decision = await new DynamoDbRepollMarker(new DynamoDBClient({}), TABLE).mark(ID, T0 + 500, W);

    expect(decision).toEqual({ decision: 'poll-at-window-end', delayMs: W - 500 });
    expect(dynamo).toHaveReceivedCommandTimes(GetItemCommand, 0);
    expect(dynamo).toHaveReceivedNthCommandWith(2, UpdateItemCommand, {
      UpdateExpression: 'SET #rpAt = :pollAt',
      ConditionExpression: 'attribute_exists(#id) AND #rpAt = :seen',
      ExpressionAttributeValues: { ':pollAt': { N: String(T0 + W) }, ':seen': { N: String(T0) } },
    });
  });

  it('a failed condition carrying an item whose poll is still due collapses in one request', async () => {
    dynamo.on(UpdateItemCommand).rejects(conditionFailed(registeredWith(T0 + W)));

    const decision = await new DynamoDbRepollMarker(new DynamoDBClient({}), TABLE).mark(ID, T0 + 500, W);

    expect(decision).toEqual({ decision: 'collapsed' });
    expect(dynamo).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(dynamo).toHaveReceivedCommandTimes(GetItemCommand, 0);
  });

  it('once failures are known to carry the item, a failure without one is unregistered in one request', async () => {
    const marker = new DynamoDbRepollMarker(new DynamoDBClient({}), TABLE);
    dynamo.on(UpdateItemCommand).rejectsOnce(conditionFailed(registeredWith(T0 + W)));
    await marker.mark(ID, T0 + 500, W);
    dynamo.reset();
    dynamo.on(UpdateItemCommand).rejects(conditionFailed());

    const decision = await marker.mark(parseIdentityId('42'), T0, W);

    expect(decision).toEqual({ decision: 'unregistered' });
    expect(dynamo).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(dynamo).toHaveReceivedCommandTimes(GetItemCommand, 0);
  });

  it('until then, a failure without the item is checked with one consistent GetItem of the key and rpAt', async () => {
    dynamo.on(UpdateItemCommand).rejects(conditionFailed());
    dynamo.on(GetItemCommand).resolves({});

    const decision = await new DynamoDbRepollMarker(new DynamoDBClient({}), TABLE).mark(parseIdentityId('42'), T0, W);

    expect(decision).toEqual({ decision: 'unregistered' });
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: TABLE,
      Key: { identityId: { S: '42' } },
      ConsistentRead: true,
      ProjectionExpression: '#id, #rpAt',
    });
  });

  it('losing every race for the trailing poll ends collapsed after maxAttempts writes', async () => {
    let seen = T0;
    dynamo.on(UpdateItemCommand).callsFake(() => {
      // Another request moved the marker each time: always a started poll, never the one seen.
      seen += 1;
      throw conditionFailed(registeredWith(seen));
    });

    const decision = await new DynamoDbRepollMarker(new DynamoDBClient({}), TABLE, { maxAttempts: 3 }).mark(ID, T0 + 500, W);

    expect(decision).toEqual({ decision: 'collapsed' });
    expect(dynamo).toHaveReceivedCommandTimes(UpdateItemCommand, 3);
  });

  it('an error other than a failed condition is thrown to the caller', async () => {
    dynamo.on(UpdateItemCommand).rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));

    await expect(new DynamoDbRepollMarker(new DynamoDBClient({}), TABLE).mark(ID, T0, W)).rejects.toThrow('slow down');
  });
});
