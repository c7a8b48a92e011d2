import {
  AuthorizationErrorException,
  GetSubscriptionAttributesCommand,
  InvalidParameterException,
  ListSubscriptionsByTopicCommand,
  NotFoundException,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SnsTopicSubscriptions } from '../../lambda/adapters/sns-subscriptions';
import { buildFilterPolicy } from '../../lambda/core/subscription-filter';
import { HTTPS_DELIVERY_POLICY } from '../../lambda/core/subscriptions';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:UnreadNotifier-EventsTopic';
const SUBSCRIPTION_ARN = `${TOPIC_ARN}:0b4f6ae4-7d2c-4c5e-9b1e-1c2d3e4f5a6b`;
const snsMock = mockClient(SNSClient);

const adapter = (): SnsTopicSubscriptions => new SnsTopicSubscriptions(new SNSClient({ region: 'eu-west-1' }), TOPIC_ARN);

const sdkError = <T extends Error>(Type: new (options: { message: string; $metadata: object }) => T, message: string): T => new Type({ message, $metadata: {} });

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('SnsTopicSubscriptions', () => {
  beforeEach(() => {
    snsMock.reset();
  });

  describe('subscribe', () => {
    it('subscribes with the filter policy as JSON, raw delivery when asked, and asks for the ARN back', async () => {
      // Prepare
      snsMock.on(SubscribeCommand).resolves({ SubscriptionArn: SUBSCRIPTION_ARN });
      const filterPolicy = buildFilterPolicy({ eventTypes: ['unread.changed'], identityIds: ['558355'] })!;

      // Act
      const arn = await adapter().subscribe({ protocol: 'sqs', endpoint: 'arn:aws:sqs:eu-west-1:123456789012:q', filterPolicy, rawMessageDelivery: true });

      // Assess
      expect(arn).toBe(SUBSCRIPTION_ARN);
      expect(snsMock).toHaveReceivedCommandTimes(SubscribeCommand, 1);
      expect(snsMock).toHaveReceivedCommandWith(SubscribeCommand, {
        TopicArn: TOPIC_ARN,
        Protocol: 'sqs',
        Endpoint: 'arn:aws:sqs:eu-west-1:123456789012:q',
        ReturnSubscriptionArn: true,
        Attributes: { FilterPolicy: '{"identityId":["558355"],"eventType":["unread.changed"]}', RawMessageDelivery: 'true' },
      });
    });

    it('sends the delivery policy of an https subscriber as JSON', async () => {
      snsMock.on(SubscribeCommand).resolves({ SubscriptionArn: SUBSCRIPTION_ARN });

      await adapter().subscribe({ protocol: 'https', endpoint: 'https://hooks.example.com/u', rawMessageDelivery: false, deliveryPolicy: HTTPS_DELIVERY_POLICY });

      const input = snsMock.commandCalls(SubscribeCommand)[0]!.args[0].input;
      expect(JSON.parse(input.Attributes!.DeliveryPolicy!)).toEqual(HTTPS_DELIVERY_POLICY);
      expect(input.Attributes).not.toHaveProperty('RawMessageDelivery');
    });

    it('sends no attributes for an unfiltered email subscription', async () => {
      snsMock.on(SubscribeCommand).resolves({ SubscriptionArn: SUBSCRIPTION_ARN });

      await adapter().subscribe({ protocol: 'email', endpoint: 'team@example.com', rawMessageDelivery: false });

      expect(snsMock.commandCalls(SubscribeCommand)[0]!.args[0].input).not.toHaveProperty('Attributes');
    });
  });

  describe('list', () => {
    it('follows NextToken across pages and reads each confirmed subscription’s filter', async () => {
      // Prepare
      const second = `${TOPIC_ARN}:11111111-2222-3333-4444-555555555555`;
      snsMock
        .on(ListSubscriptionsByTopicCommand, { TopicArn: TOPIC_ARN })
        .resolves({ Subscriptions: [{ SubscriptionArn: SUBSCRIPTION_ARN, Protocol: 'email', Endpoint: 'team@example.com' }], NextToken: 'page-2' })
        .on(ListSubscriptionsByTopicCommand, { TopicArn: TOPIC_ARN, NextToken: 'page-2' })
        .resolves({
          Subscriptions: [
            { SubscriptionArn: second, Protocol: 'sqs', Endpoint: 'arn:aws:sqs:eu-west-1:123456789012:q' },
            { SubscriptionArn: 'PendingConfirmation', Protocol: 'https', Endpoint: 'https://hooks.example.com/u' },
          ],
        });
      snsMock
        .on(GetSubscriptionAttributesCommand, { SubscriptionArn: SUBSCRIPTION_ARN })
        .resolves({ Attributes: { FilterPolicy: '{"eventType":["unread.alert"]}', PendingConfirmation: 'false', RawMessageDelivery: 'false' } })
        .on(GetSubscriptionAttributesCommand, { SubscriptionArn: second })
        .resolves({ Attributes: { PendingConfirmation: 'false', RawMessageDelivery: 'true' } });

      // Act
      const listed = await adapter().list();

      // Assess
      expect(snsMock).toHaveReceivedCommandTimes(ListSubscriptionsByTopicCommand, 2);
      expect(snsMock).toHaveReceivedCommandTimes(GetSubscriptionAttributesCommand, 2);
      expect(listed).toEqual([
        { subscriptionArn: SUBSCRIPTION_ARN, protocol: 'email', endpoint: 'team@example.com', pendingConfirmation: false, filterPolicy: { eventType: ['unread.alert'] }, rawMessageDelivery: false },
        { subscriptionArn: second, protocol: 'sqs', endpoint: 'arn:aws:sqs:eu-west-1:123456789012:q', pendingConfirmation: false, rawMessageDelivery: true },
        { protocol: 'https', endpoint: 'https://hooks.example.com/u', pendingConfirmation: true },
      ]);
    });

    it('leaves out a subscription removed between the listing and the reading of its attributes', async () => {
      snsMock.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [{ SubscriptionArn: SUBSCRIPTION_ARN, Protocol: 'email', Endpoint: 'a@example.com' }] });
      snsMock.on(GetSubscriptionAttributesCommand).rejects(sdkError(NotFoundException, 'Subscription does not exist'));

      await expect(adapter().list()).resolves.toEqual([]);
    });
  });

  describe('unsubscribe', () => {
    it('unsubscribes by ARN', async () => {
      snsMock.on(UnsubscribeCommand).resolves({});

      await adapter().unsubscribe(SUBSCRIPTION_ARN);

      expect(snsMock).toHaveReceivedCommandWith(UnsubscribeCommand, { SubscriptionArn: SUBSCRIPTION_ARN });
    });
  });

  describe('errors', () => {
    it('an authorization error names the operation, the topic and the permission it needs', async () => {
      snsMock.on(SubscribeCommand).rejects(sdkError(AuthorizationErrorException, 'User: arn:aws:iam::123456789012:user/x is not authorized'));

      const error = await failureOf(adapter().subscribe({ protocol: 'email', endpoint: 'a@example.com', rawMessageDelivery: false }));

      expect(error.message).toMatch(new RegExp(`^SNS refused Subscribe on topic ${TOPIC_ARN}: not authorized; the credentials need sns:Subscribe on the topic: User:`));
    });

    it('a missing topic says to check TOPIC_ARN', async () => {
      snsMock.on(ListSubscriptionsByTopicCommand).rejects(sdkError(NotFoundException, 'Topic does not exist'));

      await expect(adapter().list()).rejects.toThrow(`SNS ListSubscriptionsByTopic: topic ${TOPIC_ARN} not found; check TOPIC_ARN (or --topic-arn) and that the stack is deployed: Topic does not exist`);
    });

    it('a refused parameter keeps SNS’s message, which names it', async () => {
      snsMock.on(SubscribeCommand).rejects(sdkError(InvalidParameterException, 'Invalid parameter: FilterPolicy: Filter policy is too complex'));

      await expect(adapter().subscribe({ protocol: 'email', endpoint: 'a@example.com', rawMessageDelivery: false })).rejects.toThrow(
        `SNS refused Subscribe on topic ${TOPIC_ARN}: Invalid parameter: FilterPolicy: Filter policy is too complex`,
      );
    });

    it('keeps the SDK error as the cause, so the CLI can name an unreachable endpoint', async () => {
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 4566 });
      snsMock.on(UnsubscribeCommand).rejects(refused);

      const error = await failureOf(adapter().unsubscribe(SUBSCRIPTION_ARN));

      expect(error.cause).toBe(refused);
      expect(error.message).toBe(`SNS Unsubscribe on subscription ${SUBSCRIPTION_ARN} failed: Error: connect ECONNREFUSED 127.0.0.1:4566`);
    });
  });
});
